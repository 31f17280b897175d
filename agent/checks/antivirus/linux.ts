/**
 * Linux collector of the antivirus check: ClamAV (clamd, clamonacc, database headers), Microsoft
 * Defender for Endpoint (`mdatp health`), and other resident products by process / install folder.
 * "Not installed", "not running", "stale signatures" and "never fully scanned" stay distinct facts.
 */
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import { allOf, because, inPart, probeWhy, said, setUnknown, type Why } from '../why.js';
import { listProcesses } from '../software/linux-proc.js';
import type { AntivirusFacts, AvProduct } from './facts.js';
import { findResidentProducts, parseClamConf, parseClamVersion, parseCvdHeader, parseMdatpHealth } from './linux-parse.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_ANTIVIRUS_PARAMS = {
  clamdPath: '/usr/sbin/clamd',
  clamscanPath: '/usr/bin/clamscan',
  /** Debian/Ubuntu, then Fedora/EPEL `clamd@scan`. */
  clamdConfPaths: ['/etc/clamav/clamd.conf', '/etc/clamd.d/scan.conf'],
  clamDatabaseDir: '/var/lib/clamav',
  headPath: '/usr/bin/head',
  statPath: '/usr/bin/stat',
  mdatpPath: '/usr/bin/mdatp',
  optDir: '/opt',
  procRoot: '/proc',
  findPath: '/usr/bin/find',
};

/** ctx.memory key under which the agent's own full-scan task records the end of the last complete ClamAV scan (ISO). ClamAV keeps no scan history. */
export const CLAMAV_FULL_SCAN_MEMORY_KEY = 'clamav.lastFullScanAt';

/** ClamAV database files clamd loads (clamav "Signatures" documentation: containers and plain formats). */
const CLAM_DB_FILE = /\.(cvd|cld|cud|hdb|hsb|hdu|hsu|mdb|msb|mdu|msu|ndb|ndu|ldb|ldu|idb|cdb|crb|cat|pdb|gdb|wdb|ftm|ign2|fp|sfp|yar|yara|info)$/;

type ProductUnknowns = Partial<Record<keyof AvProduct, Why>>;
interface Found {
  product: AvProduct;
  unknown: ProductUnknowns;
}

