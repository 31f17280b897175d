/**
 * Violations forwarded to real local listeners: a UDP syslog socket, a TCP syslog server
 * (octet-counted frames) and HTTP servers taking the webhook's signed JSON POST, which
 * verify the signature the way docs/console.md tells a receiver to and de-duplicate by
 * event id. Receivers go down, answer 500, and the collector restarts during an outage:
 * every violation still arrives.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditAnchor } from '../../src/collector/console/audit.js';
import { consoleOf } from '../../src/collector/console/plugin.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, waitUntil } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

/** Short retry timings so outages in the tests last seconds, not minutes. */
const forwarding = { timings: { backoffMinMs: 100, backoffMaxMs: 800, pollMs: 200 } };

let t: TestCollector;
let admin: Client;
const udpGot: string[] = [];
const tcpGot: string[] = [];
const udp = createSocket('udp4');
const tcp = createTcpServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    // RFC 6587 octet counting: "<len> <msg>".
    for (;;) {
      const sp = buf.indexOf(0x20);
      if (sp < 0) break;
      const len = Number(buf.subarray(0, sp).toString());
      if (buf.length < sp + 1 + len) break;
      tcpGot.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      buf = buf.subarray(sp + 1 + len);
    }
  });
});

/**
 * A webhook receiver as a SIEM would write it: check X-Mamori-Signature (HMAC-SHA256 of
 * timestamp + "." + body) and the 5-minute replay window, then keep each event id once.
 */
class Receiver {
  server: Server | undefined;
  readonly ids = new Set<string>();
  readonly bodies = new Map<string, any>();
  posts = 0;
  refusedSignature = 0;
  /** Answer 500 to a request when this returns true (before looking at it). */
  fail: (n: number) => boolean = () => false;
  secret = '';

