/**
 * Violations forwarded to real local listeners: a UDP syslog socket, a TCP syslog server
 * (octet-counted frames) and an HTTP server taking the webhook's JSON POST.
 */
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, waitUntil } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;
const udpGot: string[] = [];
const tcpGot: string[] = [];
const httpGot: { contentType: string; body: unknown }[] = [];
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
const http = createHttpServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    httpGot.push({ contentType: String(req.headers['content-type']), body: JSON.parse(body) });
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  udp.on('message', (m) => udpGot.push(m.toString('utf8')));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  t = await startTestCollector();
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
  udp.close();
  tcp.close();
  http.close();
});

describe('forwarders', () => {
  it('sends RFC 5424 syslog over UDP and TCP and JSON to a webhook', async () => {
    const add = async (kind: string, target: string, minSeverity = 'info') => expect((await admin.request('POST', '/api/v1/forwarders', { kind, target, minSeverity })).status).toBe(200);
    await add('syslog-udp', `127.0.0.1:${(udp.address() as AddressInfo).port}`);
    await add('syslog-tcp', `127.0.0.1:${(tcp.address() as AddressInfo).port}`);
    await add('webhook', `http://127.0.0.1:${(http.address() as AddressInfo).port}/mamori`, 'high');
    const id = await seedAgent(t, 'pc-siem');
    await admin.request('PUT', `/api/v1/pcs/${id}/assignment`, { department: '市民課', group: null });
    await seedEvents(t, id, 'pc-siem', [usbViolation('0781:5567:SIEM01', '2026-11-24T01:02:03.000Z')]);

    const u = await waitUntil(async () => udpGot[0], 5000, 'udp syslog');
    // <PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID [SD] BOM MSG — PRI = local0 (16) * 8 + err (3) = 131 for high.
    expect(u).toMatch(/^<131>1 2026-11-24T01:02:03\.000Z pc-siem mamori - violation\.opened \[mamori@32473 agent="ag_\w+" rule="USB-001" check="usb-media" subject="0781:5567:SIEM01" severity="high" department="市民課" user="tanaka" clauses="003:第4章4\(1\)ア 004:§8\.4\(2\)エ" received="[^"]+"\] \uFEFFOPEN 媒体管理台帳/);
    const tc = await waitUntil(async () => tcpGot[0], 5000, 'tcp syslog');
    expect(tc).toBe(u);
    const w = await waitUntil(async () => httpGot[0], 5000, 'webhook');
    expect(w.contentType).toContain('application/json');
    expect(w.body).toMatchObject({ type: 'violation.opened', hostname: 'pc-siem', ruleId: 'USB-001', subject: '0781:5567:SIEM01', severity: 'high', department: '市民課', at: '2026-11-24T01:02:03.000Z' });

    // Closing is forwarded too: syslog at informational level; the webhook filter looks at the rule's severity, so it gets it as well.
    await seedEvents(t, id, 'pc-siem', [{ kind: 'violation.closed', at: '2026-11-24T01:05:00.000Z', checkId: 'usb-media', ruleId: 'USB-001', subject: '0781:5567:SIEM01', reason: 'device removed' } as never]);
    const closed = await waitUntil(async () => udpGot[1], 5000, 'udp close');
    expect(closed).toMatch(/^<134>1 2026-11-24T01:05:00\.000Z pc-siem mamori - violation\.closed /);
    await waitUntil(async () => tcpGot[1], 5000, 'tcp close');
    const wc = await waitUntil(async () => httpGot[1], 5000, 'webhook close');
    expect(wc.body).toMatchObject({ type: 'violation.closed', severity: 'high', reason: 'device removed' });
  });

  it('refuses a bad target', async () => {
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'syslog-udp', target: 'no-port' })).status).toBe(400);
    expect((await admin.request('POST', '/api/v1/forwarders', { kind: 'webhook', target: 'file:///etc/passwd' })).status).toBe(400);
  });
});
