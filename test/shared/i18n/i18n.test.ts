import { describe, expect, it } from 'vitest';
import { MESSAGES, causeOf, fillTemplate, jstDate, jstLong, jstNumeric, msg, render, renderBoth, wareki } from '../../../src/shared/i18n/index.js';

describe('JST time formats', () => {
  // 12:44 UTC is 21:44 in Japan (UTC+9, no daylight saving time).
  const t = '2026-12-06T12:44:05.000Z';
  it('long, numeric and date forms are in JST', () => {
    expect(jstLong(t)).toBe('2026年12月6日 21:44');
    expect(jstNumeric(t)).toBe('2026/12/06 21:44');
    expect(jstNumeric(t, { seconds: true })).toBe('2026/12/06 21:44:05');
    expect(jstDate(t)).toBe('2026年12月6日');
  });
  it('a UTC time late in the evening is the next day in Japan', () => {
    expect(jstLong('2026-12-31T15:30:00Z')).toBe('2027年1月1日 0:30');
    expect(jstNumeric('2026-12-31T15:30:00Z')).toBe('2027/01/01 00:30');
  });
  it('a bare date is that calendar day, not shifted', () => {
    expect(jstDate('2025-10-14')).toBe('2025年10月14日');
  });
  it('和暦: era boundaries and 元年', () => {
    expect(wareki(t)).toBe('令和8年12月6日');
    expect(wareki('2019-05-01')).toBe('令和元年5月1日');
    expect(wareki('2019-04-30')).toBe('平成31年4月30日');
    expect(wareki('1989-01-08')).toBe('平成元年1月8日');
    expect(wareki('1989-01-07')).toBe('昭和64年1月7日');
    // 2019-04-30T16:00Z is already 1 May in Japan.
    expect(wareki('2019-04-30T16:00:00Z')).toBe('令和元年5月1日');
  });
  it('a value that is not a time gives an empty text, never "NaN年"', () => {
    expect(jstLong('yesterday')).toBe('');
    expect(wareki('')).toBe('');
  });
});

describe('rendering messages', () => {
  it('Japanese by default, English on request, params of every kind', () => {
    const m = msg('eval.eq', { fact: { ja: 'USB記録媒体への書き出し防止', en: 'export to USB storage blocked' }, actual: false, expected: true });
    expect(render(m)).toBe('USB記録媒体への書き出し防止: いいえ (基準: はい)');
    expect(render(m, 'en')).toBe('export to USB storage blocked is no, expected yes');
    expect(renderBoth(msg('eval.ageDays', { fact: 'x', at: { time: '2026-12-01T00:00:00Z' }, age: 5.4, limit: 3, cmp: msg('eval.within') })).ja).toBe('x: 2026年12月1日 9:00 (5.4 日前、基準: 3 日以内)');
  });
  it('an agent reason "CODE: detail" is explained in words and keeps its detail', () => {
    expect(render(msg('text', { text: causeOf('NOT_FOUND: /usr/bin/apt-get') }))).toBe('見つかりません (NOT_FOUND): /usr/bin/apt-get');
    expect(render(msg('text', { text: causeOf('snap: PROBE_TIMEOUT: snap list') }))).toBe('snap: 時間内に応答がありません (PROBE_TIMEOUT): snap list');
    expect(causeOf('未知の理由')).toBe('未知の理由');
    expect(causeOf('NO_SUCH_CODE: x')).toBe('NO_SUCH_CODE: x');
  });
  it('an id the catalogue does not know (from a newer agent) is shown as its id, not dropped', () => {
    expect(render({ id: 'future.message', params: { a: 1 } })).toBe('future.message');
  });
  it('every message has both languages and the same placeholders in each', () => {
    for (const [id, m] of Object.entries(MESSAGES)) {
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();
      expect(m.ja, id).not.toBe('');
      expect(names(m.ja), id).toEqual(names(m.en));
    }
  });
});

describe('subject name templates', () => {
  const tpl = 'USB媒体 [{manufacturer} ][{product} ](ベンダーID {vendorId}[、シリアル {serial}])';
  it('fills fields and leaves out a [part] whose field is empty', () => {
    expect(fillTemplate(tpl, { manufacturer: 'SanDisk', product: 'Cruzer Blade', vendorId: '0781', serial: '4C530001' })).toBe('USB媒体 SanDisk Cruzer Blade (ベンダーID 0781、シリアル 4C530001)');
    expect(fillTemplate(tpl, { manufacturer: null, product: null, vendorId: '0781', serial: null })).toBe('USB媒体 (ベンダーID 0781)');
  });
});

describe('the console screens and the server say the same words', () => {
  it('every action the console writes to its audit log has a label in the catalogue', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../../src/collector/console/', import.meta.url);
    const actions = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      for (const m of text.matchAll(/\baudit: '([a-z_.]+)'/g)) actions.add(m[1]!);
      for (const m of text.matchAll(/audit\.append\([^,]+, '([a-z_.]+)'/g)) actions.add(m[1]!);
    }
    expect(actions.size).toBeGreaterThan(40);
    expect([...actions].filter((a) => !(`audit.${a}` in MESSAGES))).toEqual([]);
  });

  it('every audit action has the same label in ui/ja.json and en.json as in the catalogue', async () => {
    const { readFileSync } = await import('node:fs');
    const dir = new URL('../../../src/collector/console/ui/', import.meta.url);
    for (const lang of ['ja', 'en'] as const) {
      const dict = JSON.parse(readFileSync(new URL(`${lang}.json`, dir), 'utf8')) as Record<string, string>;
      for (const [id, m] of Object.entries(MESSAGES).filter(([id]) => id.startsWith('audit.'))) {
        expect(dict[`audit.action.${id.slice('audit.'.length)}`], `${lang} ${id}`).toBe(m[lang]);
      }
    }
  });
});

describe('every reason code an agent check writes is explained in words', () => {
  it('each "CODE: …" in agent/ has a code.CODE message', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const root = new URL('../../../agent/', import.meta.url).pathname;
    const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
    const codes = new Set<string>();
    for (const f of files(root)) {
      // Only codes that open a string literal ('CODE: …', `CODE: …`), not comments or environment names.
      const code = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l));
      for (const line of code) for (const m of line.matchAll(/['`"]([A-Z][A-Z0-9_]{3,}): /g)) codes.add(m[1]!);
      // and the codes of reasons built from the catalogue (agent/checks/why.ts): because('CODE', …)
      for (const line of code) for (const m of line.matchAll(/because\('([A-Z][A-Z0-9_]{2,})'/g)) codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(20);
    const missing = [...codes].filter((c) => !(`code.${c}` in MESSAGES));
    expect(missing).toEqual([]);
  });
});

describe('numbers in messages', () => {
  it('integers are grouped by thousands as en-US does, without an Intl formatter in the agent', async () => {
    const { groupThousands } = await import('../../../src/shared/i18n/render.js');
    const fc = await import('fast-check');
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => groupThousands(n) === n.toLocaleString('en-US')));
    for (const n of [0, 999, 1000, -1000, 1234567]) expect(groupThousands(n)).toBe(n.toLocaleString('en-US'));
    expect(render(msg('why.av.processesUnread', { count: 12345, processes: 'a' }), 'en')).toBe('12,345 processes could not be read (a)');
    expect(render(msg('why.av.processesUnread', { count: 12345, processes: 'a' }), 'ja')).toBe('プロセス 12,345 個を読み取れません (a)');
  });
});
