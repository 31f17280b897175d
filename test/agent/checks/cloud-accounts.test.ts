/**
 * cloud-accounts check: online-storage accounts signed in on the PC — through the recordings in
 * test/fixtures/replay (READMEs there for provenance) and failed parts.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../../agent/checks/registry.js';
import { cloudAccountsFacts } from '../../../agent/checks/cloud-accounts/windows-parse.js';
import { CLOUD_ACCOUNTS_SCRIPT } from '../../../agent/checks/cloud-accounts/windows-script.js';
import { localCheck } from '../../../agent/local-check.js';
import { InMemoryCheckMemory } from '../../../agent/memory.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { ScriptedProbes } from '../../helpers/linux-probes.js';

const ROOT = join(import.meta.dirname, '../../fixtures/replay');
const def = CHECKS.find((c) => c.id === 'cloud-accounts')!;

async function collect(recording: string) {
  const probes = new ReplayProbes(join(ROOT, recording));
  const collector = await def.platforms[probes.platform]!();
  return collector({ probes, params: { ...def.params }, memory: { get: () => undefined, set() {} }, log: { debug() {}, warn() {} } }) as Promise<{ status: string; facts: Record<string, unknown>; unknownFacts: Record<string, string> }>;
}
async function rule(recording: string) {
  const r = await localCheck({ replayDir: join(ROOT, recording), checks: ['cloud-accounts'], memory: new InMemoryCheckMemory() });
  return r.checks[0]!.rules.find((x) => x.ruleId === 'CLOUD-001')!;
}

describe('cloud-accounts on Windows recordings (registry key names and folder names, Japanese and English)', () => {
  it('Japanese domain PC: only the city\'s Microsoft 365 OneDrive', async () => {
    expect((await collect('windows/w11-24h2-ent-ja-gpo')).facts.cloudAccounts).toEqual([{ user: 'CITY\\山田太郎', service: 'onedrive-business' }, { user: 'CITY\\佐藤花子', service: 'onedrive-business' }]);
    expect((await rule('windows/w11-24h2-ent-ja-gpo')).result).toBe('pass');
  });
  it('Japanese home edition: a personal OneDrive and a personal Dropbox', async () => {
    const r = await rule('windows/w11-24h2-home-ja-shellbitlocker');
    expect(r.result).toBe('fail');
    expect(r.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['onedrive-personal', 'dropbox-personal']);
  });
  it('English PC: Google Drive for desktop signed in; a site that approves it passes', async () => {
    expect((await rule('windows/w11-23h2-ent-en-trellix')).result).toBe('fail');
    const approved = await localCheck({ replayDir: join(ROOT, 'windows/w11-23h2-ent-en-trellix'), checks: ['cloud-accounts'], memory: new InMemoryCheckMemory(), policy: { lists: { deniedCloudAccounts: ['onedrive-personal', 'dropbox-*'] } } });
    expect(approved.checks[0]!.rules[0]!.result).toBe('pass');
  });
  it('a profile that could not be read makes the list incomplete, never a pass', () => {
    const r = cloudAccountsFacts({ schema: 'mamori.win.cloud-accounts/1', users: [{ sid: 'S-1-5-21-1-2-3-1001', name: 'PC\\a', onedrive: [], dropbox: null, driveFs: [], error: 'Access to the path is denied.' }], errors: [] });
    expect(r.facts.cloudAccounts).toEqual([]);
    expect(r.unknownFacts.cloudAccounts).toMatch(/^SCRIPT_ERROR: 利用者のプロファイルを読めません: PC\\a/);
  });
  it('the script prints key and folder names, not account addresses', () => {
    expect(CLOUD_ACCOUNTS_SCRIPT).not.toMatch(/UserEmail|email/i);
  });
});

describe('cloud-accounts on Linux recordings', () => {
  it('Xubuntu 22.04: suzuki signed in to a personal Dropbox', async () => {
    expect((await collect('linux/ubuntu2204-xfce-noav')).facts.cloudAccounts).toEqual([{ user: 'suzuki', service: 'dropbox-personal' }]);
    expect((await rule('linux/ubuntu2204-xfce-noav')).result).toBe('fail');
  });
  it('RHEL 9 and this Debian 12 machine (real): no Dropbox', async () => {
    expect((await rule('linux/rhel9-kde-mdatp')).result).toBe('pass');
    expect((await rule('linux/debian12-this-machine')).result).toBe('pass');
  });
  it('an unreadable home is unknown', async () => {
    const r = await runLinuxCheck('cloud-accounts', new ScriptedProbes({ passwd: 'tanaka:x:1000:1000::/home/tanaka:/bin/bash\n', 'dropbox.tanaka': { ok: false, failure: 'ACCESS_DENIED', detail: 'denied' } }));
    expect(r.unknownFacts.cloudAccounts).toMatch(/^ACCESS_DENIED: tanaka の Dropbox/);
  });
});
