/**
 * A PC lands in its 課 at enrollment: a token carrying a 課 — made in the console (API) or with
 * `mamori token create --department` — gives it to every PC enrolled with it through the real
 * gateway, visible in 端末一覧's filter and on the PC's violations from its first connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../helpers/processes.js';
import { rawEnroll, rawHello } from '../helpers/raw-client.js';
import { adminClient, startTestCollector, userClient } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;
let dataDir: string;

beforeAll(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  dataDir = mkdtempSync(join(tmpdir(), 'mamori-enroll-dep-'));
  t = await startTestCollector({ dataDir });
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
});

const inDepartment = async (d: string) => ((await admin.request('GET', `/api/v1/pcs?department=${encodeURIComponent(d)}`)).json.pcs as { id: string }[]).map((p) => p.id);

describe('enrollment tokens with a 課', () => {
  it('made in the console: the enrolled PC is in the 課, and the token is listed without its secret', async () => {
    const made = await admin.request('POST', '/api/v1/enrollment-tokens', { segment: 'lgwan', department: '税務課', days: 7, singleUse: true, note: '税務課の更新分' });
    expect(made.status).toBe(200);
    expect(made.json.token).toMatch(/^mmr1\./);
    const pc = await rawEnroll(t.collector.agentUrl, made.json.token);
    expect(await inDepartment('税務課')).toEqual([pc.agentId]);
    // Its first connection: the console's views know the 課 too.
    const conn = await rawHello(t.collector.agentUrl, pc.agentId, pc.privateKey);
    await conn.next('welcome');
    const view = (await admin.request('GET', `/api/v1/pcs/${pc.agentId}`)).json.pc;
    expect(view.department).toBe('税務課');
    conn.ws.close();
    const list = (await admin.request('GET', '/api/v1/enrollment-tokens')).json.tokens;
    expect(list[0]).toMatchObject({ id: made.json.record.id, department: '税務課', segment: 'lgwan', usedCount: 1, singleUse: true });
    expect(JSON.stringify(list)).not.toMatch(/secret|hash/i);
    // Revoked: it enrolls nothing more.
    const other = await admin.request('POST', '/api/v1/enrollment-tokens', { segment: 'lgwan', department: '税務課' });
    expect((await admin.request('POST', `/api/v1/enrollment-tokens/${other.json.record.id}/revoke`, {})).status).toBe(200);
    await expect(rawEnroll(t.collector.agentUrl, other.json.token)).rejects.toThrow();
  });

  it('made with `mamori token create --department`', async () => {
    const token = await createToken(dataDir, ['--department', '市民課', '--segment', 'mynumber']);
    const pc = await rawEnroll(t.collector.agentUrl, token);
    expect(await inDepartment('市民課')).toEqual([pc.agentId]);
    expect((await admin.request('GET', `/api/v1/pcs/${pc.agentId}`)).json.pc.segment).toBe('mynumber');
  });

  it('an administrator of one 課 makes tokens for that 課 only', async () => {
    const zei = await userClient(t, admin, 'zei-admin', 'admin', ['税務課']);
    expect((await zei.request('POST', '/api/v1/enrollment-tokens', { segment: 'lgwan', department: '市民課' })).status).toBe(403);
    expect((await zei.request('POST', '/api/v1/enrollment-tokens', { segment: 'lgwan' })).status).toBe(403);
    expect((await zei.request('POST', '/api/v1/enrollment-tokens', { segment: 'lgwan', department: '税務課' })).status).toBe(200);
    expect(((await zei.request('GET', '/api/v1/enrollment-tokens')).json.tokens as { department: string }[]).every((x) => x.department === '税務課')).toBe(true);
  });
});
