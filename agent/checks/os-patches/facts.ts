/** Facts of the os-patches check: pending security updates, last update, reboot, OS support. */
import { z } from 'zod';

export const PendingUpdate = z.object({
  name: z.string().describe('Package name or KB / update title'),
  version: z.string().nullable(),
  severity: z.string().nullable().describe('Critical / Important / … when the source says'),
  firstSeenAt: z.string().describe('When the agent first saw it pending (ISO)'),
  publishedAt: z
    .string()
    .nullable()
    .optional()
    .describe('When the OS vendor published it (ISO UTC: dnf updateinfo advisory date, Windows Update release/deployment date); null or absent when the source gives no date (apt)'),
});
export type PendingUpdate = z.infer<typeof PendingUpdate>;

/**
 * How long the pending security updates have been pending, split by whether the OS dates them:
 * a dated update counts from its publication (or from when the agent first saw it, if earlier), an
 * undated one only from when the agent first saw it ("pending since at least"). Every collector
 * fills both facts with this function.
 */
export function pendingSecuritySince(updates: readonly PendingUpdate[]): { oldestPendingSecuritySince: string | null; oldestUndatedPendingSecuritySince: string | null } {
  const dated: string[] = [];
  const undated: string[] = [];
  for (const u of updates) {
    if (u.publishedAt) dated.push(Date.parse(u.publishedAt) < Date.parse(u.firstSeenAt) ? u.publishedAt : u.firstSeenAt);
    else undated.push(u.firstSeenAt);
  }
  const oldest = (list: string[]): string | null => list.sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
  return { oldestPendingSecuritySince: oldest(dated), oldestUndatedPendingSecuritySince: oldest(undated) };
}

export const OsPatchesFacts = z.object({
  osName: z.string().describe('e.g. "Debian GNU/Linux 12 (bookworm)", "Windows 11 Pro 23H2"'),
  osId: z.string().describe('Catalogue id of the release, e.g. "debian-12", "windows-11-23h2-pro"'),
  osBuild: z.string().nullable().describe('Windows CurrentBuild.UBR or the Linux kernel release'),
  osEndOfSupport: z.string().nullable().describe('End of support of this release (YYYY-MM-DD); null when not in the catalogue'),
  osSupported: z.boolean().describe('The release is within its support period today'),
  pendingSecurityUpdates: z.array(PendingUpdate),
  pendingUpdatesTotal: z.number(),
  oldestPendingSecuritySince: z
    .string()
    .nullable()
    .describe('Pending since (ISO) of the oldest pending security update the OS dates: its publication date, or firstSeenAt if earlier; null when no dated one is pending'),
  oldestUndatedPendingSecuritySince: z
    .string()
    .nullable()
    .describe('firstSeenAt of the oldest pending security update the OS gives no date for (apt): pending since at least then; null when none is pending'),
  lastSuccessfulUpdateAt: z.string().nullable().describe('Last time updates were installed successfully; null when never recorded'),
  rebootRequired: z.boolean(),
  updateSourceAgeHours: z.number().nullable().describe('Age of the package lists / update search the pending list comes from'),
});
export type OsPatchesFacts = z.infer<typeof OsPatchesFacts>;
