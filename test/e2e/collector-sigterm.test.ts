/**
 * `mamori collector` stops on SIGTERM while a console tab is open: a signed-in live stream
 * (WebSocket) and an idle keep-alive HTTP connection, as a browser tab holds them, must not keep
 * the process alive (systemd would kill it after its stop timeout, losing the clean shutdown).
 */
import { readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCollectorProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';

let collector: CollectorProc | undefined;
const dataDir = tempDir('sigterm');
afterAll(async () => {
  await collector?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

/** One request over a keep-alive agent (the connection stays open afterwards, as a browser's does). */
function call(agent: Agent, port: number, method: string, path: string, body?: unknown, cookie?: string, csrf?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}), ...(csrf ? { 'x-csrf-token': csrf } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('collector process', () => {
  it('exits on SIGTERM with a console tab (live stream and keep-alive connection) open', async () => {
    collector = await startCollectorProc(dataDir, undefined, ['--insecure-plain']);
    const password = /password: (\S+)/.exec(readFileSync(join(dataDir, 'console-initial-admin.txt'), 'utf8'))![1]!;
    const agent = new Agent({ keepAlive: true });
    const login = await call(agent, collector.port, 'POST', '/api/v1/session', { username: 'admin', password });
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    // The one-time password is changed first (nothing else is allowed before).
    expect((await call(agent, collector.port, 'POST', '/api/v1/session/password', { current: password, next: 'Sigterm-Console-2026!' }, cookie, login.json.csrfToken)).status).toBe(200);
    const ws = new WebSocket(`ws://127.0.0.1:${collector.port}/api/v1/stream`, { headers: { cookie, origin: `http://127.0.0.1:${collector.port}` } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    collector.child.kill('SIGTERM');
    const exit = await Promise.race([collector.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 30_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    // The tab was told: its stream closed (it reconnects once the collector is back).
    expect(await closed).toBeGreaterThan(0);
    agent.destroy();
  }, 60_000);
});
