/** Texts people read: the message catalogue, its renderer, and JST time formats. */
export { MESSAGES, type MessageId } from './messages.js';
export { causeOf, fillTemplate, msg, MsgSchema, reasonText, render, renderBoth, term, termValue, type TermGroup, type AnyMsg, type Lang, type Localized, type Msg, type MsgParam } from './render.js';
export { jstDate, jstLong, jstLongEn, jstNumeric, wareki } from './time.js';
