/**
 * Where third-party antivirus products on Windows keep their signature (pattern / definition)
 * date and last full scan, and how those values are read. SecurityCenter2 reports only
 * "signatures up to date: yes/no"; these registry values and files give the date itself.
 *
 * Every value is read by its registry type and a fixed, non-localised format; a value that is
 * missing or in another format leaves the date unknown with the reason (never a guess).
 * Sources (also in docs/catalogue.md, "Antivirus vendors"):
 * - Trend Micro Apex One / OfficeScan / ウイルスバスター Corp.: HKLM\SOFTWARE\[WOW6432Node\]TrendMicro\
 *   PC-cillinNTCorp\CurrentVersion\Misc. — PatternDate REG_SZ "yyyyMMdd" (read as such by community PRTG
 *   sensor and AV-report PowerShell scripts), InternalNonCrcPatternVer DWORD (pattern number, glpi-agent
 *   Win32/AntiVirus.pm _setTrendMicroSecurityAgentInfos).
 * - ESET: HKLM\SOFTWARE\ESET\ESET Security\CurrentVersion\Info — ScannerVersion REG_SZ
 *   "<build> (<yyyyMMdd>)" (glpi-agent _setESETInfos; the same "version N (yyyyMMdd)" notation ESET's
 *   command-line scanner prints for its modules).
 * - Symantec / Broadcom Endpoint Protection: HKLM\SOFTWARE\[WOW6432Node\]Symantec\Symantec Endpoint
 *   Protection\CurrentVersion\public-opstate — LatestVirusDefsDate REG_SZ, whose format these sources do
 *   not state: only yyyy-MM-dd or yyyy/MM/dd is accepted, anything else is reported (Microsoft Learn "Endpoint
 *   protection assessment and recommendations in Microsoft Defender for Cloud"; Broadcom KB 181033
 *   "Public-Opstate"; DISA SEP STIG DTASEP001); and the definitions file
 *   %ProgramData%\Symantec\Symantec Endpoint Protection\CurrentVersion\Data\Definitions\SDSDefs\definfo.dat,
 *   line CurDefs=yyyyMMdd.rrr (glpi-agent _setNortonInfos, Broadcom TECH237037).
 * - Sophos Anti-Virus / Endpoint: HKLM\SOFTWARE\[WOW6432Node\]Sophos\AutoUpdate\UpdateStatus —
 *   LastUpdateTime DWORD, seconds since 1970 UTC (community Nagios-style Sophos update checks read it so).
 * - Trellix / McAfee: ENS HKLM\SOFTWARE\McAfee\AVSolution\DS\DS szContentCreationDate REG_SZ
 *   "yyyy-MM-dd"; VirusScan Enterprise HKLM\SOFTWARE\[WOW6432Node\]McAfee\AVEngine AVDatDate REG_SZ
 *   "yyyy/MM/dd" (Microsoft Learn page above; Checkmk agents/windows/plugins/mcafee_av_client.{bat,ps1}).
 * - Kaspersky Endpoint Security: HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\
 *   Statistics\AVState — Protection_BasesDate and Protection_LastFscan REG_SZ "dd-MM-yyyy HH-mm-ss" in
 *   UTC (Checkmk agents/windows/plugins/kaspersky_av_client.ps1).
 * Full-scan age is read for Kaspersky only: Symantec's LastSuccessfulScanDateTime and McAfee's
 * LastFullScanOdsRunTime are named by Microsoft's page but their format is documented nowhere.
 */
import { because, type Why } from '../why.js';
import { z } from 'zod';

export type AvVendor = 'trendmicro' | 'eset' | 'symantec' | 'sophos' | 'mcafee' | 'kaspersky';

/** One registry key the script reads, relative to HKLM\SOFTWARE (and to HKLM\SOFTWARE\WOW6432Node). */
export interface VendorKey {
  vendor: AvVendor;
  key: string;
  values: string[];
}

export const VENDOR_KEYS: readonly VendorKey[] = [
  { vendor: 'trendmicro', key: 'TrendMicro\\PC-cillinNTCorp\\CurrentVersion\\Misc.', values: ['PatternDate', 'InternalNonCrcPatternVer'] },
  { vendor: 'eset', key: 'ESET\\ESET Security\\CurrentVersion\\Info', values: ['ScannerVersion', 'ProductName'] },
  { vendor: 'symantec', key: 'Symantec\\Symantec Endpoint Protection\\CurrentVersion\\public-opstate', values: ['LatestVirusDefsDate', 'LatestVirusDefsRevision', 'LastSuccessfulScanDateTime'] },
  { vendor: 'sophos', key: 'Sophos\\AutoUpdate\\UpdateStatus', values: ['LastUpdateTime'] },
  { vendor: 'mcafee', key: 'McAfee\\AVSolution\\DS\\DS', values: ['szContentCreationDate', 'dwContentMajorVersion'] },
  { vendor: 'mcafee', key: 'McAfee\\AVEngine', values: ['AVDatDate', 'AVDatVersion'] },
  { vendor: 'kaspersky', key: 'KasperskyLab\\Components\\34\\1103\\1.0.0.0\\Statistics\\AVState', values: ['Protection_BasesDate', 'Protection_LastFscan'] },
];

