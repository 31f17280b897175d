/**
 * Probes against the live OS: execFile with argv (no shell), timeouts and output caps.
 *
 * Programs start from the main thread. On Linux, Node 24's libuv starts a program with fork()
 * (a clone without CLONE_VM, seen with strace), so each start holds the thread while the agent's
 * page tables are copied: in the installed agent's start run 1.3 ms at p50 and 7 ms at most (32
 * programs, 60 ms in all, load 7; BENCHMARKS.md "Agent memory: programs from the main thread").
 * A USB event that arrives meanwhile waits for the starts already under way (mostly one: a full
 * run goes through its checks one at a time, ../agent.ts); while the USB check runs, the other
 * checks wait at their next probe call (./urgent-gate.ts). A worker thread that started
 * the programs instead left 4–5 MB behind in the idle agent after it ended (its allocator arena
 * and the pages of the node binary it ran).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { constants, getPriority, setPriority } from 'node:os';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import type { ExecOptions, PowerShellOptions, ProbeOutcome, Probes } from './types.js';
import { assertProbeKey, probeFailed } from './types.js';
import type { PowerShellLanes } from './powershell.js';

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

function fsFailure(err: NodeJS.ErrnoException, path: string): ProbeOutcome {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return probeFailed('NOT_FOUND', 'why.probe.fileMissing', { path });
  if (err.code === 'EACCES' || err.code === 'EPERM') return probeFailed('ACCESS_DENIED', 'why.probe.noReadPermission', { path });
  return probeFailed('EXEC_FAILED', 'why.probe.readFailed', { path, error: err.code ?? err.message });
}

/**
 * sysfs on Linux: attributes the kernel renders from memory, a few bytes each, never waiting for
 * a disk. Read in place: the USB check reads some forty of them, and each asynchronous read is
 * four trips through the I/O threads and back (open, stat, read, close), every one of them a
 * chance to queue behind other work; read in place the check's facts take well under a
 * millisecond. (Not /proc: some of its files wait for the locks of the process they describe.)
 */
function kernelMemory(path: string): boolean {
  return process.platform === 'linux' && path.startsWith('/sys/');
}

/** How a program failed: what execFile's callback receives, or what starting it threw. */
interface ProgramError {
  message: string;
  code?: string | number;
  killed?: boolean;
  signal?: string | null;
}

/**
 * Run a program; `belowAgent`: at nice 10 (or lower still when the agent is; Windows: below
 * normal), so its CPU time goes after the agent's own (apt-get's simulation alone is seconds of CPU).
 */
export function runProgram(file: string, args: readonly string[], opts: ExecOptions = {}, belowAgent = false): Promise<ProbeOutcome> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBuffer = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const okCodes = opts.okExitCodes ?? [0];
  const options = {
    timeout,
    maxBuffer,
    env: { ...process.env, ...opts.env, LC_ALL: 'C', LANG: 'C' },
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  };
  const outcome = (err: ProgramError | null, stdout: string, stderr: string): ProbeOutcome => {
    if (!err) return { ok: true, stdout, exitCode: 0 };
    if (err.code === 'ENOENT') return probeFailed('NOT_FOUND', 'why.probe.notInstalled', { file });
    if (err.code === 'EACCES') return probeFailed('ACCESS_DENIED', 'why.probe.noExecPermission', { file });
    if (err.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return probeFailed('OUTPUT_TOO_LARGE', 'why.probe.outputTooLarge', { file, bytes: maxBuffer });
    if (err.killed && err.signal === 'SIGKILL') return probeFailed('PROBE_TIMEOUT', 'why.probe.timeout', { file, ms: timeout });
    if (typeof err.code === 'number') {
      if (okCodes.includes(err.code)) return { ok: true, stdout, exitCode: err.code };
      const tail = stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
      const ended = { exitCode: err.code, stdout };
      return tail ? probeFailed('EXEC_FAILED', 'why.probe.exitCodeSaid', { file, code: err.code, output: tail }, ended) : probeFailed('EXEC_FAILED', 'why.probe.exitCode', { file, code: err.code }, ended);
    }
    return probeFailed('EXEC_FAILED', 'why.probe.runFailed', { file, error: err.message.slice(0, 300) });
  };
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = execFile(file, [...args], { ...options, killSignal: 'SIGKILL', windowsHide: true, encoding: 'utf8' }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string }) | null;
        resolve(outcome(e ? { message: e.message, code: e.code, killed: e.killed, signal: e.signal } : null, String(stdout), String(stderr)));
      });
    } catch (err) {
      // Node calls back with a start failure only for EACCES, EAGAIN, EMFILE, ENFILE and ENOENT
      // and throws every other one (lib/internal/child_process.js, ChildProcess.prototype.spawn):
      // fork out of memory, an argument too long (E2BIG), a uid the agent may not take (EPERM),
      // a NUL byte in an argument. The check gets the failure, as for a program that ran and failed.
      const e = err as NodeJS.ErrnoException;
      resolve(outcome({ message: e.message, code: e.code }, '', ''));
      return;
    }
    if (belowAgent && child.pid) {
      try {
        // One of Node's priority constants, as its docs ask (nodejs.org/api/os.html#ossetprioritypid-priority):
        // on Windows a value is mapped to a priority class (PRIORITY_BELOW_NORMAL to
        // BELOW_NORMAL_PRIORITY_CLASS, libuv's uv_os_setpriority) and getPriority() gives back a constant.
        setPriority(child.pid, Math.max(constants.priority.PRIORITY_BELOW_NORMAL, getPriority()));
      } catch {
        // Refused for a program that runs as a user (gsettings): changing another user's process
        // takes CAP_SYS_NICE, which the service's capabilities leave out. It then runs at the
        // agent's priority; only its share of the CPU differs, so its output still counts.
      }
    }
  });
}

