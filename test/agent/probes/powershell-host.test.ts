/**
 * The PowerShell host's framing, serialisation, timeout and restart logic, run on Linux.
 * powershell.exe is replaced by a small Node child process that is a TEST DOUBLE OF
 * powershell.exe's I/O BEHAVIOUR ONLY: it reads stdin line by line like `-Command -`, prints
 * what `[Console]::Out.WriteLine('…')` lines ask for, and understands a few made-up
 * statements (ECHO, STDERR, SLEEP, DIE) standing in for a script's effects. It does not run
 * PowerShell code; the check scripts themselves are tested through recorded outputs.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PowerShellHostProcess, frameScript, windowsPowerShellLanes, windowsPowerShellPath } from '../../../agent/probes/powershell-host.js';
import type { PowerShellProcess } from '../../../agent/probes/powershell-host.js';
import { render } from '../../../src/shared/i18n/index.js';

const DOUBLE = `
const rl = require('node:readline').createInterface({ input: process.stdin });
const lines = []; let busy = false;
rl.on('line', (l) => { lines.push(l); pump(); });
rl.on('close', () => { lines.push('DIE 0'); pump(); });
async function pump() {
  if (busy) return; busy = true;
  while (lines.length) {
    const l = lines.shift();
    let m;
    if ((m = /^\\[Console\\]::Out\\.WriteLine\\('(.*)'\\)/.exec(l))) process.stdout.write(m[1] + '\\r\\n');
    else if ((m = /^ECHO (.*)$/.exec(l))) process.stdout.write(m[1] + '\\r\\n');
    else if ((m = /^CHUNKS (.*)$/.exec(l))) { for (const c of m[1]) { process.stdout.write(c); await new Promise((r) => setTimeout(r, 1)); } process.stdout.write('\\r\\n'); }
    else if ((m = /^STDERR (.*)$/.exec(l))) process.stderr.write(m[1] + '\\n');
    else if ((m = /^SLEEP (\\d+)$/.exec(l))) await new Promise((r) => setTimeout(r, Number(m[1])));
    else if ((m = /^DIE (\\d+)$/.exec(l))) process.exit(Number(m[1]));
    else if (l === 'exit') process.exit(0);
  }
  busy = false;
}
`;

const spawned: PowerShellProcess[] = [];
function fakePowerShell(): PowerShellProcess {
  const p = spawn(process.execPath, ['-e', DOUBLE], { stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.push(p);
  return p;
}
afterEach(() => {
  for (const p of spawned.splice(0)) p.kill();
});

describe('PowerShell host', () => {
  it('frames a script as one & { } block without blank lines', () => {
    const f = frameScript('$a = 1\n\n$b = 2\r\n', 'x1');
    expect(f.text).toContain('& {\n$a = 1\n$b = 2\n}\n\n');
    expect(f.begin).toBe('<<<MAMORI-BEGIN x1>>>');
    expect(f.text.indexOf(f.begin)).toBeLessThan(f.text.indexOf('& {'));
    expect(f.text.indexOf(f.end)).toBeGreaterThan(f.text.indexOf('}'));
  });

  it('uses the absolute path of Windows PowerShell 5.1', () => {
    expect(windowsPowerShellPath({ SystemRoot: 'C:\\Windows' })).toMatch(/System32.WindowsPowerShell.v1\.0.powershell\.exe$/);
  });

  it('returns exactly what the script printed, Japanese included, between its markers', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const out = await host.run('ECHO {"name":"ジャストシステム 一太郎 2023"}');
    expect(out).toEqual({ ok: true, stdout: '{"name":"ジャストシステム 一太郎 2023"}', exitCode: 0 });
    await host.close();
  });

  it('output arriving in small chunks is joined; stderr does not end the request', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const out = await host.run('STDERR WARNING: something\nCHUNKS {"a":[1,2,3]}\nSTDERR more');
    expect(out).toEqual({ ok: true, stdout: '{"a":[1,2,3]}', exitCode: 0 });
    await host.close();
  });

  it('serialises concurrent requests on one process', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const [a, b, c] = await Promise.all([host.run('SLEEP 50\nECHO first'), host.run('ECHO second'), host.run('SLEEP 10\nECHO third')]);
    expect([a, b, c].map((o) => (o.ok ? o.stdout : o.failure))).toEqual(['first', 'second', 'third']);
    expect(host.spawnCount).toBe(1);
    await host.close();
  });

  it('a request past its timeout kills the process and the next request runs in a new one', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const slow = await host.run('SLEEP 5000\nECHO late', 200);
    expect(slow).toMatchObject({ ok: false, failure: 'PROBE_TIMEOUT' });
    const next = await host.run('ECHO fresh');
    expect(next).toEqual({ ok: true, stdout: 'fresh', exitCode: 0 });
    expect(host.spawnCount).toBe(2);
    await host.close();
  });

  it('a process that dies mid-request gives EXEC_FAILED with its stderr, then restarts', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const dead = await host.run('STDERR fatal: out of memory\nSLEEP 20\nDIE 3');
    expect(dead).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
    if (!dead.ok) expect(dead.detail).toBe('PowerShell のホストが終了コード 3 で終わりました: fatal: out of memory');
    if (!dead.ok) expect(render(dead.detailMsg!, 'en')).toBe('the PowerShell host exited with code 3: fatal: out of memory');
    expect(await host.run('ECHO back')).toMatchObject({ ok: true, stdout: 'back' });
    expect(host.spawnCount).toBe(2);
    await host.close();
  });

  it('nothing on stdout but errors on stderr is a failure with the error text', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell });
    const out = await host.run('STDERR Get-Foo : The term Get-Foo is not recognized');
    expect(out).toMatchObject({ ok: false, failure: 'EXEC_FAILED', detail: expect.stringContaining('not recognized') });
    await host.close();
  });

  it('too much output is cut off and the process replaced', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell, maxBytes: 50 });
    expect(await host.run(`ECHO ${'x'.repeat(200)}`)).toMatchObject({ ok: false, failure: 'OUTPUT_TOO_LARGE' });
    expect(await host.run('ECHO ok')).toMatchObject({ ok: true, stdout: 'ok' });
    await host.close();
  });

  it('a host that exits when idle ends its process after the last queued request and starts a new one for the next', async () => {
    const host = new PowerShellHostProcess({ spawn: fakePowerShell, exitWhenIdle: true });
    const [a, b] = await Promise.all([host.run('SLEEP 20\nECHO one'), host.run('ECHO two')]);
    expect([a, b].map((o) => (o.ok ? o.stdout : o.failure))).toEqual(['one', 'two']);
    expect(host.spawnCount).toBe(1);
    await new Promise((resolve) => (spawned[0] as unknown as ChildProcess).once('exit', resolve));
    expect(await host.run('ECHO three')).toMatchObject({ ok: true, stdout: 'three' });
    expect(host.spawnCount).toBe(2);
    await host.close();
  });

  it('each lane is its own process: a request blocked on one lane does not hold up another', async () => {
    const lanes = windowsPowerShellLanes(fakePowerShell);
    const stuck = lanes.host('wua').run('SLEEP 60000\nECHO late', 120_000);
    expect(await lanes.host('interactive').run('ECHO usb')).toMatchObject({ ok: true, stdout: 'usb' });
    expect(await lanes.host().run('ECHO default is interactive')).toMatchObject({ ok: true, stdout: 'default is interactive' });
    expect(spawned.length).toBe(2);
    for (const p of spawned) p.kill();
    expect(await stuck).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
  });

  it('a spawner that throws gives EXEC_FAILED, not an exception', async () => {
    const host = new PowerShellHostProcess({ spawn: () => { throw new Error('ENOENT'); } });
    expect(await host.run('ECHO x')).toMatchObject({ ok: false, failure: 'EXEC_FAILED' });
  });
});
