/** Parser of the `win.logging` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { LoggingFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { allOf, because, setUnknown } from '../why.js';

export const LoggingDocument = z.object({
  schema: z.literal('mamori.win.logging/1'),
  auditBackup: z.string().nullable(),
  securityLog: z.object({ MaximumSizeInBytes: z.number(), LogMode: z.string(), IsEnabled: z.boolean() }).nullable(),
  eventLogService: z.object({ State: z.string(), StartMode: z.string() }).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type LoggingDocument = z.infer<typeof LoggingDocument>;

/** Subcategory GUIDs of the Logon/Logoff category ("Advanced security audit policy settings", learn.microsoft.com; auditpol /list /subcategory:* /v). */
export const AUDIT_LOGON = '{0CCE9215-69AE-11D9-BED3-505054503030}';
export const AUDIT_LOGOFF = '{0CCE9216-69AE-11D9-BED3-505054503030}';
const SUCCESS = 1;
const FAILURE = 2;
const SETTING_JA = ['なし', '成功', '失敗', '成功と失敗'];

/**
 * Setting Value per subcategory GUID of the system policy, from an `auditpol /backup` file: lines
 * read by position (the header and the names may be localised), the GUID in field 4 and the number
 * in field 7; `Option:` lines and per-user lines (a SID as Policy Target) are skipped.
 */
export function auditSettings(csv: string): Map<string, number> | null {
  const out = new Map<string, number>();
  for (const line of csv.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const f = line.split(',');
    if (f.length < 7 || !/^\{[0-9A-F-]{36}\}$/i.test(f[3]!.trim()) || /^S-1-/.test(f[1]!.trim())) continue;
    const v = f[6]!.trim();
    if (!/^[0-3]$/.test(v)) return null;
    out.set(f[3]!.trim().toUpperCase(), Number(v));
  }
  return out;
}

export function loggingFacts(doc: LoggingDocument): CheckOutput<LoggingFacts> {
  const out: CheckOutput<LoggingFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  const settings = doc.auditBackup === null ? null : auditSettings(doc.auditBackup);
  if (!settings || !settings.has(AUDIT_LOGON) || !settings.has(AUDIT_LOGOFF)) {
    const reason = partWhy(doc.errors, 'auditpol') ?? (settings === null && doc.auditBackup !== null ? because('PARSE_FAILED', 'why.log.settingValue', {}) : because('NOT_FOUND', 'why.log.noLogonSubcategories', {}));
    setUnknown(out, ['logonEventsRecorded', 'logonEventsSource'], reason);
  } else {
    const logon = settings.get(AUDIT_LOGON)!;
    const logoff = settings.get(AUDIT_LOGOFF)!;
    out.facts.logonEventsRecorded = (logon & SUCCESS) !== 0 && (logon & FAILURE) !== 0 && (logoff & SUCCESS) !== 0;
    out.facts.logonEventsSource = `監査ポリシー ログオン=${SETTING_JA[logon]} ログオフ=${SETTING_JA[logoff]}`;
  }

  if (doc.securityLog) {
    out.facts.securityLogMaxMB = Math.round((doc.securityLog.MaximumSizeInBytes / 1_048_576) * 10) / 10;
    out.facts.securityLogMode = doc.securityLog.LogMode;
  } else {
    setUnknown(out, ['securityLogMaxMB', 'securityLogMode'], partWhy(doc.errors, 'security-log') ?? because('SCRIPT_ERROR', 'why.log.noValues', { part: 'security-log' }));
  }

  if (doc.eventLogService) out.facts.logServiceRunning = doc.eventLogService.State === 'Running';
  else setUnknown(out, 'logServiceRunning', partWhy(doc.errors, 'eventlog-service') ?? because('NOT_FOUND', 'why.log.noEventLogService', {}));

  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
}
