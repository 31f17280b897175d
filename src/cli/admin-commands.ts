/** `mamori collector`, `mamori token …`, `mamori agents …`: collector administration. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PgCluster } from '../collector/cluster/pg-cluster.js';
import { openDefaultStore, startCollector } from '../collector/collector.js';
import { openPostgresStore } from '../collector/store/postgres/open.js';
import { createEnrollmentToken, parseDuration } from '../collector/tokens.js';
import { createLogger } from '../shared/log.js';
import { Segment } from '../shared/protocol/messages.js';
import { UsageError } from './errors.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`--listen ${text}: expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`--listen ${text}: port out of range`);
  return { host: m[1] ?? m[2]!, port };
}

export function registerAdminCommands(program: Command): void {
  program
    .command('collector')
    .description('run a collector')
    .option('--data <dir>', 'data directory (database, logs)', './var/collector')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8470')
    .option('--db <url>', 'postgres://… to store in PostgreSQL instead of embedded SQLite')
    .option('--heartbeat <seconds>', 'agent heartbeat interval', '30')
    .action(async (o: { data: string; listen: string; db?: string; heartbeat: string }) => {
      const dataDir = resolve(o.data);
      const { host, port } = parseListen(o.listen);
      const log = createLogger({ component: 'collector', dir: join(dataDir, 'logs') });
      let store;
      let cluster;
      if (o.db) {
        // Several nodes on one PostgreSQL database: the PG store, and the cluster that links the nodes.
        store = await openPostgresStore(o.db);
        cluster = new PgCluster(store, { log });
      }
      const collector = await startCollector({ dataDir, host, port, log, ...(store ? { store } : {}), ...(cluster ? { cluster } : {}), gateway: { heartbeatSeconds: Number(o.heartbeat) } });
      process.stdout.write(`collector: agents connect to ${collector.agentUrl}; console at ${collector.consoleUrl}\n`);
      const shutdown = async () => {
        await collector.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });

  const token = program.command('token').description('enrollment tokens');
  token
    .command('create')
    .description('make an enrollment token and print it')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--segment <segment>', 'segment of the PCs that enroll with it: mynumber, lgwan, internet', 'lgwan')
    .option('--expires <duration>', 'valid for, e.g. 12h or 7d', '7d')
    .option('--single-use', 'the token enrolls one PC only')
    .option('--note <text>', 'what the token is for')
    .action(async (o: { data: string; segment: string; expires: string; singleUse?: boolean; note?: string }) => {
      const segment = Segment.safeParse(o.segment);
      if (!segment.success) throw new UsageError(`--segment ${o.segment}: one of mynumber, lgwan, internet`);
      const store = openDefaultStore(resolve(o.data));
      await store.migrate();
      const { token: text, record } = await createEnrollmentToken(store, { segment: segment.data, expiresInMs: parseDuration(o.expires), singleUse: Boolean(o.singleUse), ...(o.note ? { note: o.note } : {}) });
      await store.close();
      process.stdout.write(`${text}\n`);
      process.stderr.write(`token ${record.id}: segment ${record.segment}, expires ${record.expiresAt}${record.singleUse ? ', single use' : ''}\n`);
    });
  token
    .command('revoke <id>')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .action(async (id: string, o: { data: string }) => {
      const store = openDefaultStore(resolve(o.data));
      const done = await store.revokeToken(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(`no active token ${id}`);
      process.stdout.write(`token ${id} revoked\n`);
    });

  const agents = program.command('agents').description('enrolled agents');
  agents
    .command('list')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .action(async (o: { data: string }) => {
      const store = openDefaultStore(resolve(o.data));
      for (const a of await store.listAgents()) {
        process.stdout.write(`${a.id}\t${a.hostname}\t${a.segment}\t${a.online ? 'online' : 'offline'}\t${a.lastSeenAt ?? '-'}\t${a.revokedAt ? 'revoked' : ''}\n`);
      }
      await store.close();
    });
  agents
    .command('revoke <id>')
    .description('refuse this agent from now on (it is disconnected within one heartbeat)')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .action(async (id: string, o: { data: string }) => {
      const store = openDefaultStore(resolve(o.data));
      const done = await store.revokeAgent(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(`no active agent ${id}`);
      process.stdout.write(`agent ${id} revoked\n`);
    });
}
