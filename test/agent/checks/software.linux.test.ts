import { describe, expect, test } from 'vitest';
import { render } from '../../../src/shared/i18n/index.js';
import { parseDpkgStatus, parseFlatpakList, parseRpmQuery, parseSnapFileNames, parseSnapList } from '../../../agent/checks/software/linux-parse.js';
import { humanUsers, parseExeList, parsePasswd, parseProcStatus } from '../../../agent/checks/software/linux-proc.js';
import { SoftwareFacts } from '../../../agent/checks/software/facts.js';
import { runLinuxCheck } from '../../helpers/linux-context.js';
import { productCatalogue } from '../../../agent/local-check.js';
import { evaluateRule } from '../../../src/shared/catalogue/evaluate.js';
import type { FactsInput } from '../../../src/shared/catalogue/evaluate.js';
import { FAILURES, ScriptedProbes, dir, fixture, fixtureJson } from '../../helpers/linux-probes.js';

describe('software Linux parsers on recorded shapes', () => {
  test('dpkg status: installed and held packages only, continuation lines ignored (Debian 12)', () => {
    expect(parseDpkgStatus(fixture('software', 'debian12.dpkg-status.txt'))).toEqual(fixtureJson('software', 'debian12.facts.json'));
  });
  test('rpm -qa queryformat: epoch 0 dropped, gpg-pubkey skipped, (none) vendor null (RHEL 9)', () => {
    expect(parseRpmQuery(fixture('software', 'rhel9.rpm-qa.txt'))).toEqual(fixtureJson('software', 'rhel9.facts.json'));
  });
  test('snap list: columns by header, verification marks removed (Ubuntu 24.04)', () => {
    expect(parseSnapList(fixture('software', 'ubuntu2404.snap-list.txt'))).toEqual(fixtureJson('software', 'ubuntu2404.facts.json'));
  });
  test('flatpak list --user: runtime without version takes the branch', () => {
    expect(parseFlatpakList(fixture('software', 'user-flatpak.flatpak-list.txt'), 'tanaka')).toEqual(fixtureJson('software', 'user-flatpak.facts.json'));
  });
  test('snap file names when snapd is down', () => {
    expect(parseSnapFileNames(['core22_1380.snap', 'core22_1122.snap', 'firefox_4173.snap', 'my-app_x1.snap', 'partial']).map((p) => p.name)).toEqual(['core22', 'firefox', 'my-app']);
  });
  test('/proc status, exe list and passwd', () => {
    expect(parseProcStatus('Name:\tclamd\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t812\nPPid:\t1\nUid:\t112\t112\t112\t112\n')).toEqual({ name: 'clamd', uid: 112, ppid: 1 });
    expect(parseExeList('/proc/1\t\n/proc/812\t/usr/sbin/clamd\n/proc/900\t/opt/app (deleted)\n')).toEqual(new Map([[812, '/usr/sbin/clamd'], [900, '/opt/app (deleted)']]));
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\ntanaka:x:1000:1000:田中,,,:/home/tanaka:/bin/bash\nsvc:x:1001:1001::/var/svc:/usr/sbin/nologin\nbroken line\n');
    expect(humanUsers(users).map((u) => u.name)).toEqual(['tanaka']);
  });
  test('garbled and empty inputs give empty lists, never invented packages', () => {
    for (const text of ['', '\u0000garbage\n{{{', 'Package: x\n']) {
      expect(parseDpkgStatus(text)).toEqual([]);
      expect(parseSnapList(text)).toEqual([]);
    }
    expect(parseRpmQuery('garbage without tabs')).toEqual([]);
  });
});

const base = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\ntanaka:x:1000:1000::/home/tanaka:/bin/bash\n',
  'dpkg-status': fixture('software', 'debian12.dpkg-status.txt'),
  'proc.list': dir(['1', '2', '812', 'self']),
  'proc.exe': '/proc/812\t/usr/sbin/clamd\n',
  'proc.1.status': 'Name:\tsystemd\nPPid:\t0\nUid:\t0\t0\t0\t0\n',
  'proc.2.status': 'Name:\tkthreadd\nPPid:\t0\nUid:\t0\t0\t0\t0\n',
  'proc.812.status': 'Name:\tclamd\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n',
};

