/** `mamori agent …`: run the daemon, one local check, record probe outputs. */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AGENT_VERSION, Agent, describeOs } from '../../agent/agent.js';
import { ensureStateDir, loadIdentity, saveIdentity } from '../../agent/identity.js';
import { enroll } from '../../agent/link/enroll.js';
import { localCheck } from '../../agent/local-check.js';
import { LiveProbes } from '../../agent/probes/live.js';
import { RecordingProbes } from '../../agent/probes/replay.js';
import { ReplayProbes } from '../../agent/probes/replay.js';
import { loadAgentConfig } from '../shared/config/agent.js';
import { createLogger } from '../shared/log.js';
import { CheckId, Segment } from '../shared/protocol/messages.js';
import { UsageError } from './errors.js';

function checkList(values: string[] | undefined): CheckId[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((v) => {
    const parsed = CheckId.safeParse(v);
    if (!parsed.success) throw new UsageError(`unknown check "${v}" (one of ${CheckId.options.join(', ')})`);
    return parsed.data;
  });
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
    .action(async (o: { collector?: string; enroll?: string; state?: string; config?: string; replay?: string; schedule?: string }) => {
      const config = loadAgentConfig(o.config);
      const stateDir = resolve(o.state ?? config.stateDir ?? (process.platform === 'win32' ? 'C:\\ProgramData\\mamori' : '/var/lib/mamori'));
      ensureStateDir(stateDir);
      const log = createLogger({ component: 'agent', dir: config.logDir ?? join(stateDir, 'logs') });
      let identity = loadIdentity(stateDir);
      const collectorUrl = o.collector ?? config.collector ?? identity?.collectorUrl;
      if (!collectorUrl) throw new UsageError('no collector: give --collector URL or `collector:` in the config file');
      if (!identity) {
        const token = o.enroll ?? config.enrollToken;
        if (!token) throw new UsageError(`${stateDir} has no identity yet: give --enroll TOKEN`);
        const probes = o.replay ? new ReplayProbes(o.replay) : new LiveProbes();
        const enrolled = await enroll(collectorUrl, token, describeOs(probes), AGENT_VERSION);
        identity = { ...enrolled, collectorUrl, enrolledAt: new Date().toISOString() };
        saveIdentity(stateDir, identity);
        log.info(`enrolled as ${identity.agentId} (segment ${identity.segment})`);
      } else if (identity.collectorUrl !== collectorUrl) {
        identity = { ...identity, collectorUrl };
        saveIdentity(stateDir, identity);
      }
      const { platformWatchers } = await import('../../agent/watchers/index.js');
      const watchers = o.replay ? [] : platformWatchers({ log, usbEnforcement: config.usbEnforcement });
      const daemon = new Agent({ identity, stateDir, log, replayDir: o.replay, schedule: o.schedule ?? config.schedule, outboxCapBytes: config.outboxCapBytes, watchers });
      await daemon.start();
      log.info(`agent ${identity.agentId} running on ${hostname()}; collector ${collectorUrl}`);
      const shutdown = async (signal: string) => {
        log.info(`stopping (${signal})`);
        await daemon.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
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

  agent
    .command('collect')
    .description('record every raw probe output of this PC into DIR (for replay and for support)')
    .requiredOption('--save <dir>', 'directory to write the recording to')
    .option('--check <id...>', 'only these checks')
    .option('--note <text>', 'where the recording comes from (kept in meta.json)')
    .action(async (o: { save: string; check?: string[]; note?: string }) => {
      const probes = new RecordingProbes(new LiveProbes(), resolve(o.save), { hostname: hostname(), agentVersion: AGENT_VERSION, source: o.note ?? `recorded by mamori agent collect on ${hostname()}` });
      const report = await localCheck({ probes, checks: checkList(o.check) });
      const unknown = report.checks.filter((c) => c.status === 'unknown').map((c) => c.id);
      process.stdout.write(`recorded ${report.checks.length} checks into ${resolve(o.save)}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}\n`);
    });
}
