/**
 * Site policy: rule switches and thresholds, as a base layer, a layer per segment
 * (マイナンバー利用事務系 / LGWAN接続系 / インターネット接続系) and a layer per group of PCs.
 * Every change is a new numbered revision (who, when, why). The document pushed to an agent
 * is the merge base → segment → group, plus the 媒体管理台帳 list and the active 例外措置, and
 * carries the policy epoch: a counter that moves on any change of policy, ledger or
 * exceptions, so the gateway re-pushes whenever the agent runs an older one.
 */
import { z } from 'zod';
import type { Rule } from '../../shared/catalogue/schema.js';
import { msg } from '../../shared/i18n/index.js';
import type { PolicyDocument, Segment } from '../../shared/protocol/messages.js';
import type { SqlRunner } from '../store/sql.js';
import { badRequest } from './errors.js';
import type { Clock } from './util.js';
/** How a parameter's type is asked for in an error. */
import { parseJson, systemClock } from './util.js';

export const PolicyLayer = z.object({
  disabledRules: z.array(z.string().max(64)).max(1000).default([]),
  /** Rules that are off by default (defaultEnabled: false, e.g. allow-list mode) switched on. */
  enabledRules: z.array(z.string().max(64)).max(1000).default([]),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});
export type PolicyLayer = z.infer<typeof PolicyLayer>;

export const PolicySettings = z.object({
  base: PolicyLayer.default({ disabledRules: [], enabledRules: [], params: {} }),
  segments: z.object({ mynumber: PolicyLayer.optional(), lgwan: PolicyLayer.optional(), internet: PolicyLayer.optional() }).default({}),
  groups: z.record(z.string().min(1).max(64), PolicyLayer).default({}),
});
export type PolicySettings = z.infer<typeof PolicySettings>;

export interface PolicyRevision {
  version: number;
  createdAt: string;
  createdBy: string;
  comment: string;
  settings: PolicySettings;
}

const EMPTY: PolicySettings = { base: { disabledRules: [], enabledRules: [], params: {} }, segments: {}, groups: {} };

/** Check rule ids and parameter types against the catalogue; errors name the layer, rule and parameter. */
export function validateSettings(settings: PolicySettings, rules: readonly Rule[]): void {
  const byId = new Map(rules.map((r) => [r.id, r]));
  const layers: [string, PolicyLayer][] = [['base', settings.base], ...Object.entries(settings.segments).filter((e): e is [string, PolicyLayer] => !!e[1]), ...Object.entries(settings.groups).map(([g, l]) => [`group ${g}`, l] as [string, PolicyLayer])];
  for (const [where, layer] of layers) {
    for (const id of [...layer.disabledRules, ...layer.enabledRules]) if (!byId.has(id)) throw badRequest(msg('error.policy.unknownRule', { where, id }));
    for (const [id, values] of Object.entries(layer.params)) {
      const rule = byId.get(id);
      if (!rule) throw badRequest(msg('error.policy.unknownRule', { where, id }));
      for (const [name, value] of Object.entries(values)) {
        const spec = rule.params[name];
        if (!spec) throw badRequest(msg('error.policy.unknownParam', { where, id, name }));
        const ok =
          spec.type === 'integer' ? Number.isInteger(value) && (value as number) >= 0
          : spec.type === 'number' ? typeof value === 'number' && Number.isFinite(value)
          : spec.type === 'string' ? typeof value === 'string'
          : spec.type === 'boolean' ? typeof value === 'boolean'
          : Array.isArray(value) && value.every((v) => typeof v === 'string');
        if (!ok) throw badRequest(msg('error.policy.paramType', { where, label: spec.label ?? `${id}.${name}`, type: msg(`error.policy.type.${spec.type}`) }));
      }
    }
  }
}

