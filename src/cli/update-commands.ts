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
import { MESSAGES, msg } from '../shared/i18n/index.js';
import { UsageError } from './errors.js';
import { t } from './lang.js';
import type { MessageId } from '../shared/i18n/index.js';

/** A PC's state in a rollout, in words (an unknown state is shown as is). */
function stateText(state: string): string {
  const id = `cli.update.state.${state}`;
  return id in MESSAGES ? t(id as MessageId) : state;
}

/** A refusal of the update service: its code, what it means in words, and its detail (which package, which PCs). */
function updateErrorText(err: UpdateError): string {
  const id = `cli.update.error.${err.code}`;
  return id in MESSAGES ? t('cli.update.refused', { code: err.code, what: msg(id as MessageId), detail: err.message }) : `${err.code}: ${err.message}`;
}

type StoreOpener = (o: { data: string; db?: string }) => Promise<Store>;

/** Run fn on the collector's store; --data and --db are options of `collector` (commander gives them to the parent wherever they stand). */
async function withUpdates<T>(collector: Command, open: StoreOpener, fn: (u: AgentUpdates) => Promise<T>): Promise<T> {
  const o = collector.opts<{ data: string; db?: string }>();
  const store = await open(o);
  try {
    return await fn(new AgentUpdates(store.sql, resolve(o.data)));
  } catch (err) {
    if (err instanceof UpdateError) throw new UsageError(updateErrorText(err));
    throw err;
  } finally {
    await store.close();
  }
}

/** --deadline 90s / 10m / 1h, from 10 s to 24 h. */
function deadline(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : NaN;
  if (!(seconds >= 10 && seconds <= 24 * 3600)) throw new UsageError(t('cli.update.deadline', { text }));
  return seconds;
}

function selection(o: { agents?: string; department?: string; segment?: string; all?: boolean }): Selection {
  const given = [o.agents, o.department, o.segment, o.all].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError(t('cli.update.selection'));
  if (o.agents) return { kind: 'agents', ids: o.agents.split(',').map((s) => s.trim()).filter(Boolean) };
  if (o.department) return { kind: 'department', name: o.department };
  if (o.segment) {
    if (!Segment.safeParse(o.segment).success) throw new UsageError(t('cli.common.oneOf', { option: `--segment ${o.segment}`, values: [...Segment.options] }));
    return { kind: 'segment', segment: o.segment };
  }
  return { kind: 'all' };
}

export function registerUpdateCommands(collector: Command, open: StoreOpener): void {
  const update = collector.command('update').description(t('cli.update.description'));
  update
    .command('upload <package>')
    .description(t('cli.update.upload'))
    .option('--statement <file>', t('cli.update.opt.statement'))
    .action(async (file: string, o: { statement?: string }) => {
      const statementFile = o.statement ?? `${file}.update.json`;
      let statement: string;
      try {
        statement = readFileSync(statementFile, 'utf8');
      } catch {
        throw new UsageError(t('cli.update.noStatement', { file: statementFile }));
      }
      const pkg = await withUpdates(collector, open, (u) => u.upload(resolve(file), statement, userInfo().username));
      process.stdout.write(`${pkg.id}\n`);
      process.stderr.write(`${t('cli.update.uploaded', { id: pkg.id, platform: pkg.platform, version: pkg.version, size: pkg.size, sha256: pkg.sha256 })}\n`);
    });
  update
    .command('rollout <packageId>')
    .description(t('cli.update.rollout'))
    .option('--agents <ids>', t('cli.update.opt.agents'))
    .option('--department <課>', t('cli.update.opt.department'))
    .option('--segment <segment>', t('cli.update.opt.segment'))
    .option('--all', t('cli.update.opt.all'))
    .option('--deadline <duration>', t('cli.update.opt.deadline'), '10m')
    .option('--skip-canary', t('cli.update.opt.skipCanary'))
    .action(async (packageId: string, o: { agents?: string; department?: string; segment?: string; all?: boolean; deadline: string; skipCanary?: boolean }) => {
      const deadlineSeconds = deadline(o.deadline);
      const sel = selection(o);
      const r = await withUpdates(collector, open, (u) => u.createRollout({ packageId, selection: sel, deadlineSeconds, createdBy: userInfo().username, skipCanary: Boolean(o.skipCanary) }));
      process.stdout.write(`${r.id}\n`);
      process.stderr.write(`${t('cli.update.rolledOut', { id: r.id, n: r.agents.length })}\n`);
    });
  update
    .command('status [rolloutId]')
    .description(t('cli.update.status'))
    .option('--json', t('cli.update.opt.json'))
    .action(async (rolloutId: string | undefined, o: { json?: boolean }) => {
      const rows = await withUpdates(collector, open, (u) => u.status(rolloutId));
      if (o.json) {
        for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      process.stdout.write(`${t('cli.update.header')}\n`);
      for (const r of rows) process.stdout.write(`${[r.rolloutId, r.hostname, r.department ?? '-', r.agentVersion, r.targetVersion, stateText(r.state), r.reason ?? ''].join('\t')}\n`);
    });
}
