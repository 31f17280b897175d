/**
 * Linux collector of the logging check. Sign-ins are recorded by PAM through the journal on every
 * distribution (sshd, gdm, login, sudo); what decides whether they are kept is journald's Storage=
 * (journald.conf(5): `persistent`, `auto` — on disk only when /var/log/journal exists — `volatile`,
 * `none`; the last setting of journald.conf and its drop-ins wins) or a second recorder that writes
 * to disk: auditd (USER_LOGIN records) or rsyslog (auth.log on Debian/Ubuntu, secure on RHEL).
 * Which of these run comes from `systemctl is-active`.
 */
import { allOf, because, failedTo, setUnknown, type Why } from '../why.js';
import type { ProbeOutcome } from '../../probes/types.js';
import { keyPart } from '../../probes/types.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import { parseIni } from '../sign-in/linux-parse.js';
import type { LoggingFacts } from './facts.js';

interface Params { systemctlPath: string; journaldConfPath: string; journaldConfDirs: string[]; journalDir: string }
const UNITS = ['systemd-journald', 'auditd', 'rsyslog'] as const;

/** `Storage=` of the [Journal] section, or null when the file does not set it. */
export function journaldStorage(text: string): string | null {
  return parseIni(text).get('Journal')?.get('Storage')?.toLowerCase() ?? null;
}

/** `systemctl is-active A B C` prints one state a line in the order asked (systemctl(1)). */
export function activeStates(text: string, units: readonly string[]): Map<string, string> | null {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length !== units.length || !lines.every((l) => /^[a-z-]+$/.test(l))) return null;
  return new Map(units.map((u, i) => [u, lines[i]!]));
}

/** The effective Storage= from journald.conf and the drop-ins (later files override), or the error. */
async function storage(ctx: CheckContext, p: Params): Promise<{ value: string; from: string } | { error: Why }> {
  let value = 'auto';
  let from = '既定値';
  const files: { key: string; path: string }[] = [{ key: 'journald.conf', path: p.journaldConfPath }];
  for (const [i, dir] of p.journaldConfDirs.entries()) {
    const ls = await ctx.probes.listDir(`journald.conf-d.${i}.list`, dir);
    if (!ls.ok && ls.failure === 'NOT_FOUND') continue;
    if (!ls.ok) return { error: failedTo(ls, 'why.fileUnread', { file: dir }) };
    let names: unknown = null;
    try {
      names = JSON.parse(ls.stdout);
    } catch {
      names = null;
    }
    if (!Array.isArray(names)) return { error: because('PARSE_FAILED', 'why.listing', { dir }) };
    files.push(...names.filter((n): n is string => typeof n === 'string' && n.endsWith('.conf')).sort().map((n) => ({ key: `journald.conf-d.${i}.${keyPart(n)}`, path: `${dir}/${n}` })));
  }
  for (const f of files) {
    const r = await ctx.probes.readFile(f.key, f.path);
    if (!r.ok && r.failure === 'NOT_FOUND') continue;
    if (!r.ok) return { error: failedTo(r, 'why.fileUnread', { file: f.path }) };
    const v = journaldStorage(r.stdout);
    if (v !== null) {
      value = v;
      from = f.path;
    }
  }
  return { value, from };
}

export const collect: Collector<LoggingFacts> = async (ctx) => {
  const p = ctx.params as unknown as Params;
  const out: CheckOutput<LoggingFacts> = { status: 'ok', facts: { securityLogMaxMB: null, securityLogMode: null }, unknownFacts: {} };

  // Exit 3 = a unit inactive, 4 = no such unit; the states are still printed (systemctl(1) "Exit status").
  const active = await ctx.probes.exec('systemctl.is-active.logging', p.systemctlPath, ['is-active', ...UNITS], { okExitCodes: [0, 3, 4] });
  const states = active.ok ? activeStates(active.stdout, UNITS) : null;
  const st = await storage(ctx, p);
  const journalDir = await ctx.probes.listDir('journal.dir', p.journalDir);

  if (!states) {
    const reason = active.ok ? because('PARSE_FAILED', 'why.log.isActiveOutput', { output: { q: active.stdout.slice(0, 60) } }) : failedTo(active, 'why.log.servicesUnread', {});
    setUnknown(out, ['logServiceRunning', 'logonEventsRecorded', 'logonEventsSource'], reason);
  } else {
    out.facts.logServiceRunning = states.get('systemd-journald') === 'active';
    const recorders = (['auditd', 'rsyslog'] as const).filter((u) => states.get(u) === 'active');
    if ('error' in st || (!journalDir.ok && journalDir.failure !== 'NOT_FOUND')) {
      // Another recorder that keeps them settles it; otherwise the journal's storage decides and is unknown.
      if (recorders.length > 0) {
        out.facts.logonEventsRecorded = true;
        out.facts.logonEventsSource = `${recorders.join('・')} が動作中`;
      } else setUnknown(out, ['logonEventsRecorded', 'logonEventsSource'], 'error' in st ? st.error : failedTo(journalDir as Extract<ProbeOutcome, { ok: false }>, 'why.fileUnread', { file: p.journalDir }));
    } else {
      const onDisk = st.value === 'persistent' || (st.value === 'auto' && journalDir.ok);
      const persistentJournal = onDisk && out.facts.logServiceRunning;
      out.facts.logonEventsRecorded = persistentJournal || recorders.length > 0;
      out.facts.logonEventsSource = [`journald Storage=${st.value} (${st.from}${st.value === 'auto' ? `、${p.journalDir} ${journalDir.ok ? 'あり' : 'なし'}` : ''})`, ...recorders.map((u) => `${u} が動作中`)].join('、');
    }
  }
  if (Object.keys(out.facts).length <= 2) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
};
