/**
 * The reasons of the shipped rules, judged on their fail fixtures, are Japanese and name the thing:
 * which stick (vendor, product, serial), which program, which user, how many days or hours.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRule } from '../../../src/shared/catalogue/evaluate.js';
import { RuleFixture } from '../../../src/shared/catalogue/lint.js';
import { loadCatalogue } from '../../../src/shared/catalogue/load.js';
import { render } from '../../../src/shared/i18n/index.js';
import { configDir } from '../../../src/shared/paths.js';

const catalogue = loadCatalogue(configDir()).rules;
const rules = new Map(catalogue.map((r) => [r.id, r]));
const fixture = (name: string) => RuleFixture.parse(JSON.parse(readFileSync(join(configDir(), '..', 'test', 'fixtures', 'rules', `${name}.json`), 'utf8')));
function run(ruleId: string, name: string) {
  const f = fixture(name);
  return evaluateRule(rules.get(ruleId)!, f.output, { platform: f.platform, segment: f.segment, policy: f.policy, now: new Date(f.now) });
}
/** The rule's reason and the reasons of its failing subjects (what a violation shows). */
function texts(ruleId: string, name: string): { rule: string; subjects: string[]; en: string } {
  const r = run(ruleId, name);
  expect(r.result, `${ruleId} on ${name}`).toBe('fail');
  return { rule: r.reason, subjects: r.subjects.filter((s) => s.result === 'fail').map((s) => s.reason), en: render(r.reasonMsg!, 'en') };
}

describe('every shipped rule with fact names gives a Japanese reason on its fail fixtures', () => {
  for (const rule of catalogue.filter((r) => Object.keys(r.factNames).length > 0)) {
    it(rule.id, () => {
      for (const name of rule.fixtures.fail) {
        const { rule: reason, subjects } = texts(rule.id, name);
        for (const text of [reason, ...subjects]) {
          expect(text).toMatch(/[ぁ-んァ-ヶ一-龠]/);
          // No English of the evaluator and no raw fact ids left in the text.
          expect(text).not.toMatch(/\b(expected|could not|of \d+|fail|is none|in the list)\b/);
          for (const fact of Object.keys(rule.factNames)) expect(text).not.toMatch(new RegExp(`(^|[^A-Za-z])${fact}([^A-Za-z]|$)`));
        }
      }
    });
  }
});

describe('a reason names its subject', () => {
  it('USB: the stick by maker, product, vendor and product ids and serial; the ledger by name', () => {
    const t = texts('USB-001', 'usb/unregistered-stick');
    expect(t.rule).toBe('USB媒体 2 件中 1 件が不適合: USB媒体 TOSHIBA TransMemory (ベンダーID 0930、製品ID 6545、シリアル C03FD5F7713EE0A1B0000123)');
    expect(t.subjects).toEqual(['USB媒体 TOSHIBA TransMemory (ベンダーID 0930、製品ID 6545、シリアル C03FD5F7713EE0A1B0000123): 識別子 「0930:6545:C03FD5F7713EE0A1B0000123」 は 媒体管理台帳 にありません']);
    expect(t.en).toBe('1 of 2 USB storage devices fail: USB device TOSHIBA TransMemory (vendor 0930, product 6545, serial C03FD5F7713EE0A1B0000123)');
  });
  it('USB: a stick without a serial is named without one, and says so', () => {
    expect(texts('USB-002', 'usb/no-serial').subjects).toEqual(['USB媒体 USB Storage (ベンダーID 1908、製品ID 0226): シリアル番号: なし']);
  });
  it('software: the program, its version and publisher, and the pattern of the list it matches', () => {
    expect(texts('SW-001', 'software/denied-installed').subjects).toEqual(['ソフトウェア「TeamViewer」 15.49.2 (TeamViewer): ソフトウェア名 「TeamViewer」 は 禁止ソフトウェア一覧 のパターン 「TeamViewer*」 に一致します']);
    expect(texts('SW-005', 'software/allowlist-violation').rule).toContain('ソフトウェア「google-chrome-stable」');
  });
  it('processes: the program, where it runs from and whose it is', () => {
    expect(texts('SW-002', 'software/denied-process').rule).toBe('実行中のプロセス 3 件中 1 件が不適合: プログラム「TeamViewer.exe」 (E:\\TeamViewerPortable\\TeamViewer.exe) 利用者 CITY\\tanaka');
    expect(texts('SW-006', 'software/sync-client').subjects[0]).toContain('同期ソフト「Dropbox.exe」');
  });
  it('end of support: the product, the date in Japanese and how many days', () => {
    expect(texts('SW-003', 'software/eol-office2016').subjects).toEqual(['「Microsoft Office 2016」 (Microsoft Office Professional Plus 2016 - ja-jp 16.0.4266.1001): サポート終了日 2025年10月14日 を 406 日過ぎています (基準: 残り 0 日以上)']);
    expect(texts('SW-004', 'software/eol-soon').subjects).toEqual(['「Node.js 22」 (Node.js 22.11.0): サポート終了日 2027年4月30日 まであと 157 日です (基準: 残り 180 日以上)']);
    expect(texts('PATCH-004', 'patches/win10-ltsc2021-ending').rule).toBe('OS のサポート終了日 2027年1月12日 まであと 49 日です (基準: 残り 180 日以上)');
  });
  it('ages: the time in JST, how many days or hours ago, and the limit', () => {
    expect(texts('AV-004', 'antivirus/defender-degraded').rule).toBe('パターンファイルの更新日時: 2026年11月18日 7:40 (122.3 時間前、基準: 72 時間以内)');
    expect(texts('PATCH-001', 'patches/rocky8-dated-behind').rule).toBe('最も古い未適用のセキュリティ更新の公開日: 2026年9月15日 9:00 (69 日前、基準: 14 日以内)');
    expect(texts('PATCH-005', 'patches/debian12-behind').rule).toBe('最後に更新に成功した日時: 2026年9月30日 14:10 (53.8 日前、基準: 35 日以内)');
  });
  it('users: whose session locks too late, who holds administrator rights', () => {
    expect(texts('LOCK-001', 'lock/gnome-user-1200').subjects).toEqual(['利用者 tanaka のセッション: 画面ロックまでの無操作時間 (秒): 1,200 (基準: 600 以下)']);
    // Two limits on one fact that is null say it once.
    expect(texts('LOCK-001', 'lock/windows-never').subjects).toEqual(['利用者 CITY\\suzuki のセッション: 画面ロック: いいえ (基準: はい)、画面ロックまでの無操作時間 (秒): なし']);
    expect(texts('ADMIN-001', 'admin-rights/linux-sudo-user').subjects).toEqual(['利用者 suzuki (sudo 経由): 管理者権限: はい (基準: いいえ)']);
  });
  it('settings of the PC: the setting in words, its value and what the standard wants', () => {
    expect(texts('USB-005', 'usb/mynumber-open').rule).toBe('USB記録媒体への書き出し防止: いいえ (基準: はい)');
    expect(texts('AUTH-003', 'sign-in/windows-en-autologon').rule).toBe('パスワードの最小文字数: 0 (基準: 8 以上)、パスワードの複雑さの要件: いいえ (基準: はい)');
  });
});
