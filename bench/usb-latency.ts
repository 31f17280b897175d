/**
 * USB event → stored violation latency through the real watcher path: a real agent process
 * (dist/test/usb-agent.mjs: agent/agent.ts with its LinuxUdevWatcher) judging a replayed Linux
 * PC reads a `udevadm monitor --udev --property` stream from a FIFO (`cat FIFO` stands for
 * udevadm); a plug is the recorded stick's sysfs listing appearing plus its recorded udev `add`
 * blocks written to the FIFO; the time is taken when the collector's bus fires after the
 * violation USB-001 is committed. Half the plugs come while a helpdesk scan's full run is busy
 * in a slow software check (--slow-ms). Baselines in the same run: the FIFO alone (write →
 * `cat` → read by this process) and a raw ws round trip on loopback. The real kernel's share
 * (plug → udev event in a QEMU guest) is measured by bench/usb-qemu.sh.
 *
 *   node dist/bench/usb-latency.mjs [--plugs 40] [--slow-ms 3000]
 */
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, cpSync, openSync, readFileSync, writeSync, writeFileSync } from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { startUsbAgentRun } from './lib/usb-agent-run.js';
import { benchMain, fmt, machine, numArg, sleep, summarise } from './lib/common.js';

const PLUGS = numArg('plugs', 40);
const SLOW_MS = numArg('slow-ms', 3000);
const ROOT = new URL('../..', import.meta.url).pathname;
const SOURCE = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');
const UDEV = join(ROOT, 'test/fixtures/replay/linux/udev-monitor/stick-plug-unplug.txt');

/** The recorded stick's udev blocks (the mouse in the same recording is left out): add, then remove. */
function stickBlocks(): { add: string; remove: string } {
  const blocks = readFileSync(UDEV, 'utf8').split(/\n\s*\n/).filter((b) => /^DEVPATH=.*\/3-2(?:[/:]|$)/m.test(b));
  const pick = (action: string) => blocks.filter((b) => new RegExp(`^ACTION=${action}$`, 'm').test(b)).map((b) => `${b}\n\n`).join('');
  return { add: pick('add'), remove: pick('remove') };
}

/** FIFO alone: a write, `cat`, and the read in this process. */
async function fifoLatency(dir: string, rounds: number): Promise<number[]> {
  const fifo = join(dir, 'probe.fifo');
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, constants.O_RDWR);
  const cat = spawn('/bin/cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const seen = new Promise<void>((res) => cat.stdout.once('data', () => res()));
    const t0 = performance.now();
    writeSync(fd, `${i}\n`);
    await seen;
    out.push(performance.now() - t0);
  }
  cat.kill();
  closeSync(fd);
  return out;
}
async function wsRoundTrip(rounds: number): Promise<number[]> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (s) => s.on('message', (m) => s.send(m)));
  await new Promise((r) => wss.once('listening', r));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  await new Promise((r) => ws.once('open', r));
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await new Promise<void>((res) => {
      ws.once('message', () => res());
      ws.send(JSON.stringify({ i, pad: 'x'.repeat(300) }));
    });
    out.push(performance.now() - t0);
  }
  ws.close();
  wss.close();
  return out;
}

await benchMain('usb-latency', import.meta.url, 600_000, async (scratch) => {
  const recording = join(scratch, 'pc');
  cpSync(SOURCE, recording, { recursive: true });
  const listing = join(recording, 'usb.devices.out');
  const pluggedIn = readFileSync(listing, 'utf8');
  const unplugged = JSON.stringify((JSON.parse(pluggedIn) as string[]).filter((d) => !d.startsWith('3-2')));
  writeFileSync(listing, unplugged);
  const blocks = stickBlocks();
  const fifo = join(scratch, 'udev.fifo');
  execFileSync('mkfifo', [fifo]);
  // Read-write: opening never blocks, and the FIFO stays open for `cat` between plugs.
  const udev = openSync(fifo, constants.O_RDWR);

  const { collector, agentId, nextUsb001: on, stop } = await startUsbAgentRun(scratch, ['--replay', recording, '--udev-fifo', fifo, '--dpkg-delay-ms', String(SLOW_MS)]);
  try {
    const idle: number[] = [];
    const duringRun: number[] = [];
    for (let i = 0; i < PLUGS; i++) {
      const busy = i % 2 === 1;
      if (busy) {
        // A helpdesk scan: a full run whose software check takes SLOW_MS; plug once it is inside it.
        collector.gateway.sendTo(agentId, { type: 'scan.request', requestId: `bench-${i}`, checks: [] });
        await sleep(300 + Math.random() * 500);
      }
      const opened = on('violation.opened');
      const t0 = performance.now();
      writeFileSync(listing, pluggedIn);
      writeSync(udev, blocks.add);
      (busy ? duringRun : idle).push((await opened) - t0);
      const closed = on('violation.closed');
      writeFileSync(listing, unplugged);
      writeSync(udev, blocks.remove);
      await closed;
      await sleep(busy ? SLOW_MS : 200);
    }
    const si = summarise(idle);
    const sb = summarise(duringRun);
    const ff = summarise(await fifoLatency(scratch, 200));
    const rt = summarise(await wsRoundTrip(1000));
    return {
      rows: [
        { figure: `USB udev event → violation stored, idle agent, p50 / p99 (${idle.length} plugs)`, value: `${fmt.ms(si.p50)} / ${fmt.ms(si.p99)}`, baseline: `FIFO alone p50 ${ff.p50.toFixed(2)} ms`, target: '', met: undefined },
        { figure: `… during a scan's full run (software check ${SLOW_MS} ms), p50 / p99 (${duringRun.length} plugs)`, value: `${fmt.ms(sb.p50)} / ${fmt.ms(sb.p99)}`, baseline: `raw ws round trip p99 ${rt.p99.toFixed(2)} ms`, target: '≤ 250 ms p99 over the floor', met: Math.max(si.p99, sb.p99) <= 250 },
      ],
      details: { machine: machine(scratch), idleMs: idle.map((v) => Math.round(v)), duringRunMs: duringRun.map((v) => Math.round(v)), fifo: ff, wsRoundTrip: rt },
    };
  } finally {
    closeSync(udev);
    await stop();
  }
});
