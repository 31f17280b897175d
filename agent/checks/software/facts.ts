/** Facts of the software check: installed software, running processes, and end-of-support matches. */
import { z } from 'zod';

export const InstalledPackage = z.object({
  name: z.string().describe('Package name (Linux) or DisplayName (Windows)'),
  version: z.string().nullable(),
  source: z.enum(['dpkg', 'rpm', 'snap', 'flatpak', 'uninstall-hklm', 'uninstall-wow64', 'uninstall-user', 'appx']),
  publisher: z.string().nullable(),
  /** Set for per-user installs (a user hive, ~/.local) */
  user: z.string().nullable(),
});
export type InstalledPackage = z.infer<typeof InstalledPackage>;

export const RunningProcess = z.object({
  name: z.string().describe('Image name (comm / Win32_Process.Name)'),
  path: z.string().nullable(),
  user: z.string().nullable(),
  pid: z.number(),
});
export type RunningProcess = z.infer<typeof RunningProcess>;

export const EndOfSupportMatch = z.object({
  product: z.string().describe('Product id in config/eol/catalogue.yml'),
  title: z.string().describe('Product and cycle as people name it, e.g. "Microsoft Office 2016"'),
  installed: z.string().describe('The installed package or program that matched'),
  version: z.string().nullable(),
  cycle: z.string(),
  eolDate: z.string().nullable().describe('End of support (YYYY-MM-DD); null when the catalogue has no date for this cycle'),
});
export type EndOfSupportMatch = z.infer<typeof EndOfSupportMatch>;

export const SoftwareFacts = z.object({
  packages: z.array(InstalledPackage),
  processes: z.array(RunningProcess),
  endOfSupport: z.array(EndOfSupportMatch).describe('Installed software found in the end-of-support catalogue'),
  catalogueDate: z.string().describe('Date of the end-of-support catalogue the agent judged with'),
});
export type SoftwareFacts = z.infer<typeof SoftwareFacts>;
