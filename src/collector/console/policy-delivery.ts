/**
 * Which policy each PC gets, and when it must be sent again. A PC's document is the merge of
 * the layers for its segment and group, the 媒体管理台帳 list and the 例外措置 that apply to it;
 * its version moves only when that content changes (console_policy_agents keeps a hash of the
 * content each PC was given). So a change reaches only the PCs whose effective policy changed:
 * a new 課, a group layer or one PC's exception leaves every other PC's version as it was, the
 * gateway does not re-push it at reconnection, and the policy screen does not count it pending.
 */
import { createHash } from 'node:crypto';
import type { PolicyDocument, Segment } from '../../shared/protocol/messages.js';
import { canonicalJson } from '../../shared/tls/policy-signature.js';
import type { SqlRunner } from '../store/sql.js';
import type { PolicySettings } from './policy.js';
import { mergeLayers } from './policy.js';
import type { PolicyStore } from './policy.js';

export type PolicyContent = Omit<PolicyDocument, 'version'>;

/** What every PC's document is made of, read once for a whole push. */
export interface PolicyInputs {
  revision: number;
  settings: PolicySettings;
  lists: Record<string, string[]>;
  exceptions: { id: string; ruleId: string; subject: string; until: string; agentId: string | null }[];
}

export interface PcPolicyTarget {
  id: string;
  segment: Segment;
  group: string | null;
}

export interface Delivered {
  version: number;
  /** The policy revision (policy screen) the document was made from. */
  revision: number;
}

export function contentFor(pc: PcPolicyTarget, inputs: PolicyInputs): PolicyContent {
  const s = inputs.settings;
  const eff = mergeLayers([s.base, s.segments[pc.segment], pc.group ? s.groups[pc.group] : undefined]);
  const exceptions = inputs.exceptions.filter((e) => e.agentId === null || e.agentId === pc.id).map((e) => ({ id: e.id, ruleId: e.ruleId, subject: e.subject, until: e.until }));
  return { segment: pc.segment, disabledRules: eff.disabledRules, enabledRules: eff.enabledRules, params: eff.params, lists: inputs.lists, exceptions };
}

/** The same content gives the same hash (canonical JSON: the one the signature covers). */
export const contentHash = (c: PolicyContent): string => createHash('sha256').update(canonicalJson(c)).digest('hex');

export class PolicyDelivery {
  constructor(
    private readonly sql: SqlRunner,
    private readonly policy: PolicyStore,
  ) {}

  /**
   * The version of a PC's document: the one it was given when the content is unchanged,
   * otherwise a new one (the policy epoch, moved on first when this PC already has it).
   */
  async versionFor(agentId: string, content: PolicyContent, revision: number): Promise<number> {
    const hash = contentHash(content);
    const row = await this.sql.get<{ content_hash: string; version: number | string }>('SELECT content_hash, version FROM console_policy_agents WHERE agent_id = ?', [agentId]);
    if (row && row.content_hash === hash) return Number(row.version);
    let version = await this.policy.epoch();
    if (row && Number(row.version) >= version) version = await this.policy.bumpEpoch();
    await this.sql.run(
      'INSERT INTO console_policy_agents (agent_id, content_hash, version, revision, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET content_hash = excluded.content_hash, version = excluded.version, revision = excluded.revision, updated_at = excluded.updated_at',
      [agentId, hash, version, revision, new Date().toISOString()],
    );
    return version;
  }

  /** versionFor for many PCs at once (the policy screen): one epoch read, rows written in chunks. */
  async versionsFor(items: readonly { id: string; content: PolicyContent }[], revision: number, given: ReadonlyMap<string, { version: number }>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!items.length) return out;
    let version = await this.policy.epoch();
    if (items.some((i) => (given.get(i.id)?.version ?? -1) >= version)) version = await this.policy.bumpEpoch();
    const now = new Date().toISOString();
    await this.sql.transaction(async (tx) => {
      for (let i = 0; i < items.length; i += 200) {
        const chunk = items.slice(i, i + 200);
        await tx.run(
          `INSERT INTO console_policy_agents (agent_id, content_hash, version, revision, updated_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')} ON CONFLICT (agent_id) DO UPDATE SET content_hash = excluded.content_hash, version = excluded.version, revision = excluded.revision, updated_at = excluded.updated_at`,
          chunk.flatMap((c) => [c.id, contentHash(c.content), version, revision, now]),
        );
      }
    });
    for (const i of items) out.set(i.id, version);
    return out;
  }

  /**
   * The PCs (of those given) whose content differs from what they were last given: the ones a
   * change must reach. PCs that share segment, group and exceptions share one computation.
   */
  async changed(pcs: readonly PcPolicyTarget[], inputs: PolicyInputs, known?: ReadonlyMap<string, { hash: string }>): Promise<string[]> {
    const given = known ?? (await this.delivered(pcs.length > 1000 ? undefined : pcs.map((p) => p.id)));
    const memo = new Map<string, string>();
    const out: string[] = [];
    for (const pc of pcs) {
      const own = inputs.exceptions.filter((e) => e.agentId === pc.id).map((e) => e.id);
      const key = `${pc.segment}\u0000${pc.group ?? ''}\u0000${own.join(',')}`;
      let hash = memo.get(key);
      if (hash === undefined) memo.set(key, (hash = contentHash(contentFor(pc, inputs))));
      if (given.get(pc.id)?.hash !== hash) out.push(pc.id);
    }
    return out;
  }

  /** What each PC was last given (absent: nothing yet). */
  async delivered(agentIds?: readonly string[]): Promise<Map<string, Delivered & { hash: string }>> {
    const out = new Map<string, Delivered & { hash: string }>();
    const read = async (where: string, args: string[]) => {
      for (const r of await this.sql.all<Record<string, unknown>>(`SELECT agent_id, content_hash, version, revision FROM console_policy_agents${where}`, args)) out.set(String(r.agent_id), { hash: String(r.content_hash), version: Number(r.version), revision: Number(r.revision) });
    };
    if (!agentIds) await read('', []);
    else for (let i = 0; i < agentIds.length; i += 500) await read(` WHERE agent_id IN (${agentIds.slice(i, i + 500).map(() => '?').join(', ')})`, agentIds.slice(i, i + 500));
    return out;
  }
}
