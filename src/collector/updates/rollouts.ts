/**
 * Agent packages and their rollouts, on the collector. An administrator uploads a package with
 * its signed statement (`mamori collector update upload`), then rolls it out to a group of PCs:
 * an explicit list first (the canary group), then a 課, a segment or every PC — a wider rollout
 * is refused until an earlier one of the same package has PCs that installed it and none that
 * went back. Each PC of a rollout has a state:
 *
 *   pending     waiting for the PC to be connected (and to have said which installer it has)
 *   offered     update.offer sent (with a one-time download token)
 *   installing  the PC downloaded and verified both packages and started its OS installer
 *   installed   the PC came back with the new version
 *   rolled_back the new version did not come back in time; the PC reinstalled its previous package
 *   failed      nothing was changed on the PC (no package to go back to, signature refused, …)
 *
 * The collector never vouches for a package: the agent verifies the statement's signature with
 * the release key it pinned (src/shared/updates/statement.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { UpdateOfferFrame } from '../../shared/protocol/messages.js';
import { SignedUpdateStatement, UpdatePlatform } from '../../shared/updates/statement.js';
import type { SqlRunner } from '../store/sql.js';

export type RolloutState = 'pending' | 'offered' | 'installing' | 'installed' | 'rolled_back' | 'failed';

export type UpdateErrorCode = 'bad-statement' | 'hash-mismatch' | 'duplicate' | 'no-package' | 'canary-first' | 'no-pcs' | 'bad-selection';

export class UpdateError extends Error {
  constructor(
    readonly code: UpdateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpdateError';
  }
}

/** Which PCs a rollout is for. */
export type Selection = { kind: 'agents'; ids: string[] } | { kind: 'department'; name: string } | { kind: 'segment'; segment: string } | { kind: 'all' };

export interface AgentPackage {
  id: string;
  platform: UpdatePlatform;
  version: string;
  sha256: string;
  size: number;
  signature: string;
  file: string;
  uploadedAt: string;
  uploadedBy: string;
}

export interface RolloutPc {
  rolloutId: string;
  agentId: string;
  hostname: string;
  department: string | null;
  /** The version the PC reports now. */
  agentVersion: string;
  targetVersion: string;
  state: RolloutState;
  fromVersion: string | null;
  reason: string | null;
  changedAt: string;
}

interface PackageRow {
  id: string;
  platform: UpdatePlatform;
  version: string;
  sha256: string;
  size: number | string;
  signature: string;
  file: string;
  uploaded_at: string;
  uploaded_by: string;
}

const toPackage = (r: PackageRow): AgentPackage => ({ id: r.id, platform: r.platform, version: r.version, sha256: r.sha256, size: Number(r.size), signature: r.signature, file: r.file, uploadedAt: r.uploaded_at, uploadedBy: r.uploaded_by });

