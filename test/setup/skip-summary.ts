/**
 * A reporter that ends the run with every test that did not run and why it could not: a run
 * on a machine without PostgreSQL, Chromium, ClamAV or the installer tools stays green with
 * whole suites skipped, and that must be read at the end, not found in the scroll-back.
 */
import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest';

interface Skipped {
  file: string;
  name: string;
}

function collect(task: RunnerTask, file: string, path: string[], out: Skipped[]): void {
  const name = [...path, task.name];
  const skipped = task.mode === 'skip' || task.mode === 'todo' || task.result?.state === 'skip';
  if (skipped) {
    // A skipped suite is one line, not one per test in it.
    out.push({ file, name: name.join(' › ') });
    return;
  }
  if (task.type === 'suite') for (const child of task.tasks) collect(child, file, name, out);
}

export default class SkipSummary implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const skipped: Skipped[] = [];
    for (const f of files) {
      if (f.mode === 'skip' || f.result?.state === 'skip') skipped.push({ file: f.name, name: '(whole file)' });
      else for (const t of f.tasks) collect(t, f.name, [], skipped);
    }
    if (skipped.length === 0) return;
    const lines = [`\nSkipped (${skipped.length}) — did not run in this run (a missing service or tool is named where the suite starts):`];
    for (const s of skipped) lines.push(`  ↓ ${s.file} › ${s.name}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
