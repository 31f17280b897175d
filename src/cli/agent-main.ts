/**
 * Entry point of the installed agent (the bundle that the .deb and the MSI ship). It registers
 * only the `agent …` commands (including `agent notify-uninstall`, which the uninstallers run), so
 * the bundle carries none of the collector's dependencies (better-sqlite3, fastify), plus the
 * command the installers write the configuration with:
 *
 *   mamori agent configure --config FILE [--collector URL] [--token-file FILE | --token-stdin | --token T]
 *                          [--ca-pin SHA256] [--segment S] [--state DIR] [--log-dir DIR]
 *
 * The enrollment token is read from a file or standard input so it never appears in a process
 * list (/proc/PID/cmdline is readable by every local user); `--token` remains for the MSI, whose
 * custom action cannot feed standard input and hides its command line from the log instead.
 *
 * Under the Windows service host (installer/windows/service-host.c) the agent has no console,
 * so Ctrl+C cannot reach it: the host sets MAMORI_SERVICE_HOST=1 and closes the agent's
 * standard input to ask it to stop, which takes the same shutdown path as SIGTERM.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { text as readStream } from 'node:stream/consumers';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { AGENT_VERSION, describeOs } from '../../agent/agent.js';
import { ensureStateDir, loadCollectorCa, loadIdentity, retireIdentity } from '../../agent/identity.js';
import { loadYamlFile } from '../shared/catalogue/load.js';
import { AgentConfig, loadAgentConfig } from '../shared/config/agent.js';
import { Segment } from '../shared/protocol/messages.js';
import { TlsError } from '../shared/tls/errors.js';
import { formatFingerprint } from '../shared/tls/fingerprint.js';
import { defaultStateDir, registerAgentCommands } from './agent-commands.js';
import { forgetEnrollToken } from './enroll-token.js';
import { registerStatusCommand } from './status-command.js';
import { CERTIFICATE_REFUSED, classifyEnrollmentFailure, clearEnrollmentStatus, enrollOnce, recordEnrollmentFailure } from '../../agent/enrollment.js';
import { windowsEventLog } from '../../agent/event-log.js';
import { liveProbes } from '../../agent/probes/index.js';
import { UsageError, runCommandLine } from './errors.js';
import { localizeCommander, t } from './lang.js';

/** Values the installers hand over (MSI properties, postinst environment, install.sh / install.ps1 flags). */
export interface InstallSettings {
  collector?: string;
  token?: string;
  caPin?: string;
  segment?: string;
  stateDir?: string;
  logDir?: string;
  /** Enroll again with `token` (another collector or segment): the current identity is retired. */
  reEnroll?: boolean;
}

/** The entry point was put together wrongly (a bug, not bad input). */
export class CliWiringError extends Error {
  readonly code = 'CLI_WIRING';
}

/** The CA pin in the form an administrator compares by eye ("AB:CD:…"); a malformed pin is a usage error. */
function pinText(pin: string): string {
  try {
    return formatFingerprint(pin);
  } catch (err) {
    if (err instanceof TlsError) throw new UsageError(`--ca-pin: ${t('cli.install.badPin', { detail: err.message })}`);
    throw err;
  }
}

