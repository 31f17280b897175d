/**
 * A real agent (agent/agent.ts: link, outbox, lanes, udev watcher) judging a recorded Linux PC,
 * for the test of a USB event arriving during a full run and for bench/usb-latency.ts. Two
 * things differ from `mamori agent run --replay`: the udev watcher runs, reading a recorded
 * `udevadm monitor` stream, and the software check is slow.
 *
 *   node dist/test/usb-agent.mjs --collector URL --state DIR --enroll TOKEN --ca-pin SHA256 --replay PC-DIR
 *        (--udev-recording FILE --control DIR | --udev-fifo FIFO [--dpkg-delay-ms N] | --windows-device-fifo FIFO)
 *
 * With --control: the recording's `add` blocks are printed once DIR/plug exists, and the dpkg
 * status read is held until DIR/release exists. With --udev-fifo: udev blocks are whatever is
 * written to the FIFO (`cat FIFO` stands for udevadm), and the dpkg status read takes N ms.
 * With --windows-device-fifo (a recorded Windows PC): the Windows device watcher, whose
 * PowerShell watch script is stood in for by `sh` printing the script's ready line and then
 * whatever JSON lines are written to the FIFO.
 *
 * Prints lines: "dpkg-status held", "dpkg-status released".
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, describeOs } from '../../../agent/agent.js';
import { collectorTrust, saveIdentity } from '../../../agent/identity.js';
import { enroll } from '../../../agent/link/enroll.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { LinuxUdevWatcher } from '../../../agent/watchers/linux-udev.js';
import { WindowsDeviceWatcher } from '../../../agent/watchers/windows-devices.js';
import { silentLogger } from '../../../src/shared/log.js';

const { values } = parseArgs({ options: { collector: { type: 'string' }, state: { type: 'string' }, enroll: { type: 'string' }, 'ca-pin': { type: 'string' }, replay: { type: 'string' }, 'udev-recording': { type: 'string' }, control: { type: 'string' }, 'udev-fifo': { type: 'string' }, 'windows-device-fifo': { type: 'string' }, 'dpkg-delay-ms': { type: 'string', default: '0' } } });
const control = values.control;

const until = async (file: string) => {
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
};

/** The recorded PC, with the software check's dpkg status held until DIR/release exists (or delayed). */
class HeldProbes extends ReplayProbes {
  override async readFile(key: string) {
    if (key === 'dpkg-status') {
      process.stdout.write('dpkg-status held\n');
      if (control) await until(join(control, 'release'));
      else await new Promise((r) => setTimeout(r, Number(values['dpkg-delay-ms'])));
      process.stdout.write('dpkg-status released\n');
    }
    return super.readFile(key);
  }
}

// The `add` blocks of the recording, printed as udevadm would once DIR/plug exists; then it stays (as udevadm does).
const UDEV_STREAM = String.raw`
const fs = require('fs');
const [file, plug] = process.argv.slice(1);
const blocks = fs.readFileSync(file, 'utf8').split(/\n\s*\n/).filter((b) => /^ACTION=add$/m.test(b));
const wait = () => (fs.existsSync(plug) ? blocks.forEach((b) => process.stdout.write(b + '\n\n')) : setTimeout(wait, 10));
wait();
setInterval(() => {}, 1000);
`;

const probes = new HeldProbes(values.replay!);
const stateDir = values.state!;
const wsOptions = await collectorTrust({ url: values.collector!, stateDir, pin: values['ca-pin'], allowPlain: false });
const { policy: initialPolicy, ...enrolled } = await enroll(values.collector!, values.enroll!, describeOs(probes), 'test', wsOptions);
const identity = { ...enrolled, collectorUrl: values.collector!, enrolledAt: new Date().toISOString() };
saveIdentity(stateDir, identity);
const deviceFifo = values['windows-device-fifo'];
const watcher = deviceFifo
  ? new WindowsDeviceWatcher({ spawn: () => spawn('/bin/sh', ['-c', 'printf \'{"kind":"ready"}\\n\'; exec cat "$0"', deviceFifo], { stdio: ['pipe', 'pipe', 'pipe'] }) })
  : new LinuxUdevWatcher(values['udev-fifo'] ? { command: '/bin/cat', args: [values['udev-fifo']] } : { command: process.execPath, args: ['-e', UDEV_STREAM, values['udev-recording']!, join(control!, 'plug')] });
const agent = new Agent({ identity, stateDir, log: silentLogger(), probes, watchers: [watcher], wsOptions, watchdog: false, ...(initialPolicy ? { initialPolicy } : {}) });
await agent.start();
process.once('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
