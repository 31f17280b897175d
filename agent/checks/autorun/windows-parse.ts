/** Parser of the `win.autorun` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { AutorunFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { msg } from '../../../src/shared/i18n/index.js';
import { allOf, because, setUnknown } from '../why.js';

const Dword = z.number().int().nullable();
export const AutorunDocument = z.object({
  schema: z.literal('mamori.win.autorun/1'),
  explorer: z.object({ NoDriveTypeAutoRun: Dword, NoAutorun: Dword }).nullable(),
  defender: z.object({ AMRunningMode: z.string(), RealTimeProtectionEnabled: z.boolean(), DisableRemovableDriveScanning: z.boolean() }).nullable(),
  removable: z.object({ RDVDenyWriteAccess: Dword, DenyAll: Dword, DenyWrite: Dword }).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type AutorunDocument = z.infer<typeof AutorunDocument>;

/** NoDriveTypeAutoRun bits (Microsoft Support "How to disable the Autorun functionality in Windows"). */
const DRIVE_REMOVABLE = 0x04;
const DRIVE_CDROM = 0x20;
const ALL_DRIVES = 0xff;
const EXPLORER = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer';
const hex = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase()}`;

export function autorunFacts(doc: AutorunDocument): CheckOutput<AutorunFacts> {
  const out: CheckOutput<AutorunFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  if (doc.explorer) {
    const mask = doc.explorer.NoDriveTypeAutoRun;
    // Absent: Windows' own default mask, which leaves removable drives and CD-ROM on.
    out.facts.autoPlayOff = mask !== null && (mask & (DRIVE_REMOVABLE | DRIVE_CDROM)) === (DRIVE_REMOVABLE | DRIVE_CDROM);
    out.facts.autoRunOff = doc.explorer.NoAutorun === 1 || (mask !== null && (mask & ALL_DRIVES) === ALL_DRIVES);
    out.facts.autoPlaySource = `${EXPLORER} NoDriveTypeAutoRun=${mask === null ? '(なし)' : hex(mask)} NoAutorun=${doc.explorer.NoAutorun ?? '(なし)'}`;
  } else {
    setUnknown(out, ['autoPlayOff', 'autoRunOff', 'autoPlaySource'], partWhy(doc.errors, 'explorer') ?? because('SCRIPT_ERROR', 'why.log.noValues', { part: 'explorer' }));
  }

  const d = doc.defender;
  if (!d) setUnknown(out, 'removableDriveScan', because('NOT_DETERMINABLE', 'why.autorun.defenderUnread', { cause: partWhy(doc.errors, 'defender')?.msg ?? msg('why.autorun.noValue') }));
  // Passive Mode / Not running: another product is the active antivirus; its settings are not read.
  else if (d.AMRunningMode !== 'Normal' && d.AMRunningMode !== 'EDR Block Mode') setUnknown(out, 'removableDriveScan', because('NOT_DETERMINABLE', 'why.autorun.defenderPassive', { mode: d.AMRunningMode }));
  else out.facts.removableDriveScan = d.RealTimeProtectionEnabled && !d.DisableRemovableDriveScanning;

  const r = doc.removable;
  if (r) {
    const control = r.RDVDenyWriteAccess === 1 ? 'FVE RDVDenyWriteAccess=1 (BitLocker で保護されていないリムーバブルドライブへの書き込みを拒否)'
      : r.DenyAll === 1 ? 'RemovableStorageDevices Deny_All=1 (すべてのリムーバブル記憶域へのアクセスを拒否)'
      : r.DenyWrite === 1 ? 'RemovableStorageDevices リムーバブルディスク Deny_Write=1 (書き込みを拒否)'
      : null;
    out.facts.removableWriteDenied = control !== null;
    out.facts.removableWriteControl = control;
  } else {
    setUnknown(out, ['removableWriteDenied', 'removableWriteControl'], partWhy(doc.errors, 'removable') ?? because('SCRIPT_ERROR', 'why.log.noValues', { part: 'removable' }));
  }
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
}
