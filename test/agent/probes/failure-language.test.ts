/**
 * A probe's failure reads in the console's language: the timeout of a program, of a library call
 * and a probe missing from a recording give their detail as a catalogue message, so the reason a
 * check reports renders wholly in Japanese or wholly in English, and its text (what older
 * collectors store) is the Japanese rendering.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWhy } from '../../../agent/checks/why.js';
import { runLibraryCall, runProgram } from '../../../agent/probes/live.js';
import { ReplayProbes } from '../../../agent/probes/replay.js';
import type { ProbeOutcome } from '../../../agent/probes/types.js';
import { render } from '../../../src/shared/i18n/index.js';

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

function failed(o: ProbeOutcome) {
  if (o.ok) throw new Error('the probe was expected to fail');
  return o;
}

describe('a probe failure in both languages', () => {
  it('a program that outlives its timeout', async () => {
    const o = failed(await runProgram('/bin/sleep', ['30'], { timeoutMs: 200 }));
    expect(o.failure).toBe('PROBE_TIMEOUT');
    const why = probeWhy(o);
    expect(render(why.msg, 'en')).toBe('timed out (PROBE_TIMEOUT): /bin/sleep did not finish within 200 ms');
    expect(render(why.msg, 'ja')).toBe('時間内に応答がありません (PROBE_TIMEOUT): /bin/sleep が 200 ミリ秒以内に終わりませんでした');
    expect(why.text).toBe('PROBE_TIMEOUT: /bin/sleep が 200 ミリ秒以内に終わりませんでした');
  });

  it('a library call that outlives its timeout', async () => {
    let release: () => void = () => undefined;
    const o = failed(await runLibraryCall(() => new Promise<void>((r) => (release = r)), 100));
    release();
    expect(render(probeWhy(o).msg, 'en')).toBe('timed out (PROBE_TIMEOUT): the call did not finish within 100 ms');
    expect(render(probeWhy(o).msg, 'ja')).toMatch(/^時間内に応答がありません \(PROBE_TIMEOUT\): 呼び出しが 100 ミリ秒以内に終わりませんでした$/);
  });

  it('a program that exits with an error prints its own output as it is', async () => {
    const o = failed(await runProgram('/bin/sh', ['-c', 'echo "no such thing" >&2; exit 3']));
    expect(render(probeWhy(o).msg, 'en')).toBe('could not run (EXEC_FAILED): /bin/sh ended with exit code 3: no such thing');
    expect(render(probeWhy(o).msg, 'ja')).toBe('実行できませんでした (EXEC_FAILED): /bin/sh が終了コード 3 で終わりました: no such thing');
  });

  it('a probe missing from a recording, and a recording whose status file is broken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-replay-'));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ platform: 'linux', recordedAt: '2026-12-01T00:00:00Z' }));
    writeFileSync(join(dir, 'broken.status.json'), '{"failure":"SOMETHING_ELSE"}');
    const probes = new ReplayProbes(dir);
    const missing = failed(await probes.exec('dpkg-status'));
    expect(render(probeWhy(missing).msg, 'en')).toBe('not in the recording (NOT_RECORDED): no recording for probe dpkg-status');
    expect(render(probeWhy(missing).msg, 'ja')).toBe('記録にありません (NOT_RECORDED): 調査 dpkg-status の記録がありません');
    const broken = failed(await probes.exec('broken'));
    expect(render(probeWhy(broken).msg, 'en')).not.toMatch(JAPANESE);
    expect(render(probeWhy(broken).msg, 'en')).toContain('broken.status.json is not a valid status file');
  });

  it('a detail read from a recording stays as it was recorded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mamori-replay-'));
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ platform: 'windows', recordedAt: '2026-12-01T00:00:00Z' }));
    writeFileSync(join(dir, 'win.beyond.status.json'), JSON.stringify({ failure: 'PROBE_TIMEOUT', detail: 'PowerShell did not finish within 60000 ms' }));
    const o = failed(await new ReplayProbes(dir).powershell('win.beyond'));
    expect(o.detailMsg).toBeUndefined();
    expect(render(probeWhy(o).msg, 'ja')).toBe('時間内に応答がありません (PROBE_TIMEOUT): PowerShell did not finish within 60000 ms');
  });
});
