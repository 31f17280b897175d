/**
 * Parser of the `win.antivirus` document (see windows-script.ts) into antivirus facts.
 */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { AntivirusFacts, AvProduct } from './facts.js';
import { UINT32_NEVER, isoOrNull, partError, partWhy } from '../software/windows-common.js';
import { allOf, because, setUnknown, type Why } from '../why.js';
import { VendorFileEntry, VendorRegistryEntry, vendorFullScanDate, vendorOf, vendorSignatureDate } from './windows-vendors.js';

const optBool = z.boolean().nullable().optional();
const optNum = z.number().nullable().optional();
const optStr = z.string().nullable().optional();

const Defender = z.object({
  AMServiceEnabled: z.boolean(),
  AntivirusEnabled: z.boolean(),
  AntispywareEnabled: optBool,
  RealTimeProtectionEnabled: z.boolean(),
  OnAccessProtectionEnabled: optBool,
  /** Normal, Passive Mode, SxS Passive Mode, EDR Block Mode, Not running (mondoohq/mql PR #10381). Absent before Windows 10 1703. */
  AMRunningMode: optStr,
  AMProductVersion: optStr,
  AMEngineVersion: optStr,
  AntivirusSignatureVersion: optStr,
  AntivirusSignatureLastUpdated: optStr,
  AntivirusSignatureAge: optNum,
  DefenderSignaturesOutOfDate: optBool,
  FullScanEndTime: optStr,
  FullScanAge: optNum,
  QuickScanEndTime: optStr,
  QuickScanAge: optNum,
  IsTamperProtected: optBool,
  ProductStatus: optNum,
});

const ScProduct = z.object({
  displayName: z.string(),
  instanceGuid: optStr,
  pathToSignedProductExe: optStr,
  pathToSignedReportingExe: optStr,
  productExe: optStr,
  reportingExe: optStr,
  productState: z.number().int(),
  timestamp: optStr,
});

