/**
 * Parser of the `win.screen-lock` document (see windows-script.ts) into screen-lock facts:
 * the effective idle-to-lock time per logged-on user.
 */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { LockSession, ScreenLockFacts } from './facts.js';
import { SERVICE_SID, interactiveSids, partError, partWhy } from '../software/windows-common.js';
import { because, setUnknown } from '../why.js';

const DesktopValues = z.object({
  ScreenSaveActive: z.string().nullable(),
  ScreenSaverIsSecure: z.string().nullable(),
  ScreenSaveTimeOut: z.string().nullable(),
  'SCRNSAVE.EXE': z.string().nullable(),
  DelayLockInterval: z.string().nullable(),
});
type DesktopValues = z.infer<typeof DesktopValues>;

export const ScreenLockDocument = z.object({
  schema: z.literal('mamori.win.screen-lock/2'),
  machine: z.object({ InactivityTimeoutSecs: z.number().nullable().optional() }).nullable(),
  users: z.array(z.object({ sid: z.string(), name: z.string().nullable(), desktop: DesktopValues, policy: DesktopValues })),
  explorerSids: z.array(z.string()).nullable(),
  logonSessions: z.array(z.object({ logonId: z.string(), logonType: z.number().int(), domain: z.string().nullable(), name: z.string().nullable() })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type ScreenLockDocument = z.infer<typeof ScreenLockDocument>;

/** A candidate way the session gets locked after idle time. */
interface LockCandidate {
  seconds: number;
  enforced: boolean;
  source: string;
}

const SAVER_VALUES = ['ScreenSaveActive', 'ScreenSaverIsSecure', 'ScreenSaveTimeOut', 'SCRNSAVE.EXE'] as const;
/** The user's desktop values and the policy that overrides them, as the registry names them (under HKCU\Software). */
const DESKTOP_KEY = 'Control Panel\\Desktop';
const POLICY_KEY = 'Policies\\Microsoft\\Windows\\Control Panel\\Desktop';

/** The screen saver values in force, each from the policy or else the user's own ("-": not set), for the source fact. */
function saverValues(desktop: DesktopValues, policy: DesktopValues): string {
  return SAVER_VALUES.map((n) => `${n}=${(policy[n] ?? desktop[n])?.trim() || '-'}`).join(' ');
}

/**
 * The secure screen saver of one user: policy values win over the user's own
 * (Software\Policies\…\Control Panel\Desktop overrides Control Panel\Desktop). The saver locks
 * only when active, secure, a saver program is set and the timeout is positive (platform-probes.md §4.1).
 */
export function screenSaverCandidate(desktop: DesktopValues, policy: DesktopValues): LockCandidate | undefined {
  const pick = (name: (typeof SAVER_VALUES)[number]) => policy[name] ?? desktop[name];
  const timeout = Number.parseInt(pick('ScreenSaveTimeOut') ?? '', 10);
  const exe = (pick('SCRNSAVE.EXE') ?? '').trim();
  if (pick('ScreenSaveActive')?.trim() !== '1' || pick('ScreenSaverIsSecure')?.trim() !== '1' || exe === '' || !(timeout > 0)) return undefined;
  const enforced = SAVER_VALUES.every((n) => policy[n] !== null);
  return { seconds: timeout, enforced, source: `${enforced ? POLICY_KEY : DESKTOP_KEY} ScreenSaveTimeOut=${timeout}` };
}

/** DelayLockInterval as read through PowerShell: a DWORD 0xFFFFFFFF arrives as Int32 -1 ("never"). */
function delayLockNote(desktop: DesktopValues): string | undefined {
  const v = desktop.DelayLockInterval?.trim();
  if (v === undefined || v === '') return undefined;
  if (v === '-1' || v === '4294967295') return 'DelayLockInterval=never';
  // Locking when the display turns off depends on the power plan's display timeout, which is not read: listed, not counted.
  return `DelayLockInterval=${v}`;
}

export function screenLockFacts(doc: ScreenLockDocument): CheckOutput<ScreenLockFacts> {
  const facts: Partial<ScreenLockFacts> = {};
  const out: CheckOutput<ScreenLockFacts> = { status: 'ok', facts, unknownFacts: {} };
  const machineError = partWhy(doc.errors, 'machine');
  let machineLimit: number | null = null;
  if (machineError || !doc.machine) {
    setUnknown(out, 'machineInactivityLimitSeconds', machineError ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'machine' }));
  } else {
    const v = doc.machine.InactivityTimeoutSecs;
    machineLimit = typeof v === 'number' && v > 0 ? v : null;
    facts.machineInactivityLimitSeconds = machineLimit;
  }
  const usersError = partWhy(doc.errors, 'users');
  if (usersError || machineError) {
    setUnknown(out, 'sessions', (usersError ?? machineError)!);
    return out;
  }
  // Keep the people signed in (explorer.exe owner or interactive logon session, any SID
  // authority); a loaded hive alone can be a service account's.
  const explorer = doc.explorerSids && !partError(doc.errors, 'explorer') ? doc.explorerSids : null;
  const logons = doc.logonSessions && !partError(doc.errors, 'sessions') ? doc.logonSessions : null;
  const interactive = interactiveSids(doc.users, explorer, logons);
  const sessions: LockSession[] = [];
  for (const u of doc.users) {
    if (interactive ? !interactive.has(u.sid) : SERVICE_SID.test(u.sid)) continue;
    const candidates: LockCandidate[] = [];
    if (machineLimit !== null) candidates.push({ seconds: machineLimit, enforced: true, source: `InactivityTimeoutSecs=${machineLimit}` });
    const saver = screenSaverCandidate(u.desktop, u.policy);
    if (saver) candidates.push(saver);
    candidates.sort((a, b) => a.seconds - b.seconds || Number(b.enforced) - Number(a.enforced));
    const chosen = candidates[0];
    const notes = [delayLockNote(u.desktop)].filter((n): n is string => !!n);
    sessions.push({
      user: u.name ?? u.sid,
      desktop: 'windows',
      lockEnabled: chosen !== undefined,
      idleToLockSeconds: chosen ? chosen.seconds : null,
      enforced: chosen ? chosen.enforced : false,
      source: [chosen ? chosen.source : `InactivityTimeoutSecs=- ${saverValues(u.desktop, u.policy)}`, ...notes].join('; '),
    });
  }
  facts.sessions = sessions;
  return out;
}
