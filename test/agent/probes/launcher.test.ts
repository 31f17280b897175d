/**
 * Programs started from the launcher's worker thread give the same probe outcomes as programs
 * started from this thread: output, accepted exit codes, failures, missing programs, time and
 * size limits, environment and argv passed as given; they run at a lower CPU priority.
 */
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ProgramLauncher } from '../../../agent/probes/launcher.js';
import { runProgram } from '../../../agent/probes/live.js';
import type { ExecOptions } from '../../../agent/probes/types.js';

const node = process.execPath;
const cases: [string, string, string[], ExecOptions][] = [
  ['output', node, ['-e', 'process.stdout.write("a b\\nc")'], {}],
  ['argv as given, no shell', node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '$(id)', 'x y'], {}],
  ['environment with LC_ALL=C', node, ['-e', 'process.stdout.write(`${process.env.MAMORI_X}/${process.env.LC_ALL}`)'], { env: { MAMORI_X: 'yes' } }],
  ['exit code accepted', node, ['-e', 'process.stdout.write("partial"); process.exit(100)'], { okExitCodes: [0, 100] }],
  ['exit code refused, stderr tail', node, ['-e', 'console.error("bad thing"); process.exit(3)'], {}],
  ['missing program', '/nonexistent/program', [], {}],
  ['timeout', node, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300 }],
  ['output too large', node, ['-e', 'process.stdout.write("x".repeat(5000))'], { maxBytes: 1000 }],
];

describe('ProgramLauncher', () => {
  it('gives the same outcome as a program started from this thread', { timeout: 30_000 }, async () => {
    const launcher = new ProgramLauncher();
    for (const [what, file, args, opts] of cases) {
      const [direct, launched] = await Promise.all([runProgram(file, args, opts), runProgram(file, args, opts, launcher)]);
      expect(launched, what).toEqual(direct);
    }
    // The one difference: programs run below the agent in CPU priority (nice 10, or lower still when the agent is).
    expect(await runProgram(node, ['-e', 'process.stdout.write(String(require("os").getPriority()))'], {}, launcher)).toEqual({ ok: true, stdout: String(Math.max(10, getPriority())), exitCode: 0 });
    await launcher.close();
  });

  it('runs programs side by side and ends its worker after the idle time', { timeout: 30_000 }, async () => {
    const launcher = new ProgramLauncher(200);
    const outs = await Promise.all([1, 2, 3, 4].map((i) => runProgram(node, ['-e', `setTimeout(() => process.stdout.write("${i}"), ${50 * (5 - i)})`], {}, launcher)));
    expect(outs.map((o) => (o.ok ? o.stdout : o.detail))).toEqual(['1', '2', '3', '4']);
    expect(launcher.active).toBe(true);
    await expect.poll(() => launcher.active, { timeout: 10_000 }).toBe(false);
    // The next program starts a new worker.
    expect(await runProgram(node, ['-e', 'process.stdout.write("again")'], {}, launcher)).toEqual({ ok: true, stdout: 'again', exitCode: 0 });
    await launcher.close();
  });
});
