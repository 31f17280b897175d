/**
 * No pass from missing data, over every recording in test/fixtures/replay/{linux,windows}/ (a
 * recording is a folder with meta.json; new ones are picked up without editing this file).
 *
 * For each recording and each probe key in it, the recording is replayed twice more: once with that
 * one output removed (NOT_RECORDED, as if the recorder never ran it) and once with it failing
 * (EXEC_FAILED, exit code 1, no output: what a crashed or refused command records in a
 * `<key>.status.json`). Only the checks that read the key are re-run, in-process through localCheck.
 * No rule may become `pass` where it was `fail` or `unknown` with the output in place: losing data
 * can make a verdict less certain, never better.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import type { ExecOptions, ProbeOutcome, Probes } from '../../../agent/probes/types.js';
import type { CheckId, PolicyDocument } from '../../../src/shared/protocol/messages.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');

/**
 * A strict site policy, so that many rules start from `fail` on the recordings: the mynumber
 * segment (segment-only rules apply), a media ledger, and deny lists naming software that some
 * recordings have installed or running.
 */
const POLICY: Partial<PolicyDocument> = {
  lists: {
    registeredMedia: ['0951:1666:001CC07CEB39FBB1C91A24D0'],
    deniedSoftware: ['*Flash*', 'openssh-client', 'clamav', '*Zoom*', 'xfce4-session', 'firefox', 'Microsoft.WindowsStore'],
    deniedProcesses: ['firefox', 'TARO.EXE', 'Dropbox.exe', 'sshd'],
  },
};

type Mutation = 'removed' | 'failing';

/** A recording read once: every replay of it (hundreds per recording) answers from memory. */
class CachedRecording {
  private readonly replay: ReplayProbes;
  private readonly outcomes = new Map<string, Promise<ProbeOutcome>>();
  constructor(dir: string) {
    this.replay = new ReplayProbes(dir);
  }
  get platform(): 'linux' | 'windows' {
    return this.replay.platform;
  }
  now(): Date {
    return this.replay.now();
  }
  outcome(key: string): Promise<ProbeOutcome> {
    let o = this.outcomes.get(key);
    if (!o) this.outcomes.set(key, (o = this.replay.readFile(key)));
    return o;
  }
}

/** Replays a recording, optionally with one key removed or failing, and notes which keys the checks read. */
class MutatedReplay implements Probes {
  readonly mode = 'replay' as const;
  readonly platform: 'linux' | 'windows';
  readonly read = new Set<string>();

  constructor(private readonly recording: CachedRecording, private readonly key?: string, private readonly mutation?: Mutation) {
    this.platform = recording.platform;
  }

  private outcome(key: string): Promise<ProbeOutcome> {
    this.read.add(key);
    if (key !== this.key) return this.recording.outcome(key);
    if (this.mutation === 'removed') return Promise.resolve({ ok: false, failure: 'NOT_RECORDED', detail: `no recording for probe ${key}` });
    return Promise.resolve({ ok: false, failure: 'EXEC_FAILED', detail: 'exited with code 1', exitCode: 1 });
  }

  exec(key: string, _file: string, _args: readonly string[], _opts?: ExecOptions) {
    return this.outcome(key);
  }
  readFile(key: string) {
    return this.outcome(key);
  }
  listDir(key: string) {
    return this.outcome(key);
  }
  powershell(key: string) {
    return this.outcome(key);
  }
  library(key: string) {
    return this.outcome(key);
  }
  now(): Date {
    return this.recording.now();
  }
}

async function verdicts(probes: Probes, check: CheckId): Promise<Map<string, string>> {
  const report = await localCheck({ probes, checks: [check], policy: POLICY, segment: 'mynumber', memory: new InMemoryCheckMemory() });
  return new Map(report.checks.flatMap((c) => c.rules.map((r) => [r.ruleId, r.result] as const)));
}

function recordings(): string[] {
  return ['linux', 'windows'].flatMap((platform) =>
    readdirSync(join(ROOT, platform), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(ROOT, platform, e.name, 'meta.json')))
      .map((e) => `${platform}/${e.name}`),
  );
}

function recordedKeys(dir: string): string[] {
  const keys = readdirSync(dir)
    .filter((f) => f !== 'meta.json')
    .map((f) => f.replace(/\.status\.json$|\.out$/, ''));
  return [...new Set(keys)].sort();
}

describe('no rule passes from missing data', () => {
  it('finds the recordings', () => {
    const all = recordings();
    expect(all.filter((r) => r.startsWith('linux/')).length).toBeGreaterThanOrEqual(4);
    expect(all.filter((r) => r.startsWith('windows/')).length).toBeGreaterThanOrEqual(12);
  });

  for (const recording of recordings()) {
    const dir = join(ROOT, recording);
    const cached = new CachedRecording(dir);
    const keys = new Set(recordedKeys(dir));
    for (const def of CHECKS) {
      it(`${recording} ${def.id}`, async () => {
        const baseProbes = new MutatedReplay(cached);
        const base = await verdicts(baseProbes, def.id);
        const broken: string[] = [];
        for (const key of [...baseProbes.read].filter((k) => keys.has(k))) {
          for (const mutation of ['removed', 'failing'] as const) {
            const after = await verdicts(new MutatedReplay(cached, key, mutation), def.id);
            for (const [rule, before] of base) {
              if ((before === 'fail' || before === 'unknown') && after.get(rule) === 'pass') broken.push(`${rule}: ${before} → pass with ${key} ${mutation}`);
            }
          }
        }
        expect(broken).toEqual([]);
      });
    }
  }
});
