// Preloaded into the agent in the QEMU guest of bench/usb-qemu.ts with --loop-delay
// (node --import /app/loop.mjs): prints one line per main-thread block of 50 ms or more,
// measured as the lateness of a 10 ms timer, so the host's stamp on the line (its end) and the
// plugs' times show which block held up which plug. The line goes to stderr, which the guest
// program passes to the console.
import { performance } from 'node:perf_hooks';

const PERIOD_MS = 10;
const REPORT_MS = 50;
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  const late = now - last - PERIOD_MS;
  last = now;
  if (late >= REPORT_MS) process.stderr.write(`loop-block ${Math.round(late)} ms (${Math.round(now)} ms after start)\n`);
}, PERIOD_MS).unref();
