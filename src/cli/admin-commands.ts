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
import { registerUpdateCommands } from './update-commands.js';

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`--listen ${text}: expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`--listen ${text}: port out of range`);
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
  const lines = [`証明書の名前 / certificate covers: ${serverCertNames(dataDir).join(', ')}  (PC はこのどれかで収集サーバーに接続します。名前の追加 / agents must reach the collector by one of these; add one with: mamori collector cert --san NAME --data ${dataDir})`];
  if (added.length) lines.push(`${added.join(', ')} を加えて同じ CA で証明書を再発行しました (PC の CA ピンはそのまま。動いている収集サーバーは再起動で反映) / certificate reissued under the same CA with ${added.join(', ')} added (agents keep their pin; restart a running collector to use it)`);
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
  if (!(AGENT_CERT_MODES as readonly string[]).includes(mode)) throw new UsageError(`--agent-certs ${mode}: ${AGENT_CERT_MODES.join('、')} のいずれかを指定してください / one of ${AGENT_CERT_MODES.join(', ')}`);
  const lifetimeDays = Number(days);
  if (!(lifetimeDays >= 1 && lifetimeDays <= 825)) throw new UsageError(`--agent-cert-days ${days}: 1〜825 の日数を指定してください / a number of days from 1 to 825`);
  if (mode !== 'off' && !tls) throw new UsageError(`--agent-certs ${mode} は TLS が前提です。--insecure-plain とは併用できません / needs TLS, not --insecure-plain`);
  return { mode: mode as AgentCertMode, lifetimeDays };
}

export function registerAdminCommands(program: Command): void {
  const collectorCommand = program
    .command('collector')
    .description('run a collector (HTTPS + WSS; `collector init` creates its CA on first use)')
    .option('--data <dir>', 'data directory (database, logs)', './var/collector')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8470')
    .option('--db <url>', 'postgres://… to store in PostgreSQL instead of embedded SQLite')
    .option('--heartbeat <seconds>', 'agent heartbeat interval', '30')
    .option('--insecure-plain', 'serve plain HTTP and ws:// without TLS (lab only)')
    .option('--san <names>', 'host names / addresses PCs use to reach the collector, comma-separated; added to the server certificate (same CA, same pin)')
    .option('--silent-after <minutes>', 'an agent silent this long becomes violation AGENT-001 (site parameter; product default 120)', '120')
    .option('--clock-skew <seconds>', 'a PC clock off by more than this becomes violation TIME-002 (site parameter; product default 300)', '300')
    .option('--agent-certs <mode>', 'client certificates for agents (mutual TLS): off, issue (issued, checked when presented), require (an agent without a valid one is refused)', 'off')
    .option('--agent-cert-days <days>', 'lifetime of an agent client certificate; agents renew with a third left', '30')
    .option('--agent-hmac <policy>', 'agents enrolled before key pairs: migrate (their secret only registers a key pair), accept (also agent versions without key pairs), refuse', 'migrate')
    .action(async (o: { data: string; listen: string; db?: string; heartbeat: string; insecurePlain?: boolean; san?: string; silentAfter: string; clockSkew: string; agentCerts: string; agentCertDays: string; agentHmac: string }) => {
      const dataDir = resolve(o.data);
      const { host, port } = parseListen(o.listen);
      const log = createLogger({ component: 'collector', dir: join(dataDir, 'logs') });
      const tlsInit = o.insecurePlain ? undefined : await collectorTls(dataDir, o.san);
      const tls = tlsInit?.material;
      if (!tls) log.warn('--insecure-plain: serving HTTP and ws:// WITHOUT TLS — enrollment tokens, agent secrets and violations cross the network readable (lab use only) / 暗号化なしで待ち受けます (検証環境専用)');
      const tamper = { silentAfterMs: Number(o.silentAfter) * 60_000, clockSkewMs: Number(o.clockSkew) * 1000 };
      if (!(tamper.silentAfterMs > 0) || !(tamper.clockSkewMs > 0)) throw new UsageError('--silent-after and --clock-skew must be positive numbers');
      const agentCerts = agentCertOptions(o.agentCerts, o.agentCertDays, Boolean(tls));
      if (!(AGENT_HMAC_POLICIES as readonly string[]).includes(o.agentHmac)) throw new UsageError(`--agent-hmac ${o.agentHmac}: ${AGENT_HMAC_POLICIES.join('、')} のいずれかを指定してください / one of ${AGENT_HMAC_POLICIES.join(', ')}`);
      let store;
      let cluster;
      if (o.db) {
        // Several nodes on one PostgreSQL database: the PG store, and the cluster that links the nodes.
        store = await openPostgresStore(o.db);
        cluster = new PgCluster(store, { log });
      }
      const collector = await startCollector({ dataDir, host, port, log, ...(store ? { store } : {}), ...(cluster ? { cluster } : {}), gateway: { heartbeatSeconds: Number(o.heartbeat), hmac: o.agentHmac as AgentHmacPolicy }, agentCerts, ...(tls ? { tls } : {}), tamper });
      process.stdout.write(`collector: agents connect to ${collector.agentUrl}; console at ${collector.consoleUrl}\n`);
      if (tls) process.stdout.write(`collector: CA fingerprint (agents pin it with --ca-pin) SHA256 ${formatFingerprint(tls.caFingerprint)}\n${certificateLines(dataDir, tlsInit?.added ?? [])}`);
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
    .description('create the collector CA, its HTTPS certificate and the policy-signing key under DATA/tls (--data and --san of `collector`; --san on an existing directory adds the names); prints the CA fingerprint agents pin')
    .action(async () => {
      // --data and --san belong to `collector` (commander gives options before or after `init` to the parent).
      const o = collectorCommand.opts<{ data: string; san?: string }>();
      const dataDir = resolve(o.data);
      const { material, created, added } = await collectorTls(dataDir, o.san);
      process.stdout.write(`${created ? 'created' : added.length ? 'updated' : 'kept'} ${join(dataDir, 'tls')}\nCA fingerprint (agents: --ca-pin / caFingerprint): SHA256 ${formatFingerprint(material.caFingerprint)}\n${certificateLines(dataDir, created ? [] : added)}`);
    });

  collectorCommand
    .command('cert')
    .description('show the names the server certificate covers; --san adds names PCs use (reissued under the same CA: agents keep their pin)')
    .action(async () => {
      const o = collectorCommand.opts<{ data: string; san?: string }>();
      const dataDir = resolve(o.data);
      if (!hasTls(dataDir)) throw new UsageError(`${join(dataDir, 'tls')}: no collector certificate yet (run: mamori collector init --data ${dataDir})`);
      const { added } = await collectorTls(dataDir, o.san);
      if (o.san && added.length === 0) process.stdout.write(`collector: the certificate already covers ${o.san}\n`);
      process.stdout.write(certificateLines(dataDir, added));
    });

  const token = program.command('token').description('enrollment tokens');
  token
    .command('create')
    .description('make an enrollment token and print it')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .option('--segment <segment>', 'segment of the PCs that enroll with it: mynumber, lgwan, internet', 'lgwan')
    .option('--expires <duration>', 'valid for, e.g. 12h or 7d', '7d')
    .option('--single-use', 'the token enrolls one PC only')
    .option('--note <text>', 'what the token is for')
    .option('--department <課>', 'the 課 the PCs that enroll with it land in (所属)')
    .action(async (o: { data: string; db?: string; segment: string; expires: string; singleUse?: boolean; note?: string; department?: string }) => {
      const segment = Segment.safeParse(o.segment);
      if (!segment.success) throw new UsageError(`--segment ${o.segment}: one of mynumber, lgwan, internet`);
      const store = await adminStore(o);
      const { token: text, record } = await createEnrollmentToken(store, { segment: segment.data, expiresInMs: parseDuration(o.expires), singleUse: Boolean(o.singleUse), ...(o.note ? { note: o.note } : {}), ...(o.department ? { department: o.department } : {}) });
      await store.close();
      process.stdout.write(`${text}\n`);
      process.stderr.write(`token ${record.id}: segment ${record.segment}${record.department ? `, 課 ${record.department}` : ''}, expires ${record.expiresAt}${record.singleUse ? ', single use' : ''}\n`);
    });
  token
    .command('revoke <id>')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .action(async (id: string, o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      const done = await store.revokeToken(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(`no active token ${id}`);
      process.stdout.write(`token ${id} revoked\n`);
    });

  const agents = program.command('agents').description('enrolled agents');
  agents
    .command('list')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .action(async (o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      for (const a of await store.listAgents()) {
        process.stdout.write(`${a.id}\t${a.hostname}\t${a.segment}\t${a.online ? 'online' : 'offline'}\t${a.lastSeenAt ?? '-'}\t${a.revokedAt ? 'revoked' : ''}\n`);
      }
      await store.close();
    });
  agents
    .command('revoke <id>')
    .description('refuse this agent from now on (it is disconnected within one heartbeat)')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .action(async (id: string, o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      const done = await store.revokeAgent(id, new Date().toISOString());
      await store.close();
      if (!done) throw new UsageError(`no active agent ${id}`);
      process.stdout.write(`agent ${id} revoked\n`);
    });
  agents
    .command('confirm-change <id>')
    .description('close AGENT-004 (configuration / program of the agent changed) after confirming the change was authorised')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .option('--by <name>', 'who confirmed it (kept as the closing reason)', process.env.USER ?? 'administrator')
    .action(async (id: string, o: { data: string; db?: string; by: string }) => {
      const store = await adminStore(o);
      const monitor = new TamperMonitor({ store, bus: new CollectorBus(), log: createLogger({ component: 'collector', console: false }), isConnected: () => false });
      await monitor.start();
      const closed = [await monitor.resolve(id, 'tampered', 'config', o.by), await monitor.resolve(id, 'tampered', 'binary', o.by)].filter(Boolean).length;
      await monitor.stop();
      await store.close();
      if (closed === 0) throw new UsageError(`agent ${id} has no open AGENT-004 violation`);
      process.stdout.write(`agent ${id}: ${closed} AGENT-004 violation(s) closed\n`);
    });

  const admin = program.command('admin').description('console accounts (on the collector host)');
  admin
    .command('unlock <username>')
    .description('clear the login lockout of a console account (after checking with its owner)')
    .option('--data <dir>', 'collector data directory', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .option('--by <name>', 'who unlocked it (kept in the audit log)', process.env.USER ?? 'administrator')
    .action(async (username: string, o: { data: string; db?: string; by: string }) => {
      const store = await adminStore(o);
      try {
        await migrateConsole(store.sql);
        const user = await new Accounts(store.sql).unlock(username).catch((err: Error & { code?: string }) => {
          throw err.code === 'NOT_FOUND' ? new UsageError(`no console account ${username}`) : err;
        });
        await new AuditLog(store.sql, undefined, AuditAnchor.of(resolve(o.data))).append({ actor: o.by, role: 'cli', ip: '-' }, 'account.unlocked', user.username);
        process.stdout.write(`account ${user.username} unlocked\n`);
      } finally {
        await store.close();
      }
    });

  program
    .command('audit')
    .description('the console audit log')
    .command('verify')
    .description('check the audit log: hash chain, the MAC of every row (key in DATA/tls) and the checkpoints in DATA/audit-checkpoints.jsonl; exit 1 when rows were changed, added or removed')
    .option('--data <dir>', 'collector data directory (holds the audit key and the checkpoints)', './var/collector')
    .option('--db <url>', 'postgres://… when the collectors store in PostgreSQL')
    .action(async (o: { data: string; db?: string }) => {
      const store = await adminStore(o);
      try {
        await migrateConsole(store.sql);
        const result = await new AuditLog(store.sql, undefined, AuditAnchor.of(resolve(o.data))).verify();
        if (result.ok) {
          process.stdout.write(`監査ログは正常です: ${result.rows} 行, チェックポイント ${result.checkpoints} 件 (audit log intact)\n`);
        } else {
          process.stdout.write(`監査ログの改ざんを検出しました: ${result.why} (行 ${result.brokenAt}; audit log tampered)\n`);
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
