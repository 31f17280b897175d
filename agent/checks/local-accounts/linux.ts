/**
 * Linux collector of the local-accounts check: the accounts of people in passwd(5) (UID 1000–59999,
 * the range login.defs gives them on Debian, Ubuntu and RHEL) and their last sign-in from `lastlog`
 * (shadow-utils; /var/log/lastlog), or `lastlog2` (util-linux, the replacement on newer releases) where
 * lastlog is not installed. Both print `Username Port From Latest` with the time last; with LC_ALL=C the
 * time reads `Sun Dec  6 09:15:02 +0900 2026`, and an account that never signed in shows
 * `**Never logged in**`. Port and From may be empty, so a line is read from both ends. Whether a password
 * is locked (/etc/shadow) is not read: an account counts as able to sign in when it has a login shell.
 */
import { because, failedTo, setUnknown } from '../why.js';
import { unknownOutput } from '../types.js';
import type { CheckOutput, Collector } from '../types.js';
import type { LocalAccount, LocalAccountsFacts } from './facts.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** lastlog lines → user → ISO time or null (never); undefined when a line cannot be read. */
export function parseLastlog(text: string): Map<string, string | null> | undefined {
  const out = new Map<string, string | null>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || /^Username\s/.test(t)) continue;
    const name = t.split(/\s+/)[0]!;
    if (/\*\*Never logged in\*\*$/.test(t)) {
      out.set(name, null);
      continue;
    }
    const m = /(\w{3}) (\w{3})\s+(\d{1,2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{4}) (\d{4})$/.exec(t);
    const month = m ? MONTHS.indexOf(m[2]!) : -1;
    if (!m || month < 0) return undefined;
    const iso = `${m[6]}-${String(month + 1).padStart(2, '0')}-${m[3]!.padStart(2, '0')}T${m[4]}${m[5]!.slice(0, 3)}:${m[5]!.slice(3)}`;
    out.set(name, new Date(iso).toISOString());
  }
  return out;
}

export const collect: Collector<LocalAccountsFacts> = async (ctx) => {
  const p = { passwdPath: '/etc/passwd', lastlogPath: '/usr/bin/lastlog', lastlog2Path: '/usr/bin/lastlog2', ...ctx.params } as { passwdPath: string; lastlogPath: string; lastlog2Path: string };
  const passwd = await ctx.probes.readFile('passwd', p.passwdPath);
  if (!passwd.ok) return unknownOutput(failedTo(passwd, 'why.fileUnread', { file: p.passwdPath }));
  let last = await ctx.probes.exec('lastlog', p.lastlogPath, []);
  if (!last.ok && last.failure === 'NOT_FOUND') last = await ctx.probes.exec('lastlog2', p.lastlog2Path, []);
  if (!last.ok) return unknownOutput(failedTo(last, 'why.accounts.lastLogonUnread', {}));
  const latest = parseLastlog(last.stdout);
  if (!latest) return unknownOutput(because('PARSE_FAILED', 'why.accounts.lastlogUnparsable', { output: { q: last.stdout.slice(0, 80) } }));
  const accounts: LocalAccount[] = [];
  const missing: string[] = [];
  for (const f of passwd.stdout.split('\n').map((l) => l.split(':'))) {
    if (f.length < 7 || !(Number(f[2]) >= 1000 && Number(f[2]) < 60000)) continue;
    const name = f[0]!;
    if (!latest.has(name)) {
      missing.push(name);
      continue;
    }
    accounts.push({ name, enabled: !/\/(nologin|false)$/.test(f[6]!.trim()), lastLogonAt: latest.get(name)! });
  }
  const out: CheckOutput<LocalAccountsFacts> = { status: 'ok', facts: { localAccounts: accounts }, unknownFacts: {} };
  if (missing.length > 0) setUnknown(out, 'localAccounts', because('NOT_FOUND', 'why.accounts.notInLastlog', { users: missing.join(', ') }));
  return out;
};
