/**
 * The agent's one long-lived Windows PowerShell process (implements PowerShellHost).
 *
 * Why this shape (platform-probes.md §0.1):
 * - one `powershell.exe -NoProfile -NonInteractive -Command -` for the life of the agent:
 *   spawning PowerShell per probe costs seconds of CPU (sebhildebrandt/systeminformation#616,
 *   #650, #788); -NoProfile because profile scripts hung every call (#805);
 * - scripts go over stdin, never `-EncodedCommand`, and no `-ExecutionPolicy Bypass` or
 *   `-WindowStyle Hidden`: Defender, Kaspersky and MDE flag or kill exactly that combination
 *   (mondoohq/mql#9802, stablyai/orca#16576, #17880); Node's `windowsHide` hides the window;
 *   `-Command` is not gated by the execution policy anyway (stablyai/orca#17880);
 * - the absolute path %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe, so a
 *   powershell.exe earlier on PATH is never run as SYSTEM;
 * - each script is framed by unique begin/end markers the host prints itself; stderr (warnings,
 *   progress, errors) is collected for the failure detail but never ends a request —
 *   systeminformation's per-call mode killed PowerShell on the first stderr byte and returned
 *   partial output;
 * - requests are serialised; a request that runs past its timeout kills the process, and the
 *   next request starts a fresh one;
 * - one such process per lane (./powershell.ts), so a Windows Update search that takes
 *   minutes never delays a USB check.
 *
 * Under `-Command -` PowerShell reads stdin like an interactive prompt: a blank line ends a
 * multi-line statement. Each script is therefore sent as one `& { … }` block with its blank
 * lines removed (check scripts contain no here-strings), followed by a blank line.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { PowerShellLanes } from './powershell.js';
import type { PowerShellHost, PowerShellLane } from './powershell.js';
import { probeFailed, type FailedProbe, type ProbeOutcome } from './types.js';

/** The part of a child process the host uses; a test double of powershell.exe's I/O provides the same. */
export interface PowerShellProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  kill(): void;
  once(event: 'exit', listener: (code: number | null) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
}

export type PowerShellSpawner = () => PowerShellProcess;

/** Absolute path of Windows PowerShell 5.1, present on every Windows 10/11. */
export function windowsPowerShellPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SystemRoot ?? env.windir ?? 'C:\\Windows', 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe');
}

/** Spawns the real powershell.exe. */
export const spawnWindowsPowerShell: PowerShellSpawner = () =>
  spawn(windowsPowerShellPath(), ['-NoProfile', '-NonInteractive', '-Command', '-'], { windowsHide: true, stdio: ['pipe', 'pipe', 'pipe'] });

export interface PowerShellHostOptions {
  spawn?: PowerShellSpawner;
  /** Default per-request timeout (60 s). */
  timeoutMs?: number;
  /** Largest output of one request (16 MiB); more kills the process. */
  maxBytes?: number;
  /** End the process as soon as no request is queued (a host used rarely, e.g. every few hours). */
  exitWhenIdle?: boolean;
}

/** First thing every new process runs: UTF-8 (no BOM) on stdout so Japanese text arrives intact. */
const INIT = "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false); $ProgressPreference = 'SilentlyContinue'\n\n";

/** How long to wait for stderr after an end marker with no output. */
const STDERR_GRACE_MS = 100;

interface Pending {
  begin: string;
  end: string;
  resolve: (o: ProbeOutcome) => void;
  timer: NodeJS.Timeout;
  stderr: string;
}

/** Frame a script for `-Command -`: markers around one `& { }` block without blank lines. */
export function frameScript(script: string, id: string): { text: string; begin: string; end: string } {
  const begin = `<<<MAMORI-BEGIN ${id}>>>`;
  const end = `<<<MAMORI-END ${id}>>>`;
  const body = script.replace(/\r\n/g, '\n').split('\n').filter((line) => line.trim() !== '').join('\n');
  const text = `[Console]::Out.WriteLine('${begin}'); [Console]::Out.Flush()\n& {\n${body}\n}\n\n[Console]::Out.WriteLine('${end}'); [Console]::Out.Flush()\n\n`;
  return { text, begin, end };
}

export class PowerShellHostProcess implements PowerShellHost {
  private readonly spawner: PowerShellSpawner;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private proc: PowerShellProcess | undefined;
  private buffer = '';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private counter = 0;
  private closed = false;
  private readonly exitWhenIdle: boolean;
  /** Requests accepted and not yet answered. */
  private outstanding = 0;
  /** How many processes were started (1 + restarts); for diagnostics and tests. */
  spawnCount = 0;

  constructor(opts: PowerShellHostOptions = {}) {
    this.spawner = opts.spawn ?? spawnWindowsPowerShell;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.exitWhenIdle = opts.exitWhenIdle ?? false;
  }

