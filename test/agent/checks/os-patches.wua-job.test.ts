/**
 * The Windows Update search never stalls the fast paths (agent/checks/os-patches/windows-wua.ts,
 * agent/probes/powershell*.ts):
 * - replayed: a hung search (recording w11-24h2-ent-ja-wua-hung: the search timed out) is not
 *   run again at the next check run but after a backoff that grows;
 * - live: the real PowerShell hosts, one per lane, with powershell.exe replaced by a double of
 *   its I/O (test/helpers/fake-powershell.ts) answering from a recording; the WUA search is
 *   held open and USB checks, screen lock and the PnP listing of enforcement are answered
 *   while it runs.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collect as collectOsPatches } from '../../../agent/checks/os-patches/windows.js';
import { wuaSearchSettledFor } from '../../../agent/checks/os-patches/windows-wua.js';
import { collect as collectScreenLock } from '../../../agent/checks/screen-lock/windows.js';
import { collect as collectUsb } from '../../../agent/checks/usb-media/windows.js';
import type { CheckContext } from '../../../agent/checks/types.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { windowsPowerShellLanes } from '../../../agent/probes/powershell-host.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import type { Probes } from '../../../agent/probes/types.js';
import { fakePowerShell } from '../../helpers/fake-powershell.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay/windows');
const log = { debug() {}, warn() {} };

/** Replay probes whose clock the test moves, counting the WUA searches started. */
function countingReplay(dir: string) {
  const inner = new ReplayProbes(dir);
  let now = inner.now();
  const probes: Probes & { searches: number; advanceHours(h: number): void } = {
    platform: inner.platform,
    mode: inner.mode,
    searches: 0,
    exec: (key) => inner.exec(key),
    readFile: (key) => inner.readFile(key),
    listDir: (key) => inner.listDir(key),
    library: (key) => inner.library(key),
    powershell: (key) => {
      if (key === 'win.os-patches.wua') probes.searches += 1;
      return inner.powershell(key);
    },
    now: () => new Date(now),
    advanceHours: (h) => (now = new Date(now.getTime() + h * 3_600_000)),
  };
  return probes;
}

describe('which PowerShell process each Windows probe runs on', () => {
  it('only the USB check uses the interactive process; the search has its own; everything else the inventory one', async () => {
    const inner = new ReplayProbes(join(ROOT, 'w11-24h2-ent-ja-gpo'));
    const lanes: Record<string, string> = {};
    const probes: Probes = {
      platform: inner.platform,
      mode: inner.mode,
      exec: (key) => inner.exec(key),
      readFile: (key) => inner.readFile(key),
      listDir: (key) => inner.listDir(key),
      library: (key) => inner.library(key),
      powershell: (key, _script, opts) => {
        lanes[key] = opts?.lane ?? 'interactive';
        return inner.powershell(key);
      },
      now: () => inner.now(),
    };
    await localCheck({ probes, segment: 'mynumber' });
    expect(lanes).toEqual({
      'win.usb-media': 'interactive',
      'win.software': 'inventory',
      'win.antivirus': 'inventory',
      'win.screen-lock': 'inventory',
      'win.os-patches': 'inventory',
      'win.os-patches.wua': 'wua',
      'win.beyond': 'inventory',
      'win.sign-in': 'inventory',
      'win.admin-rights': 'inventory',
      'win.autorun': 'inventory',
      'win.services': 'inventory',
      'win.logging': 'inventory',
      'win.wireless': 'inventory',
      'win.inventory': 'inventory',
      'win.mfa': 'inventory',
      'win.cloud-accounts': 'inventory',
      'win.local-accounts': 'inventory',
    });
  });
});

