/**
 * Enrollment as the installed agent does it: once at install time (`mamori agent enroll`, run
 * by postinst and the MSI), then at every start until it succeeds. A PC that cannot enroll
 * says so where someone at the PC or the helpdesk looks — the status file `mamori status`
 * reads, the log, and on Windows the Application event log — and backs off: a collector that
 * cannot be reached is tried again within minutes, a refusal (token, CA pin) only after a
 * growing wait of up to an hour, because it needs an administrator to give a new token.
 */
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../src/shared/log.js';
import { REFUSAL_TEXT, refusalReasonOf } from '../src/shared/protocol/enrollment-refusal.js';
import type { OsInfo, PolicyPushFrame } from '../src/shared/protocol/messages.js';
import { TlsError } from '../src/shared/tls/errors.js';
import { ClientCertificate } from './client-cert.js';
import { collectorTrust, saveIdentity } from './identity.js';
import type { IdentityFile } from './identity.js';
import { EnrollmentError, enroll } from './link/enroll.js';

/**
 * refused: the collector refused the token (wrong, expired, used, revoked); pin: the collector
 * presented a CA other than the pinned one (or a certificate without this address), so nothing
 * was sent; unreachable: no answer (offline PC, collector down) — the only kind that fixes itself.
 */
export type EnrollmentFailureKind = 'refused' | 'pin' | 'unreachable';

export interface EnrollmentFailure {
  kind: EnrollmentFailureKind;
  /** In Japanese, for the person at the PC and the installer's output. */
  reason: string;
  /** The technical message (English), for the log. */
  detail: string;
}

export class EnrollmentFailed extends Error {
  readonly code = 'ENROLLMENT_FAILED';
  constructor(readonly failure: EnrollmentFailure) {
    super(`${failure.reason} / ${failure.detail}`);
  }
}

export const CERTIFICATE_REFUSED = '登録時に届いた証明書はこの端末の鍵・CA のものではないため使いません / the certificate from enrollment is not for this agent\'s key and CA: not used';

const UNREACHABLE_TEXT = '収集サーバーに接続できません (ネットワーク・アドレス・ファイアウォールを確認してください)。接続できるようになると自動で登録します';

