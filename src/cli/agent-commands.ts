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
import { t } from './lang.js';

/** module.flushCompileCache: Node 22.10 and later (the packages ship Node 24; `mamori up` may run on Node 20). */
const flushCompileCache = (nodeModule as { flushCompileCache?: () => void }).flushCompileCache;

function checkList(values: string[] | undefined): CheckId[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => {
    const parsed = CheckId.safeParse(v);
    if (!parsed.success) throw new UsageError(t('cli.agent.unknownCheck', { check: v, checks: CheckId.options.join(', ') }));
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
  if (url.startsWith('ws:')) log.warn(t('cli.agent.plainWarning', { url }));
}

export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description(t('cli.agent.description'));

  agent
    .command('run')
    .description(t('cli.agent.run'))
    .option('--collector <url>', t('cli.agent.opt.collector'))
    .option('--enroll <token>', t('cli.agent.opt.enroll'))
    .option('--state <dir>', t('cli.agent.opt.state'))
    .option('--config <file>', t('cli.agent.opt.config'))
    .option('--replay <dir>', t('cli.agent.opt.replay'))
    .option('--schedule <cron>', t('cli.agent.opt.schedule'))
    .option('--ca-pin <sha256>', t('cli.agent.opt.caPin'))
    .option('--insecure-plain', t('cli.agent.opt.insecurePlain'))
    .option('--re-enroll', t('cli.agent.opt.reEnroll'))
    .action(async (o: { collector?: string; enroll?: string; state?: string; config?: string; replay?: string; schedule?: string; caPin?: string; insecurePlain?: boolean; reEnroll?: boolean }) => {
      const config = loadAgentConfig(o.config);
      const stateDir = resolve(o.state ?? config.stateDir ?? defaultStateDir());
      ensureStateDir(stateDir);
      const log = createLogger({ component: 'agent', dir: config.logDir ?? join(stateDir, 'logs') });
      if (o.reEnroll) {
        if (!(o.enroll ?? config.enrollToken)) throw new UsageError(t('cli.agent.reEnrollToken'));
        const retired = retireIdentity(stateDir);
        if (retired) log.warn(t('cli.agent.reEnrolling', { dir: retired }));
      }
      let identity = loadIdentity(stateDir);
      let initialPolicy: PolicyPushFrame | undefined;
      const collectorUrl = o.collector ?? config.collector ?? identity?.collectorUrl;
      if (!collectorUrl) throw new UsageError(t('cli.agent.noCollector'));
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
            if (o.config && !o.enroll && forgetEnrollToken(resolve(o.config))) log.info(t('cli.enroll.tokenRemoved', { file: resolve(o.config) }));
          },
          attempt: () => {
            // Read again each time: `mamori agent configure --token-file …` fixes a refused token without a restart.
            const current = loadAgentConfig(o.config);
            return { stateDir, collectorUrl, token: o.enroll ?? current.enrollToken, pin: o.caPin ?? current.caFingerprint, allowPlain: Boolean(o.insecurePlain), os: describeOs(probes), agentVersion: AGENT_VERSION };
          },
        });
        if (!done) {
          log.info(t('cli.agent.stoppedBeforeEnrolling'));
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
      log.info(t('cli.agent.running', { id: identity.agentId, host: hostname(), url: collectorUrl }));
      // The service sets NODE_COMPILE_CACHE (installer/linux/mamori-agent.service): write the
      // compiled code now rather than at exit, which a killed or crashed agent never reaches.
      flushCompileCache?.();
      const shutdown = async (signal: string) => {
        const shutdown = await daemon.systemShuttingDown().catch(() => null);
        log.info(t(shutdown ? 'cli.agent.stoppingShutdown' : 'cli.agent.stopping', { signal }));
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
    .description(t('cli.agent.notifyUninstall'))
    .option('--state <dir>', t('cli.agent.opt.state'))
    .option('--config <file>', t('cli.agent.opt.config'))
    .option('--insecure-plain', t('cli.agent.opt.insecurePlain'))
    .option('--timeout <seconds>', t('cli.agent.opt.notifyTimeout'), '15')
    .action(async (o: { state?: string; config?: string; insecurePlain?: boolean; timeout: string }) => {
      const config = loadAgentConfig(o.config);
      const stateDir = resolve(o.state ?? config.stateDir ?? defaultStateDir());
      const identity = loadIdentity(stateDir);
      if (!identity) throw new UsageError(t('cli.agent.noIdentity', { dir: stateDir }));
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
      process.stdout.write(`${t(delivered ? 'cli.agent.uninstallReported' : 'cli.agent.uninstallNotReported')}\n`);
      process.exitCode = delivered ? 0 : 1;
    });

  agent
    .command('update-guard', { hidden: true })
    .description('install a verified agent update and go back to the previous package when the new agent does not return (started by the agent)')
    .option('--state <dir>', t('cli.agent.opt.state'))
    .action(async (o: { state?: string }) => {
      const stateDir = resolve(o.state ?? defaultStateDir());
      // On Windows the guard runs from a copy (agent/update/updater.ts): the installed program is in programDir.
      const programDir = readPending(stateDir)?.programDir ?? dirname(resolve(process.argv[1]!));
      const outcome = await runUpdateGuard({ stateDir, releaseKey: pinnedReleaseKey(stateDir, programDir) });
      process.exitCode = outcome === 'confirmed' || outcome === 'nothing' ? 0 : 1;
    });

  agent
    .command('check')
    .description(t('cli.agent.check'))
    .option('--check <id...>', t('cli.agent.opt.check'))
    .option('--replay <dir>', t('cli.agent.opt.replay'))
    .option('--segment <segment>', t('cli.agent.opt.segment'))
    .option('--json', t('cli.agent.opt.json'))
    .action(async (o: { check?: string[]; replay?: string; segment?: string; json?: boolean }) => {
      const parsedSegment = o.segment === undefined ? undefined : Segment.safeParse(o.segment);
      if (parsedSegment && !parsedSegment.success) throw new UsageError(t('cli.common.oneOf', { option: `--segment ${o.segment}`, values: [...Segment.options] }));
      const segment = parsedSegment?.data;
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
    .description(t('cli.agent.collect'))
    .requiredOption('--save <dir>', t('cli.agent.opt.save'))
    .option('--check <id...>', t('cli.agent.opt.check'))
    .option('--note <text>', t('cli.agent.opt.note'))
    .action(async (o: { save: string; check?: string[]; note?: string }) => {
      const probes = new RecordingProbes(liveProbes(), resolve(o.save), { hostname: hostname(), agentVersion: AGENT_VERSION, source: o.note ?? `recorded by mamori agent collect on ${hostname()}` });
      const report = await localCheck({ probes, checks: checkList(o.check) });
      const unknown = report.checks.filter((c) => c.status === 'unknown').map((c) => c.id);
      process.stdout.write(`${t(unknown.length ? 'cli.agent.recordedUnknown' : 'cli.agent.recorded', { n: report.checks.length, dir: resolve(o.save), unknown: unknown.join(', ') })}\n`);
    });
}
