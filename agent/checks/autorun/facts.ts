/** Facts of the autorun check: AutoRun/AutoPlay, removable drives scanned by the antivirus, writing to unprotected removable drives. */
import { z } from 'zod';

export const AutorunFacts = z.object({
  autoPlayOff: z.boolean().describe('AutoPlay does not start for removable drives and CD/DVD: Windows NoDriveTypeAutoRun has the removable (0x04) and CD-ROM (0x20) bits; Linux GNOME media-handling autorun-never = true and automount-open = false, both locked by dconf so a user cannot switch them back'),
  autoRunOff: z.boolean().nullable().describe('Commands of autorun.inf never run (Windows NoAutorun = 1, or NoDriveTypeAutoRun = 0xFF); null on Linux, which has no autorun.inf'),
  autoPlaySource: z.string().describe('Where the AutoPlay setting was read, e.g. "HKLM …\\Policies\\Explorer NoDriveTypeAutoRun=0xFF"'),
  removableDriveScan: z.boolean().nullable().describe('Microsoft Defender Antivirus scans removable drives: real-time protection on and DisableRemovableDriveScanning false; null on Linux (not read); unknown when another product is the active antivirus'),
  removableWriteDenied: z.boolean().nullable().describe('Writing to removable drives not protected by BitLocker To Go is denied (FVE RDVDenyWriteAccess = 1), or writing to every removable disk is denied (RemovableStorageDevices Deny_Write / Deny_All); null on Linux (not read)'),
  removableWriteControl: z.string().nullable().describe('The setting that denies it; null when none does'),
});
export type AutorunFacts = z.infer<typeof AutorunFacts>;
