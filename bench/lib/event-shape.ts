/**
 * The events the simulated agents send: a `violation.opened` of the usb-media check in the
 * shape the agent produces (Japanese and English text, clause references, the device facts),
 * so frame sizes, JSON parsing and schema validation cost what they cost in the field.
 * The raw ws and raw SQLite baselines carry exactly the same JSON text.
 */
import type { AgentEvent, NewAgentEvent } from '../../src/shared/protocol/messages.js';

/** Distinct subjects per agent: each agent keeps this many open violations that are re-opened in turn. */
export const SUBJECTS_PER_AGENT = 8;

/** A usb-media violation for device number `n` (the subject), without seq. */
export function usbViolation(n: number, at: string): Extract<NewAgentEvent, { kind: 'violation.opened' }> {
  const serial = `AA${String(4_000_000 + n).padStart(10, '0')}`;
  return {
    at,
    kind: 'violation.opened',
    policyVersion: 3,
    violation: {
      checkId: 'usb-media',
      ruleId: 'usb.unregistered-medium',
      subject: `usb:0781:5581:${serial}`,
      result: 'fail',
      severity: 'high',
      title: { ja: '媒体管理台帳に登録されていないUSB記憶媒体が接続されています', en: 'A USB storage medium not registered in the media ledger is connected' },
      message: {
        ja: 'SanDisk Ultra (シリアル ' + serial + ') は媒体管理台帳に登録されていません。情報システム管理者に届け出てください。',
        en: 'SanDisk Ultra (serial ' + serial + ') is not registered in the media ledger. Report it to the information system administrator.',
      },
      reason: 'fingerprint not in registeredMedia',
      clauses: [
        { source: 'S1', ref: '第3章3(2)' },
        { source: 'S3', ref: '2.4.1' },
      ],
      facts: { vendorId: '0781', productId: '5581', serial, product: 'Ultra', vendor: 'SanDisk', sizeBytes: 61_530_439_680, mountpoints: ['/media/user/USB'], removable: true, registered: false },
      user: 'tanaka.hanako',
    },
  };
}

/**
 * Pre-serialised bodies (everything after `"at":"…",`) of the violation for each subject, so a
 * client can build a frame by string concatenation: `{"seq":N,"at":"T",BODY}`.
 */
export function violationBodies(): string[] {
  const bodies: string[] = [];
  for (let n = 0; n < SUBJECTS_PER_AGENT; n++) {
    const { at: _at, ...rest } = usbViolation(n, '');
    bodies.push(JSON.stringify(rest).slice(1, -1));
  }
  return bodies;
}

/** The JSON text of event `seq` as it goes on the wire and into the events table. */
export function eventJson(seq: number, at: string, body: string): string {
  return `{"seq":${seq},"at":"${at}",${body}}`;
}

/** A scan.result event answering `requestId`. */
export function scanResultJson(seq: number, at: string, requestId: string): string {
  const e: AgentEvent = { seq, at, kind: 'scan.result', requestId, checks: [{ checkId: 'usb-media', status: 'ok', failed: 1 }] };
  return JSON.stringify(e);
}
