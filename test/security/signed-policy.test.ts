/**
 * Policies are signed by the collector and verified by the agent before use: a push with a
 * modified signature, a signature of another policy, no signature or a broken schema is
 * refused, the last valid policy stays in force, and the agent reports agent.notice
 * 'policy.rejected'. A tampered policy.json in the state directory is not used after a restart.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { collectorTrust, saveIdentity } from '../../agent/identity.js';
import type { IdentityFile } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import { silentLogger } from '../../src/shared/log.js';
import { PolicyDocument } from '../../src/shared/protocol/messages.js';
import type { CollectorFrame } from '../../src/shared/protocol/messages.js';
import { canonicalJson, policySignatureValid, signPolicy } from '../../src/shared/tls/policy-signature.js';
import { ensurePolicyKey } from '../../src/shared/tls/material.js';
import { waitUntil } from '../helpers/db.js';
import { tempDir } from '../helpers/processes.js';
import { mode, newToken, REPLAY_PC, startTlsCollector } from './helpers.js';
import type { TlsCollector } from './helpers.js';

let collector: TlsCollector;
let agent: Agent;
let identity: IdentityFile;
let stateDir: string;
let wsOptions: Awaited<ReturnType<typeof collectorTrust>>;
let served = PolicyDocument.parse({ version: 1, disabledRules: ['USB-001'] });

async function notices(kind: string): Promise<Record<string, unknown>[]> {
  const events = await collector.store.listEvents(identity.agentId, 0, 100_000);
  return events.flatMap((e) => (e.event.kind === 'agent.notice' && e.event.notice === kind ? [e.event.detail ?? {}] : []));
}

function startAgent(): Agent {
  return new Agent({ identity, stateDir, log: silentLogger(), replayDir: REPLAY_PC, skipInitialRun: true, wsOptions, watchdog: false });
}

beforeAll(async () => {
  collector = await startTlsCollector();
  collector.setPolicyProvider(async () => ({ policy: served }));
  stateDir = join(tempDir('signed-policy'), 'state');
  wsOptions = await collectorTrust({ url: collector.agentUrl, stateDir, pin: collector.tls.caFingerprint });
  const e = await enroll(collector.agentUrl, await newToken(collector), { platform: 'linux', hostname: 'policy-pc', release: 'test' }, 'test', wsOptions);
  identity = { ...e, collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() };
  saveIdentity(stateDir, identity);
  agent = startAgent();
  await agent.start();
  // At hello the collector pushes the signed policy 1.
  await waitUntil(() => agent.policyInForce.version === 1, 10_000, 'policy 1 to be applied');
});
afterAll(async () => {
  await agent?.stop();
  await collector?.close();
});

function push(frame: unknown): void {
  expect(collector.gateway.sendTo(identity.agentId, frame as CollectorFrame)).toBe(true);
}

describe('signed policy', () => {
  it('gives the agent the collector policy key at enrollment, and the agent stores it with its identity (0600)', () => {
    expect(identity.policyKey).toBe(ensurePolicyKey(collector.dataDir).publicKey);
    expect(JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8')).policyKey).toBe(identity.policyKey);
    expect(mode(join(stateDir, 'identity.json'))).toBe(0o600);
    expect(mode(join(collector.dataDir, 'tls', 'policy-signing.key'))).toBe(0o600);
  });

  it('signs the canonical JSON: key order does not matter, any change of content does', () => {
    const { privateKey, publicKey } = ensurePolicyKey(collector.dataDir);
    const sig = signPolicy({ b: 1, a: [1, { d: 2, c: 3 }] }, privateKey);
    expect(canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(policySignatureValid({ a: [1, { c: 3, d: 2 }], b: 1 }, sig, publicKey)).toBe(true);
    expect(policySignatureValid({ a: [1, { c: 3, d: 2 }], b: 2 }, sig, publicKey)).toBe(false);
  });

  it('applies a validly signed push (policy 2)', async () => {
    served = PolicyDocument.parse({ version: 2, disabledRules: ['USB-001', 'AV-001'] });
    await collector.pushPolicy(identity.agentId);
    await waitUntil(() => agent.policyInForce.version === 2, 10_000, 'policy 2 to be applied');
    expect(agent.policyInForce.disabledRules).toEqual(['USB-001', 'AV-001']);
  });

  it('refuses a push whose signature was modified, keeps policy 2 and reports policy.rejected', async () => {
    const { privateKey } = ensurePolicyKey(collector.dataDir);
    const policy = PolicyDocument.parse({ version: 3, disabledRules: ['*'] });
    const good = signPolicy(policy, privateKey);
    const flipped = (good[5] === 'A' ? 'B' : 'A');
    push({ type: 'policy.push', policy, signature: good.slice(0, 5) + flipped + good.slice(6) });
    await expect.poll(async () => (await notices('policy.rejected')).some((d) => d.version === 3 && d.reason === 'bad signature'), { timeout: 10_000 }).toBe(true);
    expect(agent.policyInForce.version).toBe(2);
  });

  it("refuses another policy carrying a valid policy's signature, an unsigned push and a push from another key", async () => {
    const { privateKey } = ensurePolicyKey(collector.dataDir);
    const v2 = signPolicy(PolicyDocument.parse({ version: 2, disabledRules: ['USB-001', 'AV-001'] }), privateKey);
    push({ type: 'policy.push', policy: PolicyDocument.parse({ version: 4, disabledRules: ['*'] }), signature: v2 });
    push({ type: 'policy.push', policy: PolicyDocument.parse({ version: 5 }) });
    const stranger = ensurePolicyKey(tempDir('stranger')).privateKey;
    const v6 = PolicyDocument.parse({ version: 6 });
    push({ type: 'policy.push', policy: v6, signature: signPolicy(v6, stranger) });
    await expect.poll(async () => (await notices('policy.rejected')).map((d) => `${d.version}:${d.reason}`).sort(), { timeout: 10_000 }).toEqual(expect.arrayContaining(['4:bad signature', '5:unsigned', '6:bad signature']));
    expect(agent.policyInForce.version).toBe(2);
  });

  it('refuses a push with a broken schema without dropping the connection', async () => {
    push({ type: 'policy.push', policy: { version: -7, disabledRules: 'all' }, signature: 'x' });
    await expect.poll(async () => (await notices('policy.rejected')).some((d) => d.version === null && String(d.reason).startsWith('schema')), { timeout: 10_000 }).toBe(true);
    expect(agent.policyInForce.version).toBe(2);
    expect(agent.link.connected).toBe(true);
  });

  it('does not use a policy.json that was edited on disk: after a restart the product defaults run until a signed policy arrives', async () => {
    await agent.stop();
    const path = join(stateDir, 'policy.json');
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { policy: { disabledRules: string[] } };
    expect(stored.policy.disabledRules).toEqual(['USB-001', 'AV-001']);
    stored.policy.disabledRules = ['*'];
    writeFileSync(path, JSON.stringify(stored));
    served = PolicyDocument.parse({ version: 7 });
    collector.setPolicyProvider(async () => undefined);
    agent = startAgent();
    expect(agent.policyInForce.version).toBe(0);
    expect(agent.policyInForce.disabledRules).toEqual([]);
    await agent.start();
    await expect.poll(async () => (await notices('policy.rejected')).some((d) => d.source === 'state'), { timeout: 10_000 }).toBe(true);
  });
});

describe('policies made for this PC, moving forward', () => {
  /** A policy the collector really signed, as an insider could replay it (captured earlier, or pushed to another PC). */
  function signed(doc: Record<string, unknown>) {
    const policy = PolicyDocument.parse(doc);
    return { type: 'policy.push', policy, signature: signPolicy(policy, ensurePolicyKey(collector.dataDir).privateKey) };
  }

  it('refuses an older signed policy after a newer one (rollback), another PC\'s policy and another segment\'s, and reports each', async () => {
    served = PolicyDocument.parse({ version: 8, disabledRules: ['USB-001'] });
    collector.setPolicyProvider(async () => ({ policy: served }));
    await collector.pushPolicy(identity.agentId);
    await waitUntil(() => agent.policyInForce.version === 8, 30_000, 'policy 8 to be applied');
    // The collector bound it to this PC and its segment, under the signature.
    expect(agent.policyInForce.agentId).toBe(identity.agentId);
    expect(agent.policyInForce.segment).toBe('lgwan');

    push(signed({ version: 2, agentId: identity.agentId, segment: 'lgwan', disabledRules: ['*'] }));
    push(signed({ version: 9, agentId: 'ag_0000000000000000000000other', segment: 'lgwan', exceptions: [{ ruleId: 'USB-001', subject: '*', until: '2099-01-01T00:00:00Z', id: 'EX-other' }] }));
    push(signed({ version: 10, agentId: identity.agentId, segment: 'internet', disabledRules: ['*'] }));
    push(signed({ version: 11, disabledRules: ['*'] }));
    await expect
      .poll(async () => (await notices('policy.rejected')).map((d) => `${d.version}:${String(d.reason).split(' (')[0]}`), { timeout: 30_000 })
      .toEqual(expect.arrayContaining(['2:older than the policy in force', '9:the policy is for another PC', '10:the policy is for another segment', '11:the policy names no PC']));
    expect(agent.policyInForce.version).toBe(8);
    expect(agent.policyInForce.exceptions).toEqual([]);
  }, 120_000);

  it("refuses at start a policy.json copied from another PC, even with a valid signature", async () => {
    await agent.stop();
    const other = signed({ version: 12, agentId: 'ag_0000000000000000000000other', segment: 'lgwan', disabledRules: ['*'] });
    writeFileSync(join(stateDir, 'policy.json'), JSON.stringify({ policy: other.policy, signature: other.signature }));
    collector.setPolicyProvider(async () => undefined);
    agent = startAgent();
    expect(agent.policyInForce.version).toBe(0);
    await agent.start();
    await expect.poll(async () => (await notices('policy.rejected')).some((d) => d.source === 'state' && String(d.reason).startsWith('the policy is for another PC')), { timeout: 30_000 }).toBe(true);
  }, 120_000);
});
