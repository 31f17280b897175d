/**
 * Agent updates on the PC (the collector side is src/collector/updates). At each start the
 * agent tells the collector which installer installed it ('update.ready'). On an update.offer
 * it downloads the new package and the package of the version it runs now, checks both against
 * their statements signed with the pinned release key, and hands over to the update guard
 * (guard.ts), started outside the agent's service so that restarting the agent does not stop
 * it: the guard installs with the OS's installer and goes back to the previous package when the
 * new agent does not reach the collector within the deadline. The new agent confirms by
 * reaching the collector; the outcome is reported as agent.notice update.installed /
 * update.rolled_back / update.failed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import type { ClientOptions } from 'ws';
import type { Logger } from '../../src/shared/log.js';
import type { NewAgentEvent, UpdateOfferFrame } from '../../src/shared/protocol/messages.js';
import type { UpdatePlatform } from '../../src/shared/updates/statement.js';
import { download, downloadUrl } from './download.js';
import { installerOfThisPc } from './installer.js';
import { mark, marked, packageRefusal, pruneUpdates, readPending, updatesDir, writePending } from './pending.js';
import type { LocalPackage } from './pending.js';
import { pinnedReleaseKey } from './release-key.js';

export interface UpdaterOptions {
  stateDir: string;
  /** The directory of the installed program (release-key.pem). */
  installDir: string;
  agentVersion: string;
  collectorUrl: string;
  tls: ClientOptions | undefined;
  /** Node and the agent's program: the guard is this program's `agent update-guard`. */
  selfCommand: readonly string[] | undefined;
  log: Logger;
  append: (events: NewAgentEvent[]) => void;
  /** Which installer installed this agent (default: installerOfThisPc). */
  installer?: () => UpdatePlatform | null | Promise<UpdatePlatform | null>;
}

/** How often an agent running while the guard works looks for the guard's outcome. */
const RECHECK_MS = 5000;

const notice = (name: string, detail: Record<string, string | number | null>): NewAgentEvent => ({ at: new Date().toISOString(), kind: 'agent.notice', notice: name, detail });

/**
 * The command that starts the update guard: through systemd-run where systemd runs the PC (a
 * transient unit of its own: the agent's unit is read-only to the OS, ProtectSystem=strict, and
 * a restart of the agent's unit would end processes in its cgroup), else the program itself.
 */
export function guardCommand(selfCommand: readonly string[], stateDir: string, rolloutId: string, systemd: boolean): string[] {
  const guard = [...selfCommand, 'agent', 'update-guard', '--state', stateDir];
  return systemd ? ['systemd-run', `--unit=mamori-agent-update-${rolloutId}`, '--collect', '--quiet', '--no-block', '--', ...guard] : guard;
}

/**
 * Windows: the guard must outlive the service, which msiexec stops during the upgrade (the
 * service host's job object ends every process in it), and must not run the node.exe msiexec
 * replaces (a file in use is replaced only at the next restart). So it runs from a copy of
 * node.exe and the program in <state>\updates\guard\, started through the service host's
 * --detach, which starts it outside the job (installer/windows/service-host.c).
 */
export function windowsGuardCommand(selfCommand: readonly string[], stateDir: string, programDir: string): { copies: [string, string][]; command: string[] } {
  const guardDir = win32.join(stateDir, 'updates', 'guard');
  const node = selfCommand[0]!;
  const program = selfCommand.at(-1)!;
  const copies: [string, string][] = [
    [node, win32.join(guardDir, win32.basename(node))],
    [program, win32.join(guardDir, win32.basename(program))],
  ];
  const self = [copies[0]![1], ...selfCommand.slice(1, -1), copies[1]![1]];
  return { copies, command: [win32.join(programDir, 'mamori-service.exe'), '--detach', '--', ...self, 'agent', 'update-guard', '--state', stateDir] };
}

