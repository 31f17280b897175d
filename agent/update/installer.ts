/**
 * The OS's own installer, as an agent update runs it: the package manager that installed the
 * agent installs the new package and, to go back, the previous one. Only the command lines are
 * built here (tested as such); agent/update/guard.ts runs them.
 *
 * On Windows, msiexec: the MSI was built so that `ALLOW_DOWNGRADE=1` lets an older MSI replace a
 * newer one (scripts/package.mjs), which is how the guard goes back.
 *
 * dpkg honours DPKG_ROOT and DPKG_FORCE from the environment (dpkg(1), ENVIRONMENT, since
 * 1.21.0 / 1.19.5): an agent installed into another root (a chroot, a test root) updates that
 * root with the same command line.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { UpdatePlatform } from '../../src/shared/updates/statement.js';

export interface InstallCommand {
  command: string;
  args: string[];
  /** Set for the installer only (no prompts). */
  env: Record<string, string>;
  /**
   * Where its output goes instead of the guard's pipes (msiexec /qn prints nothing and writes its
   * log file); such an installer is started detached, outside the job object libuv puts every other
   * child in, so that nothing of the guard's is handed to the custom actions msiexec starts.
   */
  logFile?: string;
}

/**
 * msiexec by its full path in System32 (where Windows keeps it, `%SystemRoot%\System32\msiexec.exe`),
 * never looked up through PATH: the guard runs as the service's account (SYSTEM), and a PATH
 * lookup would run any msiexec.exe placed earlier on the PATH; under wine the guard's
 * environment was also seen to resolve no msiexec at all (spawn ENOENT).
 */
export function msiexecPath(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows'}\\System32\\msiexec.exe`;
}

/**
 * The command line that installs `packagePath`, newer or older than the installed version.
 *  - dpkg --install: upgrades, and downgrades with --force-downgrade (dpkg(1): on by default,
 *    given explicitly because a DPKG_FORCE in the environment replaces the defaults, and dpkg
 *    then skips a downgrade with exit status 0); --force-confold keeps an administrator's
 *    changed conffiles.
 *  - rpm --upgrade --oldpackage: rpm(8) refuses an older package without --oldpackage.
 *  - msiexec /i … /qn /norestart ALLOW_DOWNGRADE=1: the MSI's MajorUpgrade replaces the installed
 *    product, older or newer (the property lifts the MSI's refusal of a downgrade); the service is
 *    stopped and started again by the MSI itself; a verbose log beside the package
 *    (<package>.log) says why when it fails. No restart: 3010 counts as installed (installedOk).
 */
export function installCommand(platform: UpdatePlatform, packagePath: string): InstallCommand {
  switch (platform) {
    case 'msi':
      return { command: msiexecPath(), args: ['/i', packagePath, '/qn', '/norestart', 'ALLOW_DOWNGRADE=1', '/l*v', `${packagePath}.log`], env: {}, logFile: `${packagePath}.log` };
    case 'deb':
      return { command: 'dpkg', args: ['--force-confold', '--force-downgrade', '--install', packagePath], env: { DEBIAN_FRONTEND: 'noninteractive' } };
    case 'rpm':
      return { command: 'rpm', args: ['--upgrade', '--oldpackage', '--replacepkgs', packagePath], env: {} };
  }
}

/**
 * Whether an installer's exit status says it installed: 0, and for msiexec also 3010 and 1641
 * (installed; Windows wants a restart for a file in use — Windows Installer error codes).
 */
export function installedOk(platform: UpdatePlatform, code: number | null): boolean {
  return code === 0 || (platform === 'msi' && (code === 3010 || code === 1641));
}

/**
 * The version of mamori-agent installed under `programDir` by the MSI: that of the release
 * manifest the MSI installed there (scripts/package.mjs), or '' when there is none.
 */
export function msiInstalledVersion(programDir: string): string {
  try {
    const version = (JSON.parse(readFileSync(join(programDir, 'release-manifest.json'), 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '';
  } catch {
    return '';
  }
}

/** The command printing the installed version of mamori-agent (only the version): an installer's exit status 0 alone does not say it installed the package. */
export function installedVersionCommand(platform: Exclude<UpdatePlatform, 'msi'>): InstallCommand {
  switch (platform) {
    case 'deb':
      return { command: 'dpkg-query', args: ['--showformat=${Version}', '--show', 'mamori-agent'], env: {} };
    case 'rpm':
      return { command: 'rpm', args: ['--query', '--queryformat', '%{VERSION}', 'mamori-agent'], env: {} };
  }
}

/**
 * The installer that installed this agent, or null when none the agent can drive (a tarball,
 * `npm start`): on Windows the MSI, whose layout puts the service host beside node.exe; on Linux
 * dpkg's file list of mamori-agent, else rpm's database entry. rpm is asked in the background:
 * its query takes a second or more on a slow PC, and the agent's main thread, where it is asked
 * at every start, is the one that handles a USB stick plugged in.
 */
export function installerOfThisPc(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): Promise<UpdatePlatform | null> {
  if (platform === 'win32') return Promise.resolve(existsSync(join(dirname(execPath), 'mamori-service.exe')) && existsSync(join(dirname(execPath), 'release-manifest.json')) ? 'msi' : null);
  if (platform !== 'linux') return Promise.resolve(null);
  if (existsSync(join(env.DPKG_ROOT ?? '/', 'var/lib/dpkg/info/mamori-agent.list'))) return Promise.resolve('deb');
  return new Promise((resolve) => {
    const rpm = spawn('rpm', ['-q', '--quiet', 'mamori-agent'], { stdio: 'ignore', timeout: 30_000, env });
    // No rpm on this PC (ENOENT): not installed by rpm. 'close' follows an 'error'; the first answer counts.
    rpm.on('error', () => resolve(null));
    rpm.on('close', (code) => resolve(code === 0 ? 'rpm' : null));
  });
}

export interface InstallResult {
  code: number | null;
  /** The installer's last output lines (stdout and stderr), for the report. */
  output: string;
}

/** Run an install command; never throws (a missing installer is code null with the error as output). */
export function runInstall(cmd: InstallCommand, timeoutMs = 30 * 60_000): Promise<InstallResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(cmd.command, cmd.args, { env: { ...process.env, ...cmd.env }, stdio: cmd.logFile ? 'ignore' : ['ignore', 'pipe', 'pipe'], detached: Boolean(cmd.logFile), timeout: timeoutMs });
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => resolve({ code: null, output: err.message }));
    child.on('close', (code) => resolve({ code, output: cmd.logFile ? `(log: ${cmd.logFile})` : output.trim().split('\n').slice(-8).join('\n') }));
  });
}
