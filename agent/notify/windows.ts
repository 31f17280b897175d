/**
 * Windows delivery. The agent is a LocalSystem service in session 0, which no one sees; it runs
 * mamori-notice.exe (installer/windows/notice-host.c, beside node.exe) to list the sessions and
 * to start a copy of itself in each user's session with that user's token, which shows a toast
 * (or a plain window where toasts are turned off).
 *
 * The sessions come from WTSEnumerateSessionsW as numbers (state, protocol), not from
 * `query session` / qwinsta, whose header and states are translated on Japanese Windows
 * ("アクティブ", "切断") and whose columns shift with long names.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { ComposedNotice } from './texts.js';
import type { DeliveryResult, NoticeDelivery, NoticeTarget } from './delivery.js';

/** WTS_CONNECTSTATE_CLASS (wtsapi32.h): 0 = WTSActive, the session someone is working in. */
export const WTS_ACTIVE = 0;
/** WTSClientProtocolType: 0 console, 1 ICA, 2 RDP. */
const PROTOCOLS: Record<number, string> = { 0: 'console', 1: 'ica', 2: 'rdp' };

export interface WindowsSession {
  id: number;
  /** WTS_CONNECTSTATE_CLASS. */
  state: number;
  protocol: 'console' | 'ica' | 'rdp' | 'unknown';
  winStation: string;
  domain: string;
  user: string;
}

export class SessionListError extends Error {
  readonly code = 'SESSION_LIST';
}

/** `mamori-notice.exe sessions`: a version line, then `session\tID\tSTATE\tPROTOCOL\tWINSTATION\tDOMAIN\tUSER` per session. */
export function parseSessionList(stdout: string): WindowsSession[] {
  const lines = stdout.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l !== '');
  if (lines[0]?.startsWith('failed\t')) throw new SessionListError(`${lines[0].split('\t')[1]} が失敗しました (エラー ${lines[0].split('\t')[2] ?? '?'})`);
  if (lines[0] !== 'mamori-notice sessions 1') throw new SessionListError(`mamori-notice.exe sessions の出力を読めません: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  return lines.slice(1).map((line) => {
    const f = line.split('\t');
    if (f.length !== 7 || f[0] !== 'session' || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!) || !/^-?\d+$/.test(f[3]!)) throw new SessionListError(`セッション一覧の行を読めません: ${JSON.stringify(line.slice(0, 120))}`);
    return { id: Number(f[1]), state: Number(f[2]), protocol: (PROTOCOLS[Number(f[3])] ?? 'unknown') as WindowsSession['protocol'], winStation: f[4]!, domain: f[5]!, user: f[6]! };
  });
}

/** `DOMAIN\user` (or `user`) as a violation names it, compared as Windows does: case-insensitively. */
function sameUser(s: WindowsSession, name: string): boolean {
  const n = name.toLowerCase();
  return n === `${s.domain}\\${s.user}`.toLowerCase() || n === s.user.toLowerCase();
}

/**
 * The sessions a person is looking at now: active (console or RDP), with a user, not session 0.
 * A disconnected RDP session keeps running with nobody at its screen; it is left out.
 */
export function sessionsToNotify(sessions: readonly WindowsSession[], target: NoticeTarget): WindowsSession[] {
  const active = sessions.filter((s) => s.id !== 0 && s.state === WTS_ACTIVE && s.user !== '');
  return target.user ? active.filter((s) => sameUser(s, target.user!)) : active;
}

/** The line `mamori-notice.exe show-in ID` prints, as a delivery result. */
export function parseShowResult(stdout: string, session: WindowsSession): DeliveryResult {
  const base = { session: String(session.id), user: session.domain ? `${session.domain}\\${session.user}` : session.user };
  const f = stdout.replace(/^\uFEFF/, '').split(/\r?\n/)[0]!.split('\t');
  if (f[0] === 'shown' && (f[1] === 'toast' || f[1] === 'window')) return { ...base, ok: true, shownAs: f[1] };
  // Started, but the helper did not say within 30 s: it waits for a full-screen program to end.
  if (f[0] === 'started') return { ...base, ok: true, shownAs: 'pending' };
  if (f[0] === 'failed') return { ...base, ok: false, reason: `${f[1] ?? '?'} が失敗しました (エラー ${f[2] ?? '?'})` };
  return { ...base, ok: false, reason: `mamori-notice.exe の応答を読めません: ${JSON.stringify(stdout.slice(0, 120))}` };
}

export type RunHelper = (args: string[], input?: string) => Promise<{ ok: boolean; stdout: string; stderr: string }>;

/** mamori-notice.exe beside node.exe (C:\Program Files\mamori, installer/windows/mamori-agent.wxs). */
export function helperPath(): string {
  return join(dirname(process.execPath), 'mamori-notice.exe');
}

function runHelper(path: string): RunHelper {
  return (args, input) =>
    new Promise((resolve) => {
      // 60 s: show-in waits up to 30 s for the helper in the session to answer.
      const child = execFile(path, args, { timeout: 60_000, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => resolve({ ok: !err || (err as { code?: unknown }).code === 2, stdout, stderr: stderr || (err ? err.message : '') }));
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
}

export interface WindowsDeliveryOptions {
  /** How mamori-notice.exe is run (tests replay its recorded answers). */
  run?: RunHelper;
}

export function windowsDelivery(o: WindowsDeliveryOptions = {}): NoticeDelivery {
  const run = o.run ?? runHelper(helperPath());
  return {
    async deliver(notice: ComposedNotice, target: NoticeTarget): Promise<DeliveryResult[]> {
      const listed = await run(['sessions']);
      if (!listed.ok && !listed.stdout) throw new SessionListError(`mamori-notice.exe sessions: ${listed.stderr.trim().slice(0, 200)}`);
      const sessions = sessionsToNotify(parseSessionList(listed.stdout), target);
      const results: DeliveryResult[] = [];
      // The title is one line; the helper takes the first line as the title, the rest as the body.
      const text = `${notice.summary.replace(/\r?\n/g, ' ')}\n${notice.body}`;
      for (const s of sessions) {
        const r = await run(['show-in', String(s.id)], text);
        results.push(r.stdout ? parseShowResult(r.stdout, s) : { session: String(s.id), user: s.user, ok: false, reason: `mamori-notice.exe show-in: ${r.stderr.trim().slice(0, 200)}` });
      }
      return results;
    },
  };
}
