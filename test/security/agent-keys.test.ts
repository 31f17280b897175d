/**
 * Agent keys without server-side secrets: an agent makes its Ed25519 key pair on the PC at
 * enrollment and the collector keeps only the public key, so a copy of the collector's
 * database lets nobody speak for an agent. An agent enrolled before key pairs (HMAC secret in
 * the database and in its identity file) registers a key pair at its next connection; the
 * collector then deletes the secret and refuses HMAC for it. Real collector and agent processes.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/shared/protocol/errors.js';
import { newAgentKeyPair } from '../../src/shared/protocol/auth.js';
import { waitUntil } from '../helpers/db.js';
import { CLI, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc } from '../helpers/processes.js';
import { rawHello, rawHmacHello } from '../helpers/raw-client.js';
import { agentRow, collectorAndAgent, identityOnPc, RealAgent } from './helpers-procs.js';
import { mode } from './helpers.js';

let collector: CollectorProc;
let agent: RealAgent;

beforeAll(async () => {
  ({ collector, agent } = await collectorAndAgent('agent-keys'));
}, 240_000);
afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
});

/** Every value of the agent's row and of the token table in a copy of the database. */
/** A row and an identity file as the version before key pairs wrote them (HMAC secret on both sides). */
function legacyAgent(c: CollectorProc): { agentId: string; secret: string } {
  const agentId = `ag_${randomBytes(13).toString('hex')}`;
  const secret = randomBytes(32).toString('hex');
  const db = new Database(join(c.dataDir, 'mamori.db'));
  db.prepare("INSERT INTO agents (id, secret, hostname, os_json, agent_version, segment, enrolled_at, token_id) VALUES (?, ?, 'legacy-pc', ?, '0.0.9', 'lgwan', ?, NULL)").run(agentId, secret, JSON.stringify({ platform: 'linux', hostname: 'legacy-pc', release: '6.1' }), new Date().toISOString());
  db.close();
  return { agentId, secret };
}

function everythingIn(dbPath: string, agentId: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    const values: unknown[] = [];
    for (const row of [db.prepare('SELECT * FROM agents WHERE id = ?').get(agentId), ...db.prepare('SELECT * FROM enrollment_tokens').all()]) values.push(...Object.values(row as object));
    return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
  } finally {
    db.close();
  }
}

describe('agent keys', () => {
  it('the private key stays on the PC; the collector stores only the public key', () => {
    const onPc = identityOnPc(agent.stateDir);
    expect(onPc.privateKey).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(onPc.secret).toBeUndefined();
    expect(mode(join(agent.stateDir, 'identity.json'))).toBe(0o600);
    const row = agentRow(collector, agent.agentId);
    expect(row.secret).toBe('');
    expect(row.public_key).toMatch(/^[A-Za-z0-9+/]{59}=$/);
    expect(readFileSync(join(collector.dataDir, 'mamori.db')).includes(Buffer.from(onPc.privateKey!))).toBe(false);
  });

  it('with a copy of the database nobody can authenticate as the agent (4403 for every value in it)', async () => {
    const copy = join(tempDir('db-copy'), 'mamori.db');
    const live = new Database(join(collector.dataDir, 'mamori.db'), { readonly: true });
    await live.backup(copy);
    live.close();
    const values = everythingIn(copy, agent.agentId);
    expect(values).toContain(agentRow(collector, agent.agentId).public_key);
    const hexSecrets = values.filter((v) => /^[0-9a-f]{64}$/.test(v));
    // As an HMAC secret (what the database held before key pairs) …
    for (const secret of [...hexSecrets, '0'.repeat(64)]) {
      const c = await rawHmacHello(collector.agentUrl, agent.agentId, secret);
      expect((await c.closed).code).toBe(CloseCode.AUTH_FAILED);
    }
    // … or registering a key of the attacker's own with any of them.
    const mine = newAgentKeyPair();
    for (const secret of [...hexSecrets, '0'.repeat(64)]) {
      const c = await rawHmacHello(collector.agentUrl, agent.agentId, secret, { publicKey: mine.publicKey });
      expect((await c.closed).code).toBe(CloseCode.AUTH_FAILED);
    }
    // A signature with any other key.
    const forged = await rawHello(collector.agentUrl, agent.agentId, mine.privateKey);
    expect((await forged.closed).code).toBe(CloseCode.AUTH_FAILED);
    expect(agentRow(collector, agent.agentId).public_key).not.toBe(mine.publicKey);
  }, 240_000);

  it('an agent enrolled before key pairs registers its key at its next connection; then its secret is gone on both sides and HMAC is refused', async () => {
    // The state of an agent enrolled by the previous version: an HMAC secret in its identity file and in the collector's row.
    const agentId = `ag_${randomBytes(13).toString('hex')}`;
    const secret = randomBytes(32).toString('hex');
    const db = new Database(join(collector.dataDir, 'mamori.db'));
    db.prepare("INSERT INTO agents (id, secret, hostname, os_json, agent_version, segment, enrolled_at, token_id) VALUES (?, ?, 'legacy-pc', ?, '0.0.9', 'lgwan', ?, NULL)").run(agentId, secret, JSON.stringify({ platform: 'linux', hostname: 'legacy-pc', release: '6.1' }), new Date().toISOString());
    db.close();
    const stateDir = join(tempDir('legacy-pc'), 'state');
    const seed = new RealAgent(collector, stateDir);
    // The pinned CA and the identity file as the previous version wrote them.
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'identity.json'), JSON.stringify({ agentId, secret, segment: 'lgwan', collectorUrl: collector.agentUrl, enrolledAt: new Date().toISOString() }), { mode: 0o600 });
    copyFileSync(join(collector.dataDir, 'tls', 'ca.crt'), join(stateDir, 'collector-ca.pem'));
    seed.agentId = agentId;
    await seed.start();
    await waitUntil(() => agentRow(collector, agentId).public_key !== null, 90_000, 'the key to be registered');
    expect(agentRow(collector, agentId).secret).toBe('');
    // Not only the column: no byte of the database files (a copy of them) holds the secret any more.
    for (const file of ['mamori.db', 'mamori.db-wal']) {
      const path = join(collector.dataDir, file);
      if (existsSync(path)) expect(readFileSync(path).includes(Buffer.from(secret)), file).toBe(false);
    }
    await waitUntil(() => identityOnPc(stateDir).secret === undefined, 90_000, 'the agent to drop its secret');
    expect(identityOnPc(stateDir).privateKey).toBeTruthy();
    expect(existsSync(join(stateDir, 'identity.json.tmp'))).toBe(false);
    // The old secret (say, from an older copy of the database) no longer opens anything.
    const old = await rawHmacHello(collector.agentUrl, agentId, secret);
    expect((await old.closed).code).toBe(CloseCode.AUTH_FAILED);
    await seed.stop();
    // The agent itself goes on with its key.
    await seed.start();
    await seed.stop();
  }, 240_000);
});