export class Updater {
  private busy = false;
  private announced = false;
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly o: UpdaterOptions) {
    // The new agent of an update in progress: the guard may have to stop it to go back.
    const p = readPending(o.stateDir);
    if (p && (p.state === 'installing' || p.state === 'installed') && p.target.version === o.agentVersion) mark(o.stateDir, 'running', p.rolloutId, { pid: process.pid, version: o.agentVersion });
  }

  /** The agent reached the collector: say which installer it has (once per start), confirm or report an update. */
  connected(): void {
    if (this.announced) return this.confirmOrReport();
    this.announced = true;
    const announce = (installer: UpdatePlatform | null) => {
      this.o.append([notice('update.ready', { installer, version: this.o.agentVersion })]);
      this.confirmOrReport();
    };
    // rpm answers in the background (installer.ts); the rest waits for it, so 'update.ready' comes first.
    const answer = (this.o.installer ?? installerOfThisPc)();
    if (answer instanceof Promise) void answer.then(announce);
    else announce(answer);
  }

  /** Confirm an update this agent is the result of, or report how the last one ended. */
  private confirmOrReport(): void {
    const p = readPending(this.o.stateDir);
    if (!p || marked(this.o.stateDir, 'reported', p.rolloutId)) return;
    if (p.target.version !== this.o.agentVersion && ['verified', 'installing', 'installed'].includes(p.state)) {
      // The guard is still at work (this agent runs the old program): look again for its outcome.
      clearTimeout(this.recheck);
      this.recheck = setTimeout(() => this.connected(), RECHECK_MS);
      this.recheck.unref();
      return;
    }
    if (p.target.version === this.o.agentVersion && ['installing', 'installed', 'confirmed'].includes(p.state)) {
      mark(this.o.stateDir, 'confirmed', p.rolloutId);
      this.o.append([notice('update.installed', { rolloutId: p.rolloutId, fromVersion: p.fromVersion, toVersion: this.o.agentVersion })]);
      mark(this.o.stateDir, 'reported', p.rolloutId);
      this.o.log.info(`update to ${this.o.agentVersion} installed (from ${p.fromVersion})`);
    } else if (p.state === 'rolled_back' || p.state === 'failed') {
      this.o.append([notice(p.state === 'rolled_back' ? 'update.rolled_back' : 'update.failed', { rolloutId: p.rolloutId, version: p.target.version, reason: (p.reason ?? '').slice(0, 500) })]);
      mark(this.o.stateDir, 'reported', p.rolloutId);
      this.o.log.error(`update to ${p.target.version} ${p.state === 'rolled_back' ? 'went back to' : 'left'} ${this.o.agentVersion}: ${p.reason ?? ''}`);
    } else return;
    const removed = pruneUpdates(this.o.stateDir, p);
    if (removed.length) this.o.log.info(`removed from ${updatesDir(this.o.stateDir)}: ${removed.join(', ')}`);
  }

  /** An update.offer from the collector. */
  offer(frame: UpdateOfferFrame): void {
    if (this.busy) return;
    this.busy = true;
    this.take(frame)
      .catch((err: Error) => this.refuse(frame, `パッケージをダウンロードできませんでした / download failed: ${err.message}`))
      .finally(() => (this.busy = false));
  }

  private refuse(frame: UpdateOfferFrame, reason: string): void {
    this.o.log.error(`update ${frame.target.version} refused: ${reason}`);
    this.o.append([notice('update.failed', { rolloutId: frame.rolloutId, version: frame.target.version, reason: reason.slice(0, 500) })]);
  }

  private async take(frame: UpdateOfferFrame): Promise<void> {
    const { stateDir, agentVersion } = this.o;
    const current = readPending(stateDir);
    if (current && ['verified', 'installing', 'installed'].includes(current.state) && !marked(stateDir, 'confirmed', current.rolloutId)) {
      this.o.log.info(`update ${frame.target.version} offered while ${current.target.version} is in progress: later`);
      return;
    }
    if (frame.target.version === agentVersion) return void this.o.append([notice('update.installed', { rolloutId: frame.rolloutId, fromVersion: agentVersion, toVersion: agentVersion })]);
    const installer = await (this.o.installer ?? installerOfThisPc)();
    if (installer !== frame.target.platform) return this.refuse(frame, `このエージェントは ${frame.target.platform} でインストールされていません / this agent was not installed by the ${frame.target.platform} installer`);
    if (frame.rollback.version !== agentVersion || frame.rollback.platform !== installer) return this.refuse(frame, `戻す先のパッケージ (${frame.rollback.platform} ${frame.rollback.version}) が、このエージェント (${installer} ${agentVersion}) と違います / the package to go back to is ${frame.rollback.platform} ${frame.rollback.version}, not this agent's ${installer} ${agentVersion}`);
    if (!this.o.selfCommand) return this.refuse(frame, '更新を実行するプログラムを起動できません / the agent cannot start the update guard (no program path)');
    const key = pinnedReleaseKey(stateDir, this.o.installDir);
    if (!key) return this.refuse(frame, 'この端末にはリリース鍵が固定されていません / no release key is pinned on this PC');
    const dir = updatesDir(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const local = async (p: UpdateOfferFrame['target']): Promise<LocalPackage> => {
      const { path, ...statement } = p;
      const file = join(dir, `${p.sha256}.${p.platform}`);
      if (!existsSync(file)) {
        try {
          await download(downloadUrl(this.o.collectorUrl, path), frame.token, `${file}.part`, this.o.tls, p.size);
          renameSync(`${file}.part`, file);
        } finally {
          rmSync(`${file}.part`, { force: true });
        }
      }
      return { ...statement, file };
    };
    const target = await local(frame.target);
    const rollback = await local(frame.rollback);
    for (const p of [target, rollback]) {
      const why = await packageRefusal(p, key);
      if (why) {
        rmSync(p.file, { force: true });
        return this.refuse(frame, why);
      }
    }
    let cmd: string[];
    if (installer === 'msi') {
      const windows = windowsGuardCommand(this.o.selfCommand, stateDir, this.o.installDir);
      await mkdir(win32.dirname(windows.copies[0]![1]), { recursive: true });
      for (const [from, to] of windows.copies) await copyFile(from, to);
      cmd = windows.command;
    } else cmd = guardCommand(this.o.selfCommand, stateDir, frame.rolloutId, existsSync('/run/systemd/system'));
    writePending(stateDir, { rolloutId: frame.rolloutId, platform: installer, target, rollback, fromVersion: agentVersion, deadlineSeconds: frame.deadlineSeconds, agentPid: process.pid, state: 'verified', at: new Date().toISOString(), ...(installer === 'msi' ? { programDir: this.o.installDir } : {}) });
    this.o.append([notice('update.installing', { rolloutId: frame.rolloutId, version: frame.target.version })]);
    const log = openSync(join(dir, 'guard.log'), 'a', 0o600);
    // Not MAMORI_SERVICE_HOST: the guard is not under the service host, and the programs it starts
    // (msiexec's node.exe custom actions under wine) would wait for their standard input to end (src/cli/agent-main.ts).
    const { MAMORI_SERVICE_HOST: _host, ...env } = process.env;
    const child = spawn(cmd[0]!, cmd.slice(1), { detached: true, stdio: ['ignore', log, log], env });
    child.on('error', (err) => this.o.log.error(`the update guard did not start: ${err.message}`));
    child.unref();
    this.o.log.info(`update ${frame.target.version} verified; the update guard installs it (rollout ${frame.rolloutId})`);
  }
}