  /** Run one script; requests run one after the other. */
  run(script: string, timeoutMs?: number): Promise<ProbeOutcome> {
    this.outstanding += 1;
    const next = this.queue.then(() => this.runNow(script, timeoutMs ?? this.timeoutMs)).finally(() => {
      this.outstanding -= 1;
      if (this.exitWhenIdle && this.outstanding === 0) this.endProcess();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Let the current process exit (`exit` on stdin), killed if it does not within 2 s. */
  private endProcess(): void {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc) return;
    const timer = setTimeout(() => proc.kill(), 2_000);
    timer.unref();
    proc.once('exit', () => clearTimeout(timer));
    proc.stdin.end('exit\n');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const proc = this.proc;
    this.proc = undefined;
    if (!proc) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        proc.kill();
        resolve();
      }, 2_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.stdin.end('exit\n');
    });
  }

  private ensureProcess(): PowerShellProcess {
    if (this.proc) return this.proc;
    const proc = this.spawner();
    this.spawnCount += 1;
    this.proc = proc;
    this.buffer = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => this.onStdout(proc, chunk));
    proc.stderr.on('data', (chunk: string) => {
      if (this.proc === proc && this.pending) this.pending.stderr = (this.pending.stderr + chunk).slice(-2000);
    });
    proc.stdin.on('error', () => undefined);
    const gone = (failure: () => FailedProbe) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.finish(failure());
    };
    const printed = (): string => this.pending?.stderr.trim().slice(-300) ?? '';
    proc.once('exit', (exit) => {
      const code = exit ?? 'null';
      gone(() => (printed() ? probeFailed('EXEC_FAILED', 'why.probe.psExitedSaid', { code, output: printed() }) : probeFailed('EXEC_FAILED', 'why.probe.psExited', { code })));
    });
    proc.once('error', (err) => gone(() => probeFailed('EXEC_FAILED', 'why.probe.psNotRun', { error: err.message })));
    proc.stdin.write(INIT);
    return proc;
  }

  private runNow(script: string, timeoutMs: number): Promise<ProbeOutcome> {
    if (this.closed) return Promise.resolve(probeFailed('UNSUPPORTED', 'why.probe.psClosed', {}));
    const id = `${Date.now().toString(36)}-${++this.counter}-${randomBytes(6).toString('hex')}`;
    const framed = frameScript(script, id);
    return new Promise<ProbeOutcome>((resolve) => {
      let proc: PowerShellProcess;
      try {
        proc = this.ensureProcess();
      } catch (err) {
        resolve(probeFailed('EXEC_FAILED', 'why.probe.psNoStart', { error: (err as Error).message }));
        return;
      }
      const timer = setTimeout(() => {
        // A hung script (WMI provider, COM call) poisons the session: kill it; the next request starts a new one.
        const p = this.proc;
        this.proc = undefined;
        this.finish(probeFailed('PROBE_TIMEOUT', 'why.probe.psTimeout', { ms: timeoutMs }));
        p?.kill();
      }, timeoutMs);
      this.pending = { begin: framed.begin, end: framed.end, resolve, timer, stderr: '' };
      this.buffer = '';
      proc.stdin.write(framed.text);
    });
  }

  private onStdout(proc: PowerShellProcess, chunk: string): void {
    if (this.proc !== proc || !this.pending) return;
    this.buffer += chunk;
    // The markers and line ends around the output do not count against the limit.
    if (this.buffer.length > this.maxBytes + this.pending.begin.length + this.pending.end.length + 8) {
      this.proc = undefined;
      this.finish(probeFailed('OUTPUT_TOO_LARGE', 'why.probe.psTooMuch', { bytes: this.maxBytes }));
      proc.kill();
      return;
    }
    const { begin, end } = this.pending;
    const start = this.buffer.indexOf(begin);
    if (start < 0) return;
    const stop = this.buffer.indexOf(end, start + begin.length);
    if (stop < 0) return;
    const body = this.buffer.slice(start + begin.length, stop).replace(/^\r?\n/, '').replace(/\r?\n$/, '');
    this.buffer = this.buffer.slice(stop + end.length);
    if (body.trim() !== '') {
      this.finish({ ok: true, stdout: body, exitCode: 0 });
      return;
    }
    // Nothing printed: the error text, if any, is on stderr, a separate pipe that can arrive
    // after the end marker. Give it a moment before deciding.
    const pending = this.pending;
    setTimeout(() => {
      if (this.pending !== pending) return;
      const stderr = pending.stderr.trim();
      if (stderr !== '') this.finish(probeFailed('EXEC_FAILED', 'why.probe.psStderr', { output: stderr.slice(-300) }, { stdout: body }));
      else this.finish({ ok: true, stdout: body, exitCode: 0 });
    }, STDERR_GRACE_MS);
  }

  private finish(outcome: ProbeOutcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(outcome);
  }
}

/** The agent's PowerShell processes on Windows, one per lane (see ./powershell.ts). */
export function windowsPowerShellLanes(spawn: PowerShellSpawner = spawnWindowsPowerShell): PowerShellLanes {
  return new PowerShellLanes((lane: PowerShellLane) => new PowerShellHostProcess({ spawn, exitWhenIdle: lane === 'wua' }));
}
