/**
 * A child process that replays a recorded `udevadm monitor --udev --property` stream on stdout
 * with the recorded timing (the `[uptime]` gaps between blocks, scaled), then exits or stays.
 * Used as the udev watcher's `command` so the watcher reads a real pipe from a real process.
 */
const SCRIPT = String.raw`
const fs = require('fs');
const [file, scale, stay] = process.argv.slice(1);
const text = fs.readFileSync(file, 'utf8');
const blocks = text.split(/\n\s*\n/).filter((b) => b.trim());
let last = null;
(async () => {
  for (const b of blocks) {
    const m = /\[(\d+\.\d+)\]/.exec(b);
    if (m && last !== null) await new Promise((r) => setTimeout(r, (Number(m[1]) - last) * 1000 * Number(scale)));
    if (m) last = Number(m[1]);
    process.stdout.write(b + '\n\n');
  }
  if (stay === 'stay') setInterval(() => {}, 1000);
})();
`;

/** Command and arguments for the watcher: node -e SCRIPT FILE SCALE [stay]. */
export function udevStreamCommand(file: string, scale: number, stay: boolean): { command: string; args: string[] } {
  return { command: process.execPath, args: ['-e', SCRIPT, file, String(scale), stay ? 'stay' : 'exit'] };
}