export const DOWNLOAD_PATH = '/agent/update/';
/** Default time the new agent has to come back before the PC goes back to its previous package. */
export const DEFAULT_DEADLINE_SECONDS = 600;

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export class AgentUpdates {
  constructor(
    private readonly sql: SqlRunner,
    private readonly dataDir: string,
  ) {}

  /** Store a package file and its signed statement (`<file>.update.json` as scripts/package.mjs writes it). */
  async upload(file: string, statementText: string, uploadedBy: string, now = new Date()): Promise<AgentPackage> {
    let statement;
    try {
      statement = SignedUpdateStatement.parse(JSON.parse(statementText));
    } catch (err) {
      throw new UpdateError('bad-statement', `the package statement is not valid: ${(err as Error).message.slice(0, 300)}`);
    }
    const bytes = readFileSync(file);
    if (bytes.length !== statement.size || sha256Hex(bytes) !== statement.sha256) throw new UpdateError('hash-mismatch', `${file} is not the package its statement describes (size or SHA-256 differ)`);
    const existing = await this.packageOf(statement.platform, statement.version);
    if (existing) {
      if (existing.sha256 === statement.sha256) return existing;
      throw new UpdateError('duplicate', `a different ${statement.platform} package of version ${statement.version} is already uploaded (${existing.id})`);
    }
    const dir = join(this.dataDir, 'updates');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stored = join(dir, `${statement.sha256}.${statement.platform}`);
    copyFileSync(file, stored);
    const id = `pkg_${statement.platform}_${statement.sha256.slice(0, 16)}`;
    await this.sql.run('INSERT INTO agent_packages (id, platform, version, sha256, size, signature, file, uploaded_at, uploaded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [id, statement.platform, statement.version, statement.sha256, statement.size, statement.signature, stored, now.toISOString(), uploadedBy]);
    return (await this.getPackage(id))!;
  }

  async getPackage(id: string): Promise<AgentPackage | undefined> {
    const r = await this.sql.get<PackageRow>('SELECT * FROM agent_packages WHERE id = ?', [id]);
    return r && toPackage(r);
  }

  async packageOf(platform: string, version: string): Promise<AgentPackage | undefined> {
    const r = await this.sql.get<PackageRow>('SELECT * FROM agent_packages WHERE platform = ? AND version = ?', [platform, version]);
    return r && toPackage(r);
  }

  async listPackages(): Promise<AgentPackage[]> {
    return (await this.sql.all<PackageRow>('SELECT * FROM agent_packages ORDER BY uploaded_at, id')).map(toPackage);
  }

  /**
   * Roll a package out to the selected PCs (not revoked). Anything wider than an explicit list
   * needs a canary first: an earlier rollout of this package with a PC that installed it and
   * none that went back or failed (`skipCanary` overrides, for a site that tested elsewhere).
   */
  async createRollout(o: { packageId: string; selection: Selection; deadlineSeconds?: number; createdBy: string; skipCanary?: boolean; now?: Date }): Promise<{ id: string; agents: string[] }> {
    const pkg = await this.getPackage(o.packageId);
    if (!pkg) throw new UpdateError('no-package', `no uploaded package ${o.packageId}`);
    if (o.selection.kind !== 'agents' && !o.skipCanary) {
      const earlier = await this.sql.all<{ agent_id: string; state: RolloutState }>('SELECT p.agent_id, p.state FROM agent_rollout_pcs p JOIN agent_rollouts r ON r.id = p.rollout_id WHERE r.package_id = ? ORDER BY r.created_at, p.changed_at', [pkg.id]);
      // Each PC counts with its latest rollout of this package (one that failed and was retried counts as the retry).
      const latest = [...new Map(earlier.map((e) => [e.agent_id, e.state])).values()];
      const installed = latest.filter((s) => s === 'installed').length;
      const bad = latest.filter((s) => s === 'rolled_back' || s === 'failed').length;
      if (installed === 0 || bad > 0) throw new UpdateError('canary-first', `roll ${pkg.version} out to a canary group first (--agents): ${installed} PC(s) installed it, ${bad} went back or failed`);
    }
    const agents = await this.select(o.selection);
    // PCs already on this version, or already in a rollout of this package that did not end badly, are left out.
    const taken = new Set(
      (await this.sql.all<{ agent_id: string }>("SELECT p.agent_id FROM agent_rollout_pcs p JOIN agent_rollouts r ON r.id = p.rollout_id WHERE r.package_id = ? AND p.state NOT IN ('rolled_back', 'failed')", [pkg.id])).map((r) => r.agent_id),
    );
    const chosen = agents.filter((a) => !taken.has(a.id) && a.agent_version !== pkg.version).map((a) => a.id);
    if (chosen.length === 0) throw new UpdateError('no-pcs', 'no PC of that selection needs this package');
    const id = `rol_${randomBytes(8).toString('hex')}`;
    const at = (o.now ?? new Date()).toISOString();
    await this.sql.transaction(async (tx) => {
      await tx.run('INSERT INTO agent_rollouts (id, package_id, selection, deadline_seconds, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)', [id, pkg.id, JSON.stringify(o.selection), o.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS, at, o.createdBy]);
      for (const agentId of chosen) await tx.run("INSERT INTO agent_rollout_pcs (rollout_id, agent_id, state, token_hash, changed_at) VALUES (?, ?, 'pending', '', ?)", [id, agentId, at]);
    });
    return { id, agents: chosen };
  }

  private async select(s: Selection): Promise<{ id: string; agent_version: string }[]> {
    const base = 'SELECT id, agent_version FROM agents WHERE revoked_at IS NULL';
    switch (s.kind) {
      case 'agents': {
        if (s.ids.length === 0) throw new UpdateError('bad-selection', 'no PC given');
        const found = await this.sql.all<{ id: string; agent_version: string }>(`${base} AND id IN (${s.ids.map(() => '?').join(', ')})`, s.ids);
        const missing = s.ids.filter((id) => !found.some((f) => f.id === id));
        if (missing.length) throw new UpdateError('bad-selection', `no enrolled PC ${missing.join(', ')}`);
        return found;
      }
      case 'department':
        return this.sql.all(`${base} AND department = ?`, [s.name]);
      case 'segment':
        return this.sql.all(`${base} AND segment = ?`, [s.segment]);
      case 'all':
        return this.sql.all(base);
    }
  }

  /** PCs with something to offer, of those given (the ones connected to this node). */
  async agentsWithPending(connected: readonly string[]): Promise<string[]> {
    const rows = await this.sql.all<{ agent_id: string }>("SELECT DISTINCT agent_id FROM agent_rollout_pcs WHERE state = 'pending'");
    const here = new Set(connected);
    return rows.map((r) => r.agent_id).filter((id) => here.has(id));
  }

  /** What the PC said at its start: the installer that installed it (null: none the agent can drive) and its version. */
  async recordInstaller(agentId: string, platform: UpdatePlatform | null, version: string, at: string): Promise<void> {
    // A PC that (re)started has no offer in hand any more: what was offered and not taken is offered again.
    await this.sql.run("UPDATE agent_rollout_pcs SET state = 'pending', changed_at = ? WHERE agent_id = ? AND state = 'offered'", [at, agentId]);
    await this.sql.run('INSERT INTO agent_update_installers (agent_id, platform, version, at) VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET platform = excluded.platform, version = excluded.version, at = excluded.at', [agentId, platform, version, at]);
  }

  /**
   * The offer for a PC's oldest pending rollout, or undefined when there is none to send now
   * (the PC has not said which installer it has yet). A PC that cannot take it (another
   * installer, no package of its running version to go back to) is marked failed with why.
   */
  async offerFor(agentId: string, now = new Date()): Promise<UpdateOfferFrame | undefined> {
    const row = await this.sql.get<{ rollout_id: string; package_id: string; deadline_seconds: number | string }>(
      "SELECT p.rollout_id, r.package_id, r.deadline_seconds FROM agent_rollout_pcs p JOIN agent_rollouts r ON r.id = p.rollout_id WHERE p.agent_id = ? AND p.state = 'pending' ORDER BY r.created_at, r.id LIMIT 1",
      [agentId],
    );
    if (!row) return undefined;
    const installer = await this.sql.get<{ platform: UpdatePlatform | null; version: string }>('SELECT platform, version FROM agent_update_installers WHERE agent_id = ?', [agentId]);
    if (!installer) return undefined;
    const target = (await this.getPackage(row.package_id))!;
    const at = now.toISOString();
    const fail = async (reason: string) => {
      await this.setState(row.rollout_id, agentId, 'failed', reason, at);
      return undefined;
    };
    if (installer.platform !== target.platform) return fail(await this.otherInstaller(agentId, installer.platform, target.platform));
    if (installer.version === target.version) {
      await this.setState(row.rollout_id, agentId, 'installed', null, at);
      return undefined;
    }
    const rollback = await this.packageOf(target.platform, installer.version);
    if (!rollback) return fail(`この端末が動かしているバージョン ${installer.version} の ${target.platform} パッケージがアップロードされていないため、元に戻せません。先に ${installer.version} をアップロードしてください / no ${target.platform} package of the version this PC runs (${installer.version}) is uploaded to go back to`);
    const token = randomBytes(32).toString('base64url');
    await this.sql.run("UPDATE agent_rollout_pcs SET state = 'offered', token_hash = ?, from_version = ?, rollback_package_id = ?, reason = NULL, changed_at = ? WHERE rollout_id = ? AND agent_id = ?", [sha256Hex(token), installer.version, rollback.id, at, row.rollout_id, agentId]);
    const offered = (p: AgentPackage) => ({ product: 'mamori-agent' as const, platform: p.platform, version: p.version, sha256: p.sha256, size: p.size, signature: p.signature, path: `${DOWNLOAD_PATH}${p.id}` });
    return { type: 'update.offer', rolloutId: row.rollout_id, target: offered(target), rollback: offered(rollback), token, deadlineSeconds: Number(row.deadline_seconds) };
  }

  /**
   * Why a PC cannot take a package for another installer. A Windows agent that reports no
   * installer is of a release before updates through msiexec (or not installed by the MSI).
   */
  private async otherInstaller(agentId: string, has: UpdatePlatform | null, needs: UpdatePlatform): Promise<string> {
    const os = await this.sql.get<{ os_json: string }>('SELECT os_json FROM agents WHERE id = ?', [agentId]);
    const windows = os ? (JSON.parse(os.os_json) as { platform?: string }).platform === 'windows' : false;
    if (windows && !has) return 'この Windows 端末のエージェントは MSI でインストールされていないか、収集サーバーからの更新に対応する前の版です。新しい MSI を一度配布ツール (GPO、Intune、SKYSEA Client View、LanScope Cat など) で配布してください / this Windows PC\'s agent was not installed by the MSI or predates updates through the collector: distribute the new MSI once with the software distribution tool';
    if (!has) return `この端末のエージェントは dpkg / rpm でインストールされていないため、更新できません (パッケージでインストールし直してください) / this PC's agent was not installed by a package manager the agent can drive`;
    return `この端末のエージェントは ${has} でインストールされています。${needs} のパッケージでは更新できません / this PC's agent was installed by the ${has} installer, not ${needs}`;
  }

  /** The package file a download token may fetch (the rollout's package or the PC's package to go back to). */
  async downloadable(packageId: string, token: string): Promise<AgentPackage | undefined> {
    if (!token) return undefined;
    const row = await this.sql.get<{ package_id: string; rollback_package_id: string | null }>(
      "SELECT r.package_id, p.rollback_package_id FROM agent_rollout_pcs p JOIN agent_rollouts r ON r.id = p.rollout_id WHERE p.token_hash = ? AND p.state IN ('offered', 'installing')",
      [sha256Hex(token)],
    );
    if (!row || (row.package_id !== packageId && row.rollback_package_id !== packageId)) return undefined;
    const pkg = await this.getPackage(packageId);
    if (!pkg) return undefined;
    try {
      statSync(pkg.file);
    } catch {
      return undefined;
    }
    return pkg;
  }

  /** A PC's report about a rollout (agent.notice update.*). */
  async report(rolloutId: string, agentId: string, state: RolloutState, reason: string | null, at: string): Promise<void> {
    await this.setState(rolloutId, agentId, state, reason, at);
  }

  private async setState(rolloutId: string, agentId: string, state: RolloutState, reason: string | null, at: string): Promise<void> {
    await this.sql.run('UPDATE agent_rollout_pcs SET state = ?, reason = ?, changed_at = ? WHERE rollout_id = ? AND agent_id = ?', [state, reason, at, rolloutId, agentId]);
  }

  /** The state of every PC of one rollout, or of all rollouts (newest first), with the version each PC reports now. */
  async status(rolloutId?: string): Promise<RolloutPc[]> {
    const rows = await this.sql.all<{ rollout_id: string; agent_id: string; hostname: string; department: string | null; agent_version: string; version: string; state: RolloutState; from_version: string | null; reason: string | null; changed_at: string }>(
      `SELECT p.rollout_id, p.agent_id, a.hostname, a.department, a.agent_version, k.version, p.state, p.from_version, p.reason, p.changed_at
         FROM agent_rollout_pcs p JOIN agent_rollouts r ON r.id = p.rollout_id JOIN agent_packages k ON k.id = r.package_id JOIN agents a ON a.id = p.agent_id
        ${rolloutId ? 'WHERE p.rollout_id = ?' : ''} ORDER BY r.created_at DESC, a.hostname, p.agent_id`,
      rolloutId ? [rolloutId] : [],
    );
    return rows.map((r) => ({ rolloutId: r.rollout_id, agentId: r.agent_id, hostname: r.hostname, department: r.department, agentVersion: r.agent_version, targetVersion: r.version, state: r.state, fromVersion: r.from_version, reason: r.reason, changedAt: r.changed_at }));
  }
}
