/**
 * Linux collector of the cloud-accounts check: the Dropbox client's ~/.dropbox/info.json (top-level keys
 * `personal`, `business`; Dropbox Help Center, "How to programmatically find the Dropbox folder paths")
 * in the home of every person's account (passwd(5) entries with UID 1000–59999, the range login.defs
 * gives to people on Debian, Ubuntu and RHEL). Google Drive and OneDrive have no client of their
 * vendors on Linux; third-party clients are not read.
 */
import { allOf, because, failedTo, setUnknown, type Why } from '../why.js';
import { unknownOutput } from '../types.js';
import { keyPart } from '../../probes/types.js';
import type { CheckOutput, Collector } from '../types.js';
import type { CloudAccount, CloudAccountsFacts } from './facts.js';


export const collect: Collector<CloudAccountsFacts> = async (ctx) => {
  const passwdPath = String(ctx.params.passwdPath ?? '/etc/passwd');
  const passwd = await ctx.probes.readFile('passwd', passwdPath);
  if (!passwd.ok) return unknownOutput(failedTo(passwd, 'why.fileUnread', { file: passwdPath }));
  const people = passwd.stdout.split('\n').map((l) => l.split(':')).filter((f) => f.length >= 7 && Number(f[2]) >= 1000 && Number(f[2]) < 60000 && f[5]);
  const accounts: CloudAccount[] = [];
  const problems: Why[] = [];
  for (const f of people) {
    const [name, , , , , home] = f as [string, string, string, string, string, string];
    const info = await ctx.probes.readFile(`dropbox.${keyPart(name)}`, `${home}/.dropbox/info.json`);
    if (!info.ok) {
      if (info.failure !== 'NOT_FOUND') problems.push(failedTo(info, 'why.cloud.dropboxUnread', { user: name }));
      continue;
    }
    let keys: string[];
    try {
      keys = Object.keys(JSON.parse(info.stdout) as Record<string, unknown>);
    } catch {
      problems.push(because('PARSE_FAILED', 'why.cloud.dropboxNotJson', { file: `${home}/.dropbox/info.json` }));
      continue;
    }
    for (const k of keys) if (k === 'personal' || k === 'business') accounts.push({ user: name, service: `dropbox-${k}` });
  }
  const out: CheckOutput<CloudAccountsFacts> = { status: 'ok', facts: { cloudAccounts: accounts }, unknownFacts: {} };
  if (problems.length > 0) setUnknown(out, 'cloudAccounts', allOf(problems));
  return out;
};
