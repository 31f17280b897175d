/** Facts of the cloud-accounts check: online-storage accounts signed in on the PC. */
import { z } from 'zod';

export const CloudAccount = z.object({
  user: z.string().describe('Windows account (DOMAIN\\name) or Linux login name whose profile holds the sign-in'),
  service: z.string().describe('"onedrive-personal", "onedrive-business", "dropbox-personal", "dropbox-business" or "google-drive"'),
});
export type CloudAccount = z.infer<typeof CloudAccount>;

export const CloudAccountsFacts = z.object({
  cloudAccounts: z.array(CloudAccount).describe('Sync-client accounts signed in: Windows OneDrive Accounts\\Personal / Business<N> keys, Dropbox info.json personal/business, Google Drive for desktop account folders, in every loaded user profile; Linux Dropbox ~/.dropbox/info.json of each person\'s home. The account names themselves are not read.'),
});
export type CloudAccountsFacts = z.infer<typeof CloudAccountsFacts>;
