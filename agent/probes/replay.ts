/**
 * Recorded probe outputs: the replay directory format.
 *
 *   DIR/meta.json            {"platform":"windows","recordedAt":"2026-…Z","hostname":"…","source":"…"}
 *   DIR/<key>.out            what the probe printed (stdout, or the file's content), byte for byte
 *   DIR/<key>.status.json    only when the probe did not simply succeed:
 *                            {"exitCode":100} or {"failure":"ACCESS_DENIED","detail":"…"}
 *
 * A key with neither file replays as NOT_RECORDED, which checks report as `unknown`.
 * `mamori agent collect --save DIR` writes this format (RecordingProbes) and
 * `--replay DIR` reads it (ReplayProbes), so a support engineer can record a PC and
 * replay it anywhere, and tests replay recordings of PCs in CI.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ExecOptions, PowerShellOptions, ProbeFailure, ProbeOutcome, Probes } from './types.js';
import { assertProbeKey, probeFailed } from './types.js';

export const RecordingMeta = z.object({
  platform: z.enum(['linux', 'windows']),
  recordedAt: z.iso.datetime({ offset: true }),
  hostname: z.string().optional(),
  /** Where the recording came from: a real machine, or the public document whose format it follows. */
  source: z.string().optional(),
  /**
   * Per probe key, where its output comes from: "real PC: …" (captured with
   * `mamori agent collect --save`) or "documentation: …" (written in the shape the cited
   * Microsoft / vendor documentation gives), so nobody mistakes a documented shape for a capture.
   */
  provenance: z.record(z.string(), z.string().regex(/^(real PC|documentation): /)).optional(),
  agentVersion: z.string().optional(),
});
export type RecordingMeta = z.infer<typeof RecordingMeta>;

const StatusFile = z.object({
  exitCode: z.number().int().optional(),
  failure: z.enum(['PROBE_TIMEOUT', 'NOT_FOUND', 'ACCESS_DENIED', 'EXEC_FAILED', 'OUTPUT_TOO_LARGE', 'NOT_RECORDED', 'UNSUPPORTED']).optional(),
  detail: z.string().optional(),
});

export class RecordingError extends Error {
  readonly code = 'RECORDING_INVALID';
}

export function readRecordingMeta(dir: string): RecordingMeta {
  const path = join(dir, 'meta.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RecordingError(`${path}: ${(err as Error).message}`);
  }
  const parsed = RecordingMeta.safeParse(raw);
  if (!parsed.success) throw new RecordingError(`${path}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export class ReplayProbes implements Probes {
  readonly mode = 'replay' as const;
  readonly platform: 'linux' | 'windows';
  private readonly recordedAt: Date;

  constructor(private readonly dir: string) {
    const meta = readRecordingMeta(dir);
    this.platform = meta.platform;
    this.recordedAt = new Date(meta.recordedAt);
  }

  private replay(key: string): ProbeOutcome {
    assertProbeKey(key);
    const outPath = join(this.dir, `${key}.out`);
    const statusPath = join(this.dir, `${key}.status.json`);
    const stdout = existsSync(outPath) ? readFileSync(outPath, 'utf8') : undefined;
    let status: z.infer<typeof StatusFile> = {};
    if (existsSync(statusPath)) {
      const parsed = StatusFile.safeParse(safeJson(readFileSync(statusPath, 'utf8')));
      if (!parsed.success) return probeFailed('EXEC_FAILED', 'why.probe.badStatusFile', { file: `${key}.status.json` });
      status = parsed.data;
    } else if (stdout === undefined) {
      return probeFailed('NOT_RECORDED', 'why.probe.notRecorded', { key });
    }
    if (status.failure) {
      return { ok: false, failure: status.failure, detail: status.detail ?? status.failure, ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}), ...(stdout !== undefined ? { stdout } : {}) };
    }
    return { ok: true, stdout: stdout ?? '', exitCode: status.exitCode ?? 0 };
  }

  async exec(key: string): Promise<ProbeOutcome> {
    return this.replay(key);
  }
  async readFile(key: string): Promise<ProbeOutcome> {
    return this.replay(key);
  }
  async listDir(key: string): Promise<ProbeOutcome> {
    return this.replay(key);
  }
  async powershell(key: string): Promise<ProbeOutcome> {
    return this.replay(key);
  }
  async library(key: string): Promise<ProbeOutcome> {
    return this.replay(key);
  }
  now(): Date {
    return new Date(this.recordedAt);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Wraps live probes and writes every outcome into DIR in the replay format. */
export class RecordingProbes implements Probes {
  readonly mode = 'live' as const;
  readonly platform: 'linux' | 'windows';

  constructor(
    private readonly inner: Probes,
    private readonly dir: string,
    meta: Omit<RecordingMeta, 'platform' | 'recordedAt'>,
  ) {
    this.platform = inner.platform;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const full: RecordingMeta = { platform: inner.platform, recordedAt: inner.now().toISOString(), ...meta };
    writeFileSync(join(dir, 'meta.json'), `${JSON.stringify(full, null, 2)}\n`, { mode: 0o600 });
  }

  private save(key: string, outcome: ProbeOutcome): ProbeOutcome {
    const stdout = outcome.ok ? outcome.stdout : outcome.stdout;
    if (stdout !== undefined) writeFileSync(join(this.dir, `${key}.out`), stdout, { mode: 0o600 });
    const status: { exitCode?: number; failure?: ProbeFailure; detail?: string } = {};
    if (!outcome.ok) Object.assign(status, { failure: outcome.failure, detail: outcome.detail }, outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {});
    else if (outcome.exitCode !== 0) status.exitCode = outcome.exitCode;
    if (Object.keys(status).length > 0) writeFileSync(join(this.dir, `${key}.status.json`), `${JSON.stringify(status)}\n`, { mode: 0o600 });
    return outcome;
  }

  async exec(key: string, file: string, args: readonly string[], opts?: ExecOptions): Promise<ProbeOutcome> {
    return this.save(key, await this.inner.exec(key, file, args, opts));
  }
  async readFile(key: string, path: string, opts?: { maxBytes?: number }): Promise<ProbeOutcome> {
    return this.save(key, await this.inner.readFile(key, path, opts));
  }
  async listDir(key: string, path: string): Promise<ProbeOutcome> {
    return this.save(key, await this.inner.listDir(key, path));
  }
  async powershell(key: string, script: string, opts?: PowerShellOptions): Promise<ProbeOutcome> {
    return this.save(key, await this.inner.powershell(key, script, opts));
  }
  async library(key: string, call: () => Promise<unknown>, opts?: { timeoutMs?: number }): Promise<ProbeOutcome> {
    return this.save(key, await this.inner.library(key, call, opts));
  }
  now(): Date {
    return this.inner.now();
  }
}
