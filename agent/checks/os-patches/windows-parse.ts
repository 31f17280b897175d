/**
 * Parsers of the `win.os-patches` and `win.os-patches.wua` documents (see windows-script.ts).
 */
import { because, type Why } from '../why.js';
import { z } from 'zod';
import type { PendingUpdate } from './facts.js';
import { windowsEditionFamily } from '../../../src/shared/eol/index.js';
import { comDateUtc, partWhy } from '../software/windows-common.js';
import { CLASSIFICATION } from './windows-script.js';

const regText = z.union([z.string(), z.number()]).nullable().optional().transform((v) => (v === null || v === undefined ? null : String(v)));
const Errors = z.array(z.object({ part: z.string(), message: z.string() }));

export const OsPatchesDocument = z.object({
  schema: z.literal('mamori.win.os-patches/2'),
  os: z
    .object({
      ProductName: regText,
      CurrentBuild: regText,
      UBR: z.number().nullable().optional(),
      DisplayVersion: regText,
      ReleaseId: regText,
      EditionID: regText,
      InstallationType: regText,
    })
    .nullable(),
  reboot: z.object({ wuaRebootRequired: z.boolean().nullable(), cbsRebootPending: z.boolean(), wuRebootRequired: z.boolean() }).nullable(),
  history: z
    .object({
      totalCount: z.number().int(),
      entries: z.array(
        z.object({
          Date: z.string().nullable(),
          Operation: z.number().int(),
          ResultCode: z.number().int(),
          Title: z.string().nullable().optional(),
          UpdateID: z.string().nullable().optional(),
          CategoryIDs: z.array(z.string()),
        }),
      ),
    })
    .nullable(),
  errors: Errors,
});
export type OsPatchesDocument = z.infer<typeof OsPatchesDocument>;

export const WuaDocument = z.object({
  schema: z.literal('mamori.win.os-patches.wua/2'),
  searchedAt: z.string().nullable(),
  lastOnlineSearchAt: z.string().nullable(),
  resultCode: z.number().int().nullable(),
  updates: z.array(
    z.object({
      UpdateID: z.string(),
      RevisionNumber: z.number().int().optional(),
      Title: z.string(),
      MsrcSeverity: z.string().nullable().optional(),
      CategoryIDs: z.array(z.string()),
      KBArticleIDs: z.array(z.string()),
      LastDeploymentChangeTime: z.string().nullable().optional(),
      RebootRequired: z.boolean().optional(),
    }),
  ),
  errors: Errors,
});
export type WuaDocument = z.infer<typeof WuaDocument>;

/** Identity of the running Windows release, as the end-of-support catalogue names it. */
export interface WindowsRelease {
  osId: string;
  osName: string;
  osBuild: string | null;
}

/** LTSC/LTSB editions (EditionID EnterpriseS…, IoTEnterpriseS) are named by their long-term release, not DisplayVersion. */
const LTSC_BY_BUILD: Record<number, string> = { 14393: 'ltsb-2016', 17763: 'ltsc-2019', 19044: 'ltsc-2021', 26100: 'ltsc-2024' };
const SERVER_BY_BUILD: Record<number, string> = { 14393: '2016', 17763: '2019', 20348: '2022', 26100: '2025' };

/**
 * osId such as windows-11-23h2-enterprise. Windows 11 is build >= 22000 even though its
 * registry ProductName still says "Windows 10 …" (keydet89/RegRipper3.0#67, libuv/libuv#3718);
 * ReleaseId is frozen at 2009 since 20H2, so DisplayVersion names the release
 * (Ylianst/MeshCentral#3201); Enterprise/Education keep their own id because their H2
 * releases are supported longer than Home/Pro.
 */
export function windowsRelease(os: NonNullable<OsPatchesDocument['os']>): WindowsRelease | undefined {
  const build = Number.parseInt(os.CurrentBuild ?? '', 10);
  if (!Number.isFinite(build)) return undefined;
  const edition = (os.EditionID ?? '').trim();
  const version = (os.DisplayVersion ?? os.ReleaseId ?? '').trim().toLowerCase();
  const osBuild = `${build}${typeof os.UBR === 'number' ? `.${os.UBR}` : ''}`;
  const major = build >= 22000 ? 11 : 10;
  const productName = (os.ProductName ?? 'Windows').trim();
  const name = major === 11 ? productName.replace(/^Windows 10\b/, 'Windows 11') : productName;
  const osName = version ? `${name} ${version.toUpperCase()}` : name;
  let osId: string;
  if ((os.InstallationType ?? '').toLowerCase() === 'server' || /^server/i.test(edition)) {
    osId = `windows-server-${SERVER_BY_BUILD[build] ?? `build-${build}`}`;
  } else if (/^(iot)?enterprises/i.test(edition)) {
    const iot = /^iot/i.test(edition) ? '-iot' : '';
    osId = `windows-${major}-${LTSC_BY_BUILD[build] ?? `ltsc-build-${build}`}${iot}`;
  } else {
    const family = windowsEditionFamily(edition) ?? (edition.toLowerCase() || 'unknown');
    osId = `windows-${major}-${version || `build-${build}`}-${family}`;
  }
  return { osId, osName, osBuild };
}

