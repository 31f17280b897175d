/**
 * Parser of the `win.software` document (see windows-script.ts) into software facts
 * (packages and processes; the end-of-support matching is done by the collector).
 */
import { z } from 'zod';
import type { InstalledPackage, RunningProcess } from './facts.js';
import type { ScriptError } from './windows-common.js';
import { partError } from './windows-common.js';

// Registry values are typed by whoever wrote them: a DisplayVersion can be a DWORD.
const regText = z.union([z.string(), z.number()]).nullable().optional().transform((v) => (v === null || v === undefined ? null : String(v)));
const regNumber = z.union([z.number(), z.string()]).nullable().optional().transform((v) => (v === null || v === undefined || v === '' ? null : Number(v)));

const UninstallEntry = z.object({
  source: z.enum(['uninstall-hklm', 'uninstall-wow64', 'uninstall-user']),
  sid: z.string().nullable(),
  keyName: z.string(),
  DisplayName: regText,
  DisplayVersion: regText,
  Publisher: regText,
  InstallDate: regText,
  SystemComponent: regNumber,
  ParentKeyName: regText,
  ReleaseType: regText,
});

export const SoftwareDocument = z.object({
  schema: z.literal('mamori.win.software/1'),
  users: z.array(z.object({ sid: z.string(), name: z.string().nullable(), profilePath: z.string().nullable().optional() })),
  uninstall: z.array(UninstallEntry),
  appx: z.array(
    z.object({
      Name: z.string(),
      PackageFullName: z.string(),
      Version: regText,
      Publisher: regText,
      IsFramework: z.boolean(),
      IsResourcePackage: z.boolean(),
      SignatureKind: regText,
    }),
  ),
  processes: z.array(z.object({ ProcessId: z.number().int(), Name: z.string().nullable(), ExecutablePath: z.string().nullable().optional(), Owner: z.string().nullable().optional() })),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type SoftwareDocument = z.infer<typeof SoftwareDocument>;

/** Uninstall entries that are updates of another product (hotfixes, Office updates), not products. */
const UPDATE_RELEASE_TYPES = /^(update|hotfix|security update|service pack)$/i;

/**
 * Installed packages as the Apps list shows them: entries without DisplayName, hidden ones
 * (SystemComponent=1) and updates (ParentKeyName set or ReleaseType Update/Hotfix) are skipped;
 * Appx framework and resource packages are skipped (they are parts of apps, not apps).
 */
export function windowsPackages(doc: SoftwareDocument): InstalledPackage[] {
  const userBySid = new Map(doc.users.map((u) => [u.sid, u.name ?? u.sid]));
  const out: InstalledPackage[] = [];
  const seen = new Set<string>();
  for (const e of doc.uninstall) {
    const name = e.DisplayName?.trim();
    if (!name) continue;
    if (e.SystemComponent === 1) continue;
    if (e.ParentKeyName || (e.ReleaseType && UPDATE_RELEASE_TYPES.test(e.ReleaseType))) continue;
    const user = e.sid ? (userBySid.get(e.sid) ?? e.sid) : null;
    const version = e.DisplayVersion?.trim() || null;
    // The same product registered in both views (or twice for one user) is listed once.
    const dedupe = `${e.source}|${user ?? ''}|${name}|${version ?? ''}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    out.push({ name, version, source: e.source, publisher: e.Publisher?.trim() || null, user });
  }
  const appxSeen = new Set<string>();
  for (const a of doc.appx) {
    if (a.IsFramework || a.IsResourcePackage) continue;
    // -AllUsers lists a package once per architecture/version installed; name+version is the identity.
    const dedupe = `${a.Name}|${a.Version ?? ''}`;
    if (appxSeen.has(dedupe)) continue;
    appxSeen.add(dedupe);
    out.push({ name: a.Name, version: a.Version, source: 'appx', publisher: a.Publisher, user: null });
  }
  return out;
}

/** Running processes; the System Idle Process (pid 0, no image) is left out. */
export function windowsProcesses(doc: SoftwareDocument): RunningProcess[] {
  return doc.processes
    .filter((p) => p.ProcessId !== 0 && p.Name)
    .map((p) => ({ name: p.Name ?? '', path: p.ExecutablePath || null, user: p.Owner || null, pid: p.ProcessId }));
}

/**
 * Reason each part failed on the PC, by fact name. A failed package part (Uninstall keys or Appx)
 * makes `packages` incomplete, not unread: the packages of the other part are still reported.
 */
export function softwareUnknowns(errors: readonly ScriptError[]): Record<string, string> {
  const unknown: Record<string, string> = {};
  const packages = [partError(errors, 'uninstall'), partError(errors, 'appx')].filter((e): e is string => e !== undefined);
  if (packages.length > 0) unknown.packages = packages.join('; ');
  const processes = partError(errors, 'processes');
  if (processes) unknown.processes = processes;
  return unknown;
}
