/**
 * Agents reach the collector over TLS only, trusting its CA by the fingerprint given at
 * install: a wrong CA is refused before the enrollment token leaves the PC; a forged chain
 * that merely contains the pinned CA is refused; after first contact the stored CA is used
 * for normal verification; plain ws:// needs an explicit flag.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collectorTrust } from '../../agent/identity.js';
import { acceptPinnedChain, fetchPinnedCa } from '../../src/shared/tls/pin.js';
import { formatFingerprint } from '../../src/shared/tls/fingerprint.js';
import { initTls } from '../../src/shared/tls/material.js';
import { CLI, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { mode, newToken, startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector;
let otherCa: Awaited<ReturnType<typeof initTls>>['material'];

beforeAll(async () => {
  collector = await startTlsCollector();
  otherCa = (await initTls(tempDir('other-ca'))).material;
});
afterAll(async () => {
  await collector?.close();
});

function pemToDer(pem: string): Buffer[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

describe('TLS with a pinned collector CA', () => {
  it('serves only TLS: wss:// and https:// URLs, and a plain WebSocket client gets no answer', async () => {
    expect(collector.agentUrl).toMatch(/^wss:\/\//);
    expect(collector.consoleUrl).toMatch(/^https:\/\//);
    const plain = new WebSocket(collector.agentUrl.replace('wss:', 'ws:'));
    const outcome = await new Promise<string>((res) => {
      plain.on('open', () => res('open'));
      plain.on('error', (e) => res(`error: ${e.message}`));
    });
    expect(outcome).toMatch(/^error/);
  });

  it('accepts the collector whose chain holds the pinned CA that signed the server certificate', async () => {
    const pem = await fetchPinnedCa(collector.agentUrl, formatFingerprint(collector.tls.caFingerprint));
    expect(new X509Certificate(pem).fingerprint256).toBe(formatFingerprint(collector.tls.caFingerprint));
  });

  it('refuses a wrong CA before the token is sent: the agent says the pin does not match and the token stays unused', async () => {
    const token = await newToken(collector);
    const state = join(tempDir('wrong-pin'), 'state');
    const agent = startProc('agent', [CLI, 'agent', 'run', '--collector', collector.agentUrl, '--enroll', token, '--state', state, '--ca-pin', otherCa.caFingerprint]);
    // A refused enrollment does not stop the agent: it says why and tries again later (agent/enrollment.ts).
    await agent.waitFor(/CA ピンが収集サーバーの証明書と一致しません.*enrollment failed \(pin\)/);
    await agent.stop();
    const tokenId = token.split('.')[1];
    expect((await collector.store.listTokens()).find((t) => t.id === tokenId)?.usedCount).toBe(0);
    expect(await collector.store.listAgents()).toEqual([]);
    expect(existsSync(join(state, 'collector-ca.pem'))).toBe(false);
    expect(existsSync(join(state, 'identity.json'))).toBe(false);
  });

  it('refuses a chain that contains the pinned CA when that CA did not sign the server certificate (a forged chain)', () => {
    const attackerLeaf = pemToDer(otherCa.cert)[0]!;
    const pinnedCa = pemToDer(collector.tls.caPem)[0]!;
    expect(() => acceptPinnedChain([attackerLeaf, pinnedCa], collector.tls.caFingerprint, '127.0.0.1')).toThrow(/not signed by the pinned CA/);
    // The genuine chain passes the same function, so the refusal is about the signature.
    expect(acceptPinnedChain(pemToDer(collector.tls.cert), collector.tls.caFingerprint, '127.0.0.1')).toContain('BEGIN CERTIFICATE');
  });

  it('refuses a server certificate that does not name the host', () => {
    expect(() => acceptPinnedChain(pemToDer(collector.tls.cert), collector.tls.caFingerprint, 'evil.example')).toThrow(/evil\.example/);
  });

  it('stores the CA at first contact (0600) and then verifies normally against it: another CA on the same address is refused', async () => {
    const state = tempDir('trust-state');
    const first = await collectorTrust({ url: collector.agentUrl, stateDir: state, pin: collector.tls.caFingerprint });
    expect(first.ca).toEqual([readFileSync(join(state, 'collector-ca.pem'), 'utf8')]);
    expect(mode(join(state, 'collector-ca.pem'))).toBe(0o600);
    // Later starts need no pin: the stored CA is used.
    const later = await collectorTrust({ url: collector.agentUrl, stateDir: state });
    expect(later.ca).toEqual(first.ca);
    const ok = new WebSocket(collector.agentUrl, later);
    await new Promise<void>((res, rej) => (ok.once('open', () => res()), ok.once('error', rej)));
    ok.close();
    // A collector with another CA at an address the agent trusts with its stored CA: TLS fails.
    const impostor = await startTlsCollector();
    const bad = new WebSocket(impostor.agentUrl, later);
    const err = await new Promise<Error>((res) => bad.once('error', res));
    expect(err.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
    await impostor.close();
  });

  it('refuses plain ws:// unless --insecure-plain is given', async () => {
    await expect(collectorTrust({ url: 'ws://127.0.0.1:1/agent', stateDir: tempDir('plain') })).rejects.toMatchObject({ code: 'TLS_PLAIN_REFUSED' });
    await expect(collectorTrust({ url: 'ws://127.0.0.1:1/agent', stateDir: tempDir('plain'), allowPlain: true })).resolves.toEqual({});
    await expect(collectorTrust({ url: collector.agentUrl, stateDir: tempDir('nopin') })).rejects.toMatchObject({ code: 'TLS_PIN_MISMATCH' });
  });
});

describe('the collector command', () => {
  let proc: CollectorProc | undefined;
  afterAll(async () => proc?.stop());

  it('creates its CA at first start, prints the pin, and serves wss; --insecure-plain prints a warning and serves ws', async () => {
    const data = tempDir('cli-tls');
    proc = await startCollectorProc(data);
    expect(proc.agentUrl).toMatch(/^wss:/);
    expect(proc.caPin!.replaceAll(':', '').toLowerCase()).toBe(new X509Certificate(readFileSync(join(data, 'tls', 'ca.crt'))).fingerprint256.replaceAll(':', '').toLowerCase());
    await proc.stop();
    proc = await startCollectorProc(tempDir('cli-plain'), undefined, ['--insecure-plain']);
    expect(proc.agentUrl).toMatch(/^ws:/);
    expect(proc.lines.join('\n')).toMatch(/暗号化なしの HTTP と ws:\/\/ で待ち受けます/);
  });
});
