/**
 * The agent watches its own resource use, in the spirit of osquery's watchdog (which allows
 * 200 MB of memory and 10 % CPU by default): every interval it samples its CPU time and
 * resident memory; the latest sample goes into each heartbeat. Over the memory limit at one
 * sample, or over the CPU limit for `strikes` consecutive samples, it calls `onBreach` — the
 * daemon logs, reports an agent.notice and exits non-zero so the service manager (systemd
 * Restart=, the Windows service recovery actions) starts it afresh.
 */

export interface WatchdogOptions {
  /** Resident memory limit in bytes (default 200 MiB, osquery's watchdog_memory_limit). */
  memoryLimitBytes?: number;
  /** CPU limit in percent of one core, averaged over one interval (default 10, osquery's watchdog_utilization_limit). */
  cpuLimitPercent?: number;
  /** Sampling interval (default 10 s). */
  intervalMs?: number;
  /** Consecutive samples over the CPU limit before a breach (default 6 = one minute). */
  strikes?: number;
}

export const WATCHDOG_DEFAULTS = { memoryLimitBytes: 200 * 1024 * 1024, cpuLimitPercent: 10, intervalMs: 10_000, strikes: 6 } as const;

export interface ResourceSample {
  rssBytes: number;
  /** CPU time over the last interval, percent of one core. */
  cpuPercent: number;
}

export interface WatchdogBreach {
  limit: 'memory' | 'cpu';
  sample: ResourceSample;
  limitValue: number;
  /** Consecutive samples over the limit. */
  samples: number;
}

/** What the watchdog reads; process by default, replaceable in tests. */
export interface ResourceSource {
  cpuMicros(): number;
  rssBytes(): number;
  nowMs(): number;
}

const processSource: ResourceSource = {
  cpuMicros: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  rssBytes: () => process.memoryUsage.rss(),
  nowMs: () => performance.now(),
};

export class Watchdog {
  private readonly opts: Required<WatchdogOptions>;
  private timer: NodeJS.Timeout | undefined;
  private lastCpu: number;
  private lastAt: number;
  private over = 0;
  private sample: ResourceSample;

  constructor(
    private readonly onBreach: (breach: WatchdogBreach) => void,
    opts: WatchdogOptions = {},
    private readonly source: ResourceSource = processSource,
  ) {
    this.opts = { ...WATCHDOG_DEFAULTS, ...opts };
    this.lastCpu = source.cpuMicros();
    this.lastAt = source.nowMs();
    this.sample = { rssBytes: source.rssBytes(), cpuPercent: 0 };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The latest sample (for heartbeats). */
  latest(): ResourceSample {
    return this.sample;
  }

  /** Take one sample and judge it (called by the timer; tests call it directly). */
  tick(): void {
    const cpu = this.source.cpuMicros();
    const at = this.source.nowMs();
    const elapsedMs = Math.max(1, at - this.lastAt);
    this.sample = { rssBytes: this.source.rssBytes(), cpuPercent: ((cpu - this.lastCpu) / 1000 / elapsedMs) * 100 };
    this.lastCpu = cpu;
    this.lastAt = at;
    if (this.sample.rssBytes > this.opts.memoryLimitBytes) {
      this.onBreach({ limit: 'memory', sample: this.sample, limitValue: this.opts.memoryLimitBytes, samples: 1 });
      return;
    }
    this.over = this.sample.cpuPercent > this.opts.cpuLimitPercent ? this.over + 1 : 0;
    if (this.over >= this.opts.strikes) {
      this.onBreach({ limit: 'cpu', sample: this.sample, limitValue: this.opts.cpuLimitPercent, samples: this.over });
      this.over = 0;
    }
  }
}