  constructor(public port = 0) {}

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const n = ++this.posts;
        if (this.fail(n)) return void res.writeHead(500).end();
        const ts = String(req.headers['x-mamori-timestamp'] ?? '');
        const sig = String(req.headers['x-mamori-signature'] ?? '');
        const expected = `v1=${createHmac('sha256', this.secret).update(`${ts}.${raw}`).digest('hex')}`;
        const fresh = Math.abs(Date.now() / 1000 - Number(ts)) <= 300;
        if (!fresh || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected))) {
          this.refusedSignature++;
          return void res.writeHead(401).end();
        }
        const body = JSON.parse(raw);
        expect(req.headers['x-mamori-event-id']).toBe(body.id);
        this.ids.add(body.id);
        this.bodies.set(body.id, body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mamori`;
  }
}

beforeAll(async () => {
  udp.on('message', (m) => udpGot.push(m.toString('utf8')));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  t = await startTestCollector({ forwarding });
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
  udp.close();
  tcp.close();
});

const usb = (n: number, prefix = 'FW') => usbViolation(`0781:5567:${prefix}${String(n).padStart(4, '0')}`);

async function addWebhook(c: Client, url: string, extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const r = await c.request('POST', '/api/v1/forwarders', { kind: 'webhook', target: url, ...extra });
  expect(r.status).toBe(200);
  return { id: r.json.forwarder.id, secret: r.json.secret };
}

async function statusOf(c: Client, id: string): Promise<any> {
  const r = await c.request('GET', '/api/v1/forwarders');
  return r.json.forwarders.find((f: { id: string }) => f.id === id).status;
}

describe('forwarders', () => {
  it('sends RFC 5424 syslog over UDP and TCP and a signed JSON webhook with the Japanese message and subject details', async () => {
    const rx = new Receiver();
    await rx.start();
    const add = async (kind: string, target: string, minSeverity = 'info') => {
      const r = await admin.request('POST', '/api/v1/forwarders', { kind, target, minSeverity });
      expect(r.status).toBe(200);
      return r.json;
    };
    await add('syslog-udp', `127.0.0.1:${(udp.address() as AddressInfo).port}`);
    await add('syslog-tcp', `127.0.0.1:${(tcp.address() as AddressInfo).port}`);
    const hook = await add('webhook', rx.url, 'high');
    rx.secret = hook.secret;
    expect(hook.secret).toMatch(/^[0-9a-f]{64}$/);
    // The secret is shown once: the list never carries it.
    expect(JSON.stringify((await admin.request('GET', '/api/v1/forwarders')).json)).not.toContain(hook.secret);

    const id = await seedAgent(t, 'pc-siem');
    await admin.request('PUT', `/api/v1/pcs/${id}/assignment`, { department: '市民課', group: null });
    await seedEvents(t, id, 'pc-siem', [usbViolation('0781:5567:SIEM01', '2026-11-24T01:02:03.000Z')]);

    const u = await waitUntil(async () => udpGot[0], 10_000, 'udp syslog');
    // <PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID [SD] MSG — PRI = local0 (16) * 8 + err (3) = 131 for high.
    expect(u).toMatch(
      /^<131>1 2026-11-24T01:02:03\.000Z pc-siem mamori - violation\.opened \[mamori@32473 id="ag_\w+:1" agent="ag_\w+" rule="USB-001" check="usb-media" subject="0781:5567:SIEM01" severity="high" department="市民課" group="" user="tanaka" model="Test Stick" label="" serial="SIEM01" program="" clauses="003:第4章4\(1\)ア 004:§8\.4\(2\)エ" received="[^"]+"\] 違反 媒体管理台帳に登録された媒体だけが接続されていること: 媒体管理台帳に登録されていないUSB記憶媒体 0781:5567:SIEM01 が接続されています。 理由: /,
    );
    // No BOM anywhere: SIEM rules anchor on the start of fields and of the message.
    expect(u).not.toContain('\uFEFF');
    const tc = await waitUntil(async () => tcpGot[0], 10_000, 'tcp syslog');
    expect(tc).toBe(u);
    const w = await waitUntil(async () => [...rx.bodies.values()][0], 10_000, 'webhook');
    expect(w).toMatchObject({ id: `${id}:1`, type: 'violation.opened', hostname: 'pc-siem', ruleId: 'USB-001', subject: '0781:5567:SIEM01', severity: 'high', department: '市民課', group: '', user: 'tanaka', details: { model: 'Test Stick', serial: 'SIEM01', label: '', program: '' }, at: '2026-11-24T01:02:03.000Z' });
    expect(w.message.ja).toContain('媒体管理台帳に登録されていないUSB記憶媒体');

    // Closing is forwarded with the violation's severity (from the stored violation), syslog at informational level.
    await seedEvents(t, id, 'pc-siem', [{ kind: 'violation.closed', at: '2026-11-24T01:05:00.000Z', checkId: 'usb-media', ruleId: 'USB-001', subject: '0781:5567:SIEM01', reason: '媒体が取り外されました' } as never]);
    const closed = await waitUntil(async () => udpGot[1], 10_000, 'udp close');
    expect(closed).toMatch(/^<134>1 2026-11-24T01:05:00\.000Z pc-siem mamori - violation\.closed \[mamori@32473 id="ag_\w+:2" .* severity="high" department="市民課" .*\] 解消 .* 理由: 媒体が取り外されました$/);
    await waitUntil(async () => tcpGot[1], 10_000, 'tcp close');
    await waitUntil(async () => rx.ids.has(`${id}:2`), 10_000, 'webhook close');
    expect(rx.bodies.get(`${id}:2`)).toMatchObject({ type: 'violation.closed', severity: 'high', reason: '媒体が取り外されました', details: { model: 'Test Stick' } });
    expect(rx.refusedSignature).toBe(0);
    for (const f of (await admin.request('GET', '/api/v1/forwarders')).json.forwarders) await admin.request('DELETE', `/api/v1/forwarders/${f.id}`);
    await rx.stop();
  });

  it('delivers every violation through HTTP 500s and a receiver outage, each with an event id to de-duplicate', async () => {
    const rx = new Receiver();
    await rx.start();
    // Every third request fails with 500.
    rx.fail = (n) => n % 3 === 0;
    const hook = await addWebhook(admin, rx.url);
    rx.secret = hook.secret;
    const pc = await seedAgent(t, 'pc-500');
    for (let i = 0; i < 42; i++) await seedEvents(t, pc, 'pc-500', [usb(i)]);
    await waitUntil(async () => rx.ids.size === 42, 60_000, '42 violations through 500s');
    expect([...rx.ids].sort()).toEqual(Array.from({ length: 42 }, (_, i) => `${pc}:${i + 1}`).sort());

    // The receiver is down: the backlog and the error show in the console; nothing is lost.
    rx.fail = () => false;
    await rx.stop();
    for (let i = 42; i < 52; i++) await seedEvents(t, pc, 'pc-500', [usb(i)]);
    const down = await waitUntil(async () => {
      const s = await statusOf(admin, hook.id);
      return s.lastError?.includes('接続が拒否されました') && s.backlog === 10 ? s : undefined;
    }, 30_000, 'backlog of 10 with the error');
    expect(down.oldestPendingAt).not.toBeNull();
    await rx.start();
    await waitUntil(async () => rx.ids.size === 52, 60_000, 'all 52 after the outage');
    const up = await waitUntil(async () => ((await statusOf(admin, hook.id)).backlog === 0 ? statusOf(admin, hook.id) : undefined), 10_000, 'backlog drained');
    expect(up).toMatchObject({ backlog: 0, abandoned: 0, behind: false });
    expect(up.delivered).toBeGreaterThanOrEqual(52);
    expect(rx.refusedSignature).toBe(0);
    await admin.request('DELETE', `/api/v1/forwarders/${hook.id}`);
    await rx.stop();
  });

  it('a receiver that checks signatures refuses a forged or replayed post', async () => {
    const rx = new Receiver();
    await rx.start();
    const hook = await addWebhook(admin, rx.url, { minSeverity: 'critical' });
    rx.secret = hook.secret;
    const body = JSON.stringify({ id: 'forged', type: 'violation.opened' });
    const ts = String(Math.floor(Date.now() / 1000));
    const post = (headers: Record<string, string>) => fetch(rx.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((r) => r.status);
    expect(await post({ 'x-mamori-timestamp': ts, 'x-mamori-signature': `v1=${createHmac('sha256', 'wrong-secret-wrong-secret-wrong-secret').update(`${ts}.${body}`).digest('hex')}`, 'x-mamori-event-id': 'forged' })).toBe(401);
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    expect(await post({ 'x-mamori-timestamp': old, 'x-mamori-signature': `v1=${createHmac('sha256', hook.secret).update(`${old}.${body}`).digest('hex')}`, 'x-mamori-event-id': 'forged' })).toBe(401);
    expect(rx.ids.size).toBe(0);
    // A rotated secret is used from then on.
    const rotated = await admin.request('POST', `/api/v1/forwarders/${hook.id}/secret`, {});
    expect(rotated.json.secret).toMatch(/^[0-9a-f]{64}$/);
    rx.secret = rotated.json.secret;
    const pc = await seedAgent(t, 'pc-rot');
    const crit = usb(1, 'CRIT') as any;
    crit.violation.severity = 'critical';
    await seedEvents(t, pc, 'pc-rot', [usb(0, 'HIGH'), crit]);
    await waitUntil(async () => rx.ids.has(`${pc}:2`), 20_000, 'critical violation with the rotated secret');
    // Below the forwarder's minimum severity: skipped, not pending.
    expect(rx.ids.has(`${pc}:1`)).toBe(false);
    expect((await statusOf(admin, hook.id)).backlog).toBe(0);
    await admin.request('DELETE', `/api/v1/forwarders/${hook.id}`);
    await rx.stop();
  });

  it('starts at its creation unless told to send the history', async () => {
    const pc = await seedAgent(t, 'pc-hist');
    await seedEvents(t, pc, 'pc-hist', [usb(1, 'HIST')]);
    const a = new Receiver();
    const b = new Receiver();
    await a.start();
    await b.start();
    const fromNow = await addWebhook(admin, a.url);
    const withHistory = await addWebhook(admin, b.url, { includeHistory: true });
    a.secret = fromNow.secret;
    b.secret = withHistory.secret;
    await seedEvents(t, pc, 'pc-hist', [usb(2, 'HIST')]);
    await waitUntil(async () => a.ids.has(`${pc}:2`) && b.ids.has(`${pc}:2`), 20_000, 'the new violation at both');
    expect(b.ids.has(`${pc}:1`)).toBe(true);
    expect(a.ids.has(`${pc}:1`)).toBe(false);
    for (const f of [fromNow, withHistory]) await admin.request('DELETE', `/api/v1/forwarders/${f.id}`);
    await a.stop();
    await b.stop();
  });

  it('keeps what a collector restart interrupted during an outage and sends it when the receiver is back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-fwd-restart-'));
    const rx = new Receiver();
    await rx.start();
    const port = rx.port;
    await rx.stop();
    let c1: TestCollector | undefined = await startTestCollector({ dataDir, forwarding });
    const a1 = await adminClient(c1);
    const hook = await addWebhook(a1, `http://127.0.0.1:${port}/mamori`);
    const pc = await seedAgent(c1, 'pc-restart');
    for (let i = 0; i < 5; i++) await seedEvents(c1, pc, 'pc-restart', [usb(i, 'RST')]);
    await waitUntil(async () => (await statusOf(a1, hook.id)).lastError, 20_000, 'the outage seen');
    await c1.close();
    c1 = undefined;

    const c2 = await startTestCollector({ dataDir, forwarding });
    try {
      const r2 = new Receiver(port);
      r2.secret = hook.secret;
      await r2.start();
      // The violations, and the audit checkpoint the first collector took as it stopped.
      const violationIds = () => [...r2.bodies.values()].filter((b) => b.type !== 'audit.checkpoint').map((b) => b.id as string);
      await waitUntil(async () => violationIds().length === 5, 30_000, 'the 5 violations after the restart');
      expect(violationIds().sort()).toEqual([1, 2, 3, 4, 5].map((n) => `${pc}:${n}`));
      await waitUntil(async () => [...r2.bodies.values()].some((b) => b.type === 'audit.checkpoint'), 20_000, 'the checkpoint taken at the stop');
      await r2.stop();
    } finally {
      await c2.close();
    }
  });

  it('raises FWD-001 with its clauses while a forwarder stays behind, closes it when it caught up, and forwards both', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mamori-fwd-behind-'));
    const c = await startTestCollector({ dataDir, forwarding: { ...forwarding, behindAfterMs: 1000, behindCheckMs: 200 } });
    try {
      const a = await adminClient(c);
      const rx = new Receiver();
      await rx.start();
      const port = rx.port;
      await rx.stop();
      const hook = await addWebhook(a, `http://127.0.0.1:${port}/mamori`);
      const pc = await seedAgent(c, 'pc-behind');
      await seedEvents(c, pc, 'pc-behind', [usb(1, 'BEHIND')]);
      const fwd = async (state: string) => ((await a.request('GET', `/api/v1/violations?state=${state}`)).json.violations as any[]).find((v) => v.ruleId === 'FWD-001' && v.subject === hook.id);
      const open = await waitUntil(async () => fwd('open'), 30_000, 'FWD-001 open');
      expect(open).toMatchObject({ severity: 'high', hostname: 'mamori-collector', title: { ja: 'SIEM への転送が滞っている' } });
      expect(open.clauses.map((x: { source: string; ref: string }) => `${x.source} ${x.ref}`)).toEqual(['003 第8章3(2)ウ', '004 §8.1(6)イ']);
      expect(open.reason).toContain('未送信の違反が 1 件');
      expect(open.facts).toMatchObject({ forwarder: hook.id, backlog: 1 });

      const back = new Receiver(port);
      back.secret = hook.secret;
      await back.start();
      await waitUntil(async () => fwd('closed'), 30_000, 'FWD-001 closed');
      // The receiver gets the violation, and FWD-001 opened and closed (the collector's own events, ids "c:…").
      await waitUntil(async () => [...back.bodies.values()].some((b) => b.ruleId === 'FWD-001' && b.type === 'violation.closed'), 30_000, 'FWD-001 forwarded');
      const own = [...back.bodies.values()].filter((b) => b.ruleId === 'FWD-001');
      expect(own.map((b) => b.type)).toEqual(['violation.opened', 'violation.closed']);
      expect(own[0].id).toMatch(/^c:/);
      expect(own[1].severity).toBe('high');
      expect(back.ids.has(`${pc}:1`)).toBe(true);
      await back.stop();
    } finally {
      await c.close();
    }
  });

  it('gives up an event past the retry horizon, counts it as abandoned, and moves on', async () => {
    // A horizon of 1 ms: every event that fails once is already past it.
    const c = await startTestCollector({ forwarding: { timings: { ...forwarding.timings, retryHorizonMs: 1 } } });
    try {
      const a = await adminClient(c);
      const rx = new Receiver();
      await rx.start();
      const port = rx.port;
      await rx.stop();
      const hook = await addWebhook(a, `http://127.0.0.1:${port}/mamori`);
      const pc = await seedAgent(c, 'pc-horizon');
      await seedEvents(c, pc, 'pc-horizon', [usb(1, 'HZ'), usb(2, 'HZ'), usb(3, 'HZ')]);
      const st = await waitUntil(async () => {
        const s = await statusOf(a, hook.id);
        return s.abandoned === 3 ? s : undefined;
      }, 30_000, 'three events abandoned');
      expect(st).toMatchObject({ backlog: 0, delivered: 0 });
      expect(st.lastError).toContain('接続が拒否されました');
      // The forwarder is not stuck: the next event is delivered once the receiver is up.
      const back = new Receiver(port);
      back.secret = hook.secret;
      await back.start();
      await seedEvents(c, pc, 'pc-horizon', [usb(4, 'HZ')]);
      await waitUntil(async () => back.ids.has(`${pc}:4`), 30_000, 'the event after the abandoned ones');
      expect([...back.ids]).toEqual([`${pc}:4`]);
      await back.stop();
    } finally {
      await c.close();
    }
  });

  it('refuses a bad target', async () => {
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'syslog-udp', target: 'no-port' })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'webhook', target: 'file:///etc/passwd' })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'webhook', target: 'https://siem.example.lg.jp/', secret: 'short' })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'syslog-tls', target: 'siem.example.lg.jp:6514', caPem: 'not a pem' })).status).toBe(400);
  });

  it('sends every audit log checkpoint to every forwarder whatever its minimum severity, MACed with the key outside the database', async () => {
    const rx = new Receiver();
    await rx.start();
    const hook = await addWebhook(admin, rx.url, { minSeverity: 'critical' });
    rx.secret = hook.secret;
    const syslog = await admin.request('POST', '/api/v1/forwarders', { kind: 'syslog-tcp', target: `127.0.0.1:${(tcp.address() as AddressInfo).port}`, minSeverity: 'critical' });
    expect(syslog.status).toBe(200);
    // An audited action, then the housekeeping round that takes the checkpoint.
    expect((await admin.request('POST', '/api/v1/users', { username: 'audit.cp', role: 'auditor' })).status).toBe(200);
    await consoleOf(t.collector.app).housekeeping();
    const head = (await t.collector.store.sql.get<{ seq: number; hash: string }>('SELECT seq, hash FROM console_audit ORDER BY seq DESC LIMIT 1'))!;
    const sent = await waitUntil<any>(async () => [...rx.bodies.values()].find((b) => b.type === 'audit.checkpoint' && b.checkpoint.seq >= Number(head.seq)), 20_000, 'the checkpoint at the webhook');
    expect(sent.checkpoint).toMatchObject({ seq: Number(head.seq), hash: head.hash, count: Number(head.seq) });
    // A receiver holding the key can tell it is genuine; one changed value and it is not.
    const anchor = AuditAnchor.of(t.collector.dataDir);
    expect(anchor.genuine(sent.checkpoint)).toBe(true);
    expect(anchor.genuine({ ...sent.checkpoint, count: sent.checkpoint.count - 1 })).toBe(false);
    const line = await waitUntil<string>(async () => tcpGot.find((m) => m.includes(`audit-hash="${head.hash}"`)), 20_000, 'the checkpoint over syslog');
    expect(line).toContain(`audit-mac="${sent.checkpoint.mac}"`);
    expect(line).toMatch(/^<134>1 /); // local0.info
    await admin.request('DELETE', `/api/v1/forwarders/${hook.id}`);
    await admin.request('DELETE', `/api/v1/forwarders/${syslog.json.forwarder.id}`);
    await rx.stop();
  });
});
