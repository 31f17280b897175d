/**
 * Mutual TLS with a client certificate per agent (`mamori collector --agent-certs require`):
 * the collector's CA issues each agent a certificate for the agent's own Ed25519 key, the agent
 * presents it on its WSS connection, and the collector refuses an agent connection without a
 * valid one, with another agent's, or of a revoked agent — while the console's HTTPS stays open
 * to browsers without client certificates. Real collector and agent processes.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCertificates } from '../../src/collector/gateway/client-certs.js';
import { newAgentKeyPair, publicKeyOf, signChallenge } from '../../src/shared/protocol/auth.js';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { CLI, createToken, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { OS, connect, tlsOptionsFor } from '../helpers/raw-client.js';
import type { RawConn } from '../helpers/raw-client.js';
import { agentRow, identityOnPc, RealAgent } from './helpers-procs.js';
import { mode } from './helpers.js';

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium';

let collector: CollectorProc;
let agent: RealAgent;
const others: CollectorProc[] = [];
const agents: RealAgent[] = [];

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('mtls-collector'), undefined, ['--agent-certs', 'require']);
  agent = new RealAgent(collector, join(tempDir('mtls-pc'), 'state'));
  await agent.start(await createToken(collector.dataDir));
}, 240_000);
afterAll(async () => {
  for (const a of [agent, ...agents]) await a?.stop();
  for (const c of [collector, ...others]) await c?.stop();
});

interface Keyed {
  agentId: string;
  privateKey: string;
}

/** The key and certificate as TLS client options (what root on that PC can present). */
function presenting(certPem: string, privateKeyB64: string) {
  return { cert: certPem, key: `-----BEGIN PRIVATE KEY-----\n${privateKeyB64}\n-----END PRIVATE KEY-----\n` };
}

/** A signed hello over a connection presenting `tls` (a client certificate, or none). */
async function helloAs(url: string, who: Keyed, tls: object = {}, extra: Record<string, unknown> = {}): Promise<RawConn> {
  const c = await connect(url, { ...tlsOptionsFor(url), ...tls });
  const ch = await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'hello', v: 1, agentId: who.agentId, signature: signChallenge(who.privateKey, String(ch.nonce), who.agentId), os: OS, agentVersion: 'raw', policyVersion: 0, ...extra }));
  return c;
}

/** Enroll a raw agent; under --agent-certs the enrolled frame carries its certificate. */
async function enrollRaw(url: string, token: string): Promise<Keyed & { certificate: string }> {
  const keys = newAgentKeyPair();
  const c = await connect(url);
  await c.next('challenge');
  c.ws.send(JSON.stringify({ type: 'enroll', v: 1, token, os: OS, agentVersion: 'raw', publicKey: keys.publicKey }));
  const f = await c.next('enrolled');
  await c.closed;
  return { agentId: String(f.agentId), privateKey: keys.privateKey, certificate: String(f.certificate) };
}

function agentCertOnPc(stateDir: string): X509Certificate {
  return new X509Certificate(readFileSync(join(stateDir, 'agent-cert.pem'), 'utf8'));
}

