/**
 * Linux collector of the os-patches check: release and its end of support, pending (security)
 * updates from apt or dnf, when they were first seen, the last successful update and whether a
 * reboot is pending.
 */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import type { Probes } from '../../probes/types.js';
import { loadEolCatalogue, osRelease } from '../../../src/shared/eol/index.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import { pendingSecuritySince } from './facts.js';
import type { OsPatchesFacts, PendingUpdate } from './facts.js';
import {
  isSecurityCandidate,
  lastAptUpgrade,
  newerKernelInstalled,
  osIdFromRelease,
  parseAptPolicy,
  parseAptSimulation,
  parseDnfAdvisoryDates,
  parseDnfCheckUpdate,
  parseDnfUpdateinfo,
  parseOsRelease,
  parseUtcOffset,
} from './linux-parse.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_OS_PATCHES_PARAMS = {
  osReleasePaths: ['/etc/os-release', '/usr/lib/os-release'],
  kernelReleasePath: '/proc/sys/kernel/osrelease',
  aptGetPath: '/usr/bin/apt-get',
  aptCachePath: '/usr/bin/apt-cache',
  aptListsDir: '/var/lib/apt/lists',
  dpkgStatusPath: '/var/lib/dpkg/status',
  aptLogDir: '/var/log/apt',
  rebootRequiredPath: '/var/run/reboot-required',
  bootDir: '/boot',
  dnfPath: '/usr/bin/dnf',
  dnfCacheDir: '/var/cache/dnf',
  /** `-C`: judge from the metadata cache (dnf-makecache.timer keeps it fresh) instead of going online from the check. */
  dnfCacheOnly: true,
  needsRestartingPath: '/usr/bin/needs-restarting',
  rpmPath: '/usr/bin/rpm',
  statPath: '/usr/bin/stat',
  datePath: '/usr/bin/date',
  /**
   * How long one check run waits for an apt simulation it started (seconds); by default until it
   * ends (a one-shot `mamori agent check` / `collect --save`). The daemon passes less than a
   * second (agent/agent.ts): the simulation goes on in the background, the pending-update facts
   * stay unknown meanwhile, and the check runs again when it ends (CheckContext.runAgainAfter).
   */
  aptWaitSeconds: Infinity,
};
type Params = typeof LINUX_OS_PATCHES_PARAMS;

/** ctx.memory key: the last apt simulation result and the inputs it was computed from. */
const APT_PENDING_MEMORY_KEY = 'apt.pending';

/**
 * Modification time and size of the dpkg status file and of every package list: what the apt
 * simulation depends on. Undefined when they cannot be read (then apt is always run).
 */
async function aptInputSignature(ctx: CheckContext, p: Params): Promise<string | undefined> {
  const list = await ctx.probes.listDir('apt.inputs.list', p.aptListsDir);
  if (!list.ok) return undefined;
  const names = (jsonNames(list.stdout) ?? []).filter((n) => /_Packages(\.\w+)?$|_(In)?Release$/.test(n));
  const st = await ctx.probes.exec('apt.inputs.stat', p.statPath, ['-c', '%n %Y %s', p.dpkgStatusPath, ...names.map((n) => `${p.aptListsDir}/${n}`)]);
  return st.ok && st.stdout.trim() ? st.stdout.trim() : undefined;
}

/** ctx.memory key: package name → when the agent first saw a security update pending for it (ISO). */
export const FIRST_SEEN_MEMORY_KEY = 'pendingSecurity.firstSeen';

type PendingSecurity = { name: string; version: string | null; severity: string | null; publishedAt: string | null };
/** What a package manager says is pending; a part that could not be read is undefined with its reason. */
type Pending = {
  security: PendingSecurity[];
  total: number | undefined;
  totalReason?: Why;
  /** Set when the publication dates could not be read (they exist, so no update may count as undated). */
  datesReason?: Why;
  sourceAgeHours: number | null | undefined;
  sourceAgeReason?: Why;
};
/** null: the package manager is not installed; `running`: apt is there, its simulation still runs. */
type Section = Pending | { reason: Why; running?: true } | null;

