/** Parser of the `win.logging` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { LoggingFacts } from './facts.js';
import { partError } from '../software/windows-common.js';

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
    const reason = partError(doc.errors, 'auditpol') ?? (settings === null && doc.auditBackup !== null ? 'PARSE_FAILED: auditpol /backup の Setting Value が 0〜3 ではありません' : 'NOT_FOUND: auditpol /backup にログオン・ログオフのサブカテゴリがありません');
    out.unknownFacts.logonEventsRecorded = out.unknownFacts.logonEventsSource = reason;
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
    out.unknownFacts.securityLogMaxMB = out.unknownFacts.securityLogMode = partError(doc.errors, 'security-log') ?? 'SCRIPT_ERROR: security-log: 値がありません';
  }

  if (doc.eventLogService) out.facts.logServiceRunning = doc.eventLogService.State === 'Running';
  else out.unknownFacts.logServiceRunning = partError(doc.errors, 'eventlog-service') ?? 'NOT_FOUND: EventLog サービスがありません';

  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    out.reason = Object.values(out.unknownFacts).join('; ');
  }
  return out;
}