export const collect: Collector<AntivirusFacts> = async (ctx) => {
  const p = { ...LINUX_ANTIVIRUS_PARAMS, ...ctx.params } as typeof LINUX_ANTIVIRUS_PARAMS;
  const procs = await listProcesses(ctx.probes, p.procRoot, p.findPath);
  const processes = procs.ok ? procs.processes : null;
  const procReason = procs.ok ? said('') : procs.why;
  // A process found running is known; "not running" needs every process read.
  const runs = (names: readonly string[]): boolean | null => {
    if (!procs.ok) return null;
    if (procs.processes.some((pr) => names.includes(pr.name))) return true;
    return procs.unread.length > 0 ? null : false;
  };
  const unreadReason = procs.ok ? because('ACCESS_DENIED', 'why.av.processesUnread', { count: procs.unread.length, processes: procs.unread.slice(0, 3) }) : procReason;
  const found: Found[] = [];
  const problems: Why[] = [];

  const clam = await clamav(ctx, p, runs, unreadReason);
  if ('problem' in clam) problems.push(clam.problem);
  else if (clam.found) found.push(clam.found);

  const md = await mdatp(ctx, p, runs, unreadReason);
  if ('problem' in md) problems.push(md.problem);
  else if (md.found) found.push(md.found);

  const opt = await ctx.probes.listDir('opt.list', p.optDir);
  let optEntries: string[] | null = null;
  if (opt.ok) optEntries = safeNames(opt.stdout);
  else if (opt.failure !== 'NOT_FOUND') problems.push(inPart(p.optDir, probeWhy(opt)));
  else optEntries = [];
  for (const r of findResidentProducts(optEntries, processes)) {
    const unknown: ProductUnknowns = {
      realTimeProtection: because('UNSUPPORTED', 'why.av.noProtectionState', { product: r.product.name }),
      signatureUpdatedAt: because('UNSUPPORTED', 'why.av.noSignatureTime', { product: r.product.name }),
      expired: because('UNSUPPORTED', 'why.av.noLicence', { product: r.product.name }),
    };
    if (r.running === null) unknown.running = procReason;
    else if (r.running === false && procs.ok && procs.unread.length > 0) unknown.running = unreadReason;
    found.push({
      product: { name: r.product.name, kind: 'third-party', running: r.running, realTimeProtection: null, passive: null, signatureUpdatedAt: null, signaturesUpToDate: null, lastFullScanAt: null, lastQuickScanAt: null, tamperProtected: null, expired: null, source: 'process' },
      unknown,
    });
  }

  const out: CheckOutput<AntivirusFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  out.facts.products = found.map((f) => f.product);
  if (found.length === 0) {
    if (problems.length > 0) {
      const whole = because('AV_NOT_OBSERVABLE', 'why.av.noneFoundSomeUnread', { problems: allOf(problems).msg });
      return { status: 'unknown', facts: {}, unknownFacts: {}, reason: whole.text, reasonMsg: whole.msg };
    }
    Object.assign(out.facts, { installed: false, primaryProduct: null, running: false, realTimeProtection: false, signatureUpdatedAt: null, lastFullScanAt: null, productExpired: false, tamperProtected: null });
    return out;
  }
  out.facts.installed = true;
  // The primary product: the active (non-passive) one protecting on access, else the first found.
  const primary = found.find((f) => f.product.running === true && f.product.realTimeProtection === true && f.product.passive !== true) ?? found[0]!;
  const pp = primary.product;
  out.facts.primaryProduct = pp.name;
  const put = <K extends keyof AntivirusFacts>(fact: K, value: AntivirusFacts[K] | null, from: keyof AvProduct, nullIsUnknown: boolean): void => {
    const reason = primary.unknown[from];
    if (reason !== undefined) setUnknown(out, fact, reason);
    else if (value === null && nullIsUnknown) setUnknown(out, fact, because('UNSUPPORTED', 'why.av.notReported', { product: pp.name, value: String(from) }));
    else out.facts[fact] = value as AntivirusFacts[K];
  };
  put('running', pp.running, 'running', true);
  put('realTimeProtection', pp.realTimeProtection, 'realTimeProtection', true);
  put('signatureUpdatedAt', pp.signatureUpdatedAt, 'signatureUpdatedAt', false);
  put('lastFullScanAt', pp.lastFullScanAt, 'lastFullScanAt', false);
  put('productExpired', pp.expired, 'expired', true);
  put('tamperProtected', pp.tamperProtected, 'tamperProtected', false);
  if (problems.length > 0) ctx.log.warn('antivirus: some sources could not be read', { problems: problems.map((w) => w.text) });
  return out;
};

type Runs = (processNames: readonly string[]) => boolean | null;