/** An apt simulation in progress: started at, and what it found (the section of the facts). */
interface AptJob {
  startedAt: string;
  done: Promise<Section>;
}
/** Simulations in flight, per probes (one per agent). */
const aptRunning = new WeakMap<Probes, AptJob>();
/** What a simulation found that no check run waited for, and its inputs: the next run uses it once, if they are unchanged. */
const aptEnded = new WeakMap<Probes, { inputs: string | undefined; section: Section }>();

async function aptSection(ctx: CheckContext, p: Params, now: Date): Promise<Section> {
  const aptInputs = await aptInputSignature(ctx, p);
  const cached = ctx.memory.get<{ inputs: string; pending: Pending }>(APT_PENDING_MEMORY_KEY);
  const ended = aptEnded.get(ctx.probes);
  aptEnded.delete(ctx.probes);
  if (aptInputs && cached?.inputs === aptInputs) return { ...cached.pending, ...(await newestMtimeAge(ctx, p, 'apt.lists', p.aptListsDir, (n) => /_(In)?Release$/.test(n), now)) };
  if (ended && ended.inputs === aptInputs) return ended.section;
  const job = aptRunning.get(ctx.probes) ?? startAptSimulation(ctx, p, aptInputs, now);
  // A replay answers at once; the daemon waits only briefly and the simulation goes on without it.
  const waitMs = ctx.probes.mode === 'replay' ? Infinity : p.aptWaitSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  const section = await Promise.race([job.done.then((s) => ({ s })), ...(Number.isFinite(waitMs) ? [new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), waitMs)))] : [])]);
  clearTimeout(timer);
  if (section) {
    aptEnded.delete(ctx.probes);
    return section.s;
  }
  ctx.runAgainAfter?.(job.done);
  return { reason: because('APT_SIMULATION_RUNNING', 'why.patch.aptRunning', { since: { time: job.startedAt } }), running: true };
}

/** `apt-get -s dist-upgrade` and `apt-cache policy` of what it would install; the result is remembered with the inputs it was computed from. */
function startAptSimulation(ctx: CheckContext, p: Params, aptInputs: string | undefined, now: Date): AptJob {
  const probes = ctx.probes;
  const simulate = async (): Promise<Section> => {
    const sim = await probes.exec('apt.simulate', p.aptGetPath, ['-s', '-o', 'Debug::NoLocking=1', 'dist-upgrade'], { timeoutMs: 120_000 });
    if (!sim.ok && sim.failure === 'NOT_FOUND') return null;
    if (!sim.ok) return { reason: probeWhy(sim) };
    const pending = await aptPending(ctx, p, sim.stdout, now);
    if (aptInputs && !('reason' in pending)) ctx.memory.set(APT_PENDING_MEMORY_KEY, { inputs: aptInputs, pending });
    return pending;
  };
  const done = simulate()
    .catch((err: Error): Section => ({ reason: because('CHECK_ERROR', 'why.checkError', { error: err.message.slice(0, 400) }) }))
    .then((section) => {
      aptRunning.delete(probes);
      aptEnded.set(probes, { inputs: aptInputs, section });
      return section;
    });
  const job = { startedAt: now.toISOString(), done };
  aptRunning.set(probes, job);
  return job;
}

async function dnfSection(ctx: CheckContext, p: Params, now: Date): Promise<Section> {
  const dnfArgs = p.dnfCacheOnly ? ['-q', '-C'] : ['-q'];
  const info = await ctx.probes.exec('dnf.updateinfo', p.dnfPath, [...dnfArgs, 'updateinfo', 'list', '--security', '--available'], { timeoutMs: 120_000 });
  if (!info.ok && info.failure === 'NOT_FOUND') return null;
  if (!info.ok) return { reason: probeWhy(info) };
  return dnfPending(ctx, p, info.stdout, dnfArgs, now);
}

