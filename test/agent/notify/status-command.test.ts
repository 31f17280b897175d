/**
 * `mamori status` for the person at the PC or the helpdesk: the CLI (dist/) reads the status file
 * the agent's notice module wrote from a real judgement of a recorded PC, as an unprivileged user
 * when the test runs as root (the state directory itself stays owner-only).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyFindingsState, findingsToEvents } from '../../../agent/findings.js';
import { localCheck, productCatalogue } from '../../../agent/local-check.js';
import { UserNotices } from '../../../agent/notify/user-notices.js';
import { silentLogger } from '../../../src/shared/log.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';
import { CLI } from '../../helpers/processes.js';

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'mamori-status-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
// Like /var/lib: anyone may pass through the parent; the state directory is the agent's alone.
chmodSync(base, 0o755);

async function statusOf(recording: string): Promise<string> {
  const stateDir = join(base, recording);
  mkdirSync(stateDir, { mode: 0o700 });
  const report = await localCheck({ replayDir: join(import.meta.dirname, '../../fixtures/replay/linux', recording) });
  const { events, state } = findingsToEvents(report, productCatalogue().rules, emptyFindingsState());
  const n = new UserNotices({ stateDir, log: silentLogger(), policy: () => PolicyDocument.parse({ version: 1 }), catalogue: productCatalogue, append: () => undefined, notify: false, now: () => new Date('2026-12-07T00:05:00Z') });
  n.afterFindings(events, state);
  await n.idle();
  return stateDir;
}

/** As nobody when root can switch to it (the point: no admin rights needed), else as ourselves. */
async function mamoriStatus(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const asNobody = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  const [cmd, ...rest] = [...asNobody, process.execPath, CLI, 'status', ...args];
  try {
    const r = await run(cmd!, rest, { encoding: 'utf8' });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout, err: err.stderr };
  }
}

describe('mamori status', () => {
  it('prints the open violations in Japanese with what to do and whom to contact', async () => {
    const stateDir = await statusOf('debian11-gnome-clamav');
    const r = await mamoriStatus(['--state', stateDir]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('この PC の未解決の規則違反: 2 件 (2026年12月7日 9:05 時点)');
    expect(r.out).toMatch(/\n\d\. 登録されていないUSBメモリが接続されました \(USB-001\)\n/);
    expect(r.out).toContain('   内容: 媒体管理台帳に登録されていないUSB記憶媒体 (0951:1666:E0D55EA573DCF450E97C0F9A) がこのパソコンに接続されました。');
    expect(r.out).toContain('   規程: 川崎市情報セキュリティ基準 第4章4(1)ア、第9章8(8)');
    expect(r.out).toContain('   対応: すぐに取り外してください。');
    expect(r.out).toContain('連絡先: 情報セキュリティ管理者 (情報政策課 ヘルプデスク 内線 1234 helpdesk@example.lg.jp)');
    expect(r.out).not.toMatch(/ag_/);
  });

  it('says so when nothing is open', async () => {
    const stateDir = join(base, 'clean');
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(`${stateDir}.status.json`, JSON.stringify({ updatedAt: '2026-12-07T00:05:00Z', contact: '情報セキュリティ管理者 (総務課 内線 200 soumu@example.lg.jp)', violations: [] }), { mode: 0o644 });
    chmodSync(`${stateDir}.status.json`, 0o644);
    const r = await mamoriStatus(['--state', stateDir]);
    expect(r.out).toContain('この PC に未解決の規則違反はありません (2026年12月7日 9:05 時点)。');
  });

  it('a missing or damaged status file is a one-line Japanese error, exit 2', async () => {
    const missing = await mamoriStatus(['--state', join(base, 'never-ran')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(`mamori: 状態ファイル ${join(base, 'never-ran')}.status.json がありません。mamori エージェントが動いていないか、まだ一度も検査していません。\n`);
    writeFileSync(join(base, 'broken.status.json'), '{"updatedAt": 3', { mode: 0o644 });
    chmodSync(join(base, 'broken.status.json'), 0o644);
    const broken = await mamoriStatus(['--state', join(base, 'broken')]);
    expect(broken.code).toBe(2);
    expect(broken.err).toContain('の形式が正しくありません。');
  });
});