/** Files whose `name=value` lines the script reads (only the listed names are kept). */
export interface VendorFile {
  vendor: AvVendor;
  /** Relative to %ProgramData%. */
  path: string;
  names: string[];
}

export const VENDOR_FILES: readonly VendorFile[] = [
  { vendor: 'symantec', path: 'Symantec\\Symantec Endpoint Protection\\CurrentVersion\\Data\\Definitions\\SDSDefs\\definfo.dat', names: ['CurDefs'] },
];

/** A registry value as the script prints it: the RegistryValueKind name and the data. */
export const RegValue = z.object({ name: z.string(), kind: z.string(), data: z.union([z.string(), z.number(), z.null()]) });
export const VendorRegistryEntry = z.object({ vendor: z.string(), key: z.string(), values: z.array(RegValue) });
export const VendorFileEntry = z.object({ vendor: z.string(), path: z.string(), lines: z.array(z.string()) });
export type VendorRegistryEntry = z.infer<typeof VendorRegistryEntry>;
export type VendorFileEntry = z.infer<typeof VendorFileEntry>;

/**
 * The vendor of a SecurityCenter2 product, told by its display name or executable paths. The
 * display name is the product's own name (ウイルスバスター is Trend Micro's Japanese brand), not
 * localised Windows text.
 */
export function vendorOf(displayName: string, paths: readonly (string | null | undefined)[]): AvVendor | null {
  const text = [displayName, ...paths].filter((x): x is string => !!x).join('|');
  if (/trend ?micro|ウイルスバスター|apex one|officescan/i.test(text)) return 'trendmicro';
  if (/\beset\b/i.test(text)) return 'eset';
  if (/symantec|broadcom endpoint/i.test(text)) return 'symantec';
  if (/sophos/i.test(text)) return 'sophos';
  if (/mcafee|trellix/i.test(text)) return 'mcafee';
  if (/kaspersky/i.test(text)) return 'kaspersky';
  return null;
}

/** A date read from the vendor, or why it could not be. */
export type VendorDate = { at: string; from: string } | { reason: Why };

function isoDay(y: string, m: string, d: string): string | null {
  const iso = `${y}-${m}-${d}T00:00:00.000Z`;
  const t = Date.parse(iso);
  // Date.parse accepts 2026-02-31 as March 3rd on some engines: round-trip to reject it.
  return Number.isNaN(t) || new Date(t).toISOString() !== iso ? null : iso;
}

/** Calendar dates (no time of day) are taken as 00:00 UTC of that day. */
function parseDay(text: string, format: 'yyyyMMdd' | 'yyyy-MM-dd' | 'yyyy/MM/dd'): string | null {
  const re = format === 'yyyyMMdd' ? /^(\d{4})(\d{2})(\d{2})$/ : format === 'yyyy-MM-dd' ? /^(\d{4})-(\d{2})-(\d{2})$/ : /^(\d{4})\/(\d{2})\/(\d{2})$/;
  const m = re.exec(text.trim());
  return m ? isoDay(m[1]!, m[2]!, m[3]!) : null;
}

