/** `mamori collector`, `mamori token …`, `mamori agents …`: collector administration. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PgCluster } from '../collector/cluster/pg-cluster.js';
import { CollectorBus } from '../collector/bus.js';
import { openDefaultStore, startCollector } from '../collector/collector.js';
import { TamperMonitor } from '../collector/tamper/monitor.js';
import { openPostgresStore } from '../collector/store/postgres/open.js';
import type { Store } from '../collector/store/store.js';
import { createEnrollmentToken, parseDuration } from '../collector/tokens.js';
import { createLogger } from '../shared/log.js';
import { formatFingerprint } from '../shared/tls/fingerprint.js';
import { addServerNames, hasTls, loadTls, serverCertNames } from '../shared/tls/material.js';
import type { TlsMaterial } from '../shared/tls/material.js';
import { Segment } from '../shared/protocol/messages.js';
import { Accounts } from '../collector/console/accounts.js';
import { AuditAnchor, AuditLog } from '../collector/console/audit.js';
import { migrateConsole } from '../collector/console/migrations.js';
import { AGENT_CERT_MODES } from '../collector/gateway/client-certs.js';
import type { AgentCertMode, AgentCertOptions } from '../collector/gateway/client-certs.js';
import { AGENT_HMAC_POLICIES } from '../collector/gateway/gateway.js';
import type { AgentHmacPolicy } from '../collector/gateway/gateway.js';
import { UsageError } from './errors.js';
import { cliLang, t } from './lang.js';
import { term } from '../shared/i18n/index.js';
import { registerUpdateCommands } from './update-commands.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(t('cli.admin.listenForm', { text }));
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(t('cli.admin.listenPort', { text }));
  return { host: m[1] ?? m[2]!, port };
}

/**
 * The TLS material of a collector data directory, created when missing (CA + server
 * certificate + policy-signing key, see src/shared/tls/material.ts). Names given with --san
 * that the existing server certificate lacks are added (reissued under the same CA, so agents
 * keep their pin).
 */
