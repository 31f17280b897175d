/** Pure parsers of the Linux package inventories (dpkg, rpm, snap, flatpak). */
import type { InstalledPackage } from './facts.js';

/**
 * /var/lib/dpkg/status: RFC-822-like stanzas separated by blank lines; continuation lines start
 * with a space. A package is installed when the third word of `Status:` is `installed`
 * (`install ok installed`, and also `hold ok installed` for held packages — dpkg(1) "package
 * states"); `config-files` (removed, not purged) and `not-installed` are left out.
 */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (line.startsWith(' ') || line.startsWith('\t')) continue;
      const sep = line.indexOf(':');
      if (sep > 0) fields.set(line.slice(0, sep).toLowerCase(), line.slice(sep + 1).trim());
    }
    const name = fields.get('package');
    const status = (fields.get('status') ?? '').split(/\s+/);
    if (!name || status[1] !== 'ok' || status[2] !== 'installed') continue;
    out.push({ name, version: fields.get('version') ?? null, source: 'dpkg', publisher: null, user: null });
  }
  return out;
}

/** The queryformat the collector passes to `rpm -qa` (tab-separated, one package a line). */
export const RPM_QUERYFORMAT = '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\n';

/**
 * Output of `rpm -qa --queryformat RPM_QUERYFORMAT`. Epoch 0 is dropped from the version
 * (`0:3.0.7-27.el9` → `3.0.7-27.el9`) as rpm itself prints it; `(none)` vendors are null;
 * the `gpg-pubkey` pseudo-packages (imported signing keys) are not software.
 */
export function parseRpmQuery(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, evr, , vendor] = line.split('\t');
    if (!name || evr === undefined || name === 'gpg-pubkey') continue;
    const version = evr.replace(/^0:/, '');
    out.push({ name, version: version || null, source: 'rpm', publisher: vendor && vendor !== '(none)' ? vendor : null, user: null });
  }
  return out;
}

/**
 * `snap list`: a header line `Name  Version  Rev  Tracking  Publisher  Notes`, then one row per
 * snap; empty cells are printed as `-`, so splitting on whitespace keeps the columns. Columns are
 * found by header name. The publisher carries a verification mark (`✓`, or `**` without UTF-8,
 * `✪`/`*` for starred) that is removed.
 */
export function parseSnapList(text: string): InstalledPackage[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift()?.trim().split(/\s+/).map((h) => h.toLowerCase());
  if (!header || !header.includes('name')) return [];
  const col = (row: string[], name: string): string | undefined => {
    const i = header.indexOf(name);
    return i >= 0 ? row[i] : undefined;
  };
  const out: InstalledPackage[] = [];
  for (const line of lines) {
    const row = line.trim().split(/\s+/);
    const name = col(row, 'name');
    if (!name) continue;
    if ((col(row, 'notes') ?? '').split(',').includes('disabled')) continue;
    const version = col(row, 'version');
    const publisher = (col(row, 'publisher') ?? '-').replace(/(\*\*|\*|✓|✪)$/u, '');
    out.push({ name, version: version && version !== '-' ? version : null, source: 'snap', publisher: publisher && publisher !== '-' ? publisher : null, user: null });
  }
  return out;
}

/** Snap names from the file names in /var/lib/snapd/snaps (`<name>_<revision>.snap`) — used when snapd does not answer. */
export function parseSnapFileNames(names: string[]): InstalledPackage[] {
  const seen = new Set<string>();
  for (const n of names) {
    const m = /^(.+)_(x?\d+)\.snap$/.exec(n);
    if (m?.[1]) seen.add(m[1]);
  }
  return [...seen].sort().map((name) => ({ name, version: null, source: 'snap' as const, publisher: null, user: null }));
}

/** The columns the collector asks `flatpak list` for, in this order. */
export const FLATPAK_COLUMNS = 'application,version,branch,origin';

/**
 * `flatpak list --columns=application,version,branch,origin`: tab-separated. When stdout is not
 * a terminal flatpak prints no header, but a header row (`Application ID`) is skipped if present.
 * An empty version (many runtimes) falls back to the branch.
 */
export function parseFlatpakList(text: string, user: string | null): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [app, version, branch, origin] = line.split('\t').map((c) => c.trim());
    if (!app || app === 'Application ID' || app === 'Application') continue;
    out.push({ name: app, version: version || branch || null, source: 'flatpak', publisher: origin || null, user });
  }
  return out;
}
