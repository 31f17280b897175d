/**
 * `mamori scan`, `mamori watch` and `mamori admin create-user` against a real collector,
 * through commander exactly as bin/mamori.js parses them.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerConsoleCommands, scanCheckVerdict } from '../../src/cli/console-commands.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, waitUntil } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;
let token: string;

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
  token = (await admin.request('POST', '/api/v1/tokens', { name: 'cli' })).json.token;
});
afterAll(async () => t?.close());

async function run(args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command().exitOverride();
  registerConsoleCommands(program);
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    await program.parseAsync(['node', 'mamori', ...args]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { out, err };
}

describe('console commands', () => {
  it('scan queues an offline PC and says so', async () => {
    await seedAgent(t, 'cli-offline');
    const r = await run(['scan', 'cli-offline', '--collector', t.base, '--token', token, '--timeout', '1']);
    expect(r.out).toMatch(/^cli-offline\t待機中 \(オフライン: 次に接続したときに検査します\)$/m);
    expect(process.exitCode).toBe(3);
    process.exitCode = 0;
  });

  it('a scanned check that found violations says how many, never "ok"', () => {
    expect(scanCheckVerdict({ status: 'ok', failed: 1 })).toBe('違反 1 件');
    expect(scanCheckVerdict({ status: 'ok', failed: 0 })).toBe('適合');
    expect(scanCheckVerdict({ status: 'unknown', failed: 0, reason: 'ACCESS_DENIED: /sys' })).toBe('不明 (アクセスが拒否されました (ACCESS_DENIED): /sys)');
  });

  it('scan with user and password logs in like the console', async () => {
    await expect(run(['scan', 'nobody-here', '--collector', t.base, '--user', 'admin', '--password', t.admin.password, '--timeout', '1'])).rejects.toThrow(/該当する端末がありません/);
    await expect(run(['scan', 'x', '--collector', t.base, '--user', 'admin', '--password', 'wrong'])).rejects.toThrow(/ログインできません/);
  });

  it('watch prints violations as they are stored', async () => {
    const id = await seedAgent(t, 'cli-watch');
    const program = new Command().exitOverride();
    registerConsoleCommands(program);
    let out = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const done = program.parseAsync(['node', 'mamori', 'watch', '--collector', t.base, '--token', token]);
    await waitUntil(async () => consoleOfStreamSize() > 0, 5000, 'watcher');
    await seedEvents(t, id, 'cli-watch', [usbViolation('0781:5567:CLIWATCH')]);
    await waitUntil(async () => out.includes('CLIWATCH'), 5000, 'printed violation');
    process.emit('SIGINT');
    await done;
    o.mockRestore();
    e.mockRestore();
    // JST time, Japanese words for what happened and its severity.
    expect(out).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}  発生  高\u3000 cli-watch  USB-001 0781:5567:CLIWATCH\s+媒体管理台帳.*\(003 第4章4\(1\)ア, 004 §8\.4\(2\)エ\)\s+利用者=tanaka$/m);
  });
});

function consoleOfStreamSize(): number {
  return consoleOf(t.collector.app).stream?.size ?? 0;
}
