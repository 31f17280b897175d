/**
 * The probe layer: the only code that touches the OS. Checks receive a `Probes` object and
 * never import node:child_process or node:fs themselves, so the same parsers run on live
 * output, on recordings (`mamori agent collect --save DIR`) and in tests (`--replay DIR`).
 *
 * Every probe call names a stable *probe key* (e.g. `dpkg-status`, `win.defender`); a
 * recording stores one file per key, see ./replay.ts.
 */
import { msg, render, type Msg } from '../../src/shared/i18n/index.js';
import type { CheckReasonId, ReasonParams } from '../../src/shared/i18n/check-reasons.js';

/** Why a probe gave no usable output. A check turns these into `unknown` with the reason. */
export type ProbeFailure =
  | 'PROBE_TIMEOUT'
  | 'NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'EXEC_FAILED'
  | 'OUTPUT_TOO_LARGE'
  | 'NOT_RECORDED'
  | 'UNSUPPORTED';

/**
 * A probe's failure: `detail` is the Japanese text (what `CODE: detail` reasons carry), `detailMsg`
 * the same as a catalogue message for the console's languages; a detail read from a recording has
 * only its text.
 */
export interface FailedProbe {
  ok: false;
  failure: ProbeFailure;
  detail: string;
  detailMsg?: Msg;
  exitCode?: number;
  stdout?: string;
}
export type ProbeOutcome = { ok: true; stdout: string; exitCode: number } | FailedProbe;

/** A failure whose detail comes from the catalogue (src/shared/i18n/check-reasons.ts, `why.probe.*`). */
export function probeFailed<K extends CheckReasonId>(failure: ProbeFailure, id: K, params: ReasonParams<K, string | number>, extra: { exitCode?: number; stdout?: string } = {}): FailedProbe {
  const detailMsg = msg(id, params as Record<string, string | number>);
  return { ok: false, failure, detail: render(detailMsg), detailMsg, ...extra };
}

export interface ExecOptions {
  /** Default 15 s; the process is killed when it runs longer. */
  timeoutMs?: number;
  /** Default 16 MiB of stdout; more is OUTPUT_TOO_LARGE. */
  maxBytes?: number;
  /** Exit codes that still count as success (default [0]); e.g. `dnf check-update` exits 100. */
  okExitCodes?: number[];
  /** Extra environment; LC_ALL=C and LANG=C are always set so output is never localised. */
  env?: Record<string, string>;
  /** Run as this uid/gid (per-user settings such as gsettings); only when the agent is root. */
  uid?: number;
  gid?: number;
}

export interface PowerShellOptions {
  timeoutMs?: number;
  /** Which PowerShell process runs it (agent/probes/powershell.ts); default `interactive`. */
  lane?: 'interactive' | 'inventory' | 'wua';
}

export interface Probes {
  /** The platform whose facts these probes read (from the recording when replaying). */
  readonly platform: 'linux' | 'windows';
  readonly mode: 'live' | 'replay';
  /** Run a program by absolute path with an argv array; never through a shell. */
  exec(key: string, file: string, args: readonly string[], opts?: ExecOptions): Promise<ProbeOutcome>;
  /** Read a text file (UTF-8). NOT_FOUND when it does not exist. */
  readFile(key: string, path: string, opts?: { maxBytes?: number }): Promise<ProbeOutcome>;
  /** List a directory: stdout is a JSON array of entry names. NOT_FOUND when absent. */
  listDir(key: string, path: string): Promise<ProbeOutcome>;
  /**
   * Run a PowerShell script in one of the agent's long-lived PowerShell hosts (Windows only;
   * `opts.lane` picks which); the script must print one JSON document.
   */
  powershell(key: string, script: string, opts?: PowerShellOptions): Promise<ProbeOutcome>;
  /**
   * Run a call of a library that reads the OS itself (systeminformation: it spawns its own
   * commands, so no single command output can be recorded); stdout is the call's result as JSON.
   * The recorded unit is that JSON, so replay feeds the same normaliser without the library.
   */
  library(key: string, call: () => Promise<unknown>, opts?: { timeoutMs?: number }): Promise<ProbeOutcome>;
  /** The clock to judge ages against: the recording time when replaying. */
  now(): Date;
}

/** Probe keys are file names in a recording: lower-case, digits, dot, dash, underscore. */
export const PROBE_KEY = /^[a-z0-9][a-z0-9._-]{0,120}$/;

/** Turn any text (a user name, a SID, a device path) into something usable inside a probe key. */
export function keyPart(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9._-]+/g, '_').replace(/^[._-]+/, '');
  return (cleaned || 'x').slice(0, 60);
}

export function assertProbeKey(key: string): void {
  if (!PROBE_KEY.test(key)) throw new Error(`invalid probe key ${JSON.stringify(key)}`);
}