export const collect: Collector<OsPatchesFacts> = async (ctx) => {
  const p = { ...LINUX_OS_PATCHES_PARAMS, ...ctx.params } as Params;
  const out: CheckOutput<OsPatchesFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  const now = ctx.probes.now();

  // Release
  let release: Map<string, string> | null = null;
  let releaseReason: Why | undefined;
  for (const [i, path] of p.osReleasePaths.entries()) {
    const r = await ctx.probes.readFile(`os-release.${i}`, path);
    if (r.ok) {
      release = parseOsRelease(r.stdout);
      break;
    }
    releaseReason ??= probeWhy(r);
  }
  const osId = release ? osIdFromRelease(release) : null;
  if (release && osId) {
    out.facts.osName = release.get('PRETTY_NAME') ?? release.get('NAME') ?? osId;
    out.facts.osId = osId;
    try {
      const cat = loadEolCatalogue();
      const rel = osRelease(cat, osId);
      out.facts.osEndOfSupport = rel?.eolDate ?? null;
      if (rel?.eolDate) out.facts.osSupported = now.getTime() <= Date.parse(`${rel.eolDate}T23:59:59Z`);
      else setUnknown(out, 'osSupported', because('NOT_IN_CATALOGUE', 'why.patch.osNotInCatalogue', { os: osId, catalogue: { date: cat.date } }));
    } catch (err) {
      setUnknown(out, ['osEndOfSupport', 'osSupported'], because('EOL_CATALOGUE', 'why.eolCatalogue', { error: (err as Error).message }));
    }
  } else {
    const reason = release || !releaseReason ? because('PARSE_FAILED', 'why.patch.osReleaseNoId', {}) : releaseReason;
    setUnknown(out, ['osName', 'osId', 'osEndOfSupport', 'osSupported'], reason);
  }
  const kernel = await ctx.probes.readFile('kernel-release', p.kernelReleasePath);
  if (kernel.ok) out.facts.osBuild = kernel.stdout.trim();
  else setUnknown(out, 'osBuild', probeWhy(kernel));

  // Package manager: apt first, then dnf. The apt simulation takes seconds and its answer only
  // changes when the installed packages or the package lists change: it is reused while their
  // modification times are the same. apt failing (not absent) does not stop dnf from being tried.
  let manager: 'apt' | 'dnf' | null = null;
  let pending: Pending | { reason: Why } | null = null;
  const apt = await aptSection(ctx, p, now);
  // apt still simulating manages this PC all the same: dnf is not asked meanwhile.
  const dnf = apt && (!('reason' in apt) || apt.running) ? null : await dnfSection(ctx, p, now);
  if (apt && !('reason' in apt)) [manager, pending] = ['apt', apt];
  else if (dnf && !('reason' in dnf)) [manager, pending] = ['dnf', dnf];
  else if (apt || dnf) {
    // Installed (or not recorded) but failed: which one manages this PC is known only if the other is absent.
    manager = apt && !dnf ? 'apt' : dnf && !apt ? 'dnf' : null;
    pending = { reason: allOf([apt && inPart('apt', apt.reason), dnf && inPart('dnf', dnf.reason)].filter((w): w is Why => !!w)) };
  }
  const U = out.unknownFacts;
  const PENDING_FACTS = ['pendingSecurityUpdates', 'pendingUpdatesTotal', 'oldestPendingSecuritySince', 'oldestUndatedPendingSecuritySince', 'updateSourceAgeHours'];
  if (!pending) {
    setUnknown(out, PENDING_FACTS, because('NOT_FOUND', 'why.patch.noPackageManager', { apt: p.aptGetPath, dnf: p.dnfPath }));
  } else if ('reason' in pending) {
    setUnknown(out, PENDING_FACTS, pending.reason);
  } else {
    const firstSeen = { ...(ctx.memory.get<Record<string, string>>(FIRST_SEEN_MEMORY_KEY) ?? {}) };
    const kept: Record<string, string> = {};
    const list: PendingUpdate[] = pending.security.map((s) => {
      const seen = firstSeen[s.name] ?? now.toISOString();
      kept[s.name] = seen;
      return { name: s.name, version: s.version, severity: s.severity, firstSeenAt: seen, publishedAt: s.publishedAt };
    });
    ctx.memory.set(FIRST_SEEN_MEMORY_KEY, kept);
    out.facts.pendingSecurityUpdates = list;
    if (pending.total === undefined) setUnknown(out, 'pendingUpdatesTotal', pending.totalReason ?? because('NOT_READ', 'why.patch.totalUnread', {}));
    else out.facts.pendingUpdatesTotal = pending.total;
    if (pending.datesReason) setUnknown(out, ['oldestPendingSecuritySince', 'oldestUndatedPendingSecuritySince'], pending.datesReason);
    else Object.assign(out.facts, pendingSecuritySince(list));
    if (pending.sourceAgeHours === undefined) setUnknown(out, 'updateSourceAgeHours', pending.sourceAgeReason ?? because('NOT_READ', 'why.patch.sourceAgeUnread', {}));
    else out.facts.updateSourceAgeHours = pending.sourceAgeHours;
  }

  // Last successful update
  if (manager === 'apt') await aptLastUpdate(ctx, p, out);
  else if (manager === 'dnf') {
    const r = await ctx.probes.exec('rpm.installtimes', p.rpmPath, ['-qa', '--queryformat', '%{INSTALLTIME}\\n'], { timeoutMs: 60_000 });
    if (!r.ok) setUnknown(out, 'lastSuccessfulUpdateAt', probeWhy(r));
    else {
      const times = r.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number);
      // rpm keeps no "update run" record; the newest package install time is when the last transaction succeeded.
      out.facts.lastSuccessfulUpdateAt = times.length ? new Date(Math.max(...times) * 1000).toISOString() : null;
    }
  } else setUnknown(out, 'lastSuccessfulUpdateAt', pending && 'reason' in pending ? pending.reason : because('NOT_FOUND', 'why.patch.noAptOrDnf', {}));

  await rebootState(ctx, p, manager, kernel.ok ? kernel.stdout.trim() : null, out);

  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const first = Object.keys(U)[0];
    const all = because('NOT_READ', 'why.patch.nothingRead', { cause: first === undefined ? '-' : (out.unknownMsgs?.[first] ?? U[first]!) });
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
};

