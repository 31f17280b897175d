/** A broken or unreadable config stops start-up with a message naming the file, line and key. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, startProc, tempDir } from '../helpers/processes.js';

async function runAgent(config: string): Promise<{ code: number | null; out: string }> {
  const dir = tempDir('cfg');
  const file = join(dir, 'agent.yml');
  writeFileSync(file, config);
  const p = startProc('agent', [CLI, 'agent', 'run', '--config', file, '--state', join(dir, 'state')]);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n').replaceAll(dir, '<dir>') };
}

describe('agent configuration errors', () => {
  it('names the file, line and key of a wrong value', async () => {
    const r = await runAgent('collector: ws://c:8470/agent\nschedule: "0 * * * *"\noutboxCapBytes: lots\n');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/<dir>\/agent\.yml:3: outboxCapBytes: /);
  });
  it('names an unknown key', async () => {
    const r = await runAgent('collector: ws://c:8470/agent\ncolector: typo\n');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/agent\.yml:\d+: .*colector/);
  });
  it('names the line of a YAML syntax error', async () => {
    const r = await runAgent('collector: [ws://c\nschedule: x\n');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/agent\.yml:\d+: /);
  });
  it('says when the file cannot be read', async () => {
    const p = startProc('agent', [CLI, 'agent', 'run', '--config', '/nonexistent/agent.yml', '--state', join(tempDir('cfg'), 's')]);
    expect((await p.exited).code).toBe(2);
    expect(p.lines.join('\n')).toMatch(/\/nonexistent\/agent\.yml: cannot read \(ENOENT\)/);
  });
});
