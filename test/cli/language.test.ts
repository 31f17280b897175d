/**
 * The `mamori` command speaks Japanese unless asked for English (`--lang en` anywhere on the
 * command line, or MAMORI_LANG=en): its help (commander's headings and option texts too), its
 * output for people, its errors (its own and commander's). Ids and tab-separated columns keep
 * their place; only the words change. Real processes of the built CLI on a real SQLite store.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDefaultStore } from '../../src/collector/collector.js';
import { languageOf } from '../../src/cli/lang.js';
import { CLI, tempDir } from '../helpers/processes.js';

const run = promisify(execFile);

async function mamori(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, MAMORI_LANG: '', ...env } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

/** Letters a Japanese reader would not read as Japanese: words of three or more Latin letters outside ids, options, paths and names. */
const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

describe('the language of the mamori command', () => {
  const data = tempDir('cli-lang');
  const collectorData = join(data, 'collector');

  beforeAll(async () => {
    const store = openDefaultStore(collectorData);
    await store.migrate();
    await store.createAgent({ id: 'ag_langtest000000', secret: '', hostname: 'zeimu-pc01', os: { platform: 'linux', hostname: 'zeimu-pc01', release: '6.1' }, agentVersion: '0.1.0', segment: 'lgwan', enrolledAt: '2026-12-07T00:00:00.000Z', tokenId: 'tok' });
    await store.close();
  });

  it('takes --lang in either form before MAMORI_LANG, and Japanese otherwise', () => {
    expect(languageOf(['agents', 'list'], {})).toBe('ja');
    expect(languageOf(['agents', 'list', '--lang', 'en'], { MAMORI_LANG: 'ja' })).toBe('en');
    expect(languageOf(['--lang=en', 'status'], {})).toBe('en');
    expect(languageOf(['status'], { MAMORI_LANG: 'EN' })).toBe('en');
    expect(languageOf(['status', '--lang', 'ja'], { MAMORI_LANG: 'en' })).toBe('ja');
  });

  it('prints its help in Japanese, commander\'s headings included, and in English when asked', async () => {
    const ja = await mamori(['token', 'create', '--help']);
    expect(ja.out).toMatch(/^使い方: mamori token create \[オプション\]\n/);
    expect(ja.out).toContain('オプション:');
    expect(ja.out).toContain('登録トークンを作成して表示する');
    expect(ja.out).toContain('有効期間 (例: 12h、7d) (既定: 7d)');
    expect(ja.out).toContain('このコマンドのヘルプを表示する');
    expect(ja.out).not.toMatch(/Usage:|Options:|display help|default:/);
    for (const en of [await mamori(['token', 'create', '--help', '--lang', 'en']), await mamori(['token', 'create', '--help'], { MAMORI_LANG: 'en' })]) {
      expect(en.out).toMatch(/^Usage: mamori token create/);
      expect(en.out).toContain('make an enrollment token and print it');
      expect(en.out).toContain('valid for, e.g. 12h or 7d (default: 7d)');
      expect(en.out).not.toMatch(/オプション|既定|使い方/);
    }
    const top = await mamori(['--help']);
    expect(top.out).toContain('コマンド:');
    expect(top.out).toContain('--lang <lang>');
  });

  it('says commander\'s own errors in the language: an unknown option, a missing option, a wrong --lang', async () => {
    const unknown = await mamori(['agents', 'list', '--bogus']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain('エラー: 不明なオプション --bogus です');
    expect((await mamori(['agents', 'list', '--bogus', '--lang', 'en'])).err).toContain("error: unknown option '--bogus'");
    expect((await mamori(['agent', 'collect'])).err).toContain('エラー: オプション --save <dir> を指定してください');
    const wrong = await mamori(['status', '--lang', 'fr']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toContain('ja, en のいずれかを指定してください');
  });

  it('lists agents with オンライン/オフライン and 失効 in the same tab-separated columns, online/offline/revoked in English', async () => {
    const ja = await mamori(['agents', 'list', '--data', collectorData]);
    expect(ja.code).toBe(0);
    expect(ja.out).toBe('ag_langtest000000\tzeimu-pc01\tlgwan\tオフライン\t-\t\n');
    const revoke = await mamori(['agents', 'revoke', 'ag_langtest000000', '--data', collectorData]);
    expect(revoke.out).toBe('エージェント ag_langtest000000 を失効させました\n');
    const en = await mamori(['agents', 'list', '--data', collectorData, '--lang', 'en']);
    expect(en.out).toBe('ag_langtest000000\tzeimu-pc01\tlgwan\toffline\t-\trevoked\n');
    expect((await mamori(['agents', 'list', '--data', collectorData])).out).toMatch(/\tオフライン\t-\t失効\n$/);
    const again = await mamori(['agents', 'revoke', 'ag_langtest000000', '--data', collectorData, '--lang', 'en']);
    expect(again.code).toBe(2);
    expect(again.err).toBe('mamori: no active agent ag_langtest000000\n');
  });

  it('prints a token on stdout alone and says what it is in the language on stderr', async () => {
    const ja = await mamori(['token', 'create', '--data', collectorData, '--single-use', '--department', '税務課']);
    expect(ja.out).toMatch(/^mmr1\.\S+\n$/);
    expect(ja.err).toMatch(/^トークン \S+: 系統 LGWAN接続系、課 税務課、有効期限 \d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}、1 台限り\n$/);
    const en = await mamori(['token', 'create', '--data', collectorData, '--lang', 'en']);
    expect(en.out).toMatch(/^mmr1\.\S+\n$/);
    expect(en.err).not.toMatch(JAPANESE);
    expect(en.err).toMatch(/^token \S+: segment \S.*; expires .*2026/);
  });

  it('checks the catalogue in the language of the run', async () => {
    const ja = await mamori(['catalogue', 'verify']);
    expect(ja.out).toMatch(/^規則 \d+ 件、問題 0 件\n$/m);
    const en = await mamori(['catalogue', 'verify', '--lang', 'en']);
    expect(en.out).toMatch(/^\d+ rules, 0 problems\n$/m);
  });

  it('says an error of the machine in words, with the system\'s own text after them', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    try {
      const port = (busy.address() as AddressInfo).port;
      const ja = await mamori(['collector', '--listen', `127.0.0.1:${port}`, '--data', join(data, 'busy')]);
      expect(ja.code).toBe(2);
      expect(ja.err).toMatch(/^mamori: このアドレスとポートはすでに使われています \(.*EADDRINUSE.*\)$/m);
      const en = await mamori(['collector', '--listen', `127.0.0.1:${port}`, '--data', join(data, 'busy'), '--lang', 'en']);
      expect(en.err).toMatch(/^mamori: address and port already in use \(.*EADDRINUSE.*\)$/m);
    } finally {
      busy.close();
    }
  });

  it('says a bad argument of its own in the language', async () => {
    const ja = await mamori(['collector', '--listen', 'nowhere', '--data', collectorData]);
    expect(ja.code).toBe(2);
    expect(ja.err).toBe('mamori: --listen nowhere: ホスト:ポート の形で指定してください\n');
    const en = await mamori(['collector', '--listen', 'nowhere', '--data', collectorData], { MAMORI_LANG: 'en' });
    expect(en.err).toBe('mamori: --listen nowhere: expected HOST:PORT\n');
  });
});
