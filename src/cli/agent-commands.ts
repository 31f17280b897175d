/** `mamori agent …`: run the daemon, one local check, record probe outputs. */
import * as nodeModule from 'node:module';
import { hostname, setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AGENT_VERSION, Agent, describeOs } from '../../agent/agent.js';
import { collectorTrust, ensureStateDir, forgetSecret, loadIdentity, retireIdentity, saveIdentity, withAgentKey } from '../../agent/identity.js';
import { DEFAULT_RETRY, enrollUntilDone } from '../../agent/enrollment.js';
import { windowsEventLog } from '../../agent/event-log.js';
import { ClientCertificate } from '../../agent/client-cert.js';
import { AgentLink } from '../../agent/link/link.js';
import { Outbox } from '../../agent/outbox/outbox.js';
import { runUpdateGuard } from '../../agent/update/guard.js';
import { readPending } from '../../agent/update/pending.js';
import { pinnedReleaseKey } from '../../agent/update/release-key.js';
import { localCheck } from '../../agent/local-check.js';
import { liveProbes } from '../../agent/probes/index.js';
import { RecordingProbes } from '../../agent/probes/replay.js';
import { ReplayProbes } from '../../agent/probes/replay.js';
import { loadAgentConfig } from '../shared/config/agent.js';
import type { AgentConfig } from '../shared/config/agent.js';
import { createLogger } from '../shared/log.js';
import type { Logger } from '../shared/log.js';
import { CheckId, Segment } from '../shared/protocol/messages.js';
import type { PolicyPushFrame } from '../shared/protocol/messages.js';
import { TlsError } from '../shared/tls/errors.js';
import { UsageError } from './errors.js';
import { forgetEnrollToken } from './enroll-token.js';

/** module.flushCompileCache: Node 22.10 and later (the packages ship Node 24; `mamori up` may run on Node 20). */
const flushCompileCache = (nodeModule as { flushCompileCache?: () => void }).flushCompileCache;

function checkList(values: string[] | undefined): CheckId[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => {
    const parsed = CheckId.safeParse(v);
    if (!parsed.success) throw new UsageError(`unknown check "${v}" (one of ${CheckId.options.join(', ')})`);
    return parsed.data;
  });
}

export function defaultStateDir(): string {
  return process.platform === 'win32' ? 'C:\\ProgramData\\mamori' : '/var/lib/mamori';
}

function watchdogOptions(config: AgentConfig) {
  const w = config.watchdog;
  if (!w) return {};
  return {
    ...(w.memoryLimitMB !== undefined ? { memoryLimitBytes: w.memoryLimitMB * 1024 * 1024 } : {}),
    ...(w.cpuLimitPercent !== undefined ? { cpuLimitPercent: w.cpuLimitPercent } : {}),
    ...(w.intervalSeconds !== undefined ? { intervalMs: w.intervalSeconds * 1000 } : {}),
    ...(w.strikes !== undefined ? { strikes: w.strikes } : {}),
  };
}

/** collectorTrust with its TlsError turned into a one-line CLI error (exit 2) that keeps the code. */
async function trust(o: Parameters<typeof collectorTrust>[0]): ReturnType<typeof collectorTrust> {
  try {
    return await collectorTrust(o);
  } catch (err) {
    if (err instanceof TlsError) throw new UsageError(`${err.code}: ${err.message}`);
    throw err;
  }
}

