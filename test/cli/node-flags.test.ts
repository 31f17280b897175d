/**
 * The Node flags the collector runs with (bin/mamori.js): given on the command's first line, so
 * they hold however `mamori` is started, and the same in `npm start`. V8 takes them only at start.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/mamori.js');

function shebangFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(first);
  expect(m, first).not.toBeNull();
  return m![1]!.split(' ').filter(Boolean);
}

describe('the Node flags of the mamori command', () => {
  it('gives the young generation the collector needs, and the command runs through its first line', () => {
    expect(shebangFlags()).toContain('--max-semi-space-size=64');
    // Run as a program (env -S splits the line), as the installed `mamori` is; the flags reach Node.
    const dir = mkdtempSync(join(tmpdir(), 'mamori-node-flags-'));
    const printFlags = join(dir, 'print-flags.mjs');
    writeFileSync(printFlags, "process.on('exit', () => console.log(JSON.stringify(process.execArgv)));\n");
    let out: string;
    try {
      out = execFileSync(BIN, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--import=${printFlags}` } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const [version, execArgv] = out.trim().split('\n');
    expect(version).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
    expect(JSON.parse(execArgv!)).toEqual(shebangFlags());
  });

  it('are the same in npm start', () => {
    const start = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(start).toBe(['node', ...shebangFlags(), 'bin/mamori.js', 'up'].join(' '));
  });
});