async function aptPending(ctx: CheckContext, p: Params, simulation: string, now: Date): Promise<Pending | { reason: Why }> {
  const inst = parseAptSimulation(simulation);
  const security: PendingSecurity[] = [];
  if (inst.length > 0) {
    const pol = await ctx.probes.exec('apt.policy', p.aptCachePath, ['policy', ...inst.map((i) => i.name)], { timeoutMs: 60_000 });
    if (!pol.ok) return { reason: inPart('apt-cache policy', probeWhy(pol)) };
    const policies = parseAptPolicy(pol.stdout);
    for (const i of inst) {
      const policy = policies.get(i.name);
      if (!policy) return { reason: because('PARSE_FAILED', 'why.patch.aptPolicyNothing', { pkg: i.name }) };
      // apt archives publish no per-update date: these count from when the agent first saw them.
      if (isSecurityCandidate(policy)) security.push({ name: i.name, version: i.candidate, severity: null, publishedAt: null });
    }
  }
  const age = await newestMtimeAge(ctx, p, 'apt.lists', p.aptListsDir, (n) => /_(In)?Release$/.test(n), now);
  return { security, total: inst.length, ...age };
}

/**
 * Security advisories first (`updateinfo list`), their dates (`updateinfo info`), then the total
 * (`check-update`). A part that fails leaves the others known: the advisories already read are
 * kept when check-update fails.
 */