/** Kaspersky "dd-MM-yyyy HH-mm-ss", UTC. */
function parseKaspersky(text: string): string | null {
  const m = /^(\d{2})-(\d{2})-(\d{4}) (\d{2})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const iso = `${m[3]}-${m[2]}-${m[1]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) || new Date(t).toISOString() !== iso ? null : iso;
}

interface Found {
  key: string;
  value: z.infer<typeof RegValue>;
}

function findValue(registry: readonly VendorRegistryEntry[], vendor: AvVendor, name: string): Found | null {
  for (const entry of registry) {
    if (entry.vendor !== vendor) continue;
    const value = entry.values.find((v) => v.name === name && v.data !== null);
    if (value) return { key: entry.key, value };
  }
  return null;
}

/** Read a REG_SZ value with `parse`; a missing value gives null, a wrong type or format a reason. */
function stringDate(registry: readonly VendorRegistryEntry[], vendor: AvVendor, name: string, format: string, parse: (s: string) => string | null): VendorDate | null {
  const hit = findValue(registry, vendor, name);
  if (!hit) return null;
  const from = `${hit.key}\\${name}`;
  if (hit.value.kind !== 'String' || typeof hit.value.data !== 'string') return { reason: because('UNEXPECTED_SHAPE', 'why.av.vendorNotString', { value: from, kind: hit.value.kind, format }) };
  const at = parse(hit.value.data);
  return at ? { at, from } : { reason: because('PARSE_FAILED', 'why.av.vendorBadDate', { value: from, data: { q: hit.value.data }, format }) };
}

function firstOf(...candidates: (VendorDate | null)[]): VendorDate | null {
  const found = candidates.filter((c): c is VendorDate => c !== null);
  return found.find((c) => 'at' in c) ?? found[0] ?? null;
}

function unixSecondsDate(registry: readonly VendorRegistryEntry[], vendor: AvVendor, name: string): VendorDate | null {
  const hit = findValue(registry, vendor, name);
  if (!hit) return null;
  const from = `${hit.key}\\${name}`;
  // PowerShell reads a REG_DWORD as Int32: values past 2038 would come out negative.
  if (hit.value.kind !== 'DWord' || typeof hit.value.data !== 'number' || hit.value.data <= 0) return { reason: because('UNEXPECTED_SHAPE', 'why.av.vendorNotSeconds', { value: from, kind: hit.value.kind, data: String(hit.value.data) }) };
  return { at: new Date(hit.value.data * 1000).toISOString(), from };
}

function symantecDefinfo(files: readonly VendorFileEntry[]): VendorDate | null {
  for (const f of files) {
    if (f.vendor !== 'symantec') continue;
    const line = f.lines.find((l) => /^CurDefs=/i.test(l));
    if (!line) continue;
    const m = /^CurDefs=(\d{8})\.\d{3}$/i.exec(line.trim());
    const at = m ? parseDay(m[1]!, 'yyyyMMdd') : null;
    return at ? { at, from: `${f.path} CurDefs` } : { reason: because('PARSE_FAILED', 'why.av.symantecCurDefs', { file: f.path, line: { q: line } }) };
  }
  return null;
}

/** The signature date of a vendor's product. */
export function vendorSignatureDate(vendor: AvVendor, registry: readonly VendorRegistryEntry[], files: readonly VendorFileEntry[]): VendorDate {
  let found: VendorDate | null = null;
  switch (vendor) {
    case 'trendmicro':
      found = stringDate(registry, vendor, 'PatternDate', 'yyyyMMdd', (s) => parseDay(s, 'yyyyMMdd'));
      break;
    case 'eset':
      found = stringDate(registry, vendor, 'ScannerVersion', '"<build> (yyyyMMdd)"', (s) => {
        const m = /^\d+ \((\d{8})\)$/.exec(s.trim());
        return m ? parseDay(m[1]!, 'yyyyMMdd') : null;
      });
      break;
    case 'symantec':
      found = firstOf(
        stringDate(registry, vendor, 'LatestVirusDefsDate', 'yyyy-MM-dd', (s) => parseDay(s, 'yyyy-MM-dd') ?? parseDay(s, 'yyyy/MM/dd')),
        symantecDefinfo(files),
      );
      break;
    case 'sophos':
      found = unixSecondsDate(registry, vendor, 'LastUpdateTime');
      break;
    case 'mcafee':
      found = firstOf(
        stringDate(registry, vendor, 'szContentCreationDate', 'yyyy-MM-dd', (s) => parseDay(s, 'yyyy-MM-dd')),
        stringDate(registry, vendor, 'AVDatDate', 'yyyy/MM/dd', (s) => parseDay(s, 'yyyy/MM/dd')),
      );
      break;
    case 'kaspersky':
      found = stringDate(registry, vendor, 'Protection_BasesDate', 'dd-MM-yyyy HH-mm-ss', parseKaspersky);
      break;
  }
  return found ?? { reason: because('NOT_FOUND', 'why.av.vendorNoSignatureDate', { vendor }) };
}

/** The last full scan of a vendor's product; only Kaspersky documents one in a readable format. */
export function vendorFullScanDate(vendor: AvVendor, registry: readonly VendorRegistryEntry[]): VendorDate {
  if (vendor !== 'kaspersky') return { reason: because('NOT_EXPOSED', 'why.av.vendorNoFullScan', { vendor }) };
  return stringDate(registry, vendor, 'Protection_LastFscan', 'dd-MM-yyyy HH-mm-ss', parseKaspersky) ?? { reason: because('NOT_FOUND', 'why.av.kasperskyNoFullScan', {}) };
}
