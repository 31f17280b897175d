/**
 * The installed agent logs through agent/log-file.ts instead of winston (src/shared/log.ts): the
 * same lines in the same files, owner-only, rotated as winston's tailable rotation does.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { RotatingFile, createLogger, stableJson } from '../../agent/log-file.js';
import { createLogger as createWinstonLogger } from '../../src/shared/log.js';

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-log-file-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const withoutTime = (l: Record<string, unknown>) => {
  const { timestamp, ...rest } = l;
  expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return rest;
};

/** The same calls on both loggers. */
function logSome(log: { error: (m: string, meta?: unknown) => void; warn: (m: string, meta?: unknown) => void; info: (m: string, meta?: unknown) => void; debug: (m: string, meta?: unknown) => void }, error: Error): void {
  log.info('agent started', { version: '1.2.3', checks: ['usb-media', 'software'] });
  log.warn('check usb-media failed', { error: 'EACCES', nested: { z: 1, a: [{ y: 2, b: 3 }] } });
  log.debug('not at the info level');
  log.error('link closed', error);
  log.info('日本語のメッセージ');
}

describe('agent log file', () => {
  it('writes the lines winston writes, key for key, in the same file', async () => {
    const ours = scratch();
    const theirs = scratch();
    const error = new Error('boom');
    logSome(createLogger({ component: 'agent', dir: ours, console: false }), error);
    logSome(createWinstonLogger({ component: 'agent', dir: theirs, console: false }), error);
    // winston writes through a stream: wait for its five lines.
    const winstonFile = join(theirs, 'agent.log');
    for (;;) {
      const text = (() => {
        try {
          return readFileSync(winstonFile, 'utf8');
        } catch {
          return '';
        }
      })();
      if (text.split('\n').filter(Boolean).length >= 4) break;
      await sleep(20);
    }
    expect(readdirSync(ours)).toEqual(['agent.log']);
    const got = lines(join(ours, 'agent.log'));
    const want = lines(winstonFile);
    expect(got.map(withoutTime)).toEqual(want.map(withoutTime));
    // Keys sorted as winston's json format writes them.
    const raw = readFileSync(join(ours, 'agent.log'), 'utf8').split('\n')[1]!;
    expect(raw.startsWith('{"component":"agent","error":"EACCES","level":"warn","message":"check usb-media failed","nested":{"a":[{"b":3,"y":2}],"z":1},"timestamp":"')).toBe(true);
  });

  it('keeps the log owner-only and honours the level', () => {
    const dir = join(scratch(), 'logs');
    const log = createLogger({ component: 'agent', dir, console: false, level: 'debug' });
    log.debug('now written');
    expect(lines(join(dir, 'agent.log')).map((l) => l.message)).toEqual(['now written']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'agent.log')).mode & 0o777).toBe(0o600);
  });

  it('appends to the file an earlier run left', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'agent.log'), '{"message":"earlier"}\n');
    createLogger({ component: 'agent', dir, console: false }).info('later');
    expect(lines(join(dir, 'agent.log')).map((l) => l.message)).toEqual(['earlier', 'later']);
  });

  it('rotates at the size limit: the newest in NAME.log, older ones shifted up, the oldest beyond the limit dropped', () => {
    const dir = scratch();
    const file = new RotatingFile(dir, 'agent', 100, 3);
    const line = (n: number) => `${JSON.stringify({ n, pad: 'x'.repeat(30) })}\n`; // 50 bytes
    for (let n = 1; n <= 7; n++) file.write(line(n));
    const read = (name: string) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n);
    expect(readdirSync(dir).sort()).toEqual(['agent.log', 'agent1.log', 'agent2.log']);
    expect(read('agent.log')).toEqual([7]);
    expect(read('agent1.log')).toEqual([5, 6]);
    expect(read('agent2.log')).toEqual([3, 4]);
  });

  it('writes a cycle in the meta as [Circular] instead of failing', () => {
    const meta: Record<string, unknown> = { a: 1 };
    meta.self = meta;
    expect(stableJson(meta)).toBe('{"a":1,"self":"[Circular]"}');
  });
});
