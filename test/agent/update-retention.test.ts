/**
 * Packages kept in the updates directory (/var/lib/mamori/updates/): when an update has ended
 * and the agent has reported it, the two packages of that update (the version the PC runs and
 * the other one) stay, older packages, partial downloads and earlier rollouts' markers go.
 * Real files in a state directory, the real Updater reporting the outcome.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mark, writePending } from '../../agent/update/pending.js';
import type { LocalPackage, PendingUpdate } from '../../agent/update/pending.js';
import { Updater } from '../../agent/update/updater.js';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { createLogger } from '../../src/shared/log.js';

let state: string;
let updates: string;

/** A package file as the agent stores it (<sha256>.deb); the statement's signature is not checked here. */
function stored(version: string): LocalPackage {
  const bytes = Buffer.from(`mamori-agent ${version}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const file = join(updates, `${sha256}.deb`);
  writeFileSync(file, bytes);
  return { product: 'mamori-agent', platform: 'deb', version, sha256, size: bytes.length, signature: `${'A'.repeat(86)}==`, file };
}

function agentAt(version: string) {
  const events: NewAgentEvent[] = [];
  const updater = new Updater({ stateDir: state, installDir: state, agentVersion: version, collectorUrl: 'wss://127.0.0.1:1/agent', tls: undefined, selfCommand: undefined, log: createLogger({ component: 'test', console: false }), append: (e) => events.push(...e), installer: () => 'deb' });
  return { updater, events };
}

const listing = () => readdirSync(updates).sort();

beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'mamori-update-retention-'));
  updates = join(state, 'updates');
  mkdirSync(updates);
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

describe('old packages in the updates directory', () => {
  const pending = (rolloutId: string, target: LocalPackage, rollback: LocalPackage, s: PendingUpdate['state']): PendingUpdate => ({ rolloutId, platform: 'deb', target, rollback, fromVersion: rollback.version, deadlineSeconds: 60, agentPid: 1, state: s, at: '2026-12-07T00:00:00.000Z' });

  it('keeps the running and the previous version once an update is installed, removes older ones and earlier markers', () => {
    const v1 = stored('1.0.0');
    const v2 = stored('1.0.1');
    const v3 = stored('1.0.2');
    // The earlier update 1.0.0 → 1.0.1, and a download of 1.0.2 interrupted once.
    mark(state, 'confirmed', 'rol_old');
    mark(state, 'reported', 'rol_old');
    mark(state, 'running', 'rol_old', { pid: 1 });
    writeFileSync(`${v3.file}.part`, 'partial');
    writeFileSync(join(updates, 'guard.log'), 'the guard log stays\n');
    writePending(state, pending('rol_new', v3, v2, 'installed'));
    mark(state, 'running', 'rol_new', { pid: 2 });

    const { updater, events } = agentAt('1.0.2');
    updater.connected();
    expect(events.map((e) => (e.kind === 'agent.notice' ? e.notice : e.kind))).toEqual(['update.ready', 'update.installed']);
    expect(listing()).toEqual([`${v2.sha256}.deb`, `${v3.sha256}.deb`, 'confirmed-rol_new', 'guard.log', 'pending.json', 'reported-rol_new', 'running-rol_new.json'].sort());
    expect(listing()).not.toContain(`${v1.sha256}.deb`);
  });

  it('keeps both packages of an update that went back, and removes nothing while an update is in progress', () => {
    const v1 = stored('1.0.0');
    const v2 = stored('1.0.1');
    const v3 = stored('1.0.2');
    // The guard is still installing 1.0.2: this agent (1.0.1) keeps everything.
    writePending(state, pending('rol_b', v3, v2, 'installing'));
    agentAt('1.0.1').updater.connected();
    expect(listing()).toContain(`${v1.sha256}.deb`);

    // 1.0.2 did not come back: the PC runs 1.0.1 again; 1.0.0 goes, 1.0.1 and 1.0.2 stay.
    writePending(state, { ...pending('rol_b', v3, v2, 'rolled_back'), reason: 'did not reach the collector' });
    const { updater, events } = agentAt('1.0.1');
    updater.connected();
    expect(events.at(-1)).toMatchObject({ kind: 'agent.notice', notice: 'update.rolled_back' });
    expect(listing()).toEqual([`${v2.sha256}.deb`, `${v3.sha256}.deb`, 'pending.json', 'reported-rol_b'].sort());
  });
});
