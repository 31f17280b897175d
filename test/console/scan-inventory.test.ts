/**
 * `mamori scan HOST --inventory`: a real agent process replaying a Windows inventory recording
 * is scanned through the console API; the command prints the PC's 資産管理台帳 in Japanese with
 * JST times, and its hardware changes once the recording shows a swapped SSD.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerConsoleCommands } from '../../src/cli/console-commands.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { adminClient, startTestCollector, waitUntil } from './helpers.js';
import type { TestCollector } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RECORDINGS = join(ROOT, 'agent', 'checks', 'inventory', 'fixtures', 'windows');
let t: TestCollector;
let token: string;
let agent: ChildProcess;
let dir: string;
const output: string[] = [];

beforeAll(async () => {
  t = await startTestCollector();
  const admin = await adminClient(t);
  token = (await admin.request('POST', '/api/v1/tokens', { name: 'helpdesk-cli' })).json.token;
  dir = mkdtempSync(join(tmpdir(), 'mamori-scan-inventory-'));
  cpSync(join(RECORDINGS, 'w11-24h2-pro-ja-desktop'), join(dir, 'recording'), { recursive: true });
  const { token: enroll } = await createEnrollmentToken(t.collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: true });
  agent = spawn(process.execPath, [join(ROOT, 'bin', 'mamori.js'), 'agent', 'run', '--collector', t.collector.agentUrl, '--enroll', enroll, '--state', join(dir, 'state'), '--replay', join(dir, 'recording'), '--insecure-plain'], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  agent.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  await waitUntil(async () => (await t.collector.store.listAgents()).some((a) => a.online), 60_000, `the agent to connect\n${output.join('')}`);
});
afterAll(async () => {
  if (agent && agent.exitCode === null) await new Promise((r) => agent.once('exit', r).kill('SIGTERM'));
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerConsoleCommands(program);
  let out = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  try {
    await program.parseAsync(['node', 'mamori', ...args]);
  } finally {
    o.mockRestore();
  }
  return out;
}

describe('mamori scan --inventory', () => {
  it("prints the PC's 資産管理台帳 in Japanese", async () => {
    const out = await run(['scan', hostname(), '--inventory', '--collector', t.base, '--token', token, '--timeout', '60']);
    expect(out).toMatch(new RegExp(`^${hostname()}\t資産管理台帳 \\(収集 \\d{4}/\\d{2}/\\d{2} \\d{2}:\\d{2}\\)$`, 'm'));
    expect(out).toMatch(/機種\s+OptiPlex 7010/);
    expect(out).toMatch(/製造番号\s+8K2LMX3/);
    expect(out).toMatch(/メモリ\s+16GB \(DIMM1: 8GB DDR5, DIMM2: 8GB DDR5\)/);
    expect(out).toContain('イーサネット (有線) 98:e7:43:1a:2b:3c 10.20.30.41 DHCP 1000Mbps');
    expect(out).toMatch(/OS ビルド\s+26100\.2314/);
    // Booted 2026-11-30T23:41:07Z: 08:41 JST on 1 December.
    expect(out).toMatch(/最終起動\s+2026\/12\/01 08:41/);
    expect(out).toContain('ハードウェアの変更: なし');
    expect(process.exitCode ?? 0).toBe(0);
  });

  it('shows the hardware changes the agent found, and gives JSON with --json', async () => {
    copyFileSync(join(RECORDINGS, 'w11-24h2-pro-ja-desktop-swapped', 'win.inventory.out'), join(dir, 'recording', 'win.inventory.out'));
    await waitUntil(async () => ((await t.collector.store.sql.all('SELECT change_id FROM inventory_changes')).length === 4 ? true : undefined), 60_000, 'the changes');
    const out = await run(['scan', hostname(), '--inventory', '--collector', t.base, '--token', token, '--timeout', '60']);
    expect(out).toContain('ハードウェアの変更:\n');
    expect(out).toContain('ディスクの交換 (シリアル番号の変化)  S64DNX0T812345A  KIOXIA KBG50ZNV512G 8D6A_7C21_0042_1234. 512GB → Samsung SSD 980 500GB S64DNX0T812345A 500GB');
    expect(out).toContain('メモリの取り外し  DIMM2');
    const json = JSON.parse(await run(['scan', hostname(), '--inventory', '--json', '--collector', t.base, '--token', token, '--timeout', '60']));
    expect(json[0].inventory.inventory.disks[0].serial).toBe('S64DNX0T812345A');
    expect(json[0].inventory.changes).toHaveLength(4);
  });
});
