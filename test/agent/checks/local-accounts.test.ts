/**
 * local-accounts check: local accounts left unused — through the recordings in test/fixtures/replay
 * (READMEs there for provenance), this machine's real lastlog, and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { parseLastlog } from '../../../agent/checks/local-accounts/linux.js';
import { localAccountsFacts } from '../../../agent/checks/local-accounts/windows-parse.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { LiveProbes } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'local-accounts')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string>; reason?: string }>;
}
async function rule(recording: string) {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['local-accounts'], memory: new InMemoryCheckMemory() });
  return r.checks[0]!.rules.find((x) => x.ruleId === 'ACCT-001')!;
}
const failing = (r: Awaited<ReturnType<typeof rule>>) => r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject);

describe('lastlog by structure', () => {
  it('empty Port and From columns, a remote host, never logged in', () => {
    const text = 'Username         Port     From             Latest\nroot                                       **Never logged in**\nsato             tty2                      Wed Nov 19 08:31:40 +0900 2025\ntanaka           pts/0    192.0.2.10       Mon Mar  2 17:05:09 +0000 2026\n';
    expect(parseLastlog(text)).toEqual(new Map([['root', null], ['sato', '2025-11-18T23:31:40.000Z'], ['tanaka', '2026-03-02T17:05:09.000Z']]));
    expect(parseLastlog('sato tty2 yesterday\n')).toBeUndefined();
  });
});

describe('local-accounts on Windows recordings (Get-LocalUser, Japanese and English)', () => {
  it('Japanese GPO PC: every local account disabled', async () => {
    expect((await rule('windows/w11-24h2-ent-ja-gpo')).result).toBe('pass');
  });
  it('Japanese kiosk: the maintenance account unused since May', async () => {
    const r = await rule('windows/w10-ltsc2021-ja-kiosk');
    expect(r.result).toBe('fail');
    expect(failing(r)).toEqual(['maint']);
  });
  it('English PC: the built-in Administrator enabled and never used', async () => {
    expect((await collect('windows/w11-23h2-ent-en-trellix')).facts.localAccounts).toContainEqual({ name: 'Administrator', enabled: true, lastLogonAt: null });
    expect(failing(await rule('windows/w11-23h2-ent-en-trellix'))).toEqual(['Administrator']);
  });
  it('a site allowing a year passes the kiosk', async () => {
    const r = await localCheck({ replayDir: join(ROOT, 'windows/w10-ltsc2021-ja-kiosk'), checks: ['local-accounts'], memory: new InMemoryCheckMemory(), policy: { params: { 'ACCT-001': { maxUnusedDays: 365 } } } });
    expect(r.checks[0]!.rules[0]!.result).toBe('pass');
  });
  it('Get-LocalUser failing is unknown', () => {
    expect(localAccountsFacts({ schema: 'mamori.win.local-accounts/1', users: null, errors: [{ part: 'users', message: 'The term Get-LocalUser is not recognized' }] }).status).toBe('unknown');
  });
});

describe('local-accounts on Linux recordings', () => {
  it('Xubuntu 22.04 and RHEL 9: the one person signed in the day of the recording', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts.localAccounts).toEqual([{ name: 'suzuki', enabled: true, lastLogonAt: '2025-11-19T09:52:11.000Z' }]);
    expect((await rule('linux/ubuntu2204-xfce-noav')).result).toBe('pass');
    expect((await rule('linux/rhel9-kde-mdatp')).result).toBe('pass');
  });
  it('this Debian 12 machine (real lastlog): its account never signed in at a terminal', async () => {
    const live = await runLinuxCheck('local-accounts', new LiveProbes());
    expect(live.facts.localAccounts).toEqual([{ name: 'cloudsdk', enabled: true, lastLogonAt: null }]);
    expect(failing(await rule('linux/debian12-this-machine'))).toEqual(['cloudsdk']);
  });
  it('lastlog2 where lastlog is gone; an account missing from the output is reported', async () => {
    const r = await runLinuxCheck('local-accounts', new ScriptedProbes({ passwd: 'a:x:1000:1000::/home/a:/bin/bash\nb:x:1001:1001::/home/b:/usr/sbin/nologin\n', lastlog2: 'Username Port From Latest\na pts/1 192.0.2.5 Tue Nov 18 09:00:00 +0900 2025\n' }));
    expect(r.facts.localAccounts).toEqual([{ name: 'a', enabled: true, lastLogonAt: '2025-11-18T00:00:00.000Z' }]);
    expect(r.unknownFacts.localAccounts).toBe('NOT_FOUND: lastlog に b の記録がありません');
  });
});
