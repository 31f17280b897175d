/**
 * Renewal of an agent's client certificate: the agent's link (agent/link/link.ts) asks for a
 * certificate when it has none usable, and for a new one when a third of the lifetime of the
 * one it holds is left; a certificate not for its key or CA is never stored. In-process TLS
 * collector with short-lived certificates, the real link and a real state directory.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientCertificate } from '../../agent/client-cert.js';
import { AgentLink } from '../../agent/link/link.js';
import { Outbox } from '../../agent/outbox/outbox.js';
import { AgentCertificates } from '../../src/collector/gateway/client-certs.js';
import { newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { tempDir } from '../helpers/processes.js';
import { OS, rawEnroll } from '../helpers/raw-client.js';
import { newToken, startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector | undefined;
let link: AgentLink | undefined;
afterEach(async () => {
  await link?.stop();
  await collector?.close();
  link = undefined;
  collector = undefined;
});

function serialOf(stateDir: string): string {
  return new X509Certificate(readFileSync(join(stateDir, 'agent-cert.pem'), 'utf8')).serialNumber;
}

describe('client certificate renewal', () => {
  it('an agent without a certificate asks for one; with a third of its lifetime left it asks for a new one on its next connection', async () => {
    // Two minutes of lifetime (issued five minutes back-dated): due for renewal as soon as it is held.
    collector = await startTlsCollector({ agentCerts: { mode: 'issue', lifetimeDays: 2 / 1440 }, gateway: { heartbeatSeconds: 1 } });
    const id = await rawEnroll(collector.agentUrl, await newToken(collector));
    const stateDir = tempDir('renewal-pc');
    writeFileSync(join(stateDir, 'collector-ca.pem'), collector.tls.caPem);
    const clientCert = new ClientCertificate(stateDir, id.privateKey);
    expect(clientCert.wanted).toBe(true);
    const outbox = Outbox.open(join(stateDir, 'outbox'));
    const start = () => {
      link = new AgentLink({ url: collector!.agentUrl, identity: id, outbox, os: OS as never, agentVersion: 't', policyVersion: () => 0, log: silentLogger(), wsOptions: { ca: [collector!.tls.caPem] }, clientCert });
      link.start();
    };
    start();
    await waitUntil(() => existsSync(join(stateDir, 'agent-cert.pem')), 30_000, 'the first certificate');
    const first = serialOf(stateDir);
    expect(clientCert.wanted).toBe(false);
    expect(clientCert.renewalDue()).toBe(true);
    // The next connection presents it and asks for a new one after welcome (cert.request).
    await link!.stop();
    start();
    await waitUntil(() => serialOf(stateDir) !== first, 30_000, 'a renewed certificate');
    const renewed = new X509Certificate(readFileSync(join(stateDir, 'agent-cert.pem'), 'utf8'));
    expect(renewed.subjectAltName).toBe(`URI:urn:mamori:agent:${id.agentId}`);
    outbox.close();
  }, 60_000);

  it('stores only a certificate for its own key and the pinned CA, and is not due for renewal with most of its lifetime left', async () => {
    const dataDir = tempDir('renewal-ca');
    const { material } = await initTls(dataDir);
    const stateDir = tempDir('renewal-store');
    writeFileSync(join(stateDir, 'collector-ca.pem'), material.caPem);
    const mine = newAgentKeyPair();
    const certs = new AgentCertificates(dataDir, { mode: 'issue', lifetimeDays: 30 });
    const holder = new ClientCertificate(stateDir, mine.privateKey);
    expect(holder.save(await certs.issue('ag_aaaaaaaaaaaaaaaaaaaaaa', newAgentKeyPair().publicKey))).toBe(false);
    const otherCaDir = tempDir('renewal-other-ca');
    await initTls(otherCaDir);
    expect(holder.save(await new AgentCertificates(otherCaDir, { mode: 'issue' }).issue('ag_aaaaaaaaaaaaaaaaaaaaaa', mine.publicKey))).toBe(false);
    expect(existsSync(join(stateDir, 'agent-cert.pem'))).toBe(false);
    expect(holder.save(await certs.issue('ag_aaaaaaaaaaaaaaaaaaaaaa', mine.publicKey))).toBe(true);
    expect(holder.wanted).toBe(false);
    expect(holder.renewalDue()).toBe(false);
    expect(holder.renewalDue(Date.now() + 21 * 86_400_000)).toBe(true);
    expect(holder.tlsOptions()?.key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });
});
