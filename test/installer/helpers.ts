/** Helpers of the installer tests: build packages with scripts/package.mjs, run commands, wait for a condition. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
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
