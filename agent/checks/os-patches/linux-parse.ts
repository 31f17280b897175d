/** Pure parsers of the Linux patch-state probes: os-release, apt, dnf, history logs, kernels. */

/** /etc/os-release (os-release(5)): `KEY=value`, values optionally quoted with shell escapes. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    let v = (m[2] ?? '').trim();
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    out.set(m[1], v);
  }
  return out;
}

/**
 * Catalogue id of the release (grammar of config/eol/catalogue.yml): `<ID>-<VERSION_ID>`
 * (`ubuntu-24.04`, `debian-12`), the major version only for the RHEL family (`rhel-9` for 9.4);
 * Debian testing/sid have no VERSION_ID and use the codename.
 */
export function osIdFromRelease(r: Map<string, string>): string | null {
  const id = r.get('ID')?.toLowerCase();
  if (!id) return null;
  const version = r.get('VERSION_ID');
  if (!version) return r.get('VERSION_CODENAME') ? `${id}-${r.get('VERSION_CODENAME')!.toLowerCase()}` : null;
  if (['rhel', 'centos', 'rocky', 'almalinux', 'ol'].includes(id)) return `${id}-${version.split('.')[0]}`;
  return `${id}-${version}`;
}

/** One `Inst` line of `apt-get -s dist-upgrade`. */
export interface AptInst {
  name: string;
  installed: string | null;
  candidate: string;
  /** `Origin:Version/Suite` items as apt printed them, e.g. `Debian-Security:12/stable-security`. */
  origins: string[];
}

/**
 * `LC_ALL=C apt-get -s dist-upgrade`: `Inst <pkg> [<installed>] (<candidate> <origin>[, <origin>…] [<arch>])`,
 * possibly followed by ` []`; a new package (e.g. a new kernel) has no `[<installed>]`.
 * Only `Inst` lines are updates; `Conf`/`Remv` lines and the prose are ignored.
 */
export function parseAptSimulation(text: string): AptInst[] {
  const out: AptInst[] = [];
  for (const line of text.split('\n')) {
    const m = /^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+)(?: (.*?))?(?: \[[^\]]+\])?\)/.exec(line);
    if (!m?.[1] || !m[3]) continue;
    out.push({ name: m[1], installed: m[2] ?? null, candidate: m[3], origins: (m[4] ?? '').split(', ').map((s) => s.trim()).filter(Boolean) });
  }
  return out;
}

/** What `apt-cache policy` says about one package: candidate and the `suite/component` + URL of every origin of each version. */
export interface AptPolicy {
  installed: string | null;
  candidate: string | null;
  /** version → origins, e.g. `{ url: 'http://deb.debian.org/debian-security', archive: 'bookworm-security/main' }` */
  versions: Map<string, { url: string; archive: string | null }[]>;
}

/**
 * `LC_ALL=C apt-cache policy <pkg…>`: a `<pkg>:` line, `  Installed:`, `  Candidate:`,
 * `  Version table:`, then version lines (`     <ver> <prio>` or ` *** <ver> <prio>`) each
 * followed by origin lines (`        <prio> <url> <suite/component> <arch> Packages`, or
 * `        100 /var/lib/dpkg/status`). Told apart by token shape, not by indentation.
 */
export function parseAptPolicy(text: string): Map<string, AptPolicy> {
  const out = new Map<string, AptPolicy>();
  let cur: AptPolicy | null = null;
  let version: string | null = null;
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) {
      cur = { installed: null, candidate: null, versions: new Map() };
      out.set(line.slice(0, -1), cur);
      version = null;
      continue;
    }
    if (!cur) continue;
    const t = line.trim().split(/\s+/).filter((x) => x !== '***');
    if (t[0] === 'Installed:') cur.installed = t[1] && t[1] !== '(none)' ? t[1] : null;
    else if (t[0] === 'Candidate:') cur.candidate = t[1] && t[1] !== '(none)' ? t[1] : null;
    else if (t.length >= 2 && /^-?\d+$/.test(t[0]!) && (t[1]!.includes('://') || t[1]!.startsWith('/'))) {
      if (version) cur.versions.get(version)!.push({ url: t[1]!, archive: t[2] ?? null });
    } else if (t.length === 2 && /^-?\d+$/.test(t[1]!)) {
      version = t[0]!;
      if (!cur.versions.has(version)) cur.versions.set(version, []);
    }
  }
  return out;
}

/**
 * A security update when ANY origin of the candidate version is a security pocket — Ubuntu
 * copies security fixes into -updates and apt may resolve through that pocket, so the Inst line
 * alone undercounts (same rule as Ubuntu's apt-check isSecurityUpgrade). Pockets: `*-security`
 * (Debian, Ubuntu, Ubuntu Pro `*-apps-security`/`*-infra-security`), and Debian ≤ 10
 * `buster/updates` on security.debian.org.
 */
export function isSecurityCandidate(policy: AptPolicy): boolean {
  if (!policy.candidate) return false;
  const origins = policy.versions.get(policy.candidate) ?? [];
  return origins.some((o) => /^[^/]*-security(\/|$)/.test(o.archive ?? '') || /\/\/security\.debian\.org\b|\/debian-security\b/.test(o.url));
}

