/**
 * The status file `mamori status` reads: this PC's open violations and what to do about each,
 * in Japanese. It lives beside the state directory (which is owner-only) and is world-readable,
 * so it holds nothing secret: no agent id, no keys, no facts, only rule, subject and texts.
 */
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { Rule, Source } from '../../src/shared/catalogue/schema.js';
import type { PolicyDocument } from '../../src/shared/protocol/messages.js';
import type { FindingsState } from '../findings.js';
import { clauseText, contactText, effectiveNoticePolicy } from './texts.js';
import type { NoticesFile } from './texts.js';

export const StatusFile = z.object({
  updatedAt: z.string(),
  contact: z.string(),
  violations: z.array(z.object({ ruleId: z.string(), title: z.string(), subject: z.string(), what: z.string(), todo: z.string(), clause: z.string(), openedAt: z.string() })),
});
export type StatusFile = z.infer<typeof StatusFile>;

/** /var/lib/mamori → /var/lib/mamori.status.json (C:\ProgramData\mamori → C:\ProgramData\mamori.status.json). */
export function statusPath(stateDir: string): string {
  return join(dirname(stateDir), `${basename(stateDir)}.status.json`);
}

export function buildStatus(open: FindingsState['open'], rules: readonly Rule[], sources: readonly Source[], notices: NoticesFile, policy: PolicyDocument, now: Date): StatusFile {
  const noticePolicy = effectiveNoticePolicy(notices, policy);
  const ruleById = new Map(rules.map((r) => [r.id, r]));
  const violations = Object.entries(open).flatMap(([key, info]) => {
    const [ruleId = '', subject = ''] = key.split('\u0000');
    const rule = ruleById.get(ruleId);
    if (!rule) return [];
    const text = notices.notices[ruleId];
    const fill = (t: string) => t.replaceAll('{subject}', subject).replaceAll('{reason}', '').trim();
    const clause = clauseText(rule.clauses, text, noticePolicy.standard, sources);
    return [{ ruleId, title: text?.title ?? rule.name.ja, subject, what: fill(text?.what ?? rule.message.ja), todo: fill(text?.todo ?? rule.remediation.ja), clause, openedAt: info.openedAt }];
  });
  // ISO times and rule ids in code-unit order (localeCompare would load ICU's collation data into the agent).
  violations.sort((a, b) => byText(a.openedAt, b.openedAt) || byText(a.ruleId, b.ruleId));
  return { updatedAt: now.toISOString(), contact: contactText(noticePolicy.contact), violations };
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The file's text; world-readable (0644: BackgroundFile sets the mode the process umask would narrow). */
export function statusText(status: StatusFile): string {
  return `${JSON.stringify(status, null, 1)}\n`;
}
