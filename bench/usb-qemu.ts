/**
 * Plug → violation stored on a real Linux kernel: the qemu-usb harness (kept outside this
 * repository; its path is given with --qemu-usb DIR or MAMORI_QEMU_USB) boots Debian's kernel
 * under QEMU with real systemd-udevd, runs the agent there exactly as installed (the bundle
 * `agent run` with its live probes and platform watchers, usb package beside it in node_modules)
 * and plugs QEMU USB sticks, each with a new serial, at fixed times. The collector runs here on
 * the host (the guest reaches it as 10.0.2.2) with TLS names for that address.
 *
 * Per plug, on the host's clock: the plug (QMP device_add) → the violation USB-001 for that
 * serial committed by the collector (its bus fires after the store). The floor of the same run
 * is the guest's own udev event for that stick (bench/lib/usb-qemu-guest.mjs prints it on the
 * console; the host stamps each console line), beside the kernel uevent and the usb package's
 * connect event. `--loop-delay` makes the agent print each main-thread block of 50 ms or more
 * (bench/lib/usb-qemu-loop.mjs); each plug's details list the blocks that ended between the plug
 * and its violation stored. Every third plug comes during the start-up run or 0.5 s after a helpdesk scan
 * asked for a full run; the others on an idle agent. `--no-udev` runs the guest without udevd:
 * the agent then takes its USB trigger from the kernel uevents (agent/watchers/linux.ts).
 *
 *   npm run build && node bench/run-all.mjs --build-only
 *   node dist/bench/usb-qemu.mjs --qemu-usb ../shared/tools/qemu-usb [--runs 3] [--plugs 5] [--no-udev] [--profile] [--loop-delay] [--log-dir DIR]
 *
 * One run boots one VM (~1 GiB, both cores); about 25 s + 8 s per plug. The harness's
 * setup.sh must have been run once. Without --qemu-usb the bench says so and measures nothing.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectorTrust, saveIdentity, withAgentKey } from '../agent/identity.js';
import { enroll } from '../agent/link/enroll.js';
import { startCollector } from '../src/collector/collector.js';
import { createEnrollmentToken } from '../src/collector/tokens.js';
import { silentLogger } from '../src/shared/log.js';
import { initTls } from '../src/shared/tls/material.js';
import { benchMain, fmt, machine, numArg, summarise } from './lib/common.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const flag = (name: string) => process.argv.includes(`--${name}`);
const strArg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const HARNESS = strArg('qemu-usb') ?? process.env.MAMORI_QEMU_USB;
const RUNS = numArg('runs', 3);
const PLUGS = numArg('plugs', 6);
const NO_UDEV = flag('no-udev');
/** Where each boot's console (host-stamped) and harness lines are written, for reading the agent's own lines afterwards. */
const LOG_DIR = strArg('log-dir');
/** Seconds after the guest is ready (node started): the first plug, and between plugs (unplug halfway). */
const FIRST = numArg('first', 16);
const PERIOD = numArg('period', 12);
/** Seconds the harness allows beyond the timeline (it counts from QEMU's start): the guest booted in 6 s at load 1, in 93 s at load 29. */
const TIMEOUT_SLACK = numArg('timeout-slack', 180);

type Kind = 'start' | 'scan' | 'idle';
interface Plug {
  run: number;
  serial: string;
  kind: Kind;
  at: number;
  /** Host seconds since the harness start. */
  plugged?: number;
  floorUdev?: number;
  floorKernel?: number;
  floorUsbPkg?: number;
  /** --loop-delay: the agent's main-thread blocks (ms) that ended between the plug and the violation stored. */
  blocks?: number[];
  /** The agent's log line "checks queued: usb-media (…)" naming this stick. */
  agentTrigger?: { t: number; by: string };
  stored?: number;
  opened: number;
  closed: number;
}

function kindOf(i: number): Kind {
  if (i === 0) return 'start';
  return i % 3 === 0 ? 'scan' : 'idle';
}