async function clamav(ctx: CheckContext, p: typeof LINUX_ANTIVIRUS_PARAMS, runs: Runs, procReason: Why): Promise<{ found: Found | null } | { problem: Why }> {
  const clamdVer = await ctx.probes.exec('clamav.clamd-version', p.clamdPath, ['--version']);
  const scanVer = await ctx.probes.exec('clamav.clamscan-version', p.clamscanPath, ['--version']);
  const clamdRuns = runs(['clamd']);
  // Installed only on evidence: a program that answered, or clamd running. Both programs absent is
  // "not installed"; any other failure leaves it open.
  if (!clamdVer.ok && !scanVer.ok && clamdRuns !== true) {
    if (clamdVer.failure === 'NOT_FOUND' && scanVer.failure === 'NOT_FOUND') return { found: null };
    return { problem: because('AV_NOT_OBSERVABLE', 'why.av.clamavUndecided', { clamd: probeWhy(clamdVer).msg, clamscan: probeWhy(scanVer).msg }) };
  }
  const version = (clamdVer.ok ? parseClamVersion(clamdVer.stdout) : null) ?? (scanVer.ok ? parseClamVersion(scanVer.stdout) : null);
  const unknown: ProductUnknowns = {};

  // The database directory clamd is configured with (first existing config wins).
  let dbDir = p.clamDatabaseDir;
  for (const [i, path] of p.clamdConfPaths.entries()) {
    const conf = await ctx.probes.readFile(`clamav.conf.${i}`, path);
    if (!conf.ok) continue;
    dbDir = parseClamConf(conf.stdout).options.get('DatabaseDirectory') ?? dbDir;
    break;
  }
  let signatureUpdatedAt: string | null = null;
  const list = await ctx.probes.listDir('clamav.db.list', dbDir);
  if (!list.ok && list.failure !== 'NOT_FOUND') unknown.signatureUpdatedAt = inPart(dbDir, probeWhy(list));
  else {
    const files = list.ok ? safeNames(list.stdout).filter((n) => CLAM_DB_FILE.test(n)) : [];
    const daily = files.find((n) => n === 'daily.cld') ?? files.find((n) => n === 'daily.cvd');
    if (daily) {
      // Only the 512-byte header: the containers are tens of MB.
      const head = await ctx.probes.exec('clamav.daily-header', p.headPath, ['-c', '512', `${dbDir}/${daily}`]);
      const parsed = head.ok ? parseCvdHeader(head.stdout) : null;
      if (parsed) signatureUpdatedAt = parsed.builtAt;
      else unknown.signatureUpdatedAt = head.ok ? because('PARSE_FAILED', 'why.av.noClamHeader', { file: `${dbDir}/${daily}` }) : probeWhy(head);
    } else if (files.length > 0) {
      // Only unofficial databases (.hdb/.ndb …): they carry no build time; their newest file time stands for it.
      const st = await ctx.probes.exec('clamav.db.mtime', p.statPath, ['-c', '%Y', ...files.map((f) => `${dbDir}/${f}`)]);
      const newest = st.ok ? Math.max(...st.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number)) : NaN;
      if (Number.isFinite(newest)) signatureUpdatedAt = new Date(newest * 1000).toISOString();
      else unknown.signatureUpdatedAt = st.ok ? because('PARSE_FAILED', 'why.av.statNoTimes', { dir: dbDir }) : probeWhy(st);
    }
  }

  const running = clamdRuns;
  // On-access scanning is clamonacc (fanotify) submitting to a running clamd (clamonacc(8)).
  const onAccess = runs(['clamonacc']);
  const rtp = running === false || onAccess === false ? false : running === true && onAccess === true ? true : null;
  if (running === null) unknown.running = procReason;
  if (rtp === null) unknown.realTimeProtection = procReason;
  const lastFull = ctx.memory.get<string>(CLAMAV_FULL_SCAN_MEMORY_KEY) ?? null;
  return {
    found: {
      product: {
        name: version ? `ClamAV ${version.engine}` : 'ClamAV',
        kind: 'clamav',
        running,
        realTimeProtection: rtp,
        passive: null,
        signatureUpdatedAt,
        signaturesUpToDate: null,
        lastFullScanAt: lastFull,
        lastQuickScanAt: null,
        tamperProtected: null,
        // Open source: no licence that can expire.
        expired: false,
        source: 'clamd',
      },
      unknown,
    },
  };
}

async function mdatp(ctx: CheckContext, p: typeof LINUX_ANTIVIRUS_PARAMS, runs: Runs, procReason: Why): Promise<{ found: Found | null } | { problem: Why }> {
  const health = await ctx.probes.exec('mdatp.health', p.mdatpPath, ['health', '--output', 'json'], { timeoutMs: 30_000 });
  // The resident part is wdavdaemon; mdatp health fails when it is down.
  const running = runs(['wdavdaemon']);
  if (!health.ok && running !== true) {
    if (health.failure === 'NOT_FOUND') return { found: null };
    // A failed health report alone does not show the product is installed.
    return { problem: because('AV_NOT_OBSERVABLE', 'why.av.mdatpUndecided', { cause: probeWhy(health).msg }) };
  }
  const unknown: ProductUnknowns = {};
  const parsed = health.ok ? parseMdatpHealth(health.stdout, ctx.probes.now()) : null;
  const reason = health.ok ? because('PARSE_FAILED', 'why.av.mdatpNoJson', {}) : probeWhy(health);
  if (running === null) unknown.running = procReason;
  if (!parsed) for (const k of ['realTimeProtection', 'passive', 'signatureUpdatedAt', 'expired', 'tamperProtected'] as const) unknown[k] = reason;
  return {
    found: {
      product: {
        name: 'Microsoft Defender for Endpoint',
        kind: 'mdatp',
        running,
        realTimeProtection: parsed?.realTimeProtection ?? null,
        passive: parsed?.passive ?? null,
        signatureUpdatedAt: parsed?.definitionsUpdatedAt ?? null,
        signaturesUpToDate: parsed?.definitionsUpToDate ?? null,
        lastFullScanAt: null,
        lastQuickScanAt: null,
        tamperProtected: parsed?.tamperProtected ?? null,
        expired: parsed?.licensed === null || parsed === null ? null : !parsed.licensed,
        source: 'mdatp',
      },
      unknown: { ...unknown, lastFullScanAt: because('UNSUPPORTED', 'why.av.mdatpNoFullScan', {}) },
    },
  };
}

function safeNames(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
