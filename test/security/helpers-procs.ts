/** A real collector process and a real agent process (replaying a recorded PC), for the insider attacks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withDb, waitUntil } from '../helpers/db.js';
import { CLI, createToken, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import type { CollectorProc, Proc } from '../helpers/processes.js';
import { REPLAY_PC } from './helpers.js';

export interface AgentRow {
  id: string;
  secret: string;
  public_key: string | null;
  last_seq: number;
}

export function agentRow(collector: CollectorProc, agentId: string): AgentRow {
  return withDb(collector.dataDir, (db) => db.prepare('SELECT id, secret, public_key, last_seq FROM agents WHERE id = ?').get(agentId) as AgentRow);
}

export function openViolation(collector: CollectorProc, agentId: string, ruleId: string, subject = ''): { state: string; reason: string; facts: Record<string, unknown>; title: { ja: string } } | undefined {
  const row = withDb(collector.dataDir, (db) => db.prepare('SELECT state, reason, facts_json, title_json FROM violations WHERE agent_id = ? AND rule_id = ? AND subject = ?').get(agentId, ruleId, subject)) as
    | { state: string; reason: string; facts_json: string; title_json: string }
    | undefined;
  return row && { state: row.state, reason: row.reason, facts: JSON.parse(row.facts_json) as Record<string, unknown>, title: JSON.parse(row.title_json) as { ja: string } };
}

/** The identity file of an agent's state directory, as root on that PC reads it. */
export function identityOnPc(stateDir: string): { agentId: string; privateKey?: string; secret?: string } {
  return JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8')) as { agentId: string; privateKey?: string; secret?: string };
}

export class RealAgent {
  proc: Proc | undefined;
  agentId = '';
  /** When the last start spawned the process. */
  spawnedAt = 0;
  constructor(
    readonly collector: CollectorProc,
    readonly stateDir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  args(): string[] {
    return [CLI, 'agent', 'run', '--collector', this.collector.agentUrl, '--state', this.stateDir, '--replay', REPLAY_PC, '--ca-pin', this.collector.caPin!];
  }

  /** Start (enrolling with `token` the first time) and wait until the collector stored its `started` notice of this run. */
  async start(token?: string): Promise<void> {
    const startedBefore = this.agentId ? this.countNotices('started') : 0;
    this.spawnedAt = Date.now();
    this.proc = startProc('agent', [...this.args(), ...(token ? ['--enroll', token] : [])], this.env);
    if (!this.agentId) {
      await waitUntil(() => this.readId(), 90_000, 'the agent to enroll');
    }
    await waitUntil(() => this.countNotices('started') > startedBefore, 90_000, 'the agent to report its start');
    // The program and catalogues are hashed in the background after the start; a stop before that records nothing.
    await waitUntil(() => this.integrityRecordedSince(this.spawnedAt), 90_000, 'the integrity check of this start');
  }

  private integrityRecordedSince(ms: number): boolean {
    try {
      return Date.parse((JSON.parse(readFileSync(join(this.stateDir, 'integrity.json'), 'utf8')) as { at: string }).at) >= ms;
    } catch {
      return false;
    }
  }

  private readId(): boolean {
    try {
      this.agentId = identityOnPc(this.stateDir).agentId;
      return true;
    } catch {
      return false;
    }
  }

  countNotices(notice: string): number {
    return withDb(this.collector.dataDir, (db) => (db.prepare("SELECT payload FROM events WHERE agent_id = ? AND kind = 'agent.notice'").all(this.agentId) as { payload: string }[]).filter((r) => (JSON.parse(r.payload) as { notice: string }).notice === notice).length);
  }

  /** SIGTERM and wait for the clean exit however long a loaded machine takes (Proc.stop would kill -9 after 5 s). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
}

export async function collectorAndAgent(prefix: string, env: Record<string, string> = {}): Promise<{ collector: CollectorProc; agent: RealAgent }> {
  const collector = await startCollectorProc(tempDir(`${prefix}-collector`));
  const agent = new RealAgent(collector, join(tempDir(`${prefix}-pc`), 'state'), env);
  await agent.start(await createToken(collector.dataDir));
  return { collector, agent };
}