async function oneRun(run: number, scratch: string, bundleDir: string): Promise<{ plugs: Plug[]; log: string }> {
  const dataDir = join(scratch, `collector-${run}`);
  const { material: tls } = await initTls(dataDir, { names: ['10.0.2.2'] });
  const collector = await startCollector({ dataDir, log: silentLogger(), plugins: [], tls, host: '127.0.0.1', port: 0 });
  const { token } = await createEnrollmentToken(collector.store, { segment: 'lgwan', expiresInMs: 600_000, singleUse: true });
  // Enrolled here, beforehand: the guest boots a PC whose agent is already enrolled (a restart),
  // since enrolling and making the agent key under TCG took ~30 s on the loaded machine.
  const stateDir = join(bundleDir, 'state');
  rmSync(stateDir, { recursive: true, force: true });
  const wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: tls.caFingerprint });
  const { policy, ...enrolled } = await enroll(collector.agentUrl, token, { platform: 'linux', hostname: `qemu-guest-${run}`, release: '6.1', arch: 'x64' }, 'bench', wsOptions);
  const guestUrl = `wss://10.0.2.2:${collector.port}/agent`;
  const identity = { ...enrolled, collectorUrl: guestUrl, enrolledAt: new Date().toISOString() };
  saveIdentity(stateDir, identity);
  withAgentKey(stateDir, identity);
  // The signed policy of the enrollment reply, kept as the agent keeps it after its first start.
  if (policy) writeFileSync(join(stateDir, 'policy.json'), JSON.stringify({ policy: policy.policy, signature: policy.signature }), { mode: 0o600 });
  writeFileSync(join(bundleDir, 'agent.yml'), [`collector: ${guestUrl}`, `caFingerprint: ${tls.caFingerprint}`, 'stateDir: /app/state', 'logDir: /tmp/mamori-log', 'watchdog:', '  cpuLimitPercent: 100', '  memoryLimitMB: 800', ''].join('\n'));
  const plugs: Plug[] = Array.from({ length: PLUGS }, (_, i) => ({ run, serial: `MQB${run}P${i}X${process.pid % 1000}`, kind: kindOf(i), at: FIRST + i * PERIOD, opened: 0, closed: 0 }));
  // Plug 0 at FIRST s after the guest is ready: inside the agent's start-up run (it began ~13 s after ready and lasted 20–30 s on the loaded machine).
  const timeline = plugs.flatMap((p) => [`${p.at}:plug:46f4:0001:${p.serial}`, `${p.at + PERIOD / 2}:unplug:${p.serial}`]);
  timeline.push(`${FIRST + PLUGS * PERIOD}:stop`);
  const bySerial = new Map(plugs.map((p) => [p.serial, p]));
  const storedAt = new Map<string, number>();
  const kinds: Record<string, number> = {};
  collector.bus.on('event', (e: { event: { kind: string; violation?: { ruleId: string; subject: string }; ruleId?: string; subject?: string } }) => {
    kinds[e.event.kind] = (kinds[e.event.kind] ?? 0) + 1;
    const v = e.event.violation;
    const ruleId = v?.ruleId ?? e.event.ruleId;
    const subject = v?.subject ?? e.event.subject ?? '';
    if (ruleId !== 'USB-001') return;
    const p = [...bySerial.values()].find((x) => subject.includes(x.serial));
    if (!p) return;
    if (e.event.kind === 'violation.opened') {
      p.opened++;
      if (!storedAt.has(p.serial)) storedAt.set(p.serial, Date.now());
    } else if (e.event.kind === 'violation.closed') p.closed++;
  });

  const results = join(scratch, `results-${run}.json`);
  const args = [join(HARNESS!, 'run.sh'), '--js', join(bundleDir, 'guest.mjs'), '--extra', bundleDir, '--timeline', timeline.join(','), '--results', results, '--stamp', '--timeout', String(FIRST + PLUGS * PERIOD + TIMEOUT_SLACK), '--env', 'LD_LIBRARY_PATH=/app/guest-lib', ...(NO_UDEV ? ['--no-udev'] : []), ...(flag('profile') ? ['--env', 'MAMORI_BENCH_PROFILE=1'] : []), ...(flag('loop-delay') ? ['--env', 'MAMORI_BENCH_LOOP=1'] : [])];
  const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QU_MATCH_ADD: `^floor-${NO_UDEV ? 'kernel' : 'udev'} add ` } });
  let log = '';
  let readyAt: number | undefined;
  const lines: { t: number; text: string }[] = [];
  child.stdout.setEncoding('utf8');
  let buf = '';
  child.stdout.on('data', (chunk: string) => {
    log += chunk;
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^\[\+([\d.]+)\] (.*)$/.exec(line);
      if (m) lines.push({ t: Number(m[1]), text: m[2]! });
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log += chunk;
    // The harness's "guest ready" line (not printed with its --quiet, so the bench does not pass that).
    const ready = /\[qemu-usb \+([\d.]+)s\] guest ready/.exec(chunk);
    if (ready && readyAt === undefined) {
      readyAt = Number(ready[1]);
      // A helpdesk scan 0.5 s before each "scan" plug: its full run is busy when the stick arrives.
      for (const p of plugs.filter((x) => x.kind === 'scan')) {
        setTimeout(() => {
          const agentId = collector.gateway.connectedAgents[0];
          const sent = agentId !== undefined && collector.gateway.sendTo(agentId, { type: 'scan.request', requestId: `bench-${p.serial}`, checks: [] });
          log += `[bench] scan before ${p.serial}: ${sent ? 'sent' : 'not sent (agent not connected)'}\n`;
        }, (p.at - 0.5) * 1000).unref();
      }
    }
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  await collector.close();
  log += `\nevents stored by the collector: ${JSON.stringify(kinds)}\n`;
  if (!existsSync(results)) throw new Error(`qemu-usb run ${run} wrote no results (exit ${code}):\n${log.slice(-3000)}`);
  const summary = JSON.parse(readFileSync(results, 'utf8')) as { startEpochMs: number; actions: { op: string; serial: string | null; tAction: number | null }[] };
  for (const a of summary.actions) if (a.op === 'plug' && a.serial) bySerial.get(a.serial)!.plugged = a.tAction ?? undefined;
  for (const p of plugs) {
    const after = (re: RegExp) => lines.find((l) => p.plugged !== undefined && l.t >= p.plugged && re.test(l.text) && l.text.includes(p.serial))?.t;
    p.floorUdev = after(/^floor-udev add /);
    p.floorKernel = after(/^floor-kernel add /);
    p.floorUsbPkg = after(/^floor-usbpkg add /);
    // The agent's own log line for its trigger (stamped when it reached the console; the guest's clock in it is not used).
    const trigger = lines.find((l) => p.plugged !== undefined && l.t >= p.plugged && l.t < p.plugged + PERIOD / 2 && /checks queued: usb-media \(((udev|kernel) add \S+ \S+ serial|usb hotplug)/.test(l.text) && (l.text.includes(p.serial) || l.text.includes('usb hotplug')));
    if (trigger) p.agentTrigger = { t: trigger.t, by: /usb hotplug/.test(trigger.text) ? 'usb package' : /kernel add/.test(trigger.text) ? 'kernel uevent' : 'udev' };
    const s = storedAt.get(p.serial);
    if (s !== undefined) p.stored = (s - summary.startEpochMs) / 1000;
    if (flag('loop-delay') && p.plugged !== undefined && p.stored !== undefined) p.blocks = lines.filter((l) => l.t >= p.plugged! && l.t <= p.stored! && /loop-block \d+ ms/.test(l.text)).map((l) => Number(/loop-block (\d+) ms/.exec(l.text)![1]));
  }
  return { plugs, log };
}

await benchMain(`usb-qemu${NO_UDEV ? '-no-udev' : ''}`, import.meta.url, 60 * 60_000, async (scratch) => {
  if (!HARNESS || !existsSync(join(HARNESS, 'run.sh'))) {
    return { rows: [{ figure: 'plug → violation stored on a real kernel (QEMU)', value: 'not run', baseline: 'give --qemu-usb DIR (the qemu-usb harness) or MAMORI_QEMU_USB', target: '≤ floor + 250 ms p99', met: undefined }], details: {} };
  }
  // The agent as the packages install it: the bundle, config/, and the usb package in node_modules.
  const out = join(scratch, 'pkg');
  await new Promise<void>((res, rej) => spawn(process.execPath, [join(ROOT, 'scripts/package.mjs'), 'bundle', '--out', out], { stdio: 'ignore' }).on('exit', (c) => (c === 0 ? res() : rej(new Error(`package.mjs bundle exited ${c}`)))));
  const bundleDir = join(out, 'agent');
  const { stageUsbPackage } = (await import(join(ROOT, 'scripts/package.mjs'))) as { stageUsbPackage: (dir: string) => void };
  stageUsbPackage(bundleDir);
  copyFileSync(join(ROOT, 'bench/lib/usb-qemu-guest.mjs'), join(bundleDir, 'guest.mjs'));
  copyFileSync(join(ROOT, 'bench/lib/usb-qemu-loop.mjs'), join(bundleDir, 'loop.mjs'));
  // The guest holds only node's own libraries; the usb addon also links librt.so.1 (part of libc6 on a real system).
  mkdirSync(join(bundleDir, 'guest-lib'));
  copyFileSync('/lib/x86_64-linux-gnu/librt.so.1', join(bundleDir, 'guest-lib/librt.so.1'));

  const all: Plug[] = [];
  const logs: string[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const { plugs, log } = await oneRun(run, scratch, bundleDir);
    if (LOG_DIR) {
      mkdirSync(LOG_DIR, { recursive: true });
      writeFileSync(join(LOG_DIR, `run-${run}.log`), log);
    }
    all.push(...plugs);
    logs.push(log);
    console.log(`run ${run}: ${plugs.map((p) => `${p.kind} ${p.stored !== undefined && p.plugged !== undefined ? fmt.ms((p.stored - p.plugged) * 1000) : 'no violation'}`).join(', ')}`);
  }
  const floorOf = (p: Plug) => (NO_UDEV ? p.floorKernel : p.floorUdev);
  const measured = all.filter((p) => p.stored !== undefined && p.plugged !== undefined && floorOf(p) !== undefined);
  const ms = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? Math.round((a - b) * 1000) : null);
  const total = (ps: Plug[]) => summarise(ps.map((p) => (p.stored! - p.plugged!) * 1000));
  const over = (ps: Plug[]) => summarise(ps.map((p) => (p.stored! - floorOf(p)!) * 1000));
  const floors = summarise(measured.map((p) => (floorOf(p)! - p.plugged!) * 1000));
  const rows = [];
  for (const [label, ps] of [
    ['agent idle', measured.filter((p) => p.kind === 'idle')],
    ['during the start-up run or a scan', measured.filter((p) => p.kind !== 'idle')],
  ] as const) {
    if (ps.length === 0) continue;
    const t = total([...ps]);
    const o = over([...ps]);
    rows.push({ figure: `plug → violation stored, ${label} (${ps.length} plugs), p50 / p99`, value: `${fmt.ms(t.p50)} / ${fmt.ms(t.p99)}; over the floor ${fmt.ms(o.p50)} / ${fmt.ms(o.p99)}`, baseline: `floor (plug → guest ${NO_UDEV ? 'kernel uevent' : 'udev event'}) p50 ${fmt.ms(floors.p50)}, max ${fmt.ms(floors.max)}`, target: '≤ floor + 250 ms p99', met: o.p99 <= 250 });
  }
  const firstBy = all.map((p) => ({ udev: ms(p.floorUdev, p.plugged), kernel: ms(p.floorKernel, p.plugged), usbPackage: ms(p.floorUsbPkg, p.plugged) }));
  const wrong = all.filter((p) => p.opened !== 1 || p.closed !== 1).map((p) => `${p.serial}: opened ${p.opened}, closed ${p.closed}`);
  rows.push({ figure: 'verdicts: one USB-001 opened and one closed per plug', value: wrong.length ? wrong.join('; ') : `all ${all.length} plugs`, baseline: '', target: 'exactly one each', met: wrong.length === 0 });
  return {
    rows,
    details: {
      machine: machine(),
      udev: !NO_UDEV,
      plugs: all.map((p, i) => ({ serial: p.serial, kind: p.kind, storedMs: ms(p.stored, p.plugged), overFloorMs: ms(p.stored, floorOf(p)), ...firstBy[i], agentTrigger: p.agentTrigger ? { by: p.agentTrigger.by, ms: ms(p.agentTrigger.t, p.plugged) } : null, ...(p.blocks ? { loopBlocksMs: p.blocks } : {}) })),
      missing: all.length - measured.length,
      ...(measured.length < all.length ? { lastLog: logs.at(-1)!.slice(-6000) } : {}),
    },
  };
});
