/**
 * Linux collector of the software check: the package databases (dpkg or rpm), snaps, flatpaks
 * (system and per-user), running processes, and the end-of-support matches of the installed set.
 */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import { keyPart } from '../../probes/types.js';
import { loadEolCatalogue, matchSoftware } from '../../../src/shared/eol/index.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import type { InstalledPackage, RunningProcess, SoftwareFacts } from './facts.js';
import { FLATPAK_COLUMNS, RPM_QUERYFORMAT, parseDpkgStatus, parseFlatpakList, parseRpmQuery, parseSnapFileNames, parseSnapList } from './linux-parse.js';
import { humanUsers, listProcesses, parsePasswd } from './linux-proc.js';
import type { PasswdEntry } from './linux-proc.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_SOFTWARE_PARAMS = {
  dpkgStatusPath: '/var/lib/dpkg/status',
  rpmPath: '/usr/bin/rpm',
  snapPath: '/usr/bin/snap',
  snapsDir: '/var/lib/snapd/snaps',
  flatpakPath: '/usr/bin/flatpak',
  procRoot: '/proc',
  findPath: '/usr/bin/find',
  passwdPath: '/etc/passwd',
};


type Inventory = { packages: InstalledPackage[]; problems: Why[] };

export const collect: Collector<SoftwareFacts> = async (ctx) => {
  const p = { ...LINUX_SOFTWARE_PARAMS, ...ctx.params } as typeof LINUX_SOFTWARE_PARAMS;
  const out: CheckOutput<SoftwareFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  const passwdOut = await ctx.probes.readFile('passwd', p.passwdPath);
  const users = passwdOut.ok ? parsePasswd(passwdOut.stdout) : [];

  const inv = await inventory(ctx, p, users, passwdOut.ok ? null : probeWhy(passwdOut));
  // What was read is kept even when a source failed: a denied package found is a violation whatever
  // else could not be listed, while the rule evaluator never passes an incomplete list.
  if (inv.problems.length > 0) setUnknown(out, 'packages', allOf(inv.problems));
  if (inv.problems.length === 0 || inv.packages.length > 0) out.facts.packages = inv.packages;

  const procs = await listProcesses(ctx.probes, p.procRoot, p.findPath);
  if (!procs.ok) setUnknown(out, 'processes', procs.why);
  else {
    if (procs.unread.length > 0) setUnknown(out, 'processes', because('ACCESS_DENIED', 'why.av.processesUnread', { count: procs.unread.length, processes: procs.unread.slice(0, 3) }));
    const names = new Map(users.map((u) => [u.uid, u.name]));
    if (passwdOut.ok) names.set(0, names.get(0) ?? 'root');
    out.facts.processes = procs.processes.map<RunningProcess>((pr) => ({
      name: pr.name,
      path: pr.exe,
      user: pr.uid === null ? null : (names.get(pr.uid) ?? String(pr.uid)),
      pid: pr.pid,
    }));
  }

  try {
    const cat = loadEolCatalogue();
    out.facts.catalogueDate = cat.date;
    // A partial inventory gives partial matches: an ended product found still counts, but an
    // unread source could hide another one.
    if (out.facts.packages) out.facts.endOfSupport = matchSoftware(cat, out.facts.packages, 'linux');
    if (inv.problems.length > 0) setUnknown(out, 'endOfSupport', because('NOT_READ', 'why.sw.inventoryIncomplete', { cause: allOf(inv.problems).msg }));
  } catch (err) {
    setUnknown(out, ['endOfSupport', 'catalogueDate'], because('EOL_CATALOGUE', 'why.eolCatalogue', { error: (err as Error).message }));
  }

  if (!out.facts.packages && !out.facts.processes) {
    out.status = 'unknown';
    const none = because('NOT_READ', 'why.sw.nothingRead', { packages: out.unknownMsgs?.packages ?? '-', processes: out.unknownMsgs?.processes ?? '-' });
    out.reason = none.text;
    out.reasonMsg = none.msg;
  }
  return out;
};

/**
 * The installed set. dpkg and rpm are each optional (NOT_FOUND = that database is absent), but
 * at least one must exist. A snap or flatpak that is installed but cannot be listed makes the
 * inventory incomplete, which is reported rather than hidden.
 */
async function inventory(ctx: CheckContext, p: typeof LINUX_SOFTWARE_PARAMS, users: PasswdEntry[], passwdReason: Why | null): Promise<Inventory> {
  const packages: InstalledPackage[] = [];
  const problems: Why[] = [];
  let systemDb = false;

  const dpkg = await ctx.probes.readFile('dpkg-status', p.dpkgStatusPath);
  if (dpkg.ok) {
    systemDb = true;
    packages.push(...parseDpkgStatus(dpkg.stdout));
  } else if (dpkg.failure !== 'NOT_FOUND') problems.push(inPart('dpkg', probeWhy(dpkg)));

  const rpm = await ctx.probes.exec('rpm.qa', p.rpmPath, ['-qa', '--queryformat', RPM_QUERYFORMAT], { timeoutMs: 60_000 });
  if (rpm.ok) {
    const rpms = parseRpmQuery(rpm.stdout);
    // rpm installed on a Debian system (e.g. for alien) has an empty database: not the system DB.
    if (rpms.length > 0) systemDb = true;
    packages.push(...rpms);
  } else if (rpm.failure !== 'NOT_FOUND') problems.push(inPart('rpm', probeWhy(rpm)));
  if (!systemDb && problems.length === 0) problems.push(because('NOT_FOUND', 'why.sw.noPackageDatabase', { dpkg: p.dpkgStatusPath }));

  const snap = await ctx.probes.exec('snap.list', p.snapPath, ['list']);
  if (snap.ok) packages.push(...parseSnapList(snap.stdout));
  else if (snap.failure !== 'NOT_FOUND') {
    // snapd not running ("cannot communicate with server"): the mounted snap files still name what is installed.
    const files = await ctx.probes.listDir('snap.files', p.snapsDir);
    if (files.ok) packages.push(...parseSnapFileNames(jsonNames(files.stdout)));
    else problems.push(inPart('snap', probeWhy(snap)));
  }

  const flatpak = await ctx.probes.exec('flatpak.system', p.flatpakPath, ['list', '--system', `--columns=${FLATPAK_COLUMNS}`]);
  if (flatpak.ok) {
    packages.push(...parseFlatpakList(flatpak.stdout, null));
    // Per-user installations are found through the users' home folders.
    if (passwdReason) problems.push(because('NOT_READ', 'why.sw.userFlatpaksUnread', { file: p.passwdPath, cause: passwdReason.msg }));
    for (const u of humanUsers(users)) {
      const dir = await ctx.probes.listDir(`flatpak.user.${keyPart(u.name)}.dir`, `${u.home}/.local/share/flatpak`);
      if (!dir.ok) continue; // no per-user installation
      // flatpak finds the user installation through HOME / XDG_DATA_HOME; no need to switch uid for reading.
      const list = await ctx.probes.exec(`flatpak.user.${keyPart(u.name)}`, p.flatpakPath, ['list', '--user', `--columns=${FLATPAK_COLUMNS}`], {
        env: { HOME: u.home, XDG_DATA_HOME: `${u.home}/.local/share` },
      });
      if (list.ok) packages.push(...parseFlatpakList(list.stdout, u.name));
      else problems.push(because('EXEC_FAILED', 'why.sw.userFlatpak', { user: u.name, cause: probeWhy(list).msg }));
    }
  } else if (flatpak.failure !== 'NOT_FOUND') problems.push(inPart('flatpak', probeWhy(flatpak)));

  return { packages, problems };
}

function jsonNames(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
