/**
 * Forwarding to a real rsyslog (Debian 12 packages `rsyslog` and `rsyslog-gnutls`), run by
 * the test with its own configuration, ports and work directory: plain TCP (imtcp), TLS
 * (imtcp with the gtls netstream driver, RFC 5425) with a site CA and with the collector's
 * own CA, and UDP (imudp). rsyslog parses each message as RFC 5424 and its structured data
 * with mmpstrucdata; the test reads what rsyslog wrote. During an outage of rsyslog nothing
 * sent over TCP is lost.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTls, tlsDir } from '../../src/shared/tls/material.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { freePort, tempDir } from '../helpers/processes.js';
import { adminClient, seedAgent, seedEvents, startTestCollector, usbViolation, waitUntil } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const GTLS = '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so';
const OPENSSL = '/usr/bin/openssl';
const PACKAGES = 'rsyslog rsyslog-gnutls openssl';
const skip = skipReal([RSYSLOGD, GTLS, OPENSSL], PACKAGES);

const forwarding = { timings: { backoffMinMs: 100, backoffMaxMs: 800, pollMs: 200 } };

let dir: string;
let t: TestCollector;
let admin: Client;
let rsyslog: ChildProcess | undefined;
const ports = { udp: 0, tcp: 0, tlsSite: 0, tlsCollector: 0 };

/** Issue a server certificate for 127.0.0.1/localhost from a CA with openssl. */
function issue(name: string, caCrt: string, caKey: string): { crt: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  execFileSync(OPENSSL, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], { stdio: 'ignore' });
  execFileSync(OPENSSL, ['x509', '-req', '-in', csr, '-CA', caCrt, '-CAkey', caKey, '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
  return { crt, key };
}

/**
 * rsyslog configuration (RainerScript, rsyslog 8.2302): one ruleset per input writing one
 * line per message — input, PRI, HOSTNAME, MSGID, the structured data as mmpstrucdata parsed
 * it (JSON), and MSG.
 */
function rsyslogConfig(site: { crt: string; key: string; ca: string }, own: { crt: string; key: string; ca: string }): string {
  const template = `template(name="line" type="string" string="%inputname%\\t%pri%\\t%hostname%\\t%msgid%\\t%$!rfc5424-sd%\\t%msg%\\n")`;
  const ruleset = (name: string) => `ruleset(name="${name}") {\n  action(type="mmpstrucdata")\n  action(type="omfile" file="${join(dir, `${name}.log`)}" template="line")\n}`;
  const tls = (port: number, name: string, c: { crt: string; key: string; ca: string }) =>
    `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="${name}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon" streamDriver.caFile="${c.ca}" streamDriver.certFile="${c.crt}" streamDriver.keyFile="${c.key}")`;
  return [
    `global(workDirectory="${join(dir, 'work')}" maxMessageSize="64k")`,
    'module(load="imudp")',
    'module(load="imtcp" maxSessions="50")',
    'module(load="mmpstrucdata")',
    template,
    ...['udp', 'tcp', 'tlsSite', 'tlsCollector'].map(ruleset),
    `input(type="imudp" port="${ports.udp}" address="127.0.0.1" ruleset="udp")`,
    `input(type="imtcp" port="${ports.tcp}" address="127.0.0.1" ruleset="tcp")`,
    tls(ports.tlsSite, 'tlsSite', site),
    tls(ports.tlsCollector, 'tlsCollector', own),
    '',
  ].join('\n');
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function startRsyslog(): Promise<void> {
  rsyslog = spawn(RSYSLOGD, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'inherit', 'inherit'] });
  // rsyslog opens all its inputs together; probing a TLS port without a handshake only makes it log errors.
  await waitUntil(async () => listening(ports.tcp), 20_000, 'rsyslog to listen');
}

