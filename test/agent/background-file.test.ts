/** The files the agent rewrites after each check (findings, status) are written off the main thread, newest content last. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackgroundFile } from '../../agent/background-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mamori-bgfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BackgroundFile', () => {
  it('returns before the file is written, and idle() resolves once it is on disk', async () => {
    const path = join(dir, 'first.json');
    const f = new BackgroundFile(path, { mode: 0o600, onError: (err) => expect.fail(err.message) });
    f.write('{"n":1}');
    // The write is on the I/O threads: nothing is on disk while this thread runs on.
    expect(existsSync(path)).toBe(false);
    await f.idle();
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}');
    expect(readdirSync(dir).filter((n) => n.startsWith('first.json'))).toEqual(['first.json']);
  });

  it('ends with the newest content when writes come faster than the disk', async () => {
    const path = join(dir, 'many.json');
    writeFileSync(path, 'old');
    const f = new BackgroundFile(path, { mode: 0o600, onError: (err) => expect.fail(err.message) });
    for (let i = 1; i <= 50; i++) f.write(`v${i}`);
    await f.idle();
    expect(readFileSync(path, 'utf8')).toBe('v50');
    // Written again after idle: the file follows.
    f.write('v51');
    await f.idle();
    expect(readFileSync(path, 'utf8')).toBe('v51');
  });

  it.skipIf(process.platform === 'win32')('gives the file its mode even under an owner-only umask (the status file is read by every user)', async () => {
    const path = join(dir, 'status.json');
    const before = process.umask(0o077);
    try {
      const f = new BackgroundFile(path, { mode: 0o644, onError: (err) => expect.fail(err.message) });
      f.write('{}');
      await f.idle();
    } finally {
      process.umask(before);
    }
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it('reports a write that fails, keeps the old content, and writes the next content once it can', async () => {
    const sub = join(dir, 'gone');
    const path = join(sub, 'findings.json');
    const errors: string[] = [];
    const f = new BackgroundFile(path, { mode: 0o600, onError: (err) => errors.push(err.code ?? err.message) });
    f.write('lost');
    await f.idle();
    expect(errors).toEqual(['ENOENT']);
    expect(existsSync(path)).toBe(false);
    // The directory is there now: the next write lands.
    mkdirSync(sub);
    f.write('kept');
    await f.idle();
    expect(readFileSync(path, 'utf8')).toBe('kept');
    expect(errors).toEqual(['ENOENT']);
  });
});
