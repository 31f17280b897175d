/**
 * Structured texts: a message id with params, rendered by the catalogue (./messages.ts) in
 * Japanese (default) or English. A finding keeps both the rendered Japanese text (stored,
 * forwarded, printed) and the message, so that the console can show it in English when switched.
 *
 * A param is shown as: a string or number as is; true/false as はい/いいえ; null as なし;
 * {ja, en} in the language; a nested message rendered in the same language; {time} as a JST time
 * (2026年12月6日 21:44); {date} as a date (2026年12月6日); {q} in quotes (「…」); an array as a
 * list (、 in Japanese).
 */
import { z } from 'zod';
import { MESSAGES, type MessageId } from './messages.js';
import { jstDate, jstLong, jstLongEn } from './time.js';

export type Lang = 'ja' | 'en';
export interface Localized {
  ja: string;
  en: string;
}
export type MsgParam = string | number | boolean | null | Localized | Msg | { time: string } | { date: string } | { q: string } | readonly MsgParam[];
export interface Msg {
  id: string;
  params?: Record<string, MsgParam>;
}

/** A message as it travels in events and API answers (params are checked when rendered, not here). */
export const MsgSchema = z.object({ id: z.string().max(64), params: z.record(z.string(), z.unknown()).optional() });

export function msg(id: MessageId, params?: Record<string, MsgParam>): Msg {
  return params ? { id, params } : { id };
}

/** A reason an agent gives as "CODE: detail" (agent/checks) as a message: the code explained in words, the detail kept. */
export function causeOf(reason: string): Msg | string {
  const m = /^([A-Z][A-Z0-9_]{2,}): ([\s\S]*)$/.exec(reason);
  if (m && `code.${m[1]}` in MESSAGES) return msg('cause.coded', { what: msg(`code.${m[1]}` as MessageId), code: m[1]!, detail: m[2]! });
  // "snap: PROBE_TIMEOUT: …": the part of the check that failed, then its code.
  const part = /^([^:\n]{1,40}): ([A-Z][A-Z0-9_]{2,}: [\s\S]*)$/.exec(reason);
  const inner = part ? causeOf(part[2]!) : undefined;
  if (part && typeof inner !== 'string' && inner) return msg('cause.part', { part: part[1]!, cause: inner });
  return reason;
}

/**
 * 1234567 → "1,234,567" (the grouping of toLocaleString('en-US'), used in both languages), written
 * out: any Intl formatter maps several MB of ICU data into the process that renders it (the agent).
 */
export function groupThousands(n: number): string {
  const text = String(n);
  return /e/i.test(text) ? text : text.replace(/\B(?=(\d{3})+$)/g, ',');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function renderParam(p: unknown, lang: Lang, depth: number): string {
  if (p === null || p === undefined) return MESSAGES['value.null'][lang];
  if (typeof p === 'boolean') return MESSAGES[p ? 'value.true' : 'value.false'][lang];
  if (typeof p === 'number') return Number.isInteger(p) ? groupThousands(p) : String(p);
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) return p.map((x) => renderParam(x, lang, depth)).join(lang === 'ja' ? '、' : '; ');
  if (!isObject(p)) return String(p);
  if (typeof p.id === 'string') return depth > 8 ? p.id : renderAt(p as unknown as Msg, lang, depth + 1);
  if (typeof p.time === 'string') return (lang === 'ja' ? jstLong(p.time) : jstLongEn(p.time)) || p.time;
  if (typeof p.date === 'string') return (lang === 'ja' ? jstDate(p.date) : p.date.slice(0, 10)) || p.date;
  if (typeof p.q === 'string') return lang === 'ja' ? `「${p.q}」` : `"${p.q}"`;
  if (typeof p.ja === 'string' && typeof p.en === 'string') return p[lang] as string;
  return JSON.stringify(p);
}

/** A message as read from an event or the store: params not yet checked. */
export type AnyMsg = Msg | z.infer<typeof MsgSchema>;

function renderAt(m: AnyMsg, lang: Lang, depth: number): string {
  const entry = (MESSAGES as Record<string, { ja: string; en: string } | undefined>)[m.id];
  if (!entry) return m.id;
  const params: Record<string, unknown> = m.params ?? {};
  return entry[lang].replace(/\{(\w+)\}/g, (whole, key: string) => (key in params ? renderParam(params[key], lang, depth) : whole));
}

/** The text of a message; Japanese unless asked otherwise. An id the catalogue does not know is shown as is. */
export function render(m: AnyMsg, lang: Lang = 'ja'): string {
  return renderAt(m, lang, 0);
}

/** Both languages, as the console API answers them. */
export function renderBoth(m: AnyMsg): Localized {
  return { ja: render(m, 'ja'), en: render(m, 'en') };
}

/** A template filled from an object's fields: `{field}`; a `[...]` part is left out when a field in it is empty. */
export function fillTemplate(template: string, fields: Record<string, unknown>): string {
  const value = (k: string): string => {
    const v = fields[k];
    return v === null || v === undefined ? '' : String(v).trim();
  };
  const optional = template.replace(/\[([^\]]*)\]/g, (_, inner: string) => {
    const keys = [...inner.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!);
    return keys.every((k) => value(k) !== '') ? inner : '';
  });
  return optional.replace(/\{(\w+)\}/g, (_, k: string) => value(k)).replace(/\s{2,}/g, ' ').trim();
}

/**
 * A stored reason in both languages: its message (JSON of a Msg, as the store keeps it) rendered, or,
 * for rows written from agents that send only text (or a message that does not parse), the text twice.
 */
export function reasonText(text: string, storedMsg: unknown): Localized {
  if (typeof storedMsg === 'string' && storedMsg !== '') {
    try {
      const parsed = MsgSchema.safeParse(JSON.parse(storedMsg));
      if (parsed.success) return renderBoth(parsed.data);
    } catch {
      // not JSON: fall back to the text
    }
  }
  return { ja: text, en: text };
}

/** A fixed word of the product in the language: `term('severity', 'critical')` → 緊急. An unknown value is shown as is. */
export type TermGroup = 'severity' | 'violationState' | 'result' | 'segment' | 'platform' | 'scanStatus' | 'audit' | 'role' | 'mediaStatus' | 'encryption';

export function term(group: TermGroup, value: string, lang: Lang = 'ja'): string {
  const id = `${group}.${value}`;
  return id in MESSAGES ? render({ id }, lang) : value;
}

/** The value a fixed word stands for (使用中 → active), for CSV files edited by people; a value given as the code itself is kept. */
export function termValue(group: TermGroup, text: string, values: readonly string[]): string {
  return values.find((v) => v === text || term(group, v, 'ja') === text || term(group, v, 'en') === text) ?? text;
}
