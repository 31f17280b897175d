/**
 * `mamori collector update upload|rollout|status`: agent updates from the collector
 * (src/collector/updates). Run on the collector host against its data directory or database;
 * a running collector offers new rollouts to its connected PCs within seconds.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AgentUpdates, UpdateError } from '../collector/updates/rollouts.js';
import type { Selection } from '../collector/updates/rollouts.js';
import { Segment } from '../shared/protocol/messages.js';
import type { Store } from '../collector/store/store.js';
import { UsageError } from './errors.js';

const STATE_TEXT: Record<string, string> = { pending: '待機中', offered: '配信済み', installing: 'インストール中', installed: '更新完了', rolled_back: '切り戻し', failed: '失敗' };

type StoreOpener = (o: { data: string; db?: string }) => Promise<Store>;

/** Run fn on the collector's store; --data and --db are options of `collector` (commander gives them to the parent wherever they stand). */
async function withUpdates<T>(collector: Command, open: StoreOpener, fn: (u: AgentUpdates) => Promise<T>): Promise<T> {
  const o = collector.opts<{ data: string; db?: string }>();
  const store = await open(o);
  try {
    return await fn(new AgentUpdates(store.sql, resolve(o.data)));
  } catch (err) {
    if (err instanceof UpdateError) throw new UsageError(`${err.code}: ${err.message}`);
    throw err;
  } finally {
    await store.close();
  }
}

/** --deadline 90s / 10m / 1h, from 10 s to 24 h. */
function deadline(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : NaN;
  if (!(seconds >= 10 && seconds <= 24 * 3600)) throw new UsageError(`--deadline ${text}: a time from 10s to 24h, e.g. 90s, 10m, 1h`);
  return seconds;
}

function selection(o: { agents?: string; department?: string; segment?: string; all?: boolean }): Selection {
  const given = [o.agents, o.department, o.segment, o.all].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('choose the PCs with exactly one of --agents ID,ID (the canary group), --department 課, --segment S, --all');
  if (o.agents) return { kind: 'agents', ids: o.agents.split(',').map((s) => s.trim()).filter(Boolean) };
  if (o.department) return { kind: 'department', name: o.department };
  if (o.segment) {
    if (!Segment.safeParse(o.segment).success) throw new UsageError(`--segment ${o.segment}: one of mynumber, lgwan, internet`);
    return { kind: 'segment', segment: o.segment };
  }
  return { kind: 'all' };
}

export function registerUpdateCommands(collector: Command, open: StoreOpener): void {
  const update = collector.command('update').description('agent updates: upload a signed package, roll it out to PCs, follow it per PC');
  update
    .command('upload <package>')
    .description('store a package built by `npm run package` with its signed statement (<package>.update.json)')
    .option('--statement <file>', 'the signed statement (default: <package>.update.json)')
    .action(async (file: string, o: { statement?: string }) => {
      const statementFile = o.statement ?? `${file}.update.json`;
      let statement: string;
      try {
        statement = readFileSync(statementFile, 'utf8');
      } catch {
        throw new UsageError(`${statementFile}: no signed statement beside the package (scripts/package.mjs writes it)`);
      }
      const pkg = await withUpdates(collector, open, (u) => u.upload(resolve(file), statement, userInfo().username));
      process.stdout.write(`${pkg.id}\n`);
      process.stderr.write(`package ${pkg.id}: ${pkg.platform} ${pkg.version}, ${pkg.size} bytes, SHA-256 ${pkg.sha256}\n`);
    });
  update
    .command('rollout <packageId>')
    .description('offer the package to PCs: a canary group (--agents) first, then a 課, a segment or all')
    .option('--agents <ids>', 'these PCs (agent ids, comma-separated): the canary group')
    .option('--department <課>', 'the PCs of this 課')
    .option('--segment <segment>', 'the PCs of this segment: mynumber, lgwan, internet')
    .option('--all', 'every enrolled PC')
    .option('--deadline <duration>', 'time the new agent has to reach the collector before the PC goes back, e.g. 10m', '10m')
    .option('--skip-canary', 'roll out widely without a canary group of this package that succeeded')
    .action(async (packageId: string, o: { agents?: string; department?: string; segment?: string; all?: boolean; deadline: string; skipCanary?: boolean }) => {
      const deadlineSeconds = deadline(o.deadline);
      const sel = selection(o);
      const r = await withUpdates(collector, open, (u) => u.createRollout({ packageId, selection: sel, deadlineSeconds, createdBy: userInfo().username, skipCanary: Boolean(o.skipCanary) }));
      process.stdout.write(`${r.id}\n`);
      process.stderr.write(`rollout ${r.id}: ${r.agents.length} PC(s)\n`);
    });
  update
    .command('status [rolloutId]')
    .description('the state of each PC of a rollout (of every rollout when none is given)')
    .option('--json', 'JSON lines instead of a table')
    .action(async (rolloutId: string | undefined, o: { json?: boolean }) => {
      const rows = await withUpdates(collector, open, (u) => u.status(rolloutId));
      if (o.json) {
        for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write('配信\t端末\t課\t現在の版\t配信する版\t状態\t理由\n');
      for (const r of rows) process.stdout.write(`${[r.rolloutId, r.hostname, r.department ?? '-', r.agentVersion, r.targetVersion, STATE_TEXT[r.state] ?? r.state, r.reason ?? ''].join('\t')}\n`);
    });
}