/** `date +%z` → minutes east of UTC (`+0900` → 540). */
export function parseUtcOffset(text: string): number | null {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * /var/log/apt/history.log: blank-line separated entries with `Start-Date: 2025-06-24  14:36:25`
 * (local time, two spaces), `Commandline:`, `Upgrade:`/`Install:`/…, optional `Error:`,
 * `End-Date:`. Returns the End-Date (as ISO, using the PC's UTC offset) of the newest entry that
 * upgraded packages and finished without error; null when the file has none.
 */
export function lastAptUpgrade(text: string, utcOffsetMinutes: number): string | null {
  let best: number | null = null;
  for (const entry of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of entry.split('\n')) {
      const sep = line.indexOf(': ');
      if (sep > 0) fields.set(line.slice(0, sep), line.slice(sep + 2).trim());
    }
    const end = fields.get('End-Date');
    if (!fields.has('Upgrade') || fields.has('Error') || !end) continue;
    const m = /^(\d{4})-(\d{2})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2})$/.exec(end);
    if (!m) continue;
    const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) - utcOffsetMinutes * 60_000;
    if (best === null || t > best) best = t;
  }
  return best === null ? null : new Date(best).toISOString();
}

/** One line of `dnf updateinfo list --security`. */
export interface DnfAdvisory {
  advisory: string;
  severity: string | null;
  name: string;
  version: string;
}

/** Split `name-[epoch:]version-release.arch` (rpm NEVRA) into name and `[epoch:]version-release`. */
export function splitNevra(nevra: string): { name: string; version: string } | null {
  const noArch = nevra.replace(/\.(x86_64|noarch|i686|aarch64|ppc64le|s390x|src)$/, '');
  const m = /^(.+)-([^-]+)-([^-]+)$/.exec(noArch);
  if (!m?.[1]) return null;
  return { name: m[1], version: `${m[2]}-${m[3]}` };
}

/**
 * `dnf -q updateinfo list --security --available`: `<advisory> <Severity>/Sec. <nevra>` (dnf 4;
 * the severity part is missing or `Unknown` for advisories without one). Lines of other types
 * (bugfix, enhancement) are ignored.
 */
export function parseDnfUpdateinfo(text: string): DnfAdvisory[] {
  const out: DnfAdvisory[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 3 || !/(^|\/)Sec\.$/.test(t[1]!)) continue;
    const nv = splitNevra(t[2]!);
    if (!nv) continue;
    const sev = t[1]!.includes('/') ? t[1]!.split('/')[0]! : null;
    out.push({ advisory: t[0]!, severity: sev && sev !== 'Unknown' && sev !== 'None' ? sev : null, ...nv });
  }
  return out;
}

/**
 * `dnf -q updateinfo info --security --available`: per advisory a block of `Label: value` lines
 * (dnf 4 `display_info`: `Update ID`, `Type`, `Updated`, `Bugs`, `CVEs`, `Description`,
 * `Severity`; dnf 4.0 of RHEL 8.0 pads as `  Update ID : …`, later versions as `  Update ID: …`).
 * `Updated` is libsolv's advisory time (the updateinfo.xml `updated` date, else `issued`) printed by
 * Python's `datetime.fromtimestamp`, i.e. in the PC's local time: converted with its UTC offset.
 * Returns advisory id → ISO time.
 */
export function parseDnfAdvisoryDates(text: string, utcOffsetMinutes: number): Map<string, string> {
  const out = new Map<string, string>();
  let id: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^\s*(Update ID|Updated)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Update ID') id = m[2] || null;
    else if (id) {
      const d = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(m[2] ?? '');
      if (d) out.set(id, new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!) - utcOffsetMinutes * 60_000).toISOString());
      id = null;
    }
  }
  return out;
}

/** `dnf -q check-update` (exit 100 when updates exist): `name.arch  [epoch:]version-release  repo` rows, then optional `Obsoleting Packages`. */
export function parseDnfCheckUpdate(text: string): { name: string; version: string }[] {
  const out: { name: string; version: string }[] = [];
  for (const line of text.split('\n')) {
    if (/^Obsoleting Packages/.test(line)) break;
    const t = line.trim().split(/\s+/);
    if (t.length !== 3 || !t[0]!.includes('.') || !/\d/.test(t[1]!)) continue;
    out.push({ name: t[0]!.slice(0, t[0]!.lastIndexOf('.')), version: t[1]! });
  }
  return out;
}

/** Compare version strings segment by segment, digits numerically (kernel releases such as 6.1.0-9-amd64 < 6.1.0-30-amd64). */
export function compareVersions(a: string, b: string): number {
  const ta = a.match(/\d+|[a-z]+/gi) ?? [];
  const tb = b.match(/\d+|[a-z]+/gi) ?? [];
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? 1 : -1;
    if (!nx && x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Reboot pending by kernel: the newest `vmlinuz-<release>` in /boot is newer than the running
 * release. Null when the running kernel is not in /boot (containers, custom boot), because then
 * the comparison says nothing.
 */
export function newerKernelInstalled(bootEntries: string[], running: string): boolean | null {
  const releases = bootEntries.filter((n) => n.startsWith('vmlinuz-')).map((n) => n.slice('vmlinuz-'.length));
  if (!releases.includes(running)) return null;
  return releases.some((r) => compareVersions(r, running) > 0);
}
