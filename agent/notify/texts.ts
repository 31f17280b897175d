/**
 * The notices shown to the person at the PC: config/notices.yml (texts per rule and the default
 * notice policy, which a municipality adapts) and the composition of one notice from a violation.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { loadYamlFile } from '../../src/shared/catalogue/load.js';
import type { Source } from '../../src/shared/catalogue/schema.js';
import { configDir } from '../../src/shared/paths.js';
import { NoticePolicy } from '../../src/shared/protocol/messages.js';
import type { PolicyDocument, Violation } from '../../src/shared/protocol/messages.js';

const NoticeText = z.object({
  title: z.string().min(1).max(120),
  what: z.string().min(1).max(600),
  todo: z.string().min(1).max(600),
  /** Shown as the clause instead of the rule's own references (a municipality's own standard). */
  clause: z.string().max(200).optional(),
});
export type NoticeText = z.infer<typeof NoticeText>;

export const NoticesFile = z.object({
  policy: NoticePolicy,
  notices: z.record(z.string().max(64), NoticeText),
});
export type NoticesFile = z.infer<typeof NoticesFile>;

const cache = new Map<string, NoticesFile>();
/** config/notices.yml (or `path`), validated; errors name the file, line and key. */
export function loadNotices(path = join(configDir(), 'notices.yml')): NoticesFile {
  let file = cache.get(path);
  if (!file) {
    file = loadYamlFile(path, NoticesFile);
    cache.set(path, file);
  }
  return file;
}

/** The notice policy in force: the file's defaults overridden field by field by the pushed policy. */
export function effectiveNoticePolicy(file: NoticesFile, policy: PolicyDocument): NoticePolicy & { enabled: boolean } {
  const { enabled, ...override } = policy.notices ?? {};
  const defined = Object.fromEntries(Object.entries(override).filter(([, v]) => v !== undefined));
  return { ...file.policy, ...defined, enabled: enabled ?? true };
}

export interface ComposedNotice {
  summary: string;
  body: string;
}

function fill(template: string, subject: string): string {
  return template.replaceAll('{subject}', subject);
}

/** "川崎市情報セキュリティ基準 第4章4(1)ア" — the rule's clauses in the site's standard, else its first reference. */
export function clauseText(clauses: Violation['clauses'], text: NoticeText | undefined, standard: string, sources: readonly Source[]): string {
  if (text?.clause) return text.clause;
  const own = clauses.filter((c) => c.source === standard);
  const shown = own.length > 0 ? own : clauses.slice(0, 1);
  if (shown.length === 0) return '';
  const title = sources.find((s) => s.id === shown[0]!.source)?.title ?? shown[0]!.source;
  return `${title} ${shown.map((c) => c.ref).join('、')}`;
}

export function contactText(contact: NoticePolicy['contact']): string {
  return `${contact.role} (${contact.name} ${contact.extension} ${contact.mail})`;
}

/** The notice for a violation, or undefined when the rule has no text. */
export function composeNotice(violation: Violation, file: NoticesFile, policy: NoticePolicy, sources: readonly Source[]): ComposedNotice | undefined {
  const text = file.notices[violation.ruleId];
  if (!text) return undefined;
  const clause = clauseText(violation.clauses, text, policy.standard, sources);
  const lines = [
    fill(text.what, violation.subject),
    ...(clause ? [`規程: ${clause}`] : []),
    `対応: ${fill(text.todo, violation.subject)}`,
    `連絡先: ${contactText(policy.contact)}`,
  ];
  return { summary: `【情報セキュリティ】${text.title}`, body: lines.join('\n') };
}