async function dnfPending(ctx: CheckContext, p: Params, updateinfo: string, dnfArgs: string[], now: Date): Promise<Pending> {
  const bestByName = new Map<string, { name: string; version: string | null; severity: string | null; advisories: string[] }>();
  const rank = (s: string | null): number => ['Low', 'Moderate', 'Important', 'Critical'].indexOf(s ?? '');
  for (const a of parseDnfUpdateinfo(updateinfo)) {
    const prev = bestByName.get(a.name);
    const advisories = [...(prev?.advisories ?? []), a.advisory];
    if (!prev || rank(a.severity) > rank(prev.severity)) bestByName.set(a.name, { name: a.name, version: a.version, severity: a.severity, advisories });
    else prev.advisories = advisories;
  }
  let datesReason: Why | undefined;
  let dates = new Map<string, string>();
  if (bestByName.size > 0) {
    const tz = await ctx.probes.exec('date.utc-offset', p.datePath, ['+%z']);
    const offset = tz.ok ? parseUtcOffset(tz.stdout) : null;
    const infoOut = offset === null ? null : await ctx.probes.exec('dnf.updateinfo-info', p.dnfPath, [...dnfArgs, 'updateinfo', 'info', '--security', '--available'], { timeoutMs: 120_000 });
    if (!tz.ok) datesReason = because('NOT_READ', 'why.patch.advisoryOffset', { cause: probeWhy(tz).msg });
    else if (offset === null) datesReason = because('PARSE_FAILED', 'why.patch.utcOffset', { output: { q: tz.stdout.trim().slice(0, 40) } });
    else if (infoOut && !infoOut.ok) datesReason = inPart('dnf updateinfo info', probeWhy(infoOut));
    else if (infoOut?.ok) dates = parseDnfAdvisoryDates(infoOut.stdout, offset);
  }
  // A package pending for several advisories is pending since the oldest of them.
  const security = [...bestByName.values()].map(({ advisories, ...s }) => ({ ...s, publishedAt: advisories.map((a) => dates.get(a)).filter((d): d is string => !!d).sort()[0] ?? null }));
  const check = await ctx.probes.exec('dnf.check-update', p.dnfPath, [...dnfArgs, 'check-update'], { timeoutMs: 120_000, okExitCodes: [0, 100] });
  const age = await newestMtimeAge(ctx, p, 'dnf.cache', p.dnfCacheDir, (n) => n.endsWith('.solv'), now);
  return {
    security,
    ...(check.ok ? { total: parseDnfCheckUpdate(check.stdout).length } : { total: undefined, totalReason: inPart('dnf check-update', probeWhy(check)) }),
    ...(datesReason ? { datesReason } : {}),
    ...age,
  };
}

/**
 * Age of the update metadata: newest modification time of the matching files. apt's http method
 * sets a downloaded file's mtime to the server's Last-Modified, so this is the age of the data the
 * pending list is computed from, not of the last `apt update` run.
 */
async function newestMtimeAge(ctx: CheckContext, p: Params, key: string, dir: string, pick: (name: string) => boolean, now: Date): Promise<{ sourceAgeHours: number | null | undefined; sourceAgeReason?: Why }> {
  const list = await ctx.probes.listDir(`${key}.list`, dir);
  if (!list.ok) return list.failure === 'NOT_FOUND' ? { sourceAgeHours: null } : { sourceAgeHours: undefined, sourceAgeReason: probeWhy(list) };
  const all = jsonNames(list.stdout);
  if (!all) return { sourceAgeHours: undefined, sourceAgeReason: because('PARSE_FAILED', 'why.listing', { dir }) };
  const names = all.filter(pick);
  if (names.length === 0) return { sourceAgeHours: null };
  const st = await ctx.probes.exec(`${key}.mtime`, p.statPath, ['-c', '%Y', ...names.map((n) => `${dir}/${n}`)]);
  if (!st.ok) return { sourceAgeHours: undefined, sourceAgeReason: probeWhy(st) };
  const times = st.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number);
  if (times.length === 0) return { sourceAgeHours: undefined, sourceAgeReason: because('PARSE_FAILED', 'why.patch.statNoTimes', { dir }) };
  return { sourceAgeHours: Math.max(0, Math.round(((now.getTime() - Math.max(...times) * 1000) / 3_600_000) * 10) / 10) };
}

/**
 * Only the current /var/log/apt/history.log is read (rotated history.log.N.gz are compressed and
 * the probe layer reads text): when it holds no upgrade and rotated logs exist, the date is unknown
 * rather than "never".
 */