async function collectorTls(dataDir: string, sans: string | undefined): Promise<{ material: TlsMaterial; created: boolean; added: string[] }> {
  const names = (sans ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  if (hasTls(dataDir) && names.length === 0) return { material: loadTls(dataDir), created: false, added: [] };
  return addServerNames(dataDir, names);
}

/** The lines saying which names the certificate covers (agents must use one of them in --collector). */
function certificateLines(dataDir: string, added: readonly string[]): string {
  const lines = [t('cli.admin.certCovers', { names: serverCertNames(dataDir).join(', '), dir: dataDir })];
  if (added.length) lines.push(t('cli.admin.certReissued', { names: added.join(', ') }));
  return lines.map((l) => `collector: ${l}\n`).join('');
}

/** The store an administration command works on: PostgreSQL when --db is given, else the data directory's SQLite. */
export async function adminStore(o: { data: string; db?: string }): Promise<Store> {
  const store = o.db ? await openPostgresStore(o.db) : openDefaultStore(resolve(o.data));
  await store.migrate();
  return store;
}

/** --agent-certs / --agent-cert-days, checked. */
function agentCertOptions(mode: string, days: string, tls: boolean): AgentCertOptions {
  if (!(AGENT_CERT_MODES as readonly string[]).includes(mode)) throw new UsageError(t('cli.common.oneOf', { option: `--agent-certs ${mode}`, values: [...AGENT_CERT_MODES] }));
  const lifetimeDays = Number(days);
  if (!(lifetimeDays >= 1 && lifetimeDays <= 825)) throw new UsageError(t('cli.admin.certDays', { days }));
  if (mode !== 'off' && !tls) throw new UsageError(t('cli.admin.certsNeedTls', { mode }));
  return { mode: mode as AgentCertMode, lifetimeDays };
}

export function registerAdminCommands(program: Command): void {
  const collectorCommand = program
    .command('collector')
    .description(t('cli.collector.description'))
    .option('--data <dir>', t('cli.collector.opt.data'), './var/collector')
    .option('--listen <host:port>', t('cli.collector.opt.listen'), '127.0.0.1:8470')
    .option('--db <url>', t('cli.collector.opt.db'))
    .option('--heartbeat <seconds>', t('cli.collector.opt.heartbeat'), '30')
    .option('--insecure-plain', t('cli.collector.opt.insecurePlain'))
    .option('--san <names>', t('cli.collector.opt.san'))
    .option('--silent-after <minutes>', t('cli.collector.opt.silentAfter'), '120')
    .option('--clock-skew <seconds>', t('cli.collector.opt.clockSkew'), '300')
    .option('--agent-certs <mode>', t('cli.collector.opt.agentCerts'), 'off')
    .option('--agent-cert-days <days>', t('cli.collector.opt.agentCertDays'), '30')
    .option('--agent-hmac <policy>', t('cli.collector.opt.agentHmac'), 'migrate')
    .action(async (o: { data: string; listen: string; db?: string; heartbeat: string; insecurePlain?: boolean; san?: string; silentAfter: string; clockSkew: string; agentCerts: string; agentCertDays: string; agentHmac: string }) => {
      const dataDir = resolve(o.data);
      const { host, port } = parseListen(o.listen);
      const log = createLogger({ component: 'collector', dir: join(dataDir, 'logs') });
      const tlsInit = o.insecurePlain ? undefined : await collectorTls(dataDir, o.san);
      const tls = tlsInit?.material;
      if (!tls) log.warn(t('cli.collector.plainWarning'));
      const tamper = { silentAfterMs: Number(o.silentAfter) * 60_000, clockSkewMs: Number(o.clockSkew) * 1000 };
      if (!(tamper.silentAfterMs > 0) || !(tamper.clockSkewMs > 0)) throw new UsageError(t('cli.collector.positive'));
      const agentCerts = agentCertOptions(o.agentCerts, o.agentCertDays, Boolean(tls));
      if (!(AGENT_HMAC_POLICIES as readonly string[]).includes(o.agentHmac)) throw new UsageError(t('cli.common.oneOf', { option: `--agent-hmac ${o.agentHmac}`, values: [...AGENT_HMAC_POLICIES] }));
      let store;
      let cluster;
      if (o.db) {
        // Several nodes on one PostgreSQL database: the PG store, and the cluster that links the nodes.
        store = await openPostgresStore(o.db);
        cluster = new PgCluster(store, { log });
      }
      const collector = await startCollector({ dataDir, host, port, log, ...(store ? { store } : {}), ...(cluster ? { cluster } : {}), gateway: { heartbeatSeconds: Number(o.heartbeat), hmac: o.agentHmac as AgentHmacPolicy }, agentCerts, ...(tls ? { tls } : {}), tamper });
      process.stdout.write(`collector: ${t('cli.collector.listening', { agentUrl: collector.agentUrl, consoleUrl: collector.consoleUrl })}\n`);
      if (tls) process.stdout.write(`collector: ${t('cli.collector.caFingerprint', { pin: formatFingerprint(tls.caFingerprint) })}\n${certificateLines(dataDir, tlsInit?.added ?? [])}`);
      const shutdown = async () => {
        await collector.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });

  registerUpdateCommands(collectorCommand, adminStore);

  collectorCommand
    .command('init')
    .description(t('cli.collector.init'))
    .action(async () => {
      // --data and --san belong to `collector` (commander gives options before or after `init` to the parent).
      const o = collectorCommand.opts<{ data: string; san?: string }>();
      const dataDir = resolve(o.data);
      const { material, created, added } = await collectorTls(dataDir, o.san);
      const done = created ? 'cli.collector.tlsCreated' : added.length ? 'cli.collector.tlsUpdated' : 'cli.collector.tlsKept';
      process.stdout.write(`${t(done, { dir: join(dataDir, 'tls') })}\n${t('cli.collector.caFingerprint', { pin: formatFingerprint(material.caFingerprint) })}\n${certificateLines(dataDir, created ? [] : added)}`);
    });

  collectorCommand
    .command('cert')
    .description(t('cli.collector.cert'))
    .action(async () => {
      const o = collectorCommand.opts<{ data: string; san?: string }>();
      const dataDir = resolve(o.data);
      if (!hasTls(dataDir)) throw new UsageError(t('cli.collector.noCertificate', { tls: join(dataDir, 'tls'), dir: dataDir }));
      const { added } = await collectorTls(dataDir, o.san);
      if (o.san && added.length === 0) process.stdout.write(`collector: ${t('cli.collector.alreadyCovers', { names: o.san })}\n`);
      process.stdout.write(certificateLines(dataDir, added));
    });

  const token = program.command('token').description(t('cli.token.description'));
  token
    .command('create')
    .description(t('cli.token.create'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .option('--segment <segment>', t('cli.token.opt.segment'), 'lgwan')
    .option('--expires <duration>', t('cli.token.opt.expires'), '7d')
    .option('--single-use', t('cli.token.opt.singleUse'))
    .option('--note <text>', t('cli.token.opt.note'))
    .option('--department <課>', t('cli.token.opt.department'))
    .action(async (o: { data: string; db?: string; segment: string; expires: string; singleUse?: boolean; note?: string; department?: string }) => {
      const segment = Segment.safeParse(o.segment);
      if (!segment.success) throw new UsageError(t('cli.common.oneOf', { option: `--segment ${o.segment}`, values: [...Segment.options] }));
      const store = await adminStore(o);
      const { token: text, record } = await createEnrollmentToken(store, { segment: segment.data, expiresInMs: parseDuration(o.expires), singleUse: Boolean(o.singleUse), ...(o.note ? { note: o.note } : {}), ...(o.department ? { department: o.department } : {}) });
      await store.close();
      process.stdout.write(`${text}\n`);
      const about = [t('cli.token.segment', { segment: term('segment', record.segment, cliLang()) }), ...(record.department ? [t('cli.token.department', { department: record.department })] : []), t('cli.token.expires', { at: { time: record.expiresAt } }), ...(record.singleUse ? [t('cli.token.singleUse')] : [])];
      process.stderr.write(`${t('cli.token.created', { id: record.id, about })}\n`);
    });
  token
    .command('revoke <id>')
    .description(t('cli.token.revoke'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .action(async (id: string, o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      const done = await store.revokeToken(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(t('cli.token.noActive', { id }));
      process.stdout.write(`${t('cli.token.revoked', { id })}\n`);
    });

  const agents = program.command('agents').description(t('cli.agents.description'));
  agents
    .command('list')
    .description(t('cli.agents.list'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .action(async (o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      for (const a of await store.listAgents()) {
        process.stdout.write(`${a.id}\t${a.hostname}\t${a.segment}\t${t(a.online ? 'cli.agents.online' : 'cli.agents.offline')}\t${a.lastSeenAt ?? '-'}\t${a.revokedAt ? t('cli.agents.revokedMark') : ''}\n`);
      }
      await store.close();
    });
  agents
    .command('revoke <id>')
    .description(t('cli.agents.revoke'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .action(async (id: string, o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      const done = await store.revokeAgent(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(t('cli.agents.noActive', { id }));
      process.stdout.write(`${t('cli.agents.revoked', { id })}\n`);
    });
  agents
    .command('confirm-change <id>')
    .description(t('cli.agents.confirmChange'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .option('--by <name>', t('cli.agents.opt.by'), process.env.USER ?? 'administrator')
    .action(async (id: string, o: { data: string; db?: string; by: string }) => {
      const store = await adminStore(o);
      const monitor = new TamperMonitor({ store, bus: new CollectorBus(), log: createLogger({ component: 'collector', console: false }), isConnected: () => false });
      await monitor.start();
      const closed = [await monitor.resolve(id, 'tampered', 'config', o.by), await monitor.resolve(id, 'tampered', 'binary', o.by)].filter(Boolean).length;
      await monitor.stop();
      await store.close();
      if (closed === 0) throw new UsageError(t('cli.agents.noTamper', { id }));
      process.stdout.write(`${t('cli.agents.tamperClosed', { id, n: closed })}\n`);
    });

  const admin = program.command('admin').description(t('cli.admin.description'));
  admin
    .command('unlock <username>')
    .description(t('cli.admin.unlock'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .option('--by <name>', t('cli.admin.opt.unlockBy'), process.env.USER ?? 'administrator')
    .action(async (username: string, o: { data: string; db?: string; by: string }) => {
      const store = await adminStore(o);
      try {
        await migrateConsole(store.sql);
        const user = await new Accounts(store.sql).unlock(username).catch((err: Error & { code?: string }) => {
          throw err.code === 'NOT_FOUND' ? new UsageError(t('cli.admin.noAccount', { username })) : err;
        });
        await new AuditLog(store.sql, undefined, AuditAnchor.of(resolve(o.data))).append({ actor: o.by, role: 'cli', ip: '-' }, 'account.unlocked', user.username);
        process.stdout.write(`${t('cli.admin.unlocked', { username: user.username })}\n`);
      } finally {
        await store.close();
      }
    });

  program
    .command('audit')
    .description(t('cli.audit.description'))
    .command('verify')
    .description(t('cli.audit.verify'))
    .option('--data <dir>', t('cli.audit.opt.data'), './var/collector')
    .option('--db <url>', t('cli.opt.db'))
    .action(async (o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      try {
        await migrateConsole(store.sql);
        const result = await new AuditLog(store.sql, undefined, AuditAnchor.of(resolve(o.data))).verify();
        if (result.ok) {
          process.stdout.write(`${t('cli.audit.intact', { rows: result.rows, checkpoints: result.checkpoints })}\n`);
        } else {
          process.stdout.write(`${t('cli.audit.tampered', { why: result.why, row: result.brokenAt })}\n`);
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
