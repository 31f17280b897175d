/** Facts of the os-patches check: pending security updates, last update, reboot, OS support. */
import { z } from 'zod';

export const PendingUpdate = z.object({
  name: z.string().describe('Package name or KB / update title'),
  version: z.string().nullable(),
  severity: z.string().nullable().describe('Critical / Important / … when the source says'),
  firstSeenAt: z.string().describe('When the agent first saw it pending (ISO)'),
  publishedAt: z.string().nullable().optional().describe('When the OS vendor published it (ISO UTC); null when the source gives no date'),
});
export type PendingUpdate = z.infer<typeof PendingUpdate>;

export const OsPatchesFacts = z.object({
  osName: z.string().describe('e.g. "Debian GNU/Linux 12 (bookworm)", "Windows 11 Pro 23H2"'),
  osId: z.string().describe('Catalogue id of the release, e.g. "debian-12", "windows-11-23h2-pro"'),
  osBuild: z.string().nullable().describe('Windows CurrentBuild.UBR or the Linux kernel release'),
  osEndOfSupport: z.string().nullable().describe('End of support of this release (YYYY-MM-DD); null when not in the catalogue'),
  osSupported: z.boolean().describe('The release is within its support period today'),
  pendingSecurityUpdates: z.array(PendingUpdate),
  pendingUpdatesTotal: z.number(),
  oldestPendingSecuritySince: z.string().nullable().describe('firstSeenAt of the oldest pending security update; null when none is pending'),
  lastSuccessfulUpdateAt: z.string().nullable().describe('Last time updates were installed successfully; null when never recorded'),
  rebootRequired: z.boolean(),
  updateSourceAgeHours: z.number().nullable().describe('Age of the package lists / update search the pending list comes from'),
});
export type OsPatchesFacts = z.infer<typeof OsPatchesFacts>;
