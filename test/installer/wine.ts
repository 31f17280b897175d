/** Running Windows programs under wine for the MSI tests (wine.test.ts, wine-update.test.ts). */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Linux path → the Z: drive path wine maps it to. */
export function z(path: string): string {
  return `Z:${path.replace(/\//g, '\\')}`;
}

/**
 * Run a program under wine in `prefix`, with stdout/stderr in a file of `work` (wine + pipes = EBADF
 * in libuv; feasibility.md §6); `log` names the file, which a detached child may go on writing.
 */
export function wineIn(work: string, prefix: string) {
  return async (args: string[], timeoutMs = 120_000): Promise<{ code: number | null; out: string; log: string }> => {
    const log = join(work, `wine-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
    const fd = openSync(log, 'w');
    try {
      const child = spawn('wine', args, { env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', DISPLAY: '' }, stdio: ['ignore', fd, fd] });
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`wine ${args.join(' ')}: no exit within ${timeoutMs} ms`));
        }, timeoutMs);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      return { code, out: readFileSync(log, 'utf8'), log };
    } finally {
      closeSync(fd);
    }
  };
}
