/**
 * `mamori status`: this PC's open violations and what to do about each, in Japanese, for the
 * person at the PC or the helpdesk on the phone. Reads the world-readable status file the agent
 * keeps beside its state directory (agent/notify/status.ts): no admin rights needed, nothing secret.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readEnrollmentStatus } from '../../agent/enrollment.js';
import type { EnrollmentStatus } from '../../agent/enrollment.js';
import { StatusFile, statusPath } from '../../agent/notify/status.js';
import { jstLong } from '../shared/i18n/index.js';
import { UsageError } from './errors.js';

export function formatStatus(status: StatusFile): string {
  const head = status.violations.length === 0 ? `この PC に未解決の規則違反はありません (${jstLong(status.updatedAt)} 時点)。` : `この PC の未解決の規則違反: ${status.violations.length} 件 (${jstLong(status.updatedAt)} 時点)`;
  const items = status.violations.map((v, i) =>
    [`${i + 1}. ${v.title} (${v.ruleId})`, `   内容: ${v.what}`, ...(v.clause ? [`   規程: ${v.clause}`] : []), `   対応: ${v.todo}`, `   発生: ${jstLong(v.openedAt)}`].join('\n'),
  );
  return [head, ...items, `連絡先: ${status.contact}`].join('\n\n') + '\n';
}

/** An agent that has not managed to enroll: why, since when, and when it tries again. */
export function formatEnrollment(e: EnrollmentStatus): string {
  return [
    `この PC は収集サーバーに登録できていません (${jstLong(e.since)} から ${e.attempts} 回失敗)。`,
    `   理由: ${e.reason}`,
    `   収集サーバー: ${e.collector}`,
    `   最後の試行: ${jstLong(e.lastAttemptAt)}${e.nextAttemptAt ? ` / 次の試行: ${jstLong(e.nextAttemptAt)}` : ''}`,
    '   情報システム担当にこの表示を伝えてください。',
  ].join('\n') + '\n';
}

export function readStatus(stateDir: string): StatusFile {
  const path = statusPath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`状態ファイル ${path} がありません。mamori エージェントが動いていないか、まだ一度も検査していません。`);
    throw new UsageError(`状態ファイル ${path} を読めません (${code ?? (err as Error).message})。`);
  }
  const parsed = StatusFile.safeParse((() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })());
  if (!parsed.success) throw new UsageError(`状態ファイル ${path} の形式が正しくありません。`);
  return parsed.data;
}

export function registerStatusCommand(program: Command, defaultStateDir: () => string): void {
  program
    .command('status')
    .description('この PC の未解決の規則違反と対応方法を表示する (管理者権限は不要)')
    .option('--state <dir>', 'エージェントの状態ディレクトリ (既定: インストール先)')
    .option('--json', '状態ファイルを JSON で出力する')
    .action((o: { state?: string; json?: boolean }) => {
      const stateDir = resolve(o.state ?? defaultStateDir());
      // Not enrolled yet: that comes first, and there may be no check results at all.
      const enrollment = readEnrollmentStatus(stateDir);
      let status: StatusFile | undefined;
      try {
        status = readStatus(stateDir);
      } catch (err) {
        if (!enrollment) throw err;
      }
      if (o.json) process.stdout.write(`${JSON.stringify({ ...status, ...(enrollment ? { enrollment } : {}) }, null, 2)}\n`);
      else process.stdout.write([...(enrollment ? [formatEnrollment(enrollment)] : []), ...(status ? [formatStatus(status)] : [])].join('\n'));
    });
}
