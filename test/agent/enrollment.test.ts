/**
 * How the agent tells enrollment failures apart, how long it waits between attempts, the status
 * file `mamori status` reads, and the Windows event log entry it writes (eventcreate.exe, the
 * syntax documented on Microsoft Learn: /L log /T type /SO source /ID 1–1000 /D description).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyEnrollmentFailure, clearEnrollmentStatus, enrollmentStatusPath, readEnrollmentStatus, recordEnrollmentFailure, retryDelayMs } from '../../agent/enrollment.js';
import { eventCreateArgs, windowsEventLog } from '../../agent/event-log.js';
import { EnrollmentError } from '../../agent/link/enroll.js';
import { formatEnrollment } from '../../src/cli/status-command.js';
import { REFUSAL_TEXT } from '../../src/shared/protocol/enrollment-refusal.js';
import { TlsError } from '../../src/shared/tls/errors.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('enrollment failures', () => {
  it('are refused (token), pin (CA) or unreachable, each with its reason in Japanese', () => {
    expect(classifyEnrollmentFailure(new EnrollmentError('ENROLLMENT_REFUSED', 'enrollment refused (4498 ENROLLMENT_REFUSED): enrollment token used'))).toMatchObject({ kind: 'refused', reason: REFUSAL_TEXT.used });
    expect(classifyEnrollmentFailure(new EnrollmentError('ENROLLMENT_REFUSED', 'enrollment refused (4498 ENROLLMENT_REFUSED): malformed enrollment token'))).toMatchObject({ kind: 'refused', reason: REFUSAL_TEXT.malformed });
    expect(classifyEnrollmentFailure(new TlsError('TLS_PIN_MISMATCH', 'no certificate has the pinned fingerprint')).kind).toBe('pin');
    expect(classifyEnrollmentFailure(new TlsError('TLS_NAME_MISMATCH', 'the certificate does not cover x')).reason).toContain('mamori collector cert --san');
    expect(classifyEnrollmentFailure(new TlsError('TLS_PIN_CONNECT', 'cannot reach c:8470: connect ECONNREFUSED')).kind).toBe('unreachable');
    expect(classifyEnrollmentFailure(new EnrollmentError('ENROLL_TIMEOUT', 'no answer')).kind).toBe('unreachable');
    expect(classifyEnrollmentFailure(Object.assign(new Error('getaddrinfo ENOTFOUND c'), { code: 'ENOTFOUND' })).kind).toBe('unreachable');
    // A bug is not an enrollment failure: it is thrown on.
    expect(() => classifyEnrollmentFailure(new TypeError('x is undefined'))).toThrow(TypeError);
  });

  it('wait longer after each failure: an unreachable collector within minutes, a refusal up to the cap', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 7, 20].map((n) => retryDelayMs('unreachable', n, undefined, mid))).toEqual([5_000, 10_000, 20_000, 40_000, 300_000, 300_000]);
    expect([1, 2, 3, 7, 30].map((n) => retryDelayMs('refused', n, undefined, mid))).toEqual([60_000, 120_000, 240_000, 3_600_000, 3_600_000]);
    expect(retryDelayMs('pin', 3, { minSeconds: 1, maxSeconds: 4 }, mid)).toBe(4_000);
    // ±25 %: the PCs of one push do not retry in step.
    expect(retryDelayMs('refused', 1, undefined, () => 0)).toBe(45_000);
    expect(retryDelayMs('refused', 1, undefined, () => 1)).toBe(75_000);
  });

  it('are kept in a world-readable status file beside the state directory, counted, and cleared', () => {
    const base = mkdtempSync(join(tmpdir(), 'mamori-enroll-status-'));
    dirs.push(base);
    const stateDir = join(base, 'mamori');
    const failure = classifyEnrollmentFailure(new EnrollmentError('ENROLLMENT_REFUSED', 'enrollment token expired'));
    recordEnrollmentFailure(stateDir, 'wss://c:8470/agent', failure, new Date('2026-12-06T01:00:00Z'), new Date('2026-12-06T01:01:00Z'));
    const second = recordEnrollmentFailure(stateDir, 'wss://c:8470/agent', failure, new Date('2026-12-06T01:01:00Z'), new Date('2026-12-06T01:03:00Z'));
    expect(enrollmentStatusPath(stateDir)).toBe(join(base, 'mamori.enrollment.json'));
    expect((statSync(enrollmentStatusPath(stateDir)).mode & 0o777).toString(8)).toBe('644');
    expect(second).toMatchObject({ attempts: 2, since: '2026-12-06T01:00:00.000Z', kind: 'refused', reason: REFUSAL_TEXT.expired });
    expect(readEnrollmentStatus(stateDir)).toEqual(second);
    const text = formatEnrollment(second);
    expect(text).toContain('この PC は収集サーバーに登録できていません');
    expect(text).toContain('2 回失敗');
    expect(text).toContain(`理由: ${REFUSAL_TEXT.expired}`);
    clearEnrollmentStatus(stateDir);
    expect(readEnrollmentStatus(stateDir)).toBeUndefined();
  });
});

describe('Windows event log', () => {
  it('writes one Application entry of source mamori-agent with eventcreate.exe, on Windows only', async () => {
    expect(eventCreateArgs('ERROR', '登録できません\n詳細')).toEqual(['/L', 'APPLICATION', '/T', 'ERROR', '/SO', 'mamori-agent', '/ID', '101', '/D', '登録できません 詳細']);
    expect(eventCreateArgs('WARNING', 'x'.repeat(5000))[9]).toHaveLength(1000);
    expect(windowsEventLog('linux')).toBeUndefined();
    const calls: [string, string[]][] = [];
    const write = windowsEventLog('win32', async (file, args) => void calls.push([file, args]))!;
    await write('INFORMATION', '登録しました');
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toMatch(/System32[\\/]eventcreate\.exe$/);
    expect(calls[0]![1]).toEqual(['/L', 'APPLICATION', '/T', 'INFORMATION', '/SO', 'mamori-agent', '/ID', '103', '/D', '登録しました']);
  });
});
