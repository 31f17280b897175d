/**
 * A real collector with the console on a free port and temp data dir, an HTTP client that
 * logs in like the browser does (cookie + CSRF token), and seeding of agents and events
 * through the store's own ingest path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { consoleOf, consolePlugin } from '../../src/collector/console/plugin.js';
import type { ConsoleOptions } from '../../src/collector/console/services.js';
import type { CollectorPlugin } from '../../src/collector/plugins.js';
import type { Store } from '../../src/collector/store/store.js';
import { createLogger } from '../../src/shared/log.js';
import type { AgentEvent, NewAgentEvent, Segment } from '../../src/shared/protocol/messages.js';

export const log = createLogger({ component: 'test', console: false });

export interface TestCollector {
  collector: RunningCollector;
  base: string;
  admin: { username: string; password: string };
  close(): Promise<void>;
}

export async function startTestCollector(opts: ConsoleOptions & { prePlugins?: CollectorPlugin[]; extraPlugins?: CollectorPlugin[]; dataDir?: string; store?: Store } = {}): Promise<TestCollector> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mamori-console-'));
  const collector = await startCollector({ dataDir, log, ...(opts.store ? { store: opts.store } : {}), plugins: [...(opts.prePlugins ?? []), consolePlugin(opts), ...(opts.extraPlugins ?? [])] });
  const admin = consoleOf(collector.app).initialAdmin!;
  return { collector, base: collector.consoleUrl.replace(/\/$/, ''), admin, close: () => collector.close() };
}

export class Client {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf;
    let payload: string | undefined;
    if (body !== undefined) {
      if (typeof body === 'string') {
        payload = body;
        h['content-type'] ??= 'text/csv';
      } else {
        payload = JSON.stringify(body);
        h['content-type'] = 'application/json';
      }
    }
    const res = await fetch(this.base + path, { method, headers: h, ...(payload !== undefined ? { body: payload } : {}) });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0]!.endsWith('=') ? '' : setCookie.split(';')[0]!;
    // Keep a byte-order mark (res.text() would drop it): CSV files for Excel start with one.
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  async login(username: string, password: string): Promise<{ status: number; json: any }> {
    const r = await this.request('POST', '/api/v1/session', { username, password });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}

const STRONG = 'Kawasaki-Sec-2026!';
let pwCounter = 0;

/** Log in as the initial admin and replace the one-time password. */
export async function adminClient(t: TestCollector): Promise<Client> {
  const c = new Client(t.base);
  const r = await c.login(t.admin.username, t.admin.password);
  if (r.status !== 200) throw new Error(`admin login: ${r.status} ${JSON.stringify(r.json)}`);
  const ch = await c.request('POST', '/api/v1/session/password', { current: t.admin.password, next: STRONG });
  if (ch.status !== 200) throw new Error(`password change: ${ch.status} ${JSON.stringify(ch.json)}`);
  t.admin.password = STRONG;
  return c;
}

/** Create an account through the API and log it in with a changed password. */
export async function userClient(t: TestCollector, admin: Client, username: string, role: string, departments: string[] = []): Promise<Client> {
  const r = await admin.request('POST', '/api/v1/users', { username, role, departments });
  if (r.status !== 200) throw new Error(`create ${username}: ${r.status} ${JSON.stringify(r.json)}`);
  const c = new Client(t.base);
  const l = await c.login(username, r.json.oneTimePassword);
  if (l.status !== 200) throw new Error(`login ${username}: ${l.status}`);
  const ch = await c.request('POST', '/api/v1/session/password', { current: r.json.oneTimePassword, next: `${STRONG}-${++pwCounter}x` });
  if (ch.status !== 200) throw new Error(`password ${username}: ${ch.status} ${JSON.stringify(ch.json)}`);
  return c;
}

let counter = 0;
/** Enroll an agent record directly in the store (as the gateway would after enrollment). */
export async function seedAgent(t: TestCollector, hostname: string, segment: Segment = 'lgwan'): Promise<string> {
  const id = `ag_${(counter++).toString().padStart(4, '0')}${'x'.repeat(16)}${Math.random().toString(36).slice(2, 8)}`.replace(/[^0-9a-z_]/g, 'a');
  await t.collector.store.createAgent({ id, secret: 'f'.repeat(64), hostname, os: { platform: 'linux', hostname, release: '6.1.0' }, agentVersion: '0.1.0', segment, enrolledAt: new Date().toISOString(), tokenId: 'tok' });
  return id;
}

const seqs = new Map<string, number>();
/** Store events for an agent through the store's ingest (exactly as the gateway does) and publish them on the bus. */
export async function seedEvents(t: TestCollector, agentId: string, hostname: string, events: NewAgentEvent[]): Promise<void> {
  let seq = seqs.get(agentId) ?? 0;
  const full = events.map((e) => ({ ...e, seq: ++seq }) as AgentEvent);
  seqs.set(agentId, seq);
  const receivedAt = new Date().toISOString();
  const out = await t.collector.store.ingest([{ agentId, events: full }], receivedAt);
  if (out.rejected.size) throw new Error(`ingest rejected: ${[...out.rejected.values()][0]!.message}`);
  for (const event of full) t.collector.bus.emit('event', { agentId, hostname, event, receivedAt });
}

/** A "USB-001 unregistered medium" violation as the agent reports it. */
export function usbViolation(fingerprint: string, at = new Date().toISOString()): NewAgentEvent {
  const [vendorId, productId, serial] = fingerprint.split(':');
  return {
    kind: 'violation.opened',
    at,
    policyVersion: 0,
    violation: {
      checkId: 'usb-media',
      ruleId: 'USB-001',
      subject: fingerprint,
      result: 'fail',
      severity: 'high',
      title: { ja: '媒体管理台帳に登録された媒体だけが接続されていること', en: 'Only media registered in the media ledger are attached' },
      message: { ja: `媒体管理台帳に登録されていないUSB記憶媒体 ${fingerprint} が接続されています。`, en: `USB storage device ${fingerprint} is not registered in the media ledger.` },
      reason: `fingerprint ${fingerprint} is not in registeredMedia`,
      clauses: [
        { source: '003', ref: '第4章4(1)ア' },
        { source: '004', ref: '§8.4(2)エ' },
      ],
      facts: { devices: [{ fingerprint, vendorId, productId, serial, product: 'Test Stick' }] },
      user: 'tanaka',
    },
  } as NewAgentEvent;
}

export async function waitUntil<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