async function stopRsyslog(): Promise<void> {
  const p = rsyslog;
  rsyslog = undefined;
  if (!p || p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

interface Received {
  input: string;
  pri: number;
  hostname: string;
  msgid: string;
  sd: Record<string, string>;
  msg: string;
}

function received(name: string): Received[] {
  const file = join(dir, `${name}.log`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [input, pri, hostname, msgid, sd, ...msg] = line.split('\t');
      return { input: input!, pri: Number(pri), hostname: hostname!, msgid: msgid!, sd: (JSON.parse(sd!) as Record<string, Record<string, string>>)['mamori@32473'] ?? {}, msg: msg.join('\t') };
    });
}

const ids = (name: string) => new Set(received(name).map((r) => r.sd.id));

beforeAll(async () => {
  if (skip) return;
  requireTools([RSYSLOGD, GTLS, OPENSSL], PACKAGES);
  dir = tempDir('rsyslog');
  mkdirSync(join(dir, 'work'), { recursive: true });
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  // A site CA, and the collector's own CA (DATA/tls/ca.crt) issuing rsyslog's certificate.
  const siteCa = { crt: join(dir, 'site-ca.crt'), key: join(dir, 'site-ca.key') };
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', siteCa.key, '-out', siteCa.crt, '-days', '3', '-subj', '/CN=Site CA'], { stdio: 'ignore' });
  const dataDir = tempDir('rsyslog-collector');
  await initTls(dataDir);
  const ownCa = { crt: join(tlsDir(dataDir), 'ca.crt'), key: join(tlsDir(dataDir), 'ca.key') };
  const site = { ...issue('site-server', siteCa.crt, siteCa.key), ca: siteCa.crt };
  const own = { ...issue('own-server', ownCa.crt, ownCa.key), ca: ownCa.crt };
  writeFileSync(join(dir, 'rsyslog.conf'), rsyslogConfig(site, own));
  execFileSync(RSYSLOGD, ['-N1', '-f', join(dir, 'rsyslog.conf')], { stdio: 'ignore' });
  await startRsyslog();

  t = await startTestCollector({ dataDir, forwarding });
  admin = await adminClient(t);
  const add = async (body: Record<string, unknown>) => {
    const r = await admin.request('POST', '/api/v1/forwarders', body);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
  };
  await add({ kind: 'syslog-udp', target: `127.0.0.1:${ports.udp}` });
  await add({ kind: 'syslog-tcp', target: `127.0.0.1:${ports.tcp}` });
  await add({ kind: 'syslog-tls', target: `localhost:${ports.tlsSite}`, caPem: readFileSync(siteCa.crt, 'utf8') });
  await add({ kind: 'syslog-tls', target: `127.0.0.1:${ports.tlsCollector}` });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await stopRsyslog();
});

describe.skipIf(skip)('forwarding to a real rsyslog', () => {
  it('rsyslog parses the RFC 5424 message over UDP, TCP and TLS: severity, host, structured data and the Japanese text, with no BOM', async () => {
    const pc = await seedAgent(t, 'pc-rsyslog');
    await admin.request('PUT', `/api/v1/pcs/${pc}/assignment`, { department: '税務課', group: null });
    await seedEvents(t, pc, 'pc-rsyslog', [usbViolation('0781:5567:RSYSLOG1', '2026-11-24T01:02:03.000Z')]);
    for (const name of ['udp', 'tcp', 'tlsSite', 'tlsCollector']) {
      const [r] = await waitUntil(async () => (received(name).length ? received(name) : undefined), 20_000, `rsyslog ${name}`);
      expect(r).toMatchObject({ pri: 131, hostname: 'pc-rsyslog', msgid: 'violation.opened' });
      expect(r!.sd).toMatchObject({ id: `${pc}:1`, agent: pc, rule: 'USB-001', subject: '0781:5567:RSYSLOG1', severity: 'high', department: '税務課', group: '', user: 'tanaka', model: 'Test Stick', serial: 'RSYSLOG1', label: '', program: '' });
      expect(r!.msg.startsWith('違反 媒体管理台帳に登録された媒体だけが接続されていること: 媒体管理台帳に登録されていないUSB記憶媒体 0781:5567:RSYSLOG1')).toBe(true);
      for (const v of [r!.msg, ...Object.values(r!.sd)]) expect(v.startsWith('\uFEFF')).toBe(false);
    }
  });

  it('keeps what is sent over TCP and TLS while rsyslog is down, and delivers it when rsyslog is back', async () => {
    const pc = await seedAgent(t, 'pc-outage');
    await stopRsyslog();
    for (let i = 0; i < 5; i++) await seedEvents(t, pc, 'pc-outage', [usbViolation(`0781:5567:OUT${i}`)]);
    await waitUntil(async () => {
      const fs = (await admin.request('GET', '/api/v1/forwarders')).json.forwarders as { kind: string; status: { backlog: number; lastError: string | null } }[];
      const udp = fs.find((f) => f.kind === 'syslog-udp')!;
      return udp.status.backlog === 0 && fs.filter((f) => f.kind !== 'syslog-udp').every((f) => f.status.backlog === 5 && f.status.lastError?.includes('接続が拒否されました'));
    }, 30_000, 'the TCP and TLS forwarders to hold 5 with the error (UDP sent them into the void)');
    await startRsyslog();
    const want = [1, 2, 3, 4, 5].map((n) => `${pc}:${n}`);
    for (const name of ['tcp', 'tlsSite', 'tlsCollector']) {
      await waitUntil(async () => want.every((id) => ids(name).has(id)), 30_000, `all 5 at rsyslog ${name}`);
    }
    // UDP has no acknowledgement: what went out during the outage is lost, as documented.
    expect(want.some((id) => ids('udp').has(id))).toBe(false);
  });
});
