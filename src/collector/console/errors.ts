/**
 * Errors of the console API: each has a stable `code` (for programs) and the HTTP status it maps to,
 * and a message for people: Japanese (`message` of the answer) and English (`messageEn`, shown when
 * the console is switched to English), from the message catalogue or given in both languages.
 */
import { z } from 'zod';
import { msg, renderBoth } from '../../shared/i18n/index.js';
import type { Localized, Msg } from '../../shared/i18n/index.js';

/** A message of the catalogue (src/shared/i18n/console-errors.ts): a text given as a bare string or pair does not compile. */
export type Text = Msg;

export class ConsoleError extends Error {
  readonly text: Localized;
  constructor(
    readonly code: string,
    readonly status: number,
    message: Text,
  ) {
    const text = renderBoth(message);
    super(text.ja);
    this.text = text;
  }
}

export const badRequest = (message: Text): ConsoleError => new ConsoleError('BAD_REQUEST', 400, message);
export const unauthenticated = (message: Text = msg('error.unauthenticated')): ConsoleError => new ConsoleError('UNAUTHENTICATED', 401, message);
export const forbidden = (message: Text = msg('error.forbidden')): ConsoleError => new ConsoleError('FORBIDDEN', 403, message);
export const notFound = (message: Text): ConsoleError => new ConsoleError('NOT_FOUND', 404, message);
export const conflict = (message: Text): ConsoleError => new ConsoleError('CONFLICT', 409, message);

const zodJa = z.locales.ja().localeError;
const zodEn = z.locales.en().localeError;

/** Check a request body or query with a schema; the first problem becomes a 400 naming the field, in Japanese and English. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value ?? {}, { error: zodJa });
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  const en = schema.safeParse(value ?? {}, { error: zodEn });
  const field = i.path.join('.');
  throw badRequest(msg('error.input', { field: field || msg('error.input.body'), problem: { ja: i.message, en: en.success ? i.message : en.error.issues[0]!.message } }));
}