async function aptLastUpdate(ctx: CheckContext, p: Params, out: CheckOutput<OsPatchesFacts>): Promise<void> {
  const tz = await ctx.probes.exec('date.utc-offset', p.datePath, ['+%z']);
  const offset = tz.ok ? parseUtcOffset(tz.stdout) : null;
  if (offset === null) {
    setUnknown(out, 'lastSuccessfulUpdateAt', tz.ok ? because('PARSE_FAILED', 'why.patch.utcOffset', { output: { q: tz.stdout.trim().slice(0, 40) } }) : because('NOT_READ', 'why.patch.historyOffset', { cause: probeWhy(tz).msg }));
    return;
  }
  const log = await ctx.probes.readFile('apt.history', `${p.aptLogDir}/history.log`);
  if (!log.ok && log.failure !== 'NOT_FOUND') {
    setUnknown(out, 'lastSuccessfulUpdateAt', probeWhy(log));
    return;
  }
  const last = log.ok ? lastAptUpgrade(log.stdout, offset) : null;
  if (last) {
    out.facts.lastSuccessfulUpdateAt = last;
    return;
  }
  const dir = await ctx.probes.listDir('apt.logdir', p.aptLogDir);
  if (!dir.ok && dir.failure !== 'NOT_FOUND') {
    setUnknown(out, 'lastSuccessfulUpdateAt', probeWhy(dir));
    return;
  }
  const rotated = dir.ok ? (jsonNames(dir.stdout) ?? []).filter((n) => /^history\.log\.\d+(\.gz)?$/.test(n)) : [];
  if (rotated.length) setUnknown(out, 'lastSuccessfulUpdateAt', because('NOT_READ', 'why.patch.rotatedHistory', { files: rotated }));
  else out.facts.lastSuccessfulUpdateAt = null;
}

async function rebootState(ctx: CheckContext, p: Params, manager: 'apt' | 'dnf' | null, running: string | null, out: CheckOutput<OsPatchesFacts>): Promise<void> {
  if (manager === 'dnf') {
    // needs-restarting -r: exit 1 = reboot required, 0 = not; exit 1 also means "unknown command" when the plugin is missing, so the text decides.
    const nr = await ctx.probes.exec('needs-restarting', p.needsRestartingPath, ['-r'], { okExitCodes: [0, 1] });
    if (nr.ok && nr.exitCode === 1 && /reboot is required/i.test(nr.stdout)) return void (out.facts.rebootRequired = true);
    if (nr.ok && nr.exitCode === 0) return void (out.facts.rebootRequired = false);
  } else {
    // Created by Ubuntu's update-notifier hooks and by some Debian package postinst scripts.
    const flag = await ctx.probes.readFile('reboot-required', p.rebootRequiredPath);
    if (flag.ok) return void (out.facts.rebootRequired = true);
    if (flag.failure !== 'NOT_FOUND') return setUnknown(out, 'rebootRequired', probeWhy(flag));
  }
  const boot = await ctx.probes.listDir('boot.list', p.bootDir);
  // No /boot at all, or one without any kernel image: nothing installed to boot into (a container).
  const bootEntries = boot.ok ? jsonNames(boot.stdout) : boot.failure === 'NOT_FOUND' ? [] : null;
  if (bootEntries === null) return setUnknown(out, 'rebootRequired', boot.ok ? because('PARSE_FAILED', 'why.listing', { dir: p.bootDir }) : inPart(p.bootDir, probeWhy(boot)));
  const noKernelImage = !bootEntries.some((n) => n.startsWith('vmlinuz-'));
  if (manager === 'apt' && noKernelImage) return void (out.facts.rebootRequired = false);
  if (!running) return setUnknown(out, 'rebootRequired', because('NOT_READ', 'why.patch.runningKernelUnread', { dir: p.bootDir }));
  const newer = newerKernelInstalled(bootEntries, running);
  if (newer !== null) out.facts.rebootRequired = newer;
  else setUnknown(out, 'rebootRequired', because('NOT_DETERMINABLE', manager === 'dnf' ? 'why.patch.kernelNotInBootNoAnswer' : 'why.patch.kernelNotInBoot', { kernel: running, dir: p.bootDir }));
}

function jsonNames(json: string): string[] | null {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
  } catch {
    return null;
  }
}