describe('what the collector accepts with an HMAC secret (--agent-hmac)', () => {
  it('migrate (the default): a secret alone — an agent version without key pairs — is refused; with a new key it registers the key', async () => {
    const legacy = legacyAgent(collector);
    const alone = await rawHmacHello(collector.agentUrl, legacy.agentId, legacy.secret);
    expect((await alone.closed).code).toBe(CloseCode.AUTH_FAILED);
    expect(alone.frames.some((f) => f.type === 'welcome')).toBe(false);
    await waitUntil(() => collector.lines.some((l) => l.includes(legacy.agentId) && l.includes('エージェントを更新してください')), 10_000, 'the collector to say the agent needs upgrading');
    const keys = newAgentKeyPair();
    const migrating = await rawHmacHello(collector.agentUrl, legacy.agentId, legacy.secret, { publicKey: keys.publicKey, sign: keys.privateKey });
    expect((await migrating.next('welcome')).agentId).toBe(legacy.agentId);
    migrating.ws.close();
    expect(agentRow(collector, legacy.agentId)).toMatchObject({ secret: '', public_key: keys.publicKey });
  }, 60_000);

  it('accept: an agent version without key pairs goes on with its secret', async () => {
    const accepting = await startCollectorProc(tempDir('hmac-accept'), undefined, ['--agent-hmac', 'accept']);
    try {
      const legacy = legacyAgent(accepting);
      const alone = await rawHmacHello(accepting.agentUrl, legacy.agentId, legacy.secret);
      expect((await alone.next('welcome')).agentId).toBe(legacy.agentId);
      alone.ws.close();
      expect(agentRow(accepting, legacy.agentId).secret).toBe(legacy.secret);
    } finally {
      await accepting.stop();
    }
  }, 60_000);

  it('refuse: no secret is accepted, not even to register a key; the PC enrolls again', async () => {
    const refusing = await startCollectorProc(tempDir('hmac-refuse'), undefined, ['--agent-hmac', 'refuse']);
    try {
      const legacy = legacyAgent(refusing);
      const keys = newAgentKeyPair();
      for (const extra of [{}, { publicKey: keys.publicKey, sign: keys.privateKey }]) {
        const c = await rawHmacHello(refusing.agentUrl, legacy.agentId, legacy.secret, extra);
        expect((await c.closed).code).toBe(CloseCode.AUTH_FAILED);
        expect(c.frames.some((f) => f.type === 'welcome')).toBe(false);
      }
      expect(agentRow(refusing, legacy.agentId).public_key).toBeNull();
      await waitUntil(() => refusing.lines.some((l) => l.includes(legacy.agentId) && l.includes('--agent-hmac refuse')), 10_000, 'the collector to log the refusal');
    } finally {
      await refusing.stop();
    }
  }, 60_000);

  it('an unknown setting is a usage error in Japanese', async () => {
    const bad = startProc('collector', [CLI, 'collector', '--data', tempDir('hmac-bad'), '--listen', '127.0.0.1:0', '--agent-hmac', 'sometimes']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.lines.join('\n')).toMatch(/--agent-hmac sometimes: migrate、accept、refuse のいずれかを指定してください/);
  });
});
