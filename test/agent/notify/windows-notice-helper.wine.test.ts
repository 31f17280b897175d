/**
 * mamori-notice.exe, built by the package's own build step (scripts/package.mjs, mingw-w64),
 * run under Debian's wine 8 with an X server (Xvfb): `sessions` answers in its format, and
 * `show-in` starts the helper "in the session" through WTSQueryUserToken/CreateProcessAsUserW,
 * which shows the notice. wine has no toast platform (its powershell.exe is a stand-in that
 * never prints the helper's mark), so the plain window is what appears; a screenshot is kept in
 * test-results/windows-notice/ as evidence.
 * Not proven here: real Windows — session 0 isolation, a real user token, toasts, the
 * policies that turn toasts off, full-screen detection. wine lists no session at all.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSessionList } from '../../../agent/notify/windows.js';
import { ROOT } from '../../helpers/processes.js';
import { requireTools, skipReal } from '../../helpers/linux-real.js';

const TOOLS = ['/usr/bin/wine', '/usr/bin/wineserver', '/usr/bin/x86_64-w64-mingw32-gcc', '/usr/bin/Xvfb', '/usr/bin/import'];
const PKGS = 'wine wine64 gcc-mingw-w64-x86-64-win32 xvfb imagemagick fonts-noto-cjk';
const EVIDENCE = join(ROOT, 'test-results', 'windows-notice');

let work: string;
let exe: string;
let xvfb: ChildProcess | undefined;
const display = `:${90 + (process.pid % 50)}`;
const env = () => ({ ...process.env, WINEPREFIX: join(work, 'prefix'), WINEDEBUG: '-all', DISPLAY: display });

/** wine with standard input and output in files (pipes and wine do not mix well in libuv). */
async function wine(args: string[], input = '', timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
  const inFile = join(work, `in-${Date.now()}`);
  const outFile = join(work, `out-${Date.now()}`);
  writeFileSync(inFile, input);
  const i = openSync(inFile, 'r');
  const o = openSync(outFile, 'w');
  try {
    const child = spawn('wine', args, { env: env(), stdio: [i, o, 'ignore'] });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`wine ${args.join(' ')}: no exit within ${timeoutMs} ms`))), timeoutMs);
      child.on('exit', (c) => (clearTimeout(timer), resolve(c)));
    });
    return { code, out: readFileSync(outFile, 'utf8') };
  } finally {
    closeSync(i);
    closeSync(o);
  }
}

describe.skipIf(skipReal(TOOLS, PKGS))('mamori-notice.exe under wine', { timeout: 240_000 }, () => {
  beforeAll(async () => {
    requireTools(TOOLS, PKGS);
    work = mkdtempSync(join(tmpdir(), 'mamori-notice-wine-'));
    exe = join(work, 'mamori-notice.exe');
    const { buildNoticeHelper } = (await import(join(ROOT, 'scripts/package.mjs'))) as { buildNoticeHelper: (exe: string) => void };
    buildNoticeHelper(exe);
    xvfb = spawn('/usr/bin/Xvfb', [display, '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    mkdirSync(EVIDENCE, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    if (work) await new Promise((r) => spawn('wineserver', ['-k'], { env: env(), stdio: 'ignore' }).on('exit', r));
    xvfb?.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is a Windows program and prints its usage for unknown arguments', async () => {
    expect(readFileSync(exe).subarray(0, 2).toString()).toBe('MZ');
    const r = await wine([exe, 'nonsense']);
    expect(r.code).toBe(64);
    expect(r.out).toMatch(/^usage: mamori-notice.exe sessions \| show-in SESSION-ID \| show/);
  });

  it('sessions: the line format the agent parses (wine lists no session)', async () => {
    const r = await wine([exe, 'sessions']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('mamori-notice sessions 1');
    expect(parseSessionList(r.out)).toEqual([]);
  });

  it('show-in starts the helper in the session with the Japanese notice, which opens its window', async () => {
    const notice = '【情報セキュリティ】登録されていないUSBメモリが接続されました\n媒体管理台帳に登録されていないUSB記憶媒体がこのパソコンに接続されました。\n連絡先: 情報セキュリティ管理者 (内線 1234)';
    const r = await wine([exe, 'show-in', '1'], notice);
    expect(r.out.trim()).toBe('shown\twindow');
    expect(r.code).toBe(0);
    // The window is on the X screen: more than the bare root window's single colour.
    const shot = join(EVIDENCE, 'notice-window.png');
    let colours = 1;
    for (let i = 0; i < 40 && colours <= 1; i++) {
      await new Promise((res) => setTimeout(res, 500));
      await new Promise((res) => spawn('/usr/bin/import', ['-display', display, '-window', 'root', shot], { stdio: 'ignore' }).on('exit', res));
      const out = await new Promise<string>((res) => {
        let s = '';
        const c = spawn('/usr/bin/convert', [shot, '-format', '%k', 'info:'], { stdio: ['ignore', 'pipe', 'ignore'] });
        c.stdout.on('data', (d: Buffer) => (s += d.toString()));
        c.on('exit', () => res(s));
      });
      colours = Number(out.trim()) || 1;
    }
    expect(colours).toBeGreaterThan(1);
  });
});