describe('mutual TLS with a certificate per agent', () => {
  it('an agent enrolled under require holds a certificate of the collector CA for its own key, and connects with it', async () => {
    const onPc = identityOnPc(agent.stateDir);
    const cert = agentCertOnPc(agent.stateDir);
    expect(mode(join(agent.stateDir, 'agent-cert.pem'))).toBe(0o600);
    expect(cert.subjectAltName).toBe(`URI:urn:mamori:agent:${agent.agentId}`);
    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(publicKeyOf(onPc.privateKey!));
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(agentRow(collector, agent.agentId).public_key);
    const ca = new X509Certificate(collector.caPem!);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30);
    // The real agent was never turned away for want of a certificate.
    expect(collector.lines.filter((l) => l.includes('CLIENT_CERT_REQUIRED'))).toEqual([]);
    // What the agent presents is accepted: its certificate and key, as root on the PC has them.
    const c = await helloAs(collector.agentUrl, { agentId: agent.agentId, privateKey: onPc.privateKey! }, presenting(readFileSync(join(agent.stateDir, 'agent-cert.pem'), 'utf8'), onPc.privateKey!));
    expect((await c.next('welcome')).agentId).toBe(agent.agentId);
    c.ws.close();
    await c.closed;
  }, 120_000);

  it('refuses an agent connection without a certificate (4412), with another agent\'s (4403) or with one of another CA (4412)', async () => {
    const onPc = identityOnPc(agent.stateDir);
    const me = { agentId: agent.agentId, privateKey: onPc.privateKey! };
    // No certificate: refused, whatever the signature proves.
    const bare = await helloAs(collector.agentUrl, me);
    const bareClosed = await bare.closed;
    expect(bareClosed.code).toBe(CloseCode.CLIENT_CERT_REQUIRED);
    expect(bare.frames.filter((f) => f.type === 'welcome' || f.type === 'certificate')).toEqual([]);

    // Another agent's certificate (with that agent's key, so the TLS handshake succeeds) for this agent's hello.
    const other = await enrollRaw(collector.agentUrl, await createToken(collector.dataDir));
    const asOther = await helloAs(collector.agentUrl, me, presenting(other.certificate, other.privateKey));
    const asOtherClosed = await asOther.closed;
    expect(asOtherClosed.code).toBe(CloseCode.AUTH_FAILED);
    expect(asOtherClosed.reason).toMatch(/another agent/);
    expect(asOther.frames.some((f) => f.type === 'welcome')).toBe(false);
    // That certificate is good for its own agent.
    const itself = await helloAs(collector.agentUrl, other, presenting(other.certificate, other.privateKey));
    expect((await itself.next('welcome')).agentId).toBe(other.agentId);
    itself.ws.close();

    // A certificate for this agent's very key and id, but signed by another CA.
    const foreignDir = tempDir('mtls-foreign-ca');
    await initTls(foreignDir);
    const foreign = await new AgentCertificates(foreignDir, { mode: 'require' }).issue(agent.agentId, publicKeyOf(me.privateKey));
    const byForeignCa = await helloAs(collector.agentUrl, me, presenting(foreign, me.privateKey));
    const byForeignClosed = await byForeignCa.closed;
    expect(byForeignClosed.code).toBe(CloseCode.CLIENT_CERT_REQUIRED);
    expect(byForeignClosed.reason).toMatch(/not accepted/);
  }, 120_000);

  it('a connection that proves the agent key without a certificate may ask for one, and is still refused until it presents it', async () => {
    const me = { agentId: agent.agentId, privateKey: identityOnPc(agent.stateDir).privateKey! };
    const asking = await helloAs(collector.agentUrl, me, {}, { requestCertificate: true });
    const issued = await asking.next('certificate');
    expect((await asking.closed).code).toBe(CloseCode.CLIENT_CERT_REQUIRED);
    expect(asking.frames.some((f) => f.type === 'welcome')).toBe(false);
    const cert = new X509Certificate(String(issued.certificate));
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(publicKeyOf(me.privateKey));
    // Asking with a key that is not the agent's gets nothing.
    const stranger = await helloAs(collector.agentUrl, { agentId: agent.agentId, privateKey: newAgentKeyPair().privateKey }, {}, { requestCertificate: true });
    expect((await stranger.closed).code).toBe(CloseCode.AUTH_FAILED);
    expect(stranger.frames.some((f) => f.type === 'certificate')).toBe(false);
  }, 60_000);

  it('a revoked agent is refused whatever valid certificate it presents (the agents table, not the chain)', async () => {
    const pc = await enrollRaw(collector.agentUrl, await createToken(collector.dataDir));
    const before = await helloAs(collector.agentUrl, pc, presenting(pc.certificate, pc.privateKey));
    await before.next('welcome');
    const revoke = startProc('revoke', [CLI, 'agents', 'revoke', pc.agentId, '--data', collector.dataDir]);
    expect((await revoke.exited).code).toBe(0);
    // The open connection is cut, and a new one with the same (unexpired, CA-signed) certificate is refused.
    expect((await before.closed).code).toBe(CloseCode.AGENT_REVOKED);
    const after = await helloAs(collector.agentUrl, pc, presenting(pc.certificate, pc.privateKey));
    expect((await after.closed).code).toBe(CloseCode.AGENT_REVOKED);
    expect(new X509Certificate(pc.certificate).validTo).toBeTruthy();
  }, 60_000);

  it('the console\'s HTTPS stays open to a client without a certificate (Node, and Chromium when installed)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      get(`https://127.0.0.1:${collector.port}/healthz`, { ca: collector.caPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(200);
    if (!existsSync(CHROMIUM)) {
      process.stderr.write(`mutual TLS: the Chromium part skipped: Chromium not found at ${CHROMIUM}\n`);
      return;
    }
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const res = await page.goto(`https://127.0.0.1:${collector.port}/`);
      expect(res?.status()).toBe(200);
      // The login form is drawn by the console's script after the page loads: wait for it.
      await expect.poll(() => page.locator('input[name=password]').count()).toBe(1);
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('the collector setting', () => {
  it('refuses an unknown mode and client certificates without TLS, in Japanese (exit 2)', async () => {
    for (const [args, message] of [
      [['--agent-certs', 'always'], /--agent-certs always: off、issue、require のいずれかを指定してください/],
      [['--agent-certs', 'require', '--insecure-plain'], /--agent-certs require は TLS が前提です/],
      [['--agent-certs', 'issue', '--agent-cert-days', '0'], /--agent-cert-days 0: 1〜825 の日数を指定してください/],
    ] as const) {
      const p = startProc('collector', [CLI, 'collector', '--data', tempDir('mtls-usage'), '--listen', '127.0.0.1:0', ...args]);
      expect((await p.exited).code).toBe(2);
      expect(p.lines.join('\n')).toMatch(message);
    }
  }, 60_000);
});

describe('moving enrolled agents to certificates without enrolling again', () => {
  it('an agent enrolled while certificates were off gets one at its next connection when the collector starts requiring them', async () => {
    const dataDir = tempDir('mtls-later-collector');
    const first = await startCollectorProc(dataDir);
    others.push(first);
    const pc = new RealAgent(first, join(tempDir('mtls-later-pc'), 'state'));
    agents.push(pc);
    await pc.start(await createToken(dataDir));
    expect(existsSync(join(pc.stateDir, 'agent-cert.pem'))).toBe(false);
    await pc.stop();
    await first.stop();

    const requiring = await startCollectorProc(dataDir, first.port, ['--agent-certs', 'require']);
    others.push(requiring);
    const again = new RealAgent(requiring, pc.stateDir);
    agents.push(again);
    again.agentId = pc.agentId;
    await again.start();
    // Same identity, now with a certificate for its key; it asked for it once and was let in with it.
    expect(identityOnPc(pc.stateDir).agentId).toBe(pc.agentId);
    expect(agentCertOnPc(pc.stateDir).subjectAltName).toBe(`URI:urn:mamori:agent:${pc.agentId}`);
    expect(requiring.lines.filter((l) => /CLIENT_CERT_REQUIRED.*reconnect with the certificate just issued/.test(l)).length).toBe(1);
    await again.stop();
  }, 240_000);

  it('an agent enrolled before key pairs registers its key and gets its certificate in one connection', async () => {
    const agentId = `ag_${randomBytes(13).toString('hex')}`;
    const secret = randomBytes(32).toString('hex');
    const db = new Database(join(collector.dataDir, 'mamori.db'));
    db.prepare("INSERT INTO agents (id, secret, hostname, os_json, agent_version, segment, enrolled_at, token_id) VALUES (?, ?, 'legacy-pc', ?, '0.0.9', 'lgwan', ?, NULL)").run(agentId, secret, JSON.stringify({ platform: 'linux', hostname: 'legacy-pc', release: '6.1' }), new Date().toISOString());
    db.close();
    const stateDir = join(tempDir('mtls-legacy-pc'), 'state');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'identity.json'), JSON.stringify({ agentId, secret, segment: 'lgwan', collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() }), { mode: 0o600 });
    copyFileSync(join(collector.dataDir, 'tls', 'ca.crt'), join(stateDir, 'collector-ca.pem'));
    const legacy = new RealAgent(collector, stateDir);
    agents.push(legacy);
    legacy.agentId = agentId;
    await legacy.start();
    const row = agentRow(collector, agentId);
    expect(row.secret).toBe('');
    expect(agentCertOnPc(stateDir).publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(row.public_key);
    await waitUntil(() => identityOnPc(stateDir).secret === undefined, 60_000, 'the agent to drop its secret');
    await legacy.stop();
  }, 240_000);
});
