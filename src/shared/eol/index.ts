/**
 * The end-of-support (サポート終了) catalogue: config/eol/catalogue.yml, shipped with the product
 * because PCs may be offline. It answers two questions:
 *  - which installed software is a product cycle the vendor has stopped (or will stop) supporting
 *    (`matchSoftware`, used by the software check, judged by rules SW-003/SW-004);
 *  - when the support of an OS release ends (`osRelease`, used by the os-patches check, PATCH-003/004).
 *
 * osId grammar (the os-patches check builds it, `osRelease` looks it up):
 *  - Windows client, semi-annual releases: `windows-<10|11>-<DisplayVersion lower-case>-<family>`, e.g.
 *    windows-11-23h2-pro, windows-10-22h2-enterprise, windows-10-1809-education. Before 20H2 Windows had no
 *    DisplayVersion: use ReleaseId (1507 … 2009; 2009 is written 20h2). Families and the EditionID values
 *    they cover (see `windowsEditionFamily`): home (Core*), pro (Professional*, incl. Pro Education and Pro for
 *    Workstations, which follow the Home/Pro lifecycle), enterprise (Enterprise, EnterpriseN, ServerRdsh =
 *    multi-session), education (Education*), iot (IoTEnterprise). Enterprise/Education/IoT H2 releases get
 *    36 months, Home/Pro 24 months (H1 releases of Windows 10 had 18 months for all families).
 *  - Windows client, long-term servicing: `windows-10-ltsb-2015`, `windows-10-ltsb-2016`, `windows-10-ltsc-2019`,
 *    `windows-10-ltsc-2021`, `windows-11-ltsc-2024`; the IoT Enterprise LTSC editions (longer support) add
 *    `-iot`: `windows-10-ltsc-2021-iot`, `windows-11-ltsc-2024-iot`.
 *  - Older Windows: `windows-7`, `windows-8`, `windows-8.1`, `windows-vista`, `windows-xp`.
 *  - Windows Server: `windows-server-<2008|2008-r2|2012|2012-r2|2016|2019|2022|2025>`.
 *  - Linux: `<os-release ID>-<VERSION_ID>` (debian-12, ubuntu-24.04, fedora-41); for rhel, centos, rocky and
 *    almalinux the major version only (rhel-9, rocky-9, almalinux-9).
 *
 * Dates: `eol` in the YAML is YYYY-MM-DD, or YYYY-MM when the vendor gives only the month (read as the last day
 * of that month, i.e. "at the latest"), or null when no end is announced or confirmed. Every API here returns
 * resolved YYYY-MM-DD dates or null.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { loadYamlFile } from '../catalogue/load.js';
import { configDir } from '../paths.js';
import type { EndOfSupportMatch } from '../../../agent/checks/software/facts.js';

export type { EndOfSupportMatch };

const compiles = (flags: string) => (pattern: string) => {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
};
const Pattern = z.string().min(1).refine(compiles('iu'), { message: 'not a valid regular expression' });

const EolDate = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/, 'eol must be YYYY-MM-DD or YYYY-MM')
  .nullable();

const PackageSource = z.enum(['dpkg', 'rpm', 'snap', 'flatpak', 'uninstall-hklm', 'uninstall-wow64', 'uninstall-user', 'appx']);

/** How an installed package or program is recognised as a product, and which cycle it is. */
const Matcher = z
  .object({
    /** Regex (case-insensitive) on the package name (Linux) or the Uninstall DisplayName (Windows). */
    name: Pattern,
    /** Optional regex the version must match (also a place for the `cycle` group). */
    version: Pattern.optional(),
    /** Fixed cycle; otherwise the named group `cycle` of `name` or `version` gives it. */
    cycle: z.string().optional(),
    /** Restrict to these package sources (e.g. only dpkg/rpm from a vendor repository). */
    sources: z.array(PackageSource).optional(),
  })
  .refine((m) => m.cycle !== undefined || /\(\?<cycle>/.test(m.name) || /\(\?<cycle>/.test(m.version ?? ''), {
    message: 'give `cycle` or a (?<cycle>…) group in name or version',
  });

const Cycle = z.object({
  cycle: z.string().min(1),
  /** Range cycle: matches every extracted cycle whose version is lower than this (dotted numeric compare). */
  below: z.string().regex(/^\d+(\.\d+)*$/).optional(),
  title: z.string().optional(),
  eol: EolDate,
  note: z.string().optional(),
});

const Product = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'product ids are lower-case kebab-case'),
    kind: z.enum(['os', 'browser', 'office', 'application', 'runtime', 'plugin']),
    title: z.string().min(1),
    source: z.object({ name: z.string().min(1), url: z.url() }),
    /** OS products: osId templates (`{cycle}` = each cycle id) and display titles (`{cycle}` upper-cased). */
    os: z.array(z.object({ id: z.string().includes('{cycle}'), title: z.string().optional() })).optional(),
    match: z.object({ windows: z.array(Matcher).optional(), linux: z.array(Matcher).optional() }).optional(),
    cycles: z.array(Cycle).min(1),
  })
  .refine((p) => (p.kind === 'os') === (p.os !== undefined), { message: 'os products (and only they) need `os` templates' })
  .refine((p) => p.kind === 'os' || p.match !== undefined, { message: 'software products need `match` rules' });

