/**
 * Why a check could not read a fact (or anything at all), as the check reports it: the text
 * (`CODE: 日本語の説明`, what agents have always sent and older collectors store) and the same
 * reason as a catalogue message, which the console shows in Japanese or English. The detail
 * names the thing: the file, the program, the user (src/shared/i18n/check-reasons.ts).
 *
 *   setUnknown(out, 'signatureUpdatedAt', because('PARSE_FAILED', 'why.av.clamHeader', { file }))
 *
 * A reason that arrives as text (a probe failure, an error message printed by Windows) is kept
 * as it is with `said(text)`: its code is still explained in words.
 */
import { causeOf, MESSAGES, msg, render, type MessageId, type Msg, type MsgParam } from '../../src/shared/i18n/index.js';
import type { CheckReasonId as ReasonId, ReasonParams as Params } from '../../src/shared/i18n/check-reasons.js';
import type { FailedProbe } from '../probes/types.js';
import type { CheckOutput } from './types.js';

export interface Why {
  text: string;
  msg: Msg;
}

/** The codes the catalogue explains (`code.NOT_FOUND` → 見つかりません). */
export type ReasonCode = MessageId extends infer K ? (K extends `code.${infer C}` ? C : never) : never;
export type CheckReasonId = ReasonId;
/** Exactly the placeholders of the message (its Japanese and English texts have the same ones; a test keeps them so). */
export type ReasonParams<K extends CheckReasonId> = Params<K, MsgParam>;

/** A reason with its code and a detail from the catalogue. */
export function because<K extends CheckReasonId>(code: ReasonCode, id: K, params: ReasonParams<K>): Why {
  const detail = msg(id, params as Record<string, MsgParam>);
  return { text: `${code}: ${render(detail)}`, msg: msg('cause.coded', { what: msg(`code.${code}`), code, detail }) };
}

/** A probe that failed, with what could not be read in words and the probe's own detail: `CODE: 何が読めないか (detail)`. */
export function failedTo<K extends CheckReasonId>(o: FailedProbe, id: K, params: ReasonParams<K>): Why {
  const what = msg(id, params as Record<string, MsgParam>);
  return {
    text: `${o.failure}: ${render(what)} (${o.detail})`,
    msg: msg('cause.coded', { what: codeWords(o.failure), code: o.failure, detail: msg('cause.withDetail', { what, detail: o.detailMsg ?? o.detail }) }),
  };
}

/** A probe that failed, as the check reports it: `CODE: detail`, the detail in both languages when the probe gave it from the catalogue. */
export function probeWhy(o: FailedProbe): Why {
  if (!o.detailMsg) return said(`${o.failure}: ${o.detail}`);
  return { text: `${o.failure}: ${o.detail}`, msg: msg('cause.coded', { what: codeWords(o.failure), code: o.failure, detail: o.detailMsg }) };
}

const codeWords = (code: string): Msg => msg((`code.${code}` in MESSAGES ? `code.${code}` : 'code.EXEC_FAILED') as MessageId);

/** A reason given as text (a probe's failure, a message printed on the PC). */
export function said(text: string): Why {
  const cause = causeOf(text);
  return { text, msg: typeof cause === 'string' ? msg('text', { text: cause }) : cause };
}

/** A reason that concerns one part of the check ("timedatectl: …"). */
export function inPart(part: string, why: Why): Why {
  return { text: `${part}: ${why.text}`, msg: msg('cause.part', { part, cause: why.msg }) };
}

/** Several reasons at once. */
export function allOf(whys: readonly Why[]): Why {
  if (whys.length === 1) return whys[0]!;
  return { text: whys.map((w) => w.text).join('; '), msg: msg('cause.list', { items: whys.map((w) => w.msg) }) };
}

type WithUnknown = Pick<CheckOutput<unknown>, 'unknownFacts' | 'unknownMsgs'>;

/** Name facts as unknown, with why. */
export function setUnknown(out: WithUnknown, facts: string | readonly string[], why: Why): void {
  for (const fact of typeof facts === 'string' ? [facts] : facts) {
    out.unknownFacts[fact] = why.text;
    (out.unknownMsgs ??= {})[fact] = why.msg;
  }
}