function given(value: string | undefined): string | undefined {
  // MSI passes unset properties as empty strings ("[TOKEN]" → ""); they mean "not given".
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

const SEGMENT_COMMENT_PREFIX = '# segment requested at install time (インストール時に指定された区分): ';
const SEGMENT_COMMENT = /^# segment requested at install time \(インストール時に指定された区分\): (\S+)$/m;

/**
 * Merge the installer's settings into the agent configuration file and write it owner-only.
 * Keys not given keep their current value, so an upgrade without settings changes nothing.
 * Returns the text written.
 */
export function writeAgentConfig(file: string, settings: InstallSettings): string {
  let current: Record<string, unknown> = {};
  let currentText: string | undefined;
  if (existsSync(file)) {
    // Validate with file/line errors first, then keep the keys as written (no defaults filled in).
    loadYamlFile(file, AgentConfig);
    currentText = readFileSync(file, 'utf8');
    current = { ...(parse(currentText) as Record<string, unknown> | null) };
  }
  const collector = given(settings.collector);
  let token = given(settings.token);
  const identityDir = given(settings.stateDir) ?? (typeof current.stateDir === 'string' ? current.stateDir : undefined);
  if (settings.reEnroll && !token) throw new UsageError(t('cli.install.reEnrollToken'));
  if (token && !settings.reEnroll && identityDir && loadIdentity(identityDir)) {
    // Already enrolled: the token would never be used, only left lying in the file.
    process.stderr.write(`${identityDir}: ${t('cli.install.tokenNotStored')}\n`);
    token = undefined;
  }
  const caPin = given(settings.caPin);
  // The segment lives only in a comment (see the header below): kept when not given again.
  const segmentText = given(settings.segment) ?? (currentText ? SEGMENT_COMMENT.exec(currentText)?.[1] : undefined);
  const segment = segmentText === undefined ? undefined : Segment.safeParse(segmentText);
  if (segment && !segment.success) throw new UsageError(t('cli.common.oneOf', { option: `--segment ${segmentText}`, values: [...Segment.options] }));
  const next: Record<string, unknown> = {
    ...current,
    ...(collector ? { collector } : {}),
    ...(token ? { enrollToken: token } : {}),
    ...(caPin ? { caFingerprint: pinText(caPin) } : {}),
    ...(given(settings.stateDir) ? { stateDir: given(settings.stateDir) } : {}),
    ...(given(settings.logDir) ? { logDir: given(settings.logDir) } : {}),
  };
  const checked = AgentConfig.safeParse(next);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const stateDir = typeof next.stateDir === 'string' ? next.stateDir : undefined;
  if (!next.collector && !(stateDir && loadIdentity(stateDir))) throw new UsageError(t('cli.install.noCollector'));
  // The installed service runs without --insecure-plain, so it only talks wss:// and needs the
  // collector CA: pinned here, or already stored in the state directory by an earlier run.
  if (typeof next.collector === 'string') {
    if (!next.collector.startsWith('wss://')) throw new UsageError(t('cli.install.wssOnly', { url: next.collector }));
    if (!next.caFingerprint && !(stateDir && loadCollectorCa(stateDir))) throw new UsageError(t('cli.install.noPin'));
  }
  const header = [
    '# mamori agent configuration, written by the installer (mamori agent configure).',
    '# エージェント設定ファイル。root / SYSTEM のみ読み書き可。インストール手順: docs/install.md',
    // The agent's configuration schema has no segment key: the collector assigns the segment
    // from the enrollment token. The installer's value is kept here for the administrator.
    ...(segment?.success ? [`${SEGMENT_COMMENT_PREFIX}${segment.data}`] : []),
  ];
  const text = `${header.join('\n')}\n${stringify(next)}`;
  // Same settings again (an upgrade, a repeated push): the file is left untouched, so its
  // hash, which the agent watches for tampering, does not change.
  if (text === currentText) return text;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  if (process.platform !== 'win32') chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return text;
}

/**
 * Windows: restrict DIR (state, config, logs) to SYSTEM and Administrators, dropping the
 * Users read access that C:\ProgramData hands down by inheritance. SIDs, not names, because
 * group names are localised (S-1-5-18 = LocalSystem, S-1-5-32-544 = BUILTIN\Administrators;
 * "Well-known SIDs", Microsoft Learn). Files created later inherit the (OI)(CI) entries.
 */
async function restrictWindowsDirectory(dir: string): Promise<void> {
  const icacls = join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'icacls.exe');
  await promisify(execFile)(icacls, [dir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'], { windowsHide: true });
}

/** The token given by --token-file, --token-stdin or --token (at most one of them). */
async function tokenFromOptions(o: { token?: string; tokenFile?: string; tokenStdin?: boolean }): Promise<string | undefined> {
  const sources = [given(o.token), o.tokenFile, o.tokenStdin].filter(Boolean).length;
  if (sources > 1) throw new UsageError(t('cli.install.tokenOnce'));
  let text: string | undefined = o.token;
  if (o.tokenFile) {
    try {
      text = readFileSync(o.tokenFile, 'utf8');
    } catch (err) {
      throw new UsageError(t('cli.install.tokenFileUnreadable', { file: o.tokenFile, code: (err as NodeJS.ErrnoException).code ?? String(err) }));
    }
  } else if (o.tokenStdin) {
    text = await readStream(process.stdin);
  }
  const token = given(text?.split(/\r?\n/).find((line) => line.trim() !== ''));
  if ((o.tokenFile || o.tokenStdin) && !token) throw new UsageError(t('cli.install.tokenEmpty', { source: o.tokenFile ? `--token-file ${o.tokenFile}` : '--token-stdin' }));
  return token;
}

/** Add `configure` to the `agent` command of `program`. */
export function registerInstallCommands(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent');
  if (!agent) throw new CliWiringError('registerAgentCommands must run before registerInstallCommands');

  agent
    .command('configure')
    .description(t('cli.install.configure'))
    .requiredOption('--config <file>', t('cli.install.opt.config'))
    .option('--collector <url>', t('cli.install.opt.collector'))
    .option('--token-file <file>', t('cli.install.opt.tokenFile'))
    .option('--token-stdin', t('cli.install.opt.tokenStdin'))
    .option('--token <token>', t('cli.install.opt.token'))
    .option('--ca-pin <sha256>', t('cli.install.opt.caPin'))
    .option('--segment <segment>', t('cli.install.opt.segment'))
    .option('--state <dir>', t('cli.install.opt.state'))
    .option('--log-dir <dir>', t('cli.install.opt.logDir'))
    .option('--re-enroll', t('cli.install.opt.reEnroll'))
    .action(async (o: { config: string; collector?: string; token?: string; tokenFile?: string; tokenStdin?: boolean; caPin?: string; segment?: string; state?: string; logDir?: string; reEnroll?: boolean }) => {
      const file = resolve(o.config);
      const token = await tokenFromOptions(o);
      // The folder of the configuration file is made owner-only: /etc/mamori on Linux,
      // C:\ProgramData\mamori (also the state folder) on Windows. --state / --log-dir are only
      // written into the file: they name paths of the installed system, which may be an image.
      const folder = dirname(file);
      ensureStateDir(folder);
      const text = writeAgentConfig(file, { collector: o.collector, token, caPin: o.caPin, segment: o.segment, stateDir: given(o.state), logDir: given(o.logDir), reEnroll: o.reEnroll });
      if (o.reEnroll) {
        const stateDir = AgentConfig.parse(parse(text)).stateDir;
        const retired = stateDir ? retireIdentity(stateDir) : undefined;
        // A new pin means a new collector CA: the stored one goes with the old identity.
        if (retired && given(o.caPin) && existsSync(join(stateDir!, 'collector-ca.pem'))) renameSync(join(stateDir!, 'collector-ca.pem'), join(retired, 'collector-ca.pem'));
        process.stdout.write(`${retired ? t('cli.install.identityKept', { dir: retired }) : ''}${t('cli.install.reEnrollNext')}\n`);
      }
      if (process.platform === 'win32') await restrictWindowsDirectory(folder);
      process.stdout.write(`${t('cli.install.wrote', { file })}\n`);
    });
}

/** Exit status of `agent enroll` when the collector or the pin refused: the installers fail the install with it. */
export const ENROLL_REFUSED_EXIT = 3;

/** Add `enroll` (one attempt at install time) to the `agent` command of `program`. */
export function registerEnrollCommand(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent');
  if (!agent) throw new CliWiringError('registerAgentCommands must run before registerEnrollCommand');
  agent
    .command('enroll')
    .description(t('cli.enroll.description', { refused: ENROLL_REFUSED_EXIT }))
    .requiredOption('--config <file>', t('cli.enroll.opt.config'))
    .option('--state <dir>', t('cli.enroll.opt.state'))
    .option('--timeout <seconds>', t('cli.enroll.opt.timeout'), '20')
    .action(async (o: { config: string; state?: string; timeout: string }) => {
      const file = resolve(o.config);
      const config = loadAgentConfig(file);
      const stateDir = resolve(o.state ?? config.stateDir ?? defaultStateDir());
      ensureStateDir(stateDir);
      const existing = loadIdentity(stateDir);
      if (existing) {
        if (forgetEnrollToken(file)) process.stdout.write(`${t('cli.enroll.tokenRemoved', { file })}\n`);
        process.stdout.write(`${t('cli.enroll.already', { id: existing.agentId })}\n`);
        return;
      }
      if (!config.collector) throw new UsageError(t('cli.enroll.noCollector', { file }));
      const eventLog = windowsEventLog();
      try {
        const done = await enrollOnce({ stateDir, collectorUrl: config.collector, token: config.enrollToken, pin: config.caFingerprint, os: describeOs(liveProbes()), agentVersion: AGENT_VERSION, timeoutMs: Number(o.timeout) * 1000 });
        clearEnrollmentStatus(stateDir);
        forgetEnrollToken(file);
        if (done.certificateRefused) process.stderr.write(`${CERTIFICATE_REFUSED}\n`);
        process.stdout.write(`${t('cli.enroll.enrolled', { id: done.identity.agentId, segment: done.identity.segment })}\n`);
      } catch (err) {
        const failure = classifyEnrollmentFailure(err);
        recordEnrollmentFailure(stateDir, config.collector, failure, new Date(), null);
        if (failure.kind === 'unreachable') {
          process.stdout.write(`${t('cli.enroll.unreachable', { detail: failure.detail })}\n`);
          return;
        }
        // A refused token can never be used: it does not stay in the file (a wrong pin keeps it, nothing was sent).
        if (failure.kind === 'refused') forgetEnrollToken(file);
        await eventLog?.('ERROR', `mamori エージェントのインストール時の登録に失敗しました: ${failure.reason}\n${failure.detail}`).catch(() => undefined);
        process.stderr.write(`mamori-agent: ${t('cli.enroll.refused', { reason: failure.reason })}\n  (${failure.detail})\n`);
        process.exitCode = ENROLL_REFUSED_EXIT;
      }
    });
}

/** Service host protocol: end of standard input = stop (see the file comment). */
function stopOnStdinEnd(): void {
  process.stdin.on('end', () => process.emit('SIGTERM', 'SIGTERM'));
  process.stdin.on('error', () => process.emit('SIGTERM', 'SIGTERM'));
  process.stdin.resume();
}

const program = new Command();
program.name('mamori').description(t('cli.agentMain.description')).version(AGENT_VERSION, '-V, --version', t('cli.help.version'));
localizeCommander(program);
registerAgentCommands(program);
registerInstallCommands(program);
registerEnrollCommand(program);
registerStatusCommand(program, defaultStateDir);
if (process.env.MAMORI_SERVICE_HOST === '1') stopOnStdinEnd();

runCommandLine(program);
