/**
 * Errors the console services raise (媒体管理台帳, accounts, 例外措置, policy, scope) are catalogue
 * messages: each renders fully in Japanese and in English, the Japanese text is Japanese and the
 * English one is not, and values the person chose (a state, a role) are named in the language.
 */
import { describe, expect, it } from 'vitest';
import { ConsoleError, badRequest, conflict } from '../../../src/collector/console/errors.js';
import { CONSOLE_ERRORS } from '../../../src/shared/i18n/console-errors.js';
import { msg } from '../../../src/shared/i18n/index.js';

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
const HIRAGANA = /[\u3040-\u309f]/;
const placeholders = (s: string): string[] => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();

describe('console errors', () => {
  it('every entry has both languages with the same placeholders; the English text is no Japanese sentence', () => {
    for (const [id, m] of Object.entries(CONSOLE_ERRORS) as [string, { ja: string; en: string }][]) {
      expect(placeholders(m.ja), id).toEqual(placeholders(m.en));
      expect(/^[\s\p{P}]*$/u.test(m.ja.replace(/\{\w+\}/g, '')) || JAPANESE.test(m.ja), id).toBe(true);
      // English may name what a person sees in Japanese (the CSV heading 登録番号, a clause 第2章), never a Japanese sentence.
      expect(m.en, id).not.toMatch(HIRAGANA);
    }
  });

  it('a medium that is lost, in both languages', () => {
    const err = conflict(msg('error.media.notActive', { sticker: 'USB-0042', status: msg('mediaStatus.lost') }));
    expect(err.text).toEqual({ ja: '媒体 USB-0042 は「紛失」の状態です', en: 'medium USB-0042 is lost' });
  });

  it('an exception already decided names its state in the language', () => {
    const err = conflict(msg('error.exception.already', { id: 'ex_1', state: msg('exceptionState.approved') }));
    expect(err.text).toEqual({ ja: '例外措置 ex_1 は既に「承認済」です', en: 'exception ex_1 is already approved' });
  });

  it('a CSV line of the ledger carries the inner error in each language', () => {
    const inner = badRequest(msg('error.media.owner'));
    const err = badRequest(msg('error.media.csvLine', { line: 7, problem: inner.text }));
    expect(err.text).toEqual({ ja: 'CSV 7 行目: 管理者を入力してください', en: 'CSV line 7: the owner is required' });
    expect(err).toBeInstanceOf(ConsoleError);
  });
});
