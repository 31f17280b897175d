/** Facts of the antivirus check. "Not installed", "not running", "stale signatures" and "no full scan" are distinct facts. */
import { z } from 'zod';

export const AvProduct = z.object({
  name: z.string(),
  kind: z.enum(['defender', 'clamav', 'mdatp', 'third-party']),
  running: z.boolean().nullable(),
  realTimeProtection: z.boolean().nullable(),
  /** Defender passive / SxS passive / EDR block mode, or mdatp passive_mode_enabled */
  passive: z.boolean().nullable(),
  signatureUpdatedAt: z.string().nullable().describe('ISO time of the signature build / last update'),
  signaturesUpToDate: z.boolean().nullable().describe('As the product itself reports it'),
  lastFullScanAt: z.string().nullable(),
  lastQuickScanAt: z.string().nullable(),
  tamperProtected: z.boolean().nullable(),
  expired: z.boolean().nullable(),
  source: z.string().describe('Where it was seen: Get-MpComputerStatus, SecurityCenter2, clamd, mdatp, process …'),
});
export type AvProduct = z.infer<typeof AvProduct>;

export const AntivirusFacts = z.object({
  products: z.array(AvProduct).describe('Every anti-malware product found, active or not'),
  installed: z.boolean().describe('At least one anti-malware product is installed'),
  primaryProduct: z.string().nullable().describe('The product judged below: the active (non-passive) one with real-time protection, else the first found'),
  running: z.boolean().describe('The primary product is running'),
  realTimeProtection: z.boolean().describe('The primary product scans on access'),
  signatureUpdatedAt: z.string().nullable().describe('ISO time of the primary product signatures; null when it has none'),
  signaturesReportedUpToDate: z
    .boolean()
    .nullable()
    .optional()
    .describe("The primary product's own verdict on its signatures (Windows SecurityCenter2 productState bit), given only when no signature date can be read; null when the date is known or there is no product"),
  lastFullScanAt: z.string().nullable().describe('ISO time of the last full scan; null when never'),
  productExpired: z.boolean(),
  tamperProtected: z.boolean().nullable().describe('Settings protected from local change (Defender tamper protection); null where the product has no such notion'),
});
export type AntivirusFacts = z.infer<typeof AntivirusFacts>;