/** Pending security updates: classification Security Updates by CategoryID (never by title text). */
export function isSecurityUpdate(u: WuaDocument['updates'][number]): boolean {
  return u.CategoryIDs.some((c) => c.toLowerCase() === CLASSIFICATION.securityUpdates);
}

/** IUpdateHistoryEntry.Operation 1 = uoInstallation; ResultCode 2 = orcSucceeded (OperationResultCode, wuapi.h). */
const UO_INSTALLATION = 1;
const ORC_SUCCEEDED = 2;

/**
 * Whether a history entry is a quality or security update of the kind PATCH-005 is about:
 * classification Security Updates or Critical Updates, never Definition Updates. Defender's
 * definition updates (KB2267602) install through Windows Update several times a day and would
 * make a PC whose cumulative updates fail for months look up to date. "Updates" and
 * "Update Rollups" are not counted either: the Malicious Software Removal Tool (KB890830) and
 * Defender platform updates arrive there every month whether or not the cumulative update installs.
 */
export function isQualityUpdate(categoryIds: readonly string[]): boolean {
  const ids = categoryIds.map((c) => c.toLowerCase());
  if (ids.includes(CLASSIFICATION.definitionUpdates)) return false;
  return ids.includes(CLASSIFICATION.securityUpdates) || ids.includes(CLASSIFICATION.criticalUpdates);
}

/** The newest successful installation of a quality or security update in the history, as ISO UTC (null: none recorded). */
export function lastQualityUpdate(history: NonNullable<OsPatchesDocument['history']>): { at: string; title: string | null } | null {
  let best: { at: string; title: string | null } | null = null;
  for (const e of history.entries) {
    if (e.Operation !== UO_INSTALLATION || e.ResultCode !== ORC_SUCCEEDED || !isQualityUpdate(e.CategoryIDs)) continue;
    const at = comDateUtc(e.Date);
    if (at && (!best || at > best.at)) best = { at, title: e.Title ?? null };
  }
  return best;
}

/**
 * Pending security updates with the time the agent first saw them pending. An update seen for
 * the first time counts as pending since it was published (LastDeploymentChangeTime) when
 * that is earlier: it was applicable to this PC from then on, and a newly installed agent or a
 * replayed recording must not treat a months-old missing patch as new. IUpdate documents no
 * other date for a software update (a release date exists only for drivers,
 * IWindowsDriverUpdate.DriverVerDate), so LastDeploymentChangeTime is its `publishedAt`.
 */
export function pendingSecurityUpdates(doc: WuaDocument, firstSeen: Record<string, string>, now: Date): { updates: PendingUpdate[]; firstSeen: Record<string, string> } {
  const nextSeen: Record<string, string> = {};
  const updates: PendingUpdate[] = [];
  for (const u of doc.updates) {
    if (!isSecurityUpdate(u)) continue;
    const published = comDateUtc(u.LastDeploymentChangeTime);
    const candidates = [firstSeen[u.UpdateID], published, now.toISOString()].filter((x): x is string => !!x && Date.parse(x) <= now.getTime());
    const seen = candidates.sort()[0] ?? now.toISOString();
    nextSeen[u.UpdateID] = seen;
    const kb = u.KBArticleIDs[0];
    updates.push({ name: u.Title, version: kb ? `KB${kb}` : null, severity: u.MsrcSeverity ?? null, firstSeenAt: seen, publishedAt: published });
  }
  return { updates, firstSeen: nextSeen };
}

/** rebootRequired, or a reason when it cannot be decided. */
export function rebootRequired(doc: OsPatchesDocument): boolean | Why {
  const error = partWhy(doc.errors, 'reboot');
  if (error || !doc.reboot) return error ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'reboot' });
  const r = doc.reboot;
  if (r.wuaRebootRequired === true || r.cbsRebootPending || r.wuRebootRequired) return true;
  if (r.wuaRebootRequired === null) return partWhy(doc.errors, 'reboot-wua') ?? because('SCRIPT_ERROR', 'why.patch.systemInfoUnread', {});
  return false;
}
