/** Scripted probes for Linux collector tests: each probe key answers with a given outcome; unscripted keys are NOT_FOUND. */
import { readFileSync } from 'node:fs';
import type { ProbeOutcome, Probes } from '../../agent/probes/types.js';

export type Scripted = string | ProbeOutcome;

export class ScriptedProbes implements Probes {
  readonly platform = 'linux' as const;
  readonly mode = 'replay' as const;
  readonly calls: string[] = [];
  constructor(
    private readonly answers: Record<string, Scripted>,
    private readonly clock = new Date('2025-11-19T10:00:02Z'),
  ) {}
  private answer(key: string, what: string): ProbeOutcome {
    this.calls.push(key);
    const a = this.answers[key];
    if (a === undefined) return { ok: false, failure: 'NOT_FOUND', detail: `${what} does not exist` };
    return typeof a === 'string' ? { ok: true, stdout: a, exitCode: 0 } : a;
  }
  async exec(key: string, file: string): Promise<ProbeOutcome> {
    return this.answer(key, `${file} is not installed`);
  }
  async readFile(key: string, path: string): Promise<ProbeOutcome> {
    return this.answer(key, path);
  }
  async listDir(key: string, path: string): Promise<ProbeOutcome> {
    return this.answer(key, path);
  }
  async powershell(key: string): Promise<ProbeOutcome> {
    return this.answer(key, 'powershell');
  }
  async library(key: string): Promise<ProbeOutcome> {
    return this.answer(key, key);
  }
  now(): Date {
    return new Date(this.clock);
  }
}

/** The failure outcomes every collector must turn into unknown facts. */
export const FAILURES: Record<string, ProbeOutcome> = {
  empty: { ok: true, stdout: '', exitCode: 0 },
  garbled: { ok: true, stdout: '\u0000\u0001garbled {{{ not the expected output\n', exitCode: 0 },
  accessDenied: { ok: false, failure: 'ACCESS_DENIED', detail: 'permission denied' },
  timeout: { ok: false, failure: 'PROBE_TIMEOUT', detail: 'did not finish within 15000 ms' },
  missing: { ok: false, failure: 'NOT_FOUND', detail: 'does not exist' },
};

/** Read a fixture of agent/checks/<check>/fixtures/linux/. */
export function fixture(check: string, name: string): string {
  return readFileSync(new URL(`../../agent/checks/${check}/fixtures/linux/${name}`, import.meta.url), 'utf8');
}
export function fixtureJson<T = unknown>(check: string, name: string): T {
  return JSON.parse(fixture(check, name)) as T;
}
export const dir = (names: string[]): string => JSON.stringify(names);