function warnPlain(log: Logger, url: string): void {
  if (url.startsWith('ws:')) log.warn(`--insecure-plain: talking to ${url} WITHOUT TLS — tokens, secrets and findings cross the network readable (lab use only) / 暗号化なしで通信します (検証環境専用)`);
}

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('the endpoint agent');

  agent
    .command('run')
    .description('run the agent daemon (enrolls first when the state directory has no identity)')
    .option('--collector <url>', 'collector agent endpoint, e.g. ws://collector:8470/agent')
    .option('--enroll <token>', 'enrollment token (used once)')
    .option('--state <dir>', 'state directory (identity, outbox)')
    .option('--config <file>', 'agent configuration file (YAML)')
    .option('--replay <dir>', 'judge a recorded PC instead of this one')
    .option('--schedule <cron>', 'cron expression of the full check run')
    .option('--ca-pin <sha256>', 'SHA-256 fingerprint of the collector CA (printed by `mamori collector init`), checked at first contact')
    .option('--insecure-plain', 'allow a ws:// collector without TLS (lab only)')
    .option('--re-enroll', 'this PC was revoked: retire the old identity and enroll again with --enroll TOKEN')
    .action(async (o: { collector?: string; enroll?: string; state?: string; config?: string; replay?: string; schedule?: string; caPin?: string; insecurePlain?: boolean; reEnroll?: boolean }) => {
      const config = loadAgentConfig(o.config);
      const stateDir = resolve(o.state ?? config.stateDir ?? defaultStateDir());
      ensureStateDir(stateDir);
      const log = createLogger({ component: 'agent', dir: config.logDir ?? join(stateDir, 'logs') });
      if (o.reEnroll) {
        if (!(o.enroll ?? config.enrollToken)) throw new UsageError('--re-enroll needs a new enrollment token: --enroll TOKEN');
        const retired = retireIdentity(stateDir);
        if (retired) log.warn(`re-enrolling: the previous identity is kept in ${retired} and stays revoked on the collector`);
      }
      let identity = loadIdentity(stateDir);
      let initialPolicy: PolicyPushFrame | undefined;
      const collectorUrl = o.collector ?? config.collector ?? identity?.collectorUrl;
      if (!collectorUrl) throw new UsageError('no collector: give --collector URL or `collector:` in the config file');
      warnPlain(log, collectorUrl);
      let wsOptions: Awaited<ReturnType<typeof trust>>;
      // A stop asked for before the daemon runs (while enrolling, or starting) is kept and honoured once it runs.
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      if (!identity) {
        // Not enrolled yet (an offline PC at install time, or a token being fixed): try until it
        // works, saying why it does not (mamori status, log, Windows event log).
        const probes = o.replay ? new ReplayProbes(o.replay) : liveProbes();
        const eventLog = windowsEventLog();
        const done = await enrollUntilDone({
          stateDir,
          signal: stop.signal,
          log,
          ...(eventLog ? { eventLog } : {}),
          delays: () => loadAgentConfig(o.config).enrollRetry ?? DEFAULT_RETRY,
          onEnrolled: () => {
            if (o.config && !o.enroll && forgetEnrollToken(resolve(o.config))) log.info(`enrollment token removed from ${resolve(o.config)}`);
          },
          attempt: () => {
            // Read again each time: `mamori agent configure --token-file …` fixes a refused token without a restart.
            const current = loadAgentConfig(o.config);
            return { stateDir, collectorUrl, token: o.enroll ?? current.enrollToken, pin: o.caPin ?? current.caFingerprint, allowPlain: Boolean(o.insecurePlain), os: describeOs(probes), agentVersion: AGENT_VERSION };
          },
        });
        if (!done) {
          log.info('stopped before enrolling');
          return;
        }
        identity = done.identity;
        wsOptions = done.wsOptions;
        initialPolicy = done.initialPolicy;
      } else {
        wsOptions = await trust({ url: collectorUrl, stateDir, pin: o.caPin ?? config.caFingerprint, allowPlain: Boolean(o.insecurePlain) });
        if (identity.collectorUrl !== collectorUrl) {
          identity = { ...identity, collectorUrl };
          saveIdentity(stateDir, identity);
        }
      }
      const { platformWatchers } = await import('../../agent/watchers/index.js');
      const watchers = o.replay ? [] : platformWatchers({ log });
      const daemon = new Agent({
        usbEnforcement: config.usbEnforcement,
        identity,
        stateDir,
        log,
        replayDir: o.replay,
        schedule: o.schedule ?? config.schedule,
        outboxCapBytes: config.outboxCapBytes,
        watchers,
        wsOptions,
        ...(initialPolicy ? { initialPolicy } : {}),
        watchdog: watchdogOptions(config),
        ...(o.config ? { configPath: resolve(o.config) } : {}),
        // This very program (bin/mamori.js or the installed bundle), for work done in a child process.
        selfCommand: [process.execPath, ...process.execArgv, resolve(process.argv[1]!)],
      });
      await daemon.start();
      log.info(`agent ${identity.agentId} running on ${hostname()}; collector ${collectorUrl}`);
      // The service sets NODE_COMPILE_CACHE (installer/linux/mamori-agent.service): write the
      // compiled code now rather than at exit, which a killed or crashed agent never reaches.
      flushCompileCache?.();
      const shutdown = async (signal: string) => {
        const shutdown = await daemon.systemShuttingDown().catch(() => null);
        log.info(`stopping (${signal}${shutdown ? ', system shutdown' : ''})`);
        await daemon.stop({ detail: { signal, shutdown } });
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (stop.signal.aborted) void shutdown('SIGTERM');
    });

  agent
    .command('notify-uninstall')
    .description('tell the collector this agent is being uninstalled (the uninstaller runs it after stopping the service)')
    .option('--state <dir>', 'state directory (identity, outbox)')
    .option('--config <file>', 'agent configuration file (YAML)')
    .option('--insecure-plain', 'allow a ws:// collector without TLS (lab only)')
    .option('--timeout <seconds>', 'how long to try to reach the collector', '15')
    .action(async (o: { state?: string; config?: string; insecurePlain?: boolean; timeout: string }) => {
      const config = loadAgentConfig(o.config);
      const stateDir = resolve(o.state ?? config.stateDir ?? defaultStateDir());
      const identity = loadIdentity(stateDir);
      if (!identity) throw new UsageError(`${stateDir} has no identity: nothing to report`);
      const log = createLogger({ component: 'agent', dir: config.logDir ?? join(stateDir, 'logs') });
      const wsOptions = await trust({ url: identity.collectorUrl, stateDir, pin: config.caFingerprint, allowPlain: Boolean(o.insecurePlain) });
      const outbox = Outbox.open(join(stateDir, 'outbox'));
      const [notice] = outbox.append([{ at: new Date().toISOString(), kind: 'agent.notice', notice: 'uninstalling', detail: { host: hostname() } }]);
      const keyed = withAgentKey(stateDir, identity);
      const link = new AgentLink({ url: identity.collectorUrl, identity: keyed, clientCert: new ClientCertificate(stateDir, keyed.privateKey), onKeyRegistered: () => forgetSecret(stateDir), outbox, os: describeOs(liveProbes()), agentVersion: AGENT_VERSION, policyVersion: () => 0, log, wsOptions });
      link.start();
      const until = Date.now() + Number(o.timeout) * 1000;
      while (outbox.acked < notice!.seq && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const delivered = outbox.acked >= notice!.seq;
      await link.stop();
      outbox.close();
      process.stdout.write(delivered ? 'collector informed of the uninstall\n' : 'collector not reached; the uninstall is not reported\n');
      process.exitCode = delivered ? 0 : 1;
    });

  agent
    .command('update-guard', { hidden: true })
    .description('install a verified agent update and go back to the previous package when the new agent does not return (started by the agent)')
    .option('--state <dir>', 'state directory (identity, outbox)')
    .action(async (o: { state?: string }) => {
      const stateDir = resolve(o.state ?? defaultStateDir());
      // On Windows the guard runs from a copy (agent/update/updater.ts): the installed program is in programDir.
      const programDir = readPending(stateDir)?.programDir ?? dirname(resolve(process.argv[1]!));
      const outcome = await runUpdateGuard({ stateDir, releaseKey: pinnedReleaseKey(stateDir, programDir) });
      process.exitCode = outcome === 'confirmed' || outcome === 'nothing' ? 0 : 1;
    });

  agent
    .command('check')
    .description('one local evaluation of this PC (or a recording): facts and findings')
    .option('--check <id...>', 'only these checks')
    .option('--replay <dir>', 'judge a recorded PC')
    .option('--segment <segment>', 'segment to judge for: mynumber, lgwan, internet')
    .option('--json', 'print JSON (the only format so far)')
    .action(async (o: { check?: string[]; replay?: string; segment?: string; json?: boolean }) => {
      const segment = o.segment ? Segment.parse(o.segment) : undefined;
      const report = await localCheck({ ...(o.replay ? { replayDir: o.replay } : {}), checks: checkList(o.check), ...(segment ? { segment } : {}) });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    });

  // The daemon's Linux inventory runs systeminformation in this short-lived child process, so the
  // daemon never keeps the library and its garbage in memory (agent/checks/inventory/linux.ts).
  agent
    .command('inventory-calls', { hidden: true })
    .description('print the results of the inventory\'s systeminformation calls as JSON (run by the agent itself)')
    .action(async () => {
      // A second Node process loading the agent and running ~20 commands: below the agent and the desktop in CPU priority (nice 10; its commands inherit it).
      try {
        setPriority(10);
      } catch {
        // Not allowed to change it (a hardened container): it runs at the agent's priority.
      }
      const { runInventoryCalls } = await import('../../agent/checks/inventory/linux.js');
      process.stdout.write(`${JSON.stringify(await runInventoryCalls())}\n`);
    });

  agent
    .command('collect')
    .description('record every raw probe output of this PC into DIR (for replay and for support)')
    .requiredOption('--save <dir>', 'directory to write the recording to')
    .option('--check <id...>', 'only these checks')
    .option('--note <text>', 'where the recording comes from (kept in meta.json)')
    .action(async (o: { save: string; check?: string[]; note?: string }) => {
      const probes = new RecordingProbes(liveProbes(), resolve(o.save), { hostname: hostname(), agentVersion: AGENT_VERSION, source: o.note ?? `recorded by mamori agent collect on ${hostname()}` });
      const report = await localCheck({ probes, checks: checkList(o.check) });
      const unknown = report.checks.filter((c) => c.status === 'unknown').map((c) => c.id);
      process.stdout.write(`recorded ${report.checks.length} checks into ${resolve(o.save)}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}\n`);
    });
}