/** A library call with a deadline; its result as JSON (undefined prints as null). */
export async function runLibraryCall(call: () => Promise<unknown>, timeoutMs: number): Promise<ProbeOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(() => resolve(probeFailed('PROBE_TIMEOUT', 'why.probe.callTimeout', { ms: timeoutMs })), timeoutMs);
  });
  const run = call().then(
    (value): ProbeOutcome => ({ ok: true, stdout: JSON.stringify(value ?? null), exitCode: 0 }),
    (err: unknown): ProbeOutcome => probeFailed('EXEC_FAILED', 'why.probe.callFailed', { error: String((err as Error)?.message ?? err).slice(0, 300) }),
  );
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class LiveProbes implements Probes {
  readonly mode = 'live' as const;
  readonly platform: 'linux' | 'windows';

  constructor(
    private readonly powershellLanes?: PowerShellLanes,
    /** Programs at a lower CPU priority than the agent (the agent daemon). */
    private readonly programsBelowAgent = false,
  ) {
    this.platform = process.platform === 'win32' ? 'windows' : 'linux';
  }

  exec(key: string, file: string, args: readonly string[], opts?: ExecOptions): Promise<ProbeOutcome> {
    assertProbeKey(key);
    return runProgram(file, args, opts, this.programsBelowAgent);
  }

  async readFile(key: string, path: string, opts?: { maxBytes?: number }): Promise<ProbeOutcome> {
    assertProbeKey(key);
    try {
      const buf = kernelMemory(path) ? readFileSync(path) : await readFile(path);
      const max = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
      if (buf.length > max) return probeFailed('OUTPUT_TOO_LARGE', 'why.probe.fileTooLarge', { path, bytes: buf.length });
      return { ok: true, stdout: buf.toString('utf8'), exitCode: 0 };
    } catch (err) {
      return fsFailure(err as NodeJS.ErrnoException, path);
    }
  }

  async listDir(key: string, path: string): Promise<ProbeOutcome> {
    assertProbeKey(key);
    try {
      const names = kernelMemory(path) ? readdirSync(path) : await readdir(path);
      return { ok: true, stdout: JSON.stringify(names.sort()), exitCode: 0 };
    } catch (err) {
      return fsFailure(err as NodeJS.ErrnoException, path);
    }
  }

  async powershell(key: string, script: string, opts?: PowerShellOptions): Promise<ProbeOutcome> {
    assertProbeKey(key);
    if (!this.powershellLanes) return probeFailed('UNSUPPORTED', 'why.probe.psWindowsOnly', {});
    return this.powershellLanes.host(opts?.lane).run(script, opts?.timeoutMs);
  }

  async library(key: string, call: () => Promise<unknown>, opts?: { timeoutMs?: number }): Promise<ProbeOutcome> {
    assertProbeKey(key);
    return runLibraryCall(call, opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  now(): Date {
    return new Date();
  }
}
