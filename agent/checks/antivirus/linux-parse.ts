/** Pure parsers of the Linux anti-malware probes: ClamAV config and database headers, mdatp health, resident products. */

/**
 * clamd.conf / scan.conf: `Key Value` lines, `#` comments. Returns the last value of each key
 * (clamd uses the last occurrence). The Debian/Fedora sample files start with an `Example` line
 * that makes clamd refuse to start; it is reported so a "configured" ClamAV is not assumed.
 */
export function parseClamConf(text: string): { options: Map<string, string>; example: boolean } {
  const options = new Map<string, string>();
  let example = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m?.[1]) continue;
    if (m[1] === 'Example') example = true;
    else options.set(m[1], (m[2] ?? '').replace(/^"(.*)"$/, '$1'));
  }
  return { options, example };
}

/**
 * Header of a ClamAV database container (.cvd/.cld): the first 512 bytes, ASCII,
 * `ClamAV-VDB:<build time text>:<version>:<signatures>:<flevel>:<md5>:<dsig>:<builder>:<build time epoch>`
 * padded with spaces (ClamAV "CVD format" documentation). The last field is the build time in
 * seconds since the epoch; the text time contains colons-free `08-02` hours so splitting on `:` is safe.
 */
export function parseCvdHeader(text: string): { version: number; builtAt: string; signatures: number } | null {
  const head = text.slice(0, 512);
  if (!head.startsWith('ClamAV-VDB:')) return null;
  const fields = head.split(':');
  if (fields.length < 9) return null;
  const epoch = Number((fields[8] ?? '').trim().split(/\s/)[0]);
  const version = Number(fields[2]);
  if (!Number.isInteger(epoch) || epoch <= 0 || !Number.isInteger(version)) return null;
  return { version, builtAt: new Date(epoch * 1000).toISOString(), signatures: Number(fields[3]) || 0 };
}

/**
 * `clamd --version` / `clamscan --version`: `ClamAV 1.4.6/27825/Wed Nov 19 10:10:02 2025`
 * (engine / daily version / daily build time, day space-padded), or just `ClamAV 1.4.6` when no
 * official database is loaded.
 */
export function parseClamVersion(text: string): { engine: string; dbVersion: number | null } | null {
  const m = /^ClamAV\s+([0-9][^\s/]*)(?:\/(\d+)\/)?/m.exec(text.trim());
  if (!m?.[1]) return null;
  return { engine: m[1], dbVersion: m[2] ? Number(m[2]) : null };
}

/** What the collector uses of `mdatp health --output json`. */
export interface MdatpHealth {
  healthy: boolean | null;
  licensed: boolean | null;
  realTimeProtection: boolean | null;
  passive: boolean | null;
  definitionsUpdatedAt: string | null;
  definitionsUpToDate: boolean | null;
  tamperProtected: boolean | null;
}

/**
 * `mdatp health --output json`. The JSON form prints the fields of the learn.microsoft.com
 * "Investigate agent health issues" (health-status) table in camelCase — `realTimeProtectionEnabled`,
 * `passiveModeEnabled`, `definitionsUpdated`, `definitionsUpdatedMinutesAgo`, `definitionsStatus`,
 * `tamperProtection`, `licensed`, `healthy`; the snake_case names of the table are those of the
 * text form (`mdatp health` without `--output json`), which the agent does not read. Managed settings may be printed as
 * `{"value": …, "scope": "managed"}` instead of a bare value. Definition time: minutes ago against
 * `now`, else the update time (epoch ms or s, or the text form `Nov 10, 2025 at 03:15:54 PM`).
 * `definitionsStatus` is a string (`up_to_date`) or an object with a `$type` of that name. The tamper
 * protection mode is `block`/`audit`/`disabled`: only `block` protects.
 */
