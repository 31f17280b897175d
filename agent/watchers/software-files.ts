/**
 * Changes where software is installed → re-run of the software check: the package managers'
 * own records (dpkg's status file, the rpm database, snap and flatpak installs), /opt, the
 * launchers in /usr/share/applications and each user's ~/.local/share/applications. Bursts (a
 * package install touches hundreds of files) are debounced into one trigger.
 *
 * Not /usr/bin or /usr/local: a package installed there changes dpkg's or rpm's records anyway,
 * and a loose file there is not part of the software inventory, so a trigger would find nothing
 * new — while chokidar keeps one watch per file (1,300 in /usr/bin alone on a Debian desktop,
 * several MB of the agent's memory and as many of the user's inotify watches).
 */
import { existsSync, readFileSync } from 'node:fs';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Trigger, Watcher } from './types.js';

export interface SoftwareFilesOptions {
  /** Directories and files to watch (missing ones are skipped). */
  paths?: string[];
  /** /etc/passwd, for the users' ~/.local/share/applications. */
  passwdPath?: string;
  debounceMs?: number;
  log?: { warn(message: string): void };
}

export const DEFAULT_SOFTWARE_PATHS = ['/var/lib/dpkg/status', '/var/lib/rpm', '/var/lib/snapd/snaps', '/var/lib/flatpak/app', '/opt', '/usr/share/applications'];

/** Users' application-launcher folders (uid ≥ 1000 with a home directory), from /etc/passwd text. */
export function userApplicationDirs(passwd: string): string[] {
  const out: string[] = [];
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    const uid = Number(f[2]);
    if (f.length >= 7 && Number.isInteger(uid) && uid >= 1000 && uid < 60000 && f[5]) out.push(`${f[5]}/.local/share/applications`);
  }
  return out;
}

export class SoftwareFilesWatcher implements Watcher {
  readonly name = 'software-files';
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private changed: string[] = [];

  constructor(private readonly opts: SoftwareFilesOptions = {}) {}

  async start(trigger: Trigger): Promise<void> {
    let paths = [...(this.opts.paths ?? DEFAULT_SOFTWARE_PATHS)];
    const passwd = this.opts.passwdPath ?? '/etc/passwd';
    if (existsSync(passwd)) paths.push(...userApplicationDirs(readFileSync(passwd, 'utf8')));
    paths = paths.filter((p) => existsSync(p));
    if (paths.length === 0) return;
    // depth 1: /opt/<vendor>/<product> is where a new product shows; deeper changes are its own updates.
    this.watcher = watch(paths, { ignoreInitial: true, depth: 1, persistent: true, followSymlinks: false });
    const onChange = (path: string): void => {
      this.changed.push(path);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        const files = [...new Set(this.changed.splice(0))];
        trigger('software', `files changed: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ` and ${files.length - 5} more` : ''}`);
      }, this.opts.debounceMs ?? 5000);
    };
    for (const ev of ['add', 'addDir', 'unlink', 'unlinkDir', 'change'] as const) this.watcher.on(ev, onChange);
    this.watcher.on('error', (err) => this.opts.log?.warn(`software watcher: ${String(err)}`));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher?.close();
    this.watcher = null;
  }
}