export const EolCatalogueFile = z
  .object({
    /** Day the catalogue was compiled. */
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD'),
    products: z.array(Product).min(1),
  })
  .superRefine((cat, ctx) => {
    const seen = new Set<string>();
    cat.products.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['products', i, 'id'], message: `duplicate product id ${p.id}` });
      seen.add(p.id);
    });
  });

export type EolProduct = z.infer<typeof Product>;
export type EolCycle = z.infer<typeof Cycle>;

/** The loaded catalogue: `date` is the day it was compiled (YYYY-MM-DD). */
export interface EolCatalogue {
  date: string;
  products: EolProduct[];
  /** Where it was read from. */
  path: string;
}

export interface InstalledSoftware {
  name: string;
  version: string | null;
  source: string;
}

const cache = new Map<string, EolCatalogue>();

/**
 * Load and validate config/eol/catalogue.yml (or `path`). Cached per path. Errors (CatalogueLoadError,
 * code CATALOGUE_LOAD) name the file, line and key.
 */
export function loadEolCatalogue(path?: string): EolCatalogue {
  const file = path ?? join(configDir(), 'eol', 'catalogue.yml');
  const hit = cache.get(file);
  if (hit) return hit;
  const parsed = loadYamlFile(file, EolCatalogueFile);
  const cat: EolCatalogue = { date: parsed.date, products: parsed.products, path: file };
  cache.set(file, cat);
  return cat;
}