export function parseMdatpHealth(text: string, now: Date): MdatpHealth | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return null;
  const o = doc as Record<string, unknown>;
  const v = (k: string): unknown => {
    const x = o[k];
    return x && typeof x === 'object' && !Array.isArray(x) && 'value' in x ? (x as { value: unknown }).value : x;
  };
  const bool = (k: string): boolean | null => {
    const x = v(k);
    if (typeof x === 'boolean') return x;
    if (x === 'true' || x === 'enabled') return true;
    if (x === 'false' || x === 'disabled') return false;
    return null;
  };
  let updated: string | null = null;
  const minutes = v('definitionsUpdatedMinutesAgo');
  const stamp = v('definitionsUpdated');
  if (typeof minutes === 'number' && Number.isFinite(minutes)) updated = new Date(now.getTime() - minutes * 60_000).toISOString();
  else if (typeof stamp === 'number' && stamp > 0) updated = new Date(stamp < 1e11 ? stamp * 1000 : stamp).toISOString();
  else if (typeof stamp === 'string' && !Number.isNaN(Date.parse(stamp.replace(' at ', ' ')))) updated = new Date(Date.parse(stamp.replace(' at ', ' '))).toISOString();
  const rawStatus = v('definitionsStatus');
  const status = rawStatus && typeof rawStatus === 'object' && '$type' in rawStatus ? (rawStatus as { $type: unknown }).$type : rawStatus;
  const tamper = v('tamperProtection');
  return {
    healthy: bool('healthy'),
    licensed: bool('licensed'),
    realTimeProtection: bool('realTimeProtectionEnabled'),
    passive: bool('passiveModeEnabled'),
    definitionsUpdatedAt: updated,
    definitionsUpToDate: typeof status === 'string' ? status === 'up_to_date' : null,
    tamperProtected: typeof tamper === 'string' ? tamper === 'block' : null,
  };
}

/** A resident anti-malware product other than ClamAV and mdatp, recognised by process name, exe path or install folder. */
export interface ResidentProduct {
  name: string;
  /** Process names (comm, ≤15 characters) of its resident part. */
  processes: string[];
  /** Install folder under /opt (its presence = installed). */
  optDir: string;
}

/** Vendors' documented install folders and daemon names (vendor install guides; names as `ps -e` shows them). */
export const RESIDENT_PRODUCTS: readonly ResidentProduct[] = [
  { name: 'CrowdStrike Falcon', processes: ['falcon-sensor', 'falcond'], optDir: 'CrowdStrike' },
  { name: 'SentinelOne', processes: ['s1-agent', 's1-orchestrator', 's1-network', 's1-scanner'], optDir: 'sentinelone' },
  { name: 'Sophos Protection for Linux', processes: ['sophos_threat_d', 'sophos_managem', 'soapd', 'mcsrouter'], optDir: 'sophos-spl' },
  { name: 'ESET Endpoint Antivirus for Linux', processes: ['oaeventd', 'esets_daemon', 'startd'], optDir: 'eset' },
  { name: 'Trend Micro Deep Security Agent', processes: ['ds_agent'], optDir: 'ds_agent' },
  { name: 'Trellix Endpoint Security for Linux', processes: ['mfetpd', 'isectpd'], optDir: 'isec' },
  { name: 'Bitdefender GravityZone', processes: ['bdsecd', 'epagng'], optDir: 'BitDefender' },
  { name: 'Kaspersky Endpoint Security for Linux', processes: ['kesl', 'wdserver'], optDir: 'kaspersky' },
];

/** Which resident products are installed (folder under /opt) and whether a process of theirs runs. */
export function findResidentProducts(optEntries: readonly string[] | null, processes: readonly { name: string; exe: string | null }[] | null): { product: ResidentProduct; installed: boolean; running: boolean | null }[] {
  const found: { product: ResidentProduct; installed: boolean; running: boolean | null }[] = [];
  for (const product of RESIDENT_PRODUCTS) {
    const inOpt = optEntries?.includes(product.optDir) ?? false;
    // 'startd' alone is too generic: ESET's counts only when its exe lies under /opt/eset.
    const runs = processes
      ? processes.some((p) => product.processes.includes(p.name) && (p.name !== 'startd' || (p.exe ?? '').startsWith(`/opt/${product.optDir}/`)) || (p.exe ?? '').startsWith(`/opt/${product.optDir}/`))
      : null;
    if (inOpt || runs) found.push({ product, installed: true, running: runs });
  }
  return found;
}