export function classifyEnrollmentFailure(err: unknown): EnrollmentFailure {
  if (err instanceof EnrollmentFailed) return err.failure;
  const detail = (err as Error)?.message ?? String(err);
  if (err instanceof TlsError) {
    if (err.code === 'TLS_PIN_MISMATCH') return { kind: 'pin', reason: 'CA ピンが収集サーバーの証明書と一致しません。何も送信していません (`mamori collector init` が表示したフィンガープリントと照合してください)', detail };
    if (err.code === 'TLS_NAME_MISMATCH') return { kind: 'pin', reason: '収集サーバーの証明書に、指定したアドレスが含まれていません (収集サーバーで `mamori collector cert --san アドレス` を実行するか、証明書にあるアドレスを指定してください)', detail };
    if (err.code === 'TLS_PLAIN_REFUSED') return { kind: 'refused', reason: '暗号化なし (ws://) の収集サーバーには登録しません。wss:// の URL を指定してください', detail };
    return { kind: 'unreachable', reason: UNREACHABLE_TEXT, detail };
  }
  if (err instanceof EnrollmentError) {
    if (err.code === 'ENROLLMENT_REFUSED') {
      const why = refusalReasonOf(detail);
      return { kind: 'refused', reason: why ? REFUSAL_TEXT[why] : `収集サーバーが登録を拒否しました (${detail})`, detail };
    }
    if (err.code === 'UNSUPPORTED_VERSION') return { kind: 'refused', reason: 'このエージェントの版は収集サーバーと通信できません (エージェントか収集サーバーを更新してください)', detail };
    return { kind: 'unreachable', reason: UNREACHABLE_TEXT, detail };
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { kind: 'unreachable', reason: UNREACHABLE_TEXT, detail };
  throw err;
}

// ---------------------------------------------------------------- one attempt

export interface EnrollAttempt {
  stateDir: string;
  collectorUrl: string;
  token: string | undefined;
  pin: string | undefined;
  allowPlain?: boolean;
  os: OsInfo;
  agentVersion: string;
  /** How long to wait for the collector (default 20 s). */
  timeoutMs?: number;
}

export interface Enrolled {
  identity: IdentityFile;
  wsOptions: Awaited<ReturnType<typeof collectorTrust>>;
  initialPolicy?: PolicyPushFrame;
  /** The collector sent a client certificate that is not for this agent's key and CA: not used. */
  certificateRefused: boolean;
}

/** First contact (CA by the pin), then enrollment; the identity is saved. Throws EnrollmentFailed. */
export async function enrollOnce(a: EnrollAttempt): Promise<Enrolled> {
  try {
    if (!a.token) throw new EnrollmentFailed({ kind: 'refused', reason: '登録トークンが設定されていません (mamori agent configure --token-file で指定してください)', detail: `${a.stateDir} has no identity and no enrollment token is configured` });
    const wsOptions = await collectorTrust({ url: a.collectorUrl, stateDir: a.stateDir, pin: a.pin, allowPlain: Boolean(a.allowPlain) });
    const enrolled = await enroll(a.collectorUrl, a.token, a.os, a.agentVersion, wsOptions, a.timeoutMs);
    const { policy, certificate, ...kept } = enrolled;
    const identity: IdentityFile = { ...kept, collectorUrl: a.collectorUrl, enrolledAt: new Date().toISOString() };
    saveIdentity(a.stateDir, identity);
    // The client certificate of mutual TLS, kept only when it is for this agent's key and the pinned CA.
    const certificateRefused = Boolean(certificate && !new ClientCertificate(a.stateDir, kept.privateKey).save(certificate));
    return { identity, wsOptions, certificateRefused, ...(policy ? { initialPolicy: policy } : {}) };
  } catch (err) {
    throw new EnrollmentFailed(classifyEnrollmentFailure(err));
  }
}

// ---------------------------------------------------------------- status file

export const EnrollmentStatus = z.object({
  state: z.literal('failing'),
  kind: z.enum(['refused', 'pin', 'unreachable']),
  reason: z.string(),
  detail: z.string(),
  collector: z.string(),
  since: z.string(),
  lastAttemptAt: z.string(),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
});
export type EnrollmentStatus = z.infer<typeof EnrollmentStatus>;

/** /var/lib/mamori → /var/lib/mamori.enrollment.json: beside the owner-only state directory, world-readable, nothing secret. */
export function enrollmentStatusPath(stateDir: string): string {
  return join(dirname(stateDir), `${basename(stateDir)}.enrollment.json`);
}

export function readEnrollmentStatus(stateDir: string): EnrollmentStatus | undefined {
  const path = enrollmentStatusPath(stateDir);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = EnrollmentStatus.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Record a failed attempt; returns the status written. */
export function recordEnrollmentFailure(stateDir: string, collector: string, failure: EnrollmentFailure, now: Date, nextAttemptAt: Date | null): EnrollmentStatus {
  const previous = readEnrollmentStatus(stateDir);
  const status: EnrollmentStatus = {
    state: 'failing',
    kind: failure.kind,
    reason: failure.reason,
    detail: failure.detail.slice(0, 1000),
    collector,
    since: previous?.since ?? now.toISOString(),
    lastAttemptAt: now.toISOString(),
    attempts: (previous?.attempts ?? 0) + 1,
    nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
  };
  const path = enrollmentStatusPath(stateDir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(status, null, 1)}\n`, { mode: 0o644 });
  // The process umask (owner-only) would narrow the mode given above: `mamori status` runs as any user.
  if (process.platform !== 'win32') chmodSync(`${path}.tmp`, 0o644);
  renameSync(`${path}.tmp`, path);
  return status;
}

export function clearEnrollmentStatus(stateDir: string): void {
  rmSync(enrollmentStatusPath(stateDir), { force: true });
}

// ---------------------------------------------------------------- retrying

export interface RetryDelays {
  /** First wait after a refusal (default 60 s); doubles up to maxSeconds. */
  minSeconds: number;
  /** Longest wait (default 3,600 s). A collector that cannot be reached is retried within min(maxSeconds, 300 s). */
  maxSeconds: number;
}

export const DEFAULT_RETRY: RetryDelays = { minSeconds: 60, maxSeconds: 3600 };

/**
 * The wait before attempt n+1 after n failures of this kind: unreachable 5 s · 2^(n-1) up to
 * 5 min, refused/pin minSeconds · 2^(n-1) up to maxSeconds; each with ±25 % jitter so the PCs of
 * one push do not retry in lock-step.
 */
export function retryDelayMs(kind: EnrollmentFailureKind, failures: number, delays: RetryDelays = DEFAULT_RETRY, random: () => number = Math.random): number {
  const [base, cap] = kind === 'unreachable' ? [Math.min(5, delays.minSeconds), Math.min(300, delays.maxSeconds)] : [delays.minSeconds, delays.maxSeconds];
  const ceiling = Math.min(cap, base * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(ceiling * 1000 * (0.75 + random() * 0.5));
}

export interface EnrollLoopOptions {
  stateDir: string;
  /** The attempt's settings, read again before every attempt (a new token from `mamori agent configure` is used without a restart). */
  attempt: () => EnrollAttempt;
  delays: () => RetryDelays;
  log: Logger;
  /** Windows: the Application event log (agent/notify/event-log.ts). */
  eventLog?: (type: 'ERROR' | 'WARNING' | 'INFORMATION', text: string) => Promise<void>;
  signal: AbortSignal;
  /** Run once enrolled, before the status file goes: whoever sees the PC enrolled no longer finds its token in the configuration. */
  onEnrolled?: () => void;
}

/** Enroll, retrying until it works or `signal` aborts (then undefined). */
export async function enrollUntilDone(o: EnrollLoopOptions): Promise<Enrolled | undefined> {
  let failures = 0;
  let lastKind: EnrollmentFailureKind | undefined;
  let lastEventText = '';
  let lastEventAt = 0;
  for (;;) {
    if (o.signal.aborted) return undefined;
    const attempt = o.attempt();
    try {
      const done = await enrollOnce(attempt);
      o.onEnrolled?.();
      clearEnrollmentStatus(o.stateDir);
      if (done.certificateRefused) o.log.warn(CERTIFICATE_REFUSED);
      o.log.info(`enrolled as ${done.identity.agentId} (segment ${done.identity.segment}) / 収集サーバーに登録しました`);
      if (failures > 0) await o.eventLog?.('INFORMATION', `mamori エージェントは収集サーバーに登録しました (${attempt.collectorUrl})。`).catch(() => undefined);
      return done;
    } catch (err) {
      const failure = classifyEnrollmentFailure(err);
      // The wait grows with failures of one kind: a collector that comes back and refuses starts at minSeconds.
      failures = failure.kind === lastKind ? failures + 1 : 1;
      lastKind = failure.kind;
      const delay = retryDelayMs(failure.kind, failures, o.delays());
      const now = new Date();
      const status = recordEnrollmentFailure(o.stateDir, attempt.collectorUrl, failure, now, new Date(now.getTime() + delay));
      const text = `収集サーバーに登録できません (${status.attempts} 回目): ${failure.reason}。${Math.round(delay / 1000)} 秒後に再試行します。`;
      o.log.error(`${text} / enrollment failed (${failure.kind}): ${failure.detail}`, { attempts: status.attempts, collector: attempt.collectorUrl });
      // The event log gets the first failure, a changed reason, and then one entry an hour.
      if (o.eventLog && (failure.reason !== lastEventText || now.getTime() - lastEventAt >= 3_600_000)) {
        lastEventText = failure.reason;
        lastEventAt = now.getTime();
        await o.eventLog(failure.kind === 'unreachable' ? 'WARNING' : 'ERROR', `mamori エージェント: ${text}\n${failure.detail}`).catch((e: Error) => o.log.warn('cannot write to the Windows event log', { error: e.message }));
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        o.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
