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
import { UsageError } from './errors.js';
import { t } from './lang.js';

export function formatStatus(status: StatusFile): string {
  const at = { time: status.updatedAt };
  const head = status.violations.length === 0 ? t('cli.status.none', { at }) : t('cli.status.open', { n: status.violations.length, at });
  const items = status.violations.map((v, i) =>
    [`${i + 1}. ${v.title} (${v.ruleId})`, `   ${t('cli.status.what', { text: v.what })}`, ...(v.clause ? [`   ${t('cli.status.clause', { text: v.clause })}`] : []), `   ${t('cli.status.todo', { text: v.todo })}`, `   ${t('cli.status.opened', { at: { time: v.openedAt } })}`].join('\n'),
  );
  return [head, ...items, t('cli.status.contact', { text: status.contact })].join('\n\n') + '\n';
}

/** An agent that has not managed to enroll: why, since when, and when it tries again. */
export function formatEnrollment(e: EnrollmentStatus): string {
  return [
    t('cli.status.notEnrolled', { since: { time: e.since }, attempts: e.attempts }),
    `   ${t('cli.status.reason', { text: e.reason })}`,
    `   ${t('cli.status.collector', { url: e.collector })}`,
    `   ${t('cli.status.lastAttempt', { at: { time: e.lastAttemptAt } })}${e.nextAttemptAt ? ` / ${t('cli.status.nextAttempt', { at: { time: e.nextAttemptAt } })}` : ''}`,
    `   ${t('cli.status.tellHelpdesk')}`,
  ].join('\n') + '\n';
}

export function readStatus(stateDir: string): StatusFile {
  const path = statusPath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(t('cli.status.noFile', { path }));
    throw new UsageError(t('cli.status.unreadable', { path, code: code ?? (err as Error).message }));
  }
  const parsed = StatusFile.safeParse((() => { try { return JSON.parse(text) as unknown; } catch { return undefined; } })());
  if (!parsed.success) throw new UsageError(t('cli.status.malformed', { path }));
  return parsed.data;
}

export function registerStatusCommand(program: Command, defaultStateDir: () => string): void {
  program
    .command('status')
    .description(t('cli.status.description'))
    .option('--state <dir>', t('cli.status.opt.state'))
    .option('--json', t('cli.status.opt.json'))
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