/** Resolve a catalogue date: YYYY-MM becomes the last day of that month. */
export function resolveEolDate(eol: string | null): string | null {
  if (eol === null || eol.length === 10) return eol;
  const [y, m] = eol.split('-').map(Number) as [number, number];
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${eol}-${String(lastDay).padStart(2, '0')}`;
}

/** Compare dotted numeric versions ("3.10" > "3.9"); non-numeric parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Exact cycles first, then range (`below`) cycles in catalogue order. */
function findCycle(product: EolProduct, key: string): EolCycle | undefined {
  const exact = product.cycles.find((c) => c.below === undefined && c.cycle.toLowerCase() === key.toLowerCase());
  if (exact) return exact;
  if (!/^\d+(\.\d+)*$/.test(key)) return undefined;
  return product.cycles.find((c) => c.below !== undefined && compareVersions(key, c.below) < 0);
}

function cycleTitle(product: EolProduct, cycle: EolCycle): string {
  return cycle.title ?? `${product.title} ${cycle.cycle}`;
}

/** The cycle a package is, per one matcher; undefined when the matcher does not recognise it. */
function cycleKeyOf(m: z.infer<typeof Matcher>, pkg: InstalledSoftware, name: string): string | undefined {
  if (m.sources && !m.sources.includes(pkg.source as z.infer<typeof PackageSource>)) return undefined;
  const byName = new RegExp(m.name, 'iu').exec(name);
  if (!byName) return undefined;
  let byVersion: RegExpExecArray | null = null;
  if (m.version !== undefined) {
    byVersion = pkg.version === null ? null : new RegExp(m.version, 'iu').exec(pkg.version);
    if (!byVersion) return undefined;
  }
  return m.cycle ?? byName.groups?.cycle ?? byVersion?.groups?.cycle;
}

/**
 * Installed software found in the catalogue, one entry per product cycle (the first package that matched
 * names it). Matches include cycles still in support (their eolDate lies ahead or is null), so the rules can
 * warn ahead of time. dpkg's ":arch" suffix is ignored.
 */
export function matchSoftware(cat: EolCatalogue, packages: InstalledSoftware[], platform: 'linux' | 'windows'): EndOfSupportMatch[] {
  const out = new Map<string, EndOfSupportMatch>();
  for (const pkg of packages) {
    // dpkg-query prints multi-arch packages as name:arch (e.g. openjdk-17-jre:amd64).
    const name = pkg.source === 'dpkg' ? pkg.name.replace(/:[a-z0-9_-]+$/, '') : pkg.name;
    for (const product of cat.products) {
      const matchers = product.match?.[platform] ?? [];
      for (const m of matchers) {
        const key = cycleKeyOf(m, pkg, name);
        if (key === undefined) continue;
        const cycle = findCycle(product, key);
        if (!cycle) continue;
        const id = `${product.id}\u0000${cycle.cycle}`;
        if (!out.has(id)) {
          out.set(id, {
            product: product.id,
            title: cycleTitle(product, cycle),
            installed: pkg.name,
            version: pkg.version,
            cycle: cycle.cycle,
            eolDate: resolveEolDate(cycle.eol),
          });
        }
        break;
      }
    }
  }
  return [...out.values()];
}

/** The release behind an osId (grammar in the module comment), or undefined when the catalogue does not know it. */
export function osRelease(cat: EolCatalogue, osId: string): { title: string; eolDate: string | null } | undefined {
  const wanted = osId.toLowerCase();
  for (const product of cat.products) {
    for (const template of product.os ?? []) {
      const [prefix, suffix] = template.id.split('{cycle}') as [string, string];
      if (!wanted.startsWith(prefix) || !wanted.endsWith(suffix) || wanted.length <= prefix.length + suffix.length) continue;
      const cycle = findCycle(product, wanted.slice(prefix.length, wanted.length - suffix.length));
      if (!cycle) continue;
      const title = cycle.title ?? template.title?.replace('{cycle}', cycle.cycle.toUpperCase()) ?? cycleTitle(product, cycle);
      return { title, eolDate: resolveEolDate(cycle.eol) };
    }
  }
  return undefined;
}

/**
 * Edition family of a Windows EditionID (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\EditionID) for the
 * osId grammar; undefined for LTSC (EnterpriseS*, IoTEnterpriseS: their osId is windows-<n>-ltsc-<year>)
 * and unknown editions. Source: Microsoft Lifecycle, "Windows 11 Home and Pro" lists Home, Pro, Pro Education
 * and Pro for Workstations; "Enterprise and Education" lists Enterprise, Education, IoT Enterprise and
 * Enterprise multi-session.
 */
export function windowsEditionFamily(editionId: string): 'home' | 'pro' | 'enterprise' | 'education' | 'iot' | undefined {
  const e = editionId.toLowerCase();
  if (/^(enterprises|iotenterprises)/.test(e)) return undefined;
  if (e.startsWith('core')) return 'home';
  if (e.startsWith('professional')) return 'pro';
  if (e.startsWith('education')) return 'education';
  if (e.startsWith('iotenterprise')) return 'iot';
  if (e.startsWith('enterprise') || e === 'serverrdsh') return 'enterprise';
  return undefined;
}
