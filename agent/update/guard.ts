/**
 * The update guard (`mamori agent update-guard --state DIR`), a process of its own outside the
 * agent's service: it checks the downloaded packages again, installs the new one with the OS's
 * installer, and waits for the new agent to reach the collector (confirmed-<rollout>, written
 * by the new agent). When it does not within the deadline — it does not start, or cannot
 * connect — or when the installer fails, the guard installs the previous package again (kept on
 * the PC since the download) and stops the new agent so the service manager starts the old one.
 * On Windows the MSI stops and starts the service itself; the guard runs from a copy of node.exe
 * and the program outside the service's job (updater.ts), and reads the installed version from
 * the release manifest in the program folder.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { installCommand, installedOk, installedVersionCommand, msiInstalledVersion, runInstall } from './installer.js';
import type { InstallCommand, InstallResult } from './installer.js';
import { packageRefusal, readPending, runningPid, updatesDir, writePending } from './pending.js';
import type { PendingUpdate } from './pending.js';

export interface GuardOptions {
  stateDir: string;
  releaseKey: string | undefined;
  /** Runs an install command (default: runInstall). */
  install?: (cmd: InstallCommand) => Promise<InstallResult>;
  pollMs?: number;
  log?: (line: string) => void;
  /** The installed version under the MSI's program folder (default: msiInstalledVersion). */
  msiVersion?: (programDir: string) => string;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Stop an agent process still running a program that was replaced (the service manager starts the installed one). */
async function stopAgent(pid: number | undefined): Promise<void> {
  if (!pid || pid === process.pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 200));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

export async function runUpdateGuard(o: GuardOptions): Promise<PendingUpdate['state'] | 'nothing'> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const install = o.install ?? runInstall;
  let p = readPending(o.stateDir);
  if (!p || p.state !== 'verified') return 'nothing';
  const step = (state: PendingUpdate['state'], reason?: string) => {
    p = { ...p!, state, ...(reason ? { reason } : {}), at: new Date().toISOString() };
    writePending(o.stateDir, p);
    log(`${p.rolloutId} ${p.target.version}: ${state}${reason ? ` (${reason})` : ''}`);
    return state;
  };
  const platform = p.platform;
  for (const pkg of [p.target, p.rollback]) {
    const why = o.releaseKey ? await packageRefusal(pkg, o.releaseKey) : 'この端末にはリリース鍵が固定されていません / no release key is pinned on this PC';
    if (why) return step('failed', why);
  }
  /** Install a package: done when the installer exits 0 and the package manager then reports that version. */
  const installing = async (pkg: PendingUpdate['target']): Promise<{ ok: boolean; detail: string }> => {
    const cmd = installCommand(platform, pkg.file);
    const r = await install(cmd);
    log(`${cmd.command} ${cmd.args.join(' ')}: exit ${r.code}${r.output ? `\n${r.output}` : ''}`);
    if (!installedOk(platform, r.code)) return { ok: false, detail: `exit ${r.code}: ${r.output}` };
    const now = platform === 'msi' ? (o.msiVersion ?? msiInstalledVersion)(p!.programDir ?? '') : (await install(installedVersionCommand(platform))).output.trim();
    return now === pkg.version ? { ok: true, detail: '' } : { ok: false, detail: `exit 0, but the package manager reports version ${now || '(none)'}: ${r.output}` };
  };
  const goBack = async (reason: string) => {
    const back = await installing(p!.rollback);
    await stopAgent(runningPid(o.stateDir, p!.rolloutId));
    if (!back.ok) return step('failed', `${reason}。${p!.rollback.version} に戻すこともできませんでした / going back to ${p!.rollback.version} failed too (${back.detail})`);
    return step('rolled_back', reason);
  };
  step('installing');
  const installed = await installing(p.target);
  if (!installed.ok) return goBack(`インストーラーが ${p.target.version} をインストールしませんでした / the installer did not install ${p.target.version} (${installed.detail})`);
  step('installed');
  // Where the package's own scripts did not restart the service (no systemd), the agent that downloaded the update still runs the old program.
  await stopAgent(p.agentPid);
  const deadline = Date.now() + p.deadlineSeconds * 1000;
  const confirmed = join(updatesDir(o.stateDir), `confirmed-${p.rolloutId}`);
  while (Date.now() < deadline) {
    if (existsSync(confirmed)) return step('confirmed');
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
  if (existsSync(confirmed)) return step('confirmed');
  return goBack(`新しいエージェント ${p.target.version} が ${p.deadlineSeconds} 秒以内に収集サーバーへ接続しなかったため、元のバージョンに戻しました / the new agent ${p.target.version} did not reach the collector within ${p.deadlineSeconds} s`);
}
