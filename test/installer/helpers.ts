/** Helpers of the installer tests: build packages with scripts/package.mjs, run commands, wait for a condition. */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const REPO = resolve(import.meta.dirname, '../..');
/** Version of the product, as the packages carry it. */
export const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const execFileAsync = promisify(execFile);

/** The prebuilt addon of usb 3.x for the packages' target (x86_64 glibc), in its per-platform package. */
export const USB_ADDON = '/usr/lib/mamori-agent/node_modules/@node-usb/usb-linux-x64-gnu/usb.linux-x64-gnu.node';
/** Every file the .deb and the .rpm ship under node_modules: the usb package and that one addon. */
export const USB_PACKAGE_FILES = [
  USB_ADDON,
  '/usr/lib/mamori-agent/node_modules/@node-usb/usb-linux-x64-gnu/package.json',
  '/usr/lib/mamori-agent/node_modules/usb/LICENSE.md',
  '/usr/lib/mamori-agent/node_modules/usb/dist/index.js',
  '/usr/lib/mamori-agent/node_modules/usb/index.js',
  '/usr/lib/mamori-agent/node_modules/usb/package.json',
].sort();

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Run a command (argv, no shell); never throws on a non-zero exit, returns it. */
export async function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof e.code !== 'number') throw err;
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code };
  }
}

/** Build the given targets of `npm run package` into a fresh temporary directory. */
export async function buildPackages(targets: string[]): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'mamori-pkg-'));
  // xz-compressing the ~100 MB runtime takes minutes on a loaded 2-core machine.
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), ...targets, '--out', out], { cwd: REPO, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`package.mjs ${targets.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return out;
}

/** Poll `probe` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A directory made into a root where rpm/dnf can run a package's scriptlets chrooted: the host's
 * programs and libraries (/usr/bin, /usr/lib/x86_64-linux-gnu, /etc/alternatives, rpm's own
 * /usr/lib/rpm) are bind-mounted into it inside a mount namespace of this command only
 * (`unshare --mount`), so nothing stays mounted after it. The package's own files
 * (/usr/lib/mamori-agent, /usr/sbin, /etc, /var) land in the root's own directories.
 */
export function mkRpmRoot(root: string): void {
  for (const d of ['root', 'etc', 'var/tmp', 'usr/sbin']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  for (const l of ['bin', 'lib', 'lib64', 'sbin']) if (!existsSync(join(root, l))) symlinkSync(`usr/${l}`, join(root, l));
}

const BOUND = ['usr/bin', 'usr/lib/x86_64-linux-gnu', 'usr/lib64', 'usr/lib/rpm', 'usr/share/zoneinfo', 'etc/alternatives', 'dev', 'proc'];

/** Run `cmd args` with the host's programs bound into `root` (see mkRpmRoot). */
export function runWithRoot(root: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const binds = 'R=$1; shift; for d in ' + BOUND.join(' ') + '; do mkdir -p "$R/$d"; mount --rbind "/$d" "$R/$d" || exit 97; done; exec "$@"';
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', binds, 'sh', root, cmd, ...args], { ...opts, timeoutMs: opts.timeoutMs ?? 300_000 });
}

/** Why a root of mkRpmRoot cannot be used here (no mount namespace for this user), or undefined when it can. */
export async function rpmRootUnavailable(): Promise<string | undefined> {
  const probe = mkdtempSync(join(tmpdir(), 'mamori-rpmroot-'));
  try {
    mkRpmRoot(probe);
    const r = await runWithRoot(probe, 'chroot', [probe, '/bin/sh', '-c', 'echo ok']).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    return r.code === 0 && r.stdout.trim() === 'ok' ? undefined : `unshare --mount / mount --rbind / chroot not permitted here (${r.stderr.trim().slice(0, 200)})`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/**
 * A small package standing for the base system of a root of mkRpmRoot in rpm's database: it
 * provides glibc, libstdc++ and /bin/sh (the host's, bound in), which mamori-agent requires.
 * Built with rpmbuild under `dir`; returns its path.
 */
export async function buildBaseSystemRpm(dir: string): Promise<string> {
  mkdirSync(join(dir, 'SPECS'), { recursive: true });
  const spec = ['Name: test-base-system', 'Version: 1', 'Release: 1', 'Summary: the base system of a test root', 'License: none', 'BuildArch: noarch', 'Provides: glibc = 2.36, libstdc++, /bin/sh', '%description', 'glibc and the shell, bound in from the host', '%files', ''];
  writeFileSync(join(dir, 'SPECS/base.spec'), spec.join('\n'));
  const r = await run('rpmbuild', ['-bb', '--define', `_topdir ${dir}`, join(dir, 'SPECS/base.spec')]);
  if (r.code !== 0) throw new Error(`rpmbuild of the base package: ${r.stderr}`);
  return join(dir, 'RPMS/noarch/test-base-system-1-1.noarch.rpm');
}
