/**
 * Windows fast paths while a Windows Update search is running: the time the real usb-media
 * collector takes (a USB event, a helpdesk scan and enforcement all start there) through the
 * agent's real PowerShell hosts, with powershell.exe replaced by a double of its I/O answering
 * from the recording w11-24h2-ent-ja-cu-failing (test/helpers/fake-powershell.ts). Three runs:
 * idle; with a WUA search held open on its own lane (the agent as shipped); and, as the
 * baseline, one PowerShell process for everything (as before the lanes) with a search that
 * takes SEARCH seconds, so the USB check queues behind it.
 *
 *   node dist/bench/windows-fast-path.mjs [--rounds 100] [--search-seconds 5]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collect as collectOsPatches } from '../agent/checks/os-patches/windows.js';
import { wuaSearchSettledFor } from '../agent/checks/os-patches/windows-wua.js';
import { collect as collectUsb } from '../agent/checks/usb-media/windows.js';
import { InMemoryCheckMemory } from '../agent/memory.js';
import { LiveProbes } from '../agent/probes/live.js';
import { PowerShellHostProcess, windowsPowerShellLanes } from '../agent/probes/powershell-host.js';
import { PowerShellLanes } from '../agent/probes/powershell.js';
import { fakePowerShell } from '../test/helpers/fake-powershell.js';
import { benchMain, fmt, machine, numArg, summarise } from './lib/common.js';

const ms1 = (n: number) => `${n.toFixed(1)} ms`;

const ROUNDS = numArg('rounds', 100);
const SEARCH_SECONDS = numArg('search-seconds', 5);
const ROOT = new URL('../..', import.meta.url).pathname;
const RECORDING = join(ROOT, 'test/fixtures/replay/windows/w11-24h2-ent-ja-cu-failing');
const KEYS = ['win.usb-media', 'win.os-patches', 'win.os-patches.wua'];
const log = { debug() {}, warn() {} };

async function usbLatencies(probes: LiveProbes, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const r = await collectUsb({ probes, params: {}, memory: new InMemoryCheckMemory(), log });
    out.push(performance.now() - t0);
    if (r.status !== 'ok') throw new Error(`usb-media: ${r.reason}`);
  }
  return out;
}

await benchMain('windows-fast-path', import.meta.url, 300_000, async (scratch) => {
  // 1. idle
  const idleFake = fakePowerShell(RECORDING, KEYS);
  const idleLanes = windowsPowerShellLanes(idleFake.spawn);
  const idleProbes = new LiveProbes(idleLanes);
  await usbLatencies(idleProbes, 3); // process start
  const idle = summarise(await usbLatencies(idleProbes, ROUNDS));
  await idleLanes.close();

  // 2. the agent as shipped: WUA search held open on its own lane
  const gate = join(scratch, 'release-wua');
  const fake = fakePowerShell(RECORDING, KEYS, { 'mamori.win.os-patches.wua/2': gate });
  const lanes = windowsPowerShellLanes(fake.spawn);
  const probes = new LiveProbes(lanes);
  await usbLatencies(probes, 3);
  await collectOsPatches({ probes, params: { wuaWaitSeconds: 0 }, memory: new InMemoryCheckMemory(), log });
  const during = summarise(await usbLatencies(probes, ROUNDS));
  if (existsSync(gate)) throw new Error('the search ended early');
  writeFileSync(gate, '');
  await wuaSearchSettledFor(probes);
  await lanes.close();

  // 3. baseline: one process for everything, a search of SEARCH_SECONDS in flight
  const gate1 = join(scratch, 'release-wua-single');
  const single = fakePowerShell(RECORDING, KEYS, { 'mamori.win.os-patches.wua/2': gate1 });
  const host = new PowerShellHostProcess({ spawn: single.spawn });
  const oneProbes = new LiveProbes(new PowerShellLanes(() => host));
  await usbLatencies(oneProbes, 3);
  await collectOsPatches({ probes: oneProbes, params: { wuaWaitSeconds: 0 }, memory: new InMemoryCheckMemory(), log });
  const release = setTimeout(() => writeFileSync(gate1, ''), SEARCH_SECONDS * 1000);
  const blocked = summarise(await usbLatencies(oneProbes, 1));
  clearTimeout(release);
  await wuaSearchSettledFor(oneProbes);
  await host.close();

  return {
    rows: [
      { figure: 'usb-media check, WUA search running (p50 / p99 ms)', value: `${ms1(during.p50)} / ${ms1(during.p99)}`, baseline: `idle ${ms1(idle.p50)} / ${ms1(idle.p99)}`, target: 'p99 ≤ 1 s (USB event target)', met: during.p99 <= 1000 },
      { figure: `usb-media check behind a ${SEARCH_SECONDS} s search on one process (ms)`, value: fmt.ms(blocked.p50), baseline: 'before the lanes', target: 'n/a (what the lanes avoid)' },
    ],
    details: { rounds: ROUNDS, searchSeconds: SEARCH_SECONDS, idle, during, blocked, machine: machine(scratch) },
  };
});