export const AntivirusDocument = z.object({
  schema: z.literal('mamori.win.antivirus/1'),
  productType: z.number().int().nullable(),
  defender: Defender.nullable(),
  defenderError: z.string().nullable(),
  securityCenter: z.object({ available: z.boolean(), reason: z.string().nullable(), products: z.array(ScProduct) }),
  running: z.array(z.object({ name: z.string().nullable(), path: z.string().nullable().optional() })),
  /** Vendor registry values and definition files (windows-vendors.ts); absent in documents of older agents. */
  vendorRegistry: z.array(VendorRegistryEntry).optional(),
  vendorFiles: z.array(VendorFileEntry).optional(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type AntivirusDocument = z.infer<typeof AntivirusDocument>;

/** SecurityCenter2 productState decoded with the masks (platform-probes.md §3.2; undocumented, consistent across implementations). */
export interface DecodedProductState {
  state: 'off' | 'on' | 'snoozed' | 'expired' | 'unknown';
  signaturesUpToDate: boolean;
  microsoft: boolean;
}

export function decodeProductState(value: number): DecodedProductState {
  const stateBits = value & 0xf000;
  const state = stateBits === 0x0000 ? 'off' : stateBits === 0x1000 ? 'on' : stateBits === 0x2000 ? 'snoozed' : stateBits === 0x3000 ? 'expired' : 'unknown';
  return { state, signaturesUpToDate: (value & 0x00f0) === 0, microsoft: (value & 0x0f00) === 0x100 };
}

/** MSFT_MpComputerStatus.ProductStatus flag productExpired (Graph windowsDefenderProductStatus enum). */
const PRODUCT_STATUS_EXPIRED = 16384;

/** Defender in passive / SxS passive / EDR block mode still reports every component "enabled" (mondoohq/mql PR #10381): the mode decides. */
function isPassiveMode(mode: string | null | undefined): boolean | null {
  if (mode === null || mode === undefined) return null;
  return /passive|edr block/i.test(mode);
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

function defenderProduct(d: z.infer<typeof Defender>): AvProduct {
  const passive = isPassiveMode(d.AMRunningMode);
  const notRunning = d.AMRunningMode ? /not running/i.test(d.AMRunningMode) : false;
  const running = d.AMServiceEnabled && d.AntivirusEnabled && !notRunning;
  const never = (age: number | null | undefined) => age === UINT32_NEVER;
  return {
    name: 'Microsoft Defender Antivirus',
    kind: 'defender',
    running,
    // A passive Defender reports RealTimeProtectionEnabled=True but does not block (platform-probes.md §3.3).
    realTimeProtection: running && d.RealTimeProtectionEnabled && passive !== true,
    passive,
    signatureUpdatedAt: never(d.AntivirusSignatureAge) ? null : isoOrNull(d.AntivirusSignatureLastUpdated),
    signaturesUpToDate: d.DefenderSignaturesOutOfDate === undefined || d.DefenderSignaturesOutOfDate === null ? null : !d.DefenderSignaturesOutOfDate,
    // FullScanAge 4294967295 = never scanned (MS example output; platform-probes.md §3.3).
    lastFullScanAt: never(d.FullScanAge) ? null : isoOrNull(d.FullScanEndTime),
    lastQuickScanAt: never(d.QuickScanAge) ? null : isoOrNull(d.QuickScanEndTime),
    tamperProtected: d.IsTamperProtected ?? null,
    expired: typeof d.ProductStatus === 'number' ? (d.ProductStatus & PRODUCT_STATUS_EXPIRED) !== 0 : null,
    source: 'Get-MpComputerStatus',
  };
}

function isDefenderEntry(p: z.infer<typeof ScProduct>): boolean {
  return decodeProductState(p.productState).microsoft || /defender/i.test(p.displayName) || /^windowsdefender:/i.test(p.pathToSignedProductExe ?? '');
}

/**
 * A SecurityCenter2 entry as a product. `running` cross-checks the reporting/product
 * executable against the running processes: SecurityCenter2 keeps entries of uninstalled
 * products (stale), which then report "on" without a process.
 */
function securityCenterProduct(p: z.infer<typeof ScProduct>, running: Set<string> | null, vendorDates: VendorDates | null): AvProduct {
  const decoded = decodeProductState(p.productState);
  const exes = [p.reportingExe, p.productExe].filter((x): x is string => !!x && /\.exe$/i.test(x)).map(basename);
  let processSeen: boolean | null = null;
  if (running && exes.length > 0) processSeen = exes.some((e) => running.has(e));
  const on = decoded.state === 'on';
  return {
    name: p.displayName,
    kind: isDefenderEntry(p) ? 'defender' : 'third-party',
    running: processSeen === false ? false : on,
    realTimeProtection: processSeen === false ? false : on,
    passive: null,
    signatureUpdatedAt: vendorDates && 'at' in vendorDates.signature ? vendorDates.signature.at : null,
    signaturesUpToDate: decoded.signaturesUpToDate,
    lastFullScanAt: vendorDates && 'at' in vendorDates.fullScan ? vendorDates.fullScan.at : null,
    lastQuickScanAt: null,
    tamperProtected: null,
    expired: decoded.state === 'expired',
    source: processSeen === false ? 'SecurityCenter2 (no running process: stale entry)' : vendorDates && 'at' in vendorDates.signature ? `SecurityCenter2; signatures: ${vendorDates.signature.from}` : 'SecurityCenter2',
  };
}

interface VendorDates {
  vendor: string;
  signature: { at: string; from: string } | { reason: Why };
  fullScan: { at: string; from: string } | { reason: Why };
}

/** The vendor's own signature date and full scan for a SecurityCenter2 product, when its vendor is known. */
function vendorDatesOf(p: z.infer<typeof ScProduct>, doc: AntivirusDocument): VendorDates | null {
  const vendor = vendorOf(p.displayName, [p.productExe, p.reportingExe]);
  if (!vendor) return null;
  const registryError = partWhy(doc.errors, 'vendor-registry');
  const filesError = partWhy(doc.errors, 'vendor-files');
  const registry = doc.vendorRegistry ?? [];
  const files = doc.vendorFiles ?? [];
  const signature = vendorSignatureDate(vendor, registry, files);
  const fullScan = vendorFullScanDate(vendor, registry);
  // A failed read is named in the reason: "not found" is then not "not there".
  const withErrors = (d: VendorDates['signature']): VendorDates['signature'] =>
    'at' in d || (!registryError && !filesError) ? d : { reason: allOf([d.reason, ...[registryError, filesError].filter((e): e is Why => e !== undefined)]) };
  return { vendor, signature: withErrors(signature), fullScan: withErrors(fullScan) };
}

/** Turn the document into facts. */
export function antivirusFacts(doc: AntivirusDocument): CheckOutput<AntivirusFacts> {
  const out: CheckOutput<AntivirusFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  const unknownFacts = out.unknownFacts;
  const processError = partError(doc.errors, 'processes');
  const running = processError ? null : new Set(doc.running.map((r) => (r.name ?? '').toLowerCase()).concat(doc.running.map((r) => basename(r.path ?? ''))).filter((x) => x));

  const products: AvProduct[] = [];
  const vendorDates = new Map<AvProduct, VendorDates>();
  if (doc.defender) products.push(defenderProduct(doc.defender));
  const sc = doc.securityCenter;
  for (const p of sc.products) {
    const dates = isDefenderEntry(p) ? null : vendorDatesOf(p, doc);
    const item = securityCenterProduct(p, running, dates);
    if (dates) vendorDates.set(item, dates);
    // Defender is read from Get-MpComputerStatus when that worked; its SecurityCenter2 entry is the fallback.
    if (item.kind === 'defender' && doc.defender) continue;
    products.push(item);
  }

  // Without SecurityCenter2 (Windows Server) third-party products cannot be seen; without
  // Get-MpComputerStatus Defender cannot either: then "nothing found" is not "not installed".
  const blind: Why[] = [];
  if (!sc.available) blind.push(doc.productType !== null && doc.productType > 1 ? because('NOT_SUPPORTED', 'why.av.noSecurityCenterOnServer', {}) : because('NOT_FOUND', 'why.av.noSecurityCenter', { cause: sc.reason ?? '-' }));
  const defenderFailed = because('EXEC_FAILED', 'why.av.mpStatusFailed', { error: doc.defenderError ?? '-' });
  if (!doc.defender) blind.push(defenderFailed);

  const facts: Partial<AntivirusFacts> = { products };
  if (products.length === 0) {
    if (blind.length > 0) {
      const all = allOf(blind);
      const reason = { text: `AV_NOT_OBSERVABLE: ${all.text}`, msg: because('AV_NOT_OBSERVABLE', 'why.av.blind', { sources: all.msg }).msg };
      setUnknown(out, ['installed', 'primaryProduct', 'running', 'realTimeProtection', 'signatureUpdatedAt', 'signaturesReportedUpToDate', 'lastFullScanAt', 'productExpired', 'tamperProtected'], reason);
      return { ...out, facts };
    }
    return {
      status: 'ok',
      facts: { products, installed: false, primaryProduct: null, running: false, realTimeProtection: false, signatureUpdatedAt: null, signaturesReportedUpToDate: null, lastFullScanAt: null, productExpired: false, tamperProtected: null },
      unknownFacts,
      ...(out.unknownMsgs ? { unknownMsgs: out.unknownMsgs } : {}),
    };
  }

  const active = (p: AvProduct) => p.running === true && p.realTimeProtection === true && p.passive !== true;
  const primary = products.find((p) => active(p) && p.kind === 'third-party') ?? products.find(active) ?? products[0]!;
  facts.installed = true;
  facts.primaryProduct = primary.name;
  facts.running = primary.running === true;
  facts.realTimeProtection = primary.realTimeProtection === true;
  facts.productExpired = primary.expired === true;
  if (primary.source.startsWith('SecurityCenter2')) {
    // SecurityCenter2 says only "up to date or not" and nothing about scans or tamper protection;
    // the vendor's own registry values / files may give the dates (windows-vendors.ts).
    const why = because('NOT_EXPOSED', 'why.av.securityCenterOnly', { product: primary.name, upToDate: primary.signaturesUpToDate });
    const dates = vendorDates.get(primary);
    const put = (fact: 'signatureUpdatedAt' | 'lastFullScanAt', d: VendorDates['signature'] | undefined): void => {
      if (d && 'at' in d) facts[fact] = d.at;
      else setUnknown(out, fact, allOf([why, d ? d.reason : primary.kind === 'defender' ? defenderFailed : because('NOT_FOUND', 'why.av.vendorUnknown', {})]));
    };
    put('signatureUpdatedAt', dates?.signature);
    put('lastFullScanAt', dates?.fullScan);
    setUnknown(out, 'tamperProtected', why);
    // The product's own up-to-date flag is judged only when no date could be read (AV-008).
    facts.signaturesReportedUpToDate = facts.signatureUpdatedAt !== undefined ? null : primary.signaturesUpToDate;
  } else {
    facts.signatureUpdatedAt = primary.signatureUpdatedAt;
    facts.lastFullScanAt = primary.lastFullScanAt;
    facts.tamperProtected = primary.tamperProtected;
    // Get-MpComputerStatus always gives the date: AV-004 judges it.
    facts.signaturesReportedUpToDate = null;
  }
  return { ...out, facts };
}
