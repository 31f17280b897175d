/**
 * Programs run by the live probes: output, accepted exit codes, failures, missing programs, time
 * and size limits, environment and argv passed as given, programs that cannot be started; the
 * agent daemon's probes run them at a lower CPU priority than the agent, a one-shot check's at
 * the agent's own.
 */
import { getPriority } from 'node:os';
import { describe, expect, it } from 'vitest';
import { liveProbes } from '../../../agent/probes/index.js';
import { runProgram } from '../../../agent/probes/live.js';

const node = process.execPath;

describe('programs of the live probes', () => {
  it('give what the program printed and how it ended', { timeout: 30_000 }, async () => {
    expect(await runProgram(node, ['-e', 'process.stdout.write("a b\\nc")'])).toEqual({ ok: true, stdout: 'a b\nc', exitCode: 0 });
    expect(await runProgram(node, ['-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', '$(id)', 'x y'])).toEqual({ ok: true, stdout: '["$(id)","x y"]', exitCode: 0 });
    expect(await runProgram(node, ['-e', 'process.stdout.write(`${process.env.MAMORI_X}/${process.env.LC_ALL}`)'], { env: { MAMORI_X: 'yes' } })).toEqual({ ok: true, stdout: 'yes/C', exitCode: 0 });
    expect(await runProgram(node, ['-e', 'process.stdout.write("partial"); process.exit(100)'], { okExitCodes: [0, 100] })).toEqual({ ok: true, stdout: 'partial', exitCode: 100 });
    expect(await runProgram(node, ['-e', 'console.error("bad thing"); process.exit(3)'])).toMatchObject({ ok: false, failure: 'EXEC_FAILED', exitCode: 3, stdout: '' });
    expect(await runProgram('/nonexistent/program', [])).toMatchObject({ ok: false, failure: 'NOT_FOUND' });
    expect(await runProgram(node, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300 })).toMatchObject({ ok: false, failure: 'PROBE_TIMEOUT' });
    expect(await runProgram(node, ['-e', 'process.stdout.write("x".repeat(5000))'], { maxBytes: 1000 })).toMatchObject({ ok: false, failure: 'OUTPUT_TOO_LARGE' });
  });

  it('give a failure, not an exception, for a program that cannot be started', async () => {
    // Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN): the start fails with E2BIG, which Node throws.
    const tooLong = await runProgram(node, ['-e', '0', 'x'.repeat(200 * 1024)]);
    expect(tooLong).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
    expect(tooLong.ok ? '' : tooLong.detail).toMatch(/E2BIG/);
    // Node refuses an argument with a NUL byte before starting anything.
    expect(await runProgram(node, ['-e', '0', 'a\0b'])).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
    // The same through the daemon's probes.
    expect(await liveProbes({ programsBelowAgent: true }).exec('too-long', node, ['x'.repeat(200 * 1024)])).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
  });

  it('run below the agent in CPU priority in the daemon, at its own in a one-shot check', { timeout: 30_000 }, async () => {
    const priority = ['-e', 'process.stdout.write(String(require("os").getPriority()))'];
    expect(await liveProbes({ programsBelowAgent: true }).exec('priority', node, priority)).toEqual({ ok: true, stdout: String(Math.max(10, getPriority())), exitCode: 0 });
    expect(await liveProbes().exec('priority', node, priority)).toEqual({ ok: true, stdout: String(getPriority()), exitCode: 0 });
  });
});
