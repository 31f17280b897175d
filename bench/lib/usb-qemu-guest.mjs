// Runs inside the QEMU guest of bench/usb-qemu.ts (as /app/guest.mjs, cwd /app, as root).
// Starts the installed-layout agent (/app/mamori-agent.mjs + /app/node_modules/usb) with
// `agent run`, and beside it prints one console line per USB device add/remove seen by three
// independent listeners, for the floor of the same run:
//   floor-udev   add|remove SERIAL   udev's event (udevadm monitor --udev), when udevd runs
//   floor-kernel add|remove SERIAL   the kernel's uevent (udevadm monitor --kernel; serial read from sysfs)
//   floor-usbpkg add|remove SERIAL   the usb package's WebUSB connect/disconnect
// The host stamps every console line with its own clock (run.sh --stamp).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';

const say = (line) => process.stdout.write(`${line}\n`);

function monitor(kind, source) {
  const serials = new Map();
  const child = spawn('udevadm', ['monitor', `--${source}`, '--property', '--subsystem-match=usb'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const p = Object.fromEntries(block.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      if (p.DEVTYPE !== 'usb_device' || !p.DEVPATH) continue;
      if (p.ACTION === 'add') {
        let serial = p.ID_SERIAL_SHORT;
        if (!serial && existsSync(`/sys${p.DEVPATH}/serial`)) serial = readFileSync(`/sys${p.DEVPATH}/serial`, 'utf8').trim();
        serials.set(p.DEVPATH, serial || '-');
        say(`floor-${kind} add ${serial || '-'}`);
      } else if (p.ACTION === 'remove') {
        say(`floor-${kind} remove ${serials.get(p.DEVPATH) ?? '-'}`);
      }
    }
  });
  return child;
}

const children = [];
if (existsSync('/run/udev/control')) children.push(monitor('udev', 'udev'));
children.push(monitor('kernel', 'kernel'));

try {
  const { usb } = await import('usb');
  await usb.getDevices();
  usb.addEventListener('connect', (e) => say(`floor-usbpkg add ${e.device?.serialNumber || '-'}`));
  usb.addEventListener('disconnect', (e) => say(`floor-usbpkg remove ${e.device?.serialNumber || '-'}`));
} catch (err) {
  say(`floor-usbpkg unavailable: ${err.message}`);
}

// The serial console is slow (115200 baud) and a TTY, which Node writes to synchronously: the
// agent writes to a pipe instead, and only its lines about USB triggers, runs and problems are
// passed on. The kernel's own messages are kept off the console (a QEMU stick's bare FAT image
// makes it log read errors at every plug).
try {
  spawnSync('dmesg', ['-n', '1']);
} catch {}
// --profile (MAMORI_BENCH_PROFILE=1): a CPU profile of the agent, summarised on the console at its exit.
const profile = process.env.MAMORI_BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
// --loop-delay (MAMORI_BENCH_LOOP=1): the agent prints its main-thread blocks (loop.mjs).
const loop = process.env.MAMORI_BENCH_LOOP === '1' ? ['--import', '/app/loop.mjs'] : [];
const agent = spawn(process.execPath, [...profile, ...loop, '/app/mamori-agent.mjs', 'agent', 'run', '--config', '/app/agent.yml'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAMORI_LOG_LEVEL: 'debug' } });
children.push(agent);
for (const stream of [agent.stdout, agent.stderr]) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const l of lines) if (/usb-media|check done|running on|で動作しています|watcher|error|warn|loop-block|\(start\)|\(scan /.test(l)) say(`agent: ${l}`);
  });
}
say('guest: agent started');
/** The functions the agent spent most time in (self time), from its CPU profile. */
function summariseProfile() {
  for (const f of readdirSync('/tmp/prof')) {
    const p = JSON.parse(readFileSync(`/tmp/prof/${f}`, 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const self = new Map();
    p.samples.forEach((id, i) => {
      const n = byId.get(id);
      const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
    });
    for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) say(`profile: ${(us / 1000).toFixed(0)} ms ${k}`);
  }
}

agent.on('exit', (code) => {
  say(`guest: agent exited ${code}`);
  if (profile.length) {
    try {
      summariseProfile();
    } catch (err) {
      say(`profile: ${err.message}`);
    }
  }
  for (const c of children) c.kill();
  process.exit(code ?? 1);
});
process.on('SIGTERM', () => agent.kill('SIGTERM'));