/** Merge layers in order; later layers win per parameter and per rule switch. */
export function mergeLayers(layers: readonly (PolicyLayer | undefined)[]): PolicyLayer {
  const out: PolicyLayer = { disabledRules: [], enabledRules: [], params: {} };
  for (const l of layers) {
    if (!l) continue;
    for (const id of l.disabledRules) {
      if (!out.disabledRules.includes(id)) out.disabledRules.push(id);
      out.enabledRules = out.enabledRules.filter((x) => x !== id);
    }
    for (const id of l.enabledRules) {
      if (!out.enabledRules.includes(id)) out.enabledRules.push(id);
      out.disabledRules = out.disabledRules.filter((x) => x !== id);
    }
    for (const [id, values] of Object.entries(l.params)) out.params[id] = { ...(out.params[id] ?? {}), ...values };
  }
  return out;
}

export class PolicyStore {
  constructor(
    private readonly sql: SqlRunner,
    private readonly rules: readonly Rule[],
    private readonly clock: Clock = systemClock,
  ) {}

  async current(): Promise<PolicyRevision> {
    const row = await this.sql.get<Record<string, unknown>>('SELECT * FROM console_policy_revisions ORDER BY version DESC LIMIT 1');
    if (!row) return { version: 0, createdAt: '', createdBy: '', comment: '', settings: EMPTY };
    return revisionOf(row);
  }

  async history(limit = 50): Promise<Omit<PolicyRevision, 'settings'>[]> {
    const rows = await this.sql.all<Record<string, unknown>>('SELECT version, created_at, created_by, comment FROM console_policy_revisions ORDER BY version DESC LIMIT ?', [limit]);
    return rows.map((r) => ({ version: Number(r.version), createdAt: String(r.created_at), createdBy: String(r.created_by), comment: String(r.comment) }));
  }

  async revision(version: number): Promise<PolicyRevision | undefined> {
    const row = await this.sql.get<Record<string, unknown>>('SELECT * FROM console_policy_revisions WHERE version = ?', [version]);
    return row ? revisionOf(row) : undefined;
  }

  /** Save a new revision (refused when `basedOn` is not the current one: someone else changed it meanwhile). */
  async save(input: unknown, by: string, comment: string, basedOn: number): Promise<PolicyRevision> {
    const parsed = PolicySettings.safeParse(input);
    if (!parsed.success) throw badRequest(msg('error.policy.shape', { path: parsed.error.issues[0]?.path.join('.') ?? '', problem: parsed.error.issues[0]?.message ?? '' }));
    validateSettings(parsed.data, this.rules);
    const cur = await this.current();
    if (cur.version !== basedOn) throw badRequest(msg('error.policy.changed', { current: cur.version, basedOn }));
    const version = cur.version + 1;
    await this.sql.run('INSERT INTO console_policy_revisions (version, created_at, created_by, comment, settings_json) VALUES (?, ?, ?, ?, ?)', [
      version,
      this.clock.now().toISOString(),
      by,
      comment,
      JSON.stringify(parsed.data),
    ]);
    await this.bumpEpoch();
    return (await this.revision(version))!;
  }

  /** The version number every pushed document carries. */
  async epoch(): Promise<number> {
    const row = await this.sql.get<{ value: string }>("SELECT value FROM console_state WHERE name = 'policy_epoch'");
    return row ? Number(row.value) : 0;
  }

  async bumpEpoch(): Promise<number> {
    const next = (await this.epoch()) + 1;
    await this.sql.run("INSERT INTO console_state (name, value) VALUES ('policy_epoch', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [String(next)]);
    return next;
  }

  /** Effective layer for a segment and group. */
  async effective(segment: Segment, group: string | null): Promise<PolicyLayer> {
    const s = (await this.current()).settings;
    return mergeLayers([s.base, s.segments[segment], group ? s.groups[group] : undefined]);
  }

  /** The document for one PC. */
  async documentFor(segment: Segment, group: string | null, lists: Record<string, string[]>, exceptions: PolicyDocument['exceptions']): Promise<PolicyDocument> {
    const eff = await this.effective(segment, group);
    return { version: await this.epoch(), segment, disabledRules: eff.disabledRules, enabledRules: eff.enabledRules, params: eff.params, lists, exceptions };
  }
}

function revisionOf(row: Record<string, unknown>): PolicyRevision {
  return {
    version: Number(row.version),
    createdAt: String(row.created_at),
    createdBy: String(row.created_by),
    comment: String(row.comment),
    settings: PolicySettings.parse(parseJson(row.settings_json, {})),
  };
}