describe('a hung Windows Update search is retried with backoff', () => {
  it('not at every check run: 2 h after the first timeout, then 4 h', async () => {
    const probes = countingReplay(join(ROOT, 'w11-24h2-ent-ja-wua-hung'));
    const ctx: CheckContext = { probes, params: {}, memory: new InMemoryCheckMemory(), log };
    const first = await collectOsPatches(ctx);
    expect(probes.searches).toBe(1);
    expect(first.unknownFacts.pendingSecurityUpdates).toMatch(/^WUA_SEARCH_FAILED: 時間内に応答がありません \(PROBE_TIMEOUT\): PowerShell did not finish within 600000 ms。次の検索は 2026年12月1日 12:00 以降です/);
    // the other facts do not wait for the search
    expect(first.facts.osId).toBe('windows-11-24h2-enterprise');

    probes.advanceHours(1); // the hourly schedule
    const second = await collectOsPatches(ctx);
    expect(probes.searches).toBe(1);
    expect(second.unknownFacts.pendingSecurityUpdates).toMatch(/次の検索は 2026年12月1日 12:00 以降です/);

    probes.advanceHours(1);
    await collectOsPatches(ctx);
    expect(probes.searches).toBe(2);
    probes.advanceHours(3);
    await collectOsPatches(ctx);
    expect(probes.searches).toBe(2);
    probes.advanceHours(1);
    const fifth = await collectOsPatches(ctx);
    expect(probes.searches).toBe(3);
    expect(fifth.unknownFacts.pendingSecurityUpdates).toMatch(/次の検索は 2026年12月2日 0:00 以降です/); // 8 h after the third failure at 07:00 UTC
  });
});

describe('the fast paths while a Windows Update search is running', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'mamori-wua-'));
  const gate = join(scratch, 'release-wua');
  const fake = fakePowerShell(join(ROOT, 'w11-24h2-ent-ja-cu-failing'), ['win.usb-media', 'win.screen-lock', 'win.os-patches', 'win.os-patches.wua'], { 'mamori.win.os-patches.wua/2': gate });
  afterEach(() => {
    fake.killAll();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('USB and screen-lock checks are answered while the search is held open; the search result is used once it arrives', async () => {
    const lanes = windowsPowerShellLanes(fake.spawn);
    const probes = new LiveProbes(lanes);
    const memory = new InMemoryCheckMemory();
    const osCtx: CheckContext = { probes, params: { wuaWaitSeconds: 0 }, memory, log };

    const patches = await collectOsPatches(osCtx);
    expect(patches.facts.lastSuccessfulUpdateAt).toBe('2026-08-14T04:12:37.000Z');
    expect(patches.unknownFacts.pendingSecurityUpdates).toMatch(/^WUA_SEARCH_RUNNING: Windows Update の検索が \d{4}年\d+月\d+日 \d+:\d\d から実行中です/);

    for (let i = 0; i < 5; i++) {
      const usb = await collectUsb({ probes, params: {}, memory: new InMemoryCheckMemory(), log });
      expect(usb.status).toBe('ok');
      const lock = await collectScreenLock({ probes, params: {}, memory: new InMemoryCheckMemory(), log });
      expect(lock.status).toBe('ok');
    }
    // the search was still held open the whole time
    expect(existsSync(gate)).toBe(false);
    // a second run while it is still running does not start another search
    await collectOsPatches(osCtx);
    expect(fake.spawned.length).toBe(3); // interactive, inventory, wua

    const wuaProcess = fake.spawned[1] as unknown as ChildProcess; // inventory (history) first, then the search
    const wuaExited = new Promise((resolve) => wuaProcess.once('exit', resolve));
    writeFileSync(gate, '');
    await wuaSearchSettledFor(probes);
    // the search's PowerShell ends once idle: no memory held between searches
    await wuaExited;
    const after = await collectOsPatches(osCtx);
    expect(after.facts.pendingSecurityUpdates).toEqual([expect.objectContaining({ version: 'KB5046617' })]);
    await lanes.close();
  });

  it('a one-shot check (check, collect --save) waits for the search so its result is in the report', async () => {
    const scratch2 = mkdtempSync(join(tmpdir(), 'mamori-wua-'));
    const gate2 = join(scratch2, 'release-wua');
    const fake2 = fakePowerShell(join(ROOT, 'w11-24h2-ent-ja-cu-failing'), ['win.usb-media', 'win.os-patches', 'win.os-patches.wua'], { 'mamori.win.os-patches.wua/2': gate2 });
    const lanes = windowsPowerShellLanes(fake2.spawn);
    const probes = new LiveProbes(lanes);
    let settled = false;
    const patches = collectOsPatches({ probes, params: {}, memory: new InMemoryCheckMemory(), log }).finally(() => (settled = true));
    // a USB check completes meanwhile; the one-shot os-patches run is still waiting for the search
    expect((await collectUsb({ probes, params: {}, memory: new InMemoryCheckMemory(), log })).status).toBe('ok');
    expect(settled).toBe(false);
    writeFileSync(gate2, '');
    expect((await patches).facts.pendingSecurityUpdates).toEqual([expect.objectContaining({ version: 'KB5046617' })]);
    await lanes.close();
    fake2.killAll();
    rmSync(scratch2, { recursive: true, force: true });
  });
});
