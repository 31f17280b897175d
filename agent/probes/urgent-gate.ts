/**
 * Urgent checks first: while a check that a device event asked for runs (usb-media after a
 * stick was plugged in), the other checks of a full run wait at their next probe call. The
 * agent has one main thread and a few I/O threads; without this, a USB check's thirty-odd
 * sysfs reads each queue behind whatever the software or patch check does between them (a
 * program started, its output parsed), and the verdict comes seconds late on a slow PC.
 * A probe call already started finishes; nothing is cancelled, only postponed.
 */
import type { ExecOptions, PowerShellOptions, ProbeOutcome, Probes } from './types.js';

export class UrgentGate {
  private running = 0;
  private waiters: (() => void)[] = [];

  /** Run urgent work; other work waiting at `clear()` goes on when no urgent work is left. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      if (--this.running === 0) for (const resume of this.waiters.splice(0)) resume();
    }
  }

  /** Resolves at once when nothing urgent runs, else when the last urgent work is done. */
  clear(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resume) => this.waiters.push(resume));
  }

  /**
   * A point where non-urgent work that holds the main thread lets others go first: the I/O
   * callbacks already waiting run (a udev line saying a stick was plugged in, which starts the
   * USB check), then this waits while urgent work runs. A promise alone would not let them run:
   * its continuation comes before any I/O callback.
   */
  async stepAside(): Promise<void> {
    await new Promise<void>((resume) => setImmediate(resume));
    await this.clear();
  }

  get busy(): boolean {
    return this.running > 0;
  }
}

/** The same probes, each call made only when no urgent check runs. */
export class YieldingProbes implements Probes {
  readonly platform: Probes['platform'];
  readonly mode: Probes['mode'];

  constructor(
    private readonly inner: Probes,
    private readonly gate: UrgentGate,
  ) {
    this.platform = inner.platform;
    this.mode = inner.mode;
  }

  async exec(key: string, file: string, args: readonly string[], opts?: ExecOptions): Promise<ProbeOutcome> {
    await this.gate.clear();
    return this.inner.exec(key, file, args, opts);
  }

  async readFile(key: string, path: string, opts?: { maxBytes?: number }): Promise<ProbeOutcome> {
    await this.gate.clear();
    return this.inner.readFile(key, path, opts);
  }

  async listDir(key: string, path: string): Promise<ProbeOutcome> {
    await this.gate.clear();
    return this.inner.listDir(key, path);
  }

  async powershell(key: string, script: string, opts?: PowerShellOptions): Promise<ProbeOutcome> {
    await this.gate.clear();
    return this.inner.powershell(key, script, opts);
  }

  async library(key: string, call: () => Promise<unknown>, opts?: { timeoutMs?: number }): Promise<ProbeOutcome> {
    await this.gate.clear();
    return this.inner.library(key, call, opts);
  }

  now(): Date {
    return this.inner.now();
  }
}