describe('software Linux collector', () => {
  test('dpkg machine without snap/flatpak/rpm: packages, processes (kthreadd left out), catalogue', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes(base));
    expect(r.status).toBe('ok');
    expect(SoftwareFacts.partial().parse(r.facts)).toBeTruthy();
    expect((r.facts.packages as { name: string }[]).map((p) => p.name)).toEqual(['adduser', 'libssl3', 'firefox-esr']);
    expect(r.facts.processes).toEqual([
      { name: 'systemd', path: null, user: 'root', pid: 1 },
      { name: 'clamd', path: '/usr/sbin/clamd', user: 'tanaka', pid: 812 },
    ]);
    expect(r.facts.catalogueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Array.isArray(r.facts.endOfSupport)).toBe(true);
  });

  test.each(Object.entries(FAILURES).filter(([k]) => k !== 'missing' && k !== 'empty' && k !== 'garbled'))('dpkg status %s → packages unknown with the reason', async (_name, outcome) => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'dpkg-status': outcome }));
    expect(r.facts.packages).toBeUndefined();
    expect(r.unknownFacts.packages).toContain(outcome.ok ? '' : outcome.failure);
    expect(r.unknownFacts.endOfSupport).toMatch(/^NOT_READ: インストール済みソフトウェアの一覧が不完全です \(dpkg: /);
    expect(render(r.unknownMsgs!.endOfSupport!, 'en')).toMatch(/the package inventory is incomplete \(dpkg: /);
    expect(r.status).toBe('ok'); // processes were still read
  });

  test('no package database at all → packages unknown (NOT_FOUND), not an empty inventory', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'dpkg-status': FAILURES.missing! }));
    expect(r.unknownFacts.packages).toBe('NOT_FOUND: /var/lib/dpkg/status も rpm のデータベースも見つかりません');
    expect(render(r.unknownMsgs!.packages!, 'en')).toBe('not found (NOT_FOUND): neither /var/lib/dpkg/status nor an rpm database was found');
  });

  test('snapd not answering: snaps come from /var/lib/snapd/snaps', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'snap.list': { ok: false, failure: 'EXEC_FAILED', detail: 'error: cannot communicate with server' }, 'snap.files': dir(['firefox_4173.snap']) }));
    expect((r.facts.packages as { name: string; source: string }[]).filter((p) => p.source === 'snap').map((p) => p.name)).toEqual(['firefox']);
  });

  test('per-user flatpak of a human user is listed with the user', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'flatpak.system': '', 'flatpak.user.tanaka.dir': dir(['app', 'repo']), 'flatpak.user.tanaka': fixture('software', 'user-flatpak.flatpak-list.txt') }));
    const flat = (r.facts.packages as { name: string; user: string | null }[]).filter((p) => p.user === 'tanaka');
    expect(flat.map((p) => p.name)).toContain('com.dropbox.Client');
  });

  test('a failed snap listing keeps the dpkg packages read: a denied one still fails SW-001, nothing passes', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'snap.list': FAILURES.timeout!, 'snap.files': FAILURES.accessDenied! }));
    expect((r.facts.packages as { name: string }[]).map((p) => p.name)).toContain('firefox-esr');
    expect(r.unknownFacts.packages).toMatch(/^snap: PROBE_TIMEOUT/);
    expect(r.unknownFacts.endOfSupport).toMatch(/一覧が不完全です/);
    const rules = productCatalogue().rules.filter((x) => x.check === 'software');
    const judge = (denied: string[]) => Object.fromEntries(rules.map((rule) => [rule.id, evaluateRule(rule, r as FactsInput, { platform: 'linux', segment: undefined, now: new Date(), policy: { params: {}, lists: { deniedSoftware: denied }, disabledRules: [] } }).result]));
    expect(judge(['firefox*'])['SW-001']).toBe('fail');
    expect(judge(['dropbox'])['SW-001']).toBe('unknown');
    expect(judge([])['SW-003']).toBe('unknown');
  });

  test('unreadable /etc/passwd: per-user flatpaks cannot be looked for, so the inventory is incomplete', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, passwd: FAILURES.accessDenied!, 'flatpak.system': '' }));
    expect(r.facts.packages).toBeDefined();
    expect(r.unknownFacts.packages).toMatch(/^NOT_READ: 利用者ごとの flatpak を探せません: \/etc\/passwd: アクセスが拒否されました \(ACCESS_DENIED\)/);
    expect(render(r.unknownMsgs!.packages!, 'en')).toMatch(/per-user flatpak installations: \/etc\/passwd: access denied \(ACCESS_DENIED\)/);
  });

  test('a process status that cannot be read (not an exited process) marks the process list incomplete', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'proc.812.status': { ok: false, failure: 'EXEC_FAILED', detail: 'I/O error' } }));
    expect((r.facts.processes as { pid: number }[]).map((p) => p.pid)).toEqual([1]);
    expect(r.unknownFacts.processes).toMatch(/812: EXEC_FAILED/);
    const gone = await runLinuxCheck('software', new ScriptedProbes({ ...base, 'proc.812.status': FAILURES.missing! }));
    expect(gone.unknownFacts.processes).toBeUndefined();
  });

  test('process listing timeout and no package database → whole check unknown', async () => {
    const r = await runLinuxCheck('software', new ScriptedProbes({ 'proc.list': FAILURES.timeout! }));
    expect(r.status).toBe('unknown');
    expect(r.unknownFacts.processes).toMatch(/^PROBE_TIMEOUT/);
  });
});
