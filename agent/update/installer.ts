/**
 * The OS's own installer, as an agent update runs it: the package manager that installed the
 * agent installs the new package and, to go back, the previous one. Only the command lines are
 * built here (tested as such); agent/update/guard.ts runs them.
 *
 * dpkg honours DPKG_ROOT and DPKG_FORCE from the environment (dpkg(1), ENVIRONMENT, since
 * 1.21.0 / 1.19.5): an agent installed into another root (a chroot, a test root) updates that
 * root with the same command line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { UpdatePlatform } from '../../src/shared/updates/statement.js';

export interface InstallCommand {
  command: string;
  args: string[];
  /** Set for the installer only (no prompts). */
  env: Record<string, string>;
}

/**
 * The command line that installs `packagePath`, newer or older than the installed version.
 *  - dpkg --install: upgrades, and downgrades with --force-downgrade (dpkg(1): on by default,
 *    given explicitly because a DPKG_FORCE in the environment replaces the defaults, and dpkg
 *    then skips a downgrade with exit status 0); --force-confold keeps an administrator's
 *    changed conffiles.
 *  - rpm --upgrade --oldpackage: rpm(8) refuses an older package without --oldpackage.
 * The MSI is not driven this way: its MajorUpgrade refuses downgrades (installer/windows/mamori-agent.wxs).
 */
export function installCommand(platform: Exclude<UpdatePlatform, 'msi'>, packagePath: string): InstallCommand {
  switch (platform) {
    case 'deb':
      return { command: 'dpkg', args: ['--force-confold', '--force-downgrade', '--install', packagePath], env: { DEBIAN_FRONTEND: 'noninteractive' } };
    case 'rpm':
      return { command: 'rpm', args: ['--upgrade', '--oldpackage', '--replacepkgs', packagePath], env: {} };
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
 * `npm start`, Windows): dpkg's file list of mamori-agent, else rpm's database entry. rpm is
 * asked in the background: its query takes a second or more on a slow PC, and the agent's main
 * thread, where it is asked at every start, is the one that handles a USB stick plugged in.
 */
export function installerOfThisPc(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Promise<Exclude<UpdatePlatform, 'msi'> | null> {
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
    const child = spawn(cmd.command, cmd.args, { env: { ...process.env, ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ code: null, output: err.message }));
    child.on('close', (code) => resolve({ code, output: output.trim().split('\n').slice(-8).join('\n') }));
  });
}
