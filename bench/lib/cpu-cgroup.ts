/**
 * A fixed CPU budget for one process, as if it ran on a small machine of its own: a Linux
 * cgroup with a CFS quota (cgroup v1 `cpu` controller: cpu.cfs_quota_us / cpu.cfs_period_us;
 * cgroup v2: cpu.max "QUOTA PERIOD"). Writing to these files needs root. The kernel counts in
 * cpu.stat how many periods the group ran out of its quota (nr_throttled).
 *
 * What stays on the machine: on cgroup v2 the "cpu" controller is switched on for the root's
 * children (`+cpu` in /sys/fs/cgroup/cgroup.subtree_control) and left on, as other groups may use
 * it by then. The groups themselves are removed when the bench ends, also after Ctrl-C or a
 * SIGTERM; a bench killed with SIGKILL leaves its groups (`mamori-bench-<pid>-…` under the
 * controller's root) with the nodes it started still in them: stop those, then `rmdir` the groups.
 *
 * Kernel documentation: Documentation/scheduler/sched-bwc.rst (CFS bandwidth control, both
 * versions) and Documentation/admin-guide/cgroup-v2.rst ("cpu.max", "cpu.stat").
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PERIOD_US = 100_000;
const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';

export interface CpuStat {
  periods: number;
  throttled: number;
  throttledMs: number;
}

export interface CpuCgroup {
  readonly path: string;
  /** Cores the group may use (quota / period). */
  readonly cores: number;
  /** Move a process (all its threads) into the group. */
  add(pid: number): void;
  stat(): CpuStat;
  /** Move what is still inside back to the root group and remove the group; never throws. */
  remove(): void;
}

type Version = { kind: 'v1'; root: string } | { kind: 'v2'; root: string };

/** Where a CPU quota can be set on this machine, or why not. */
function cgroupVersion(): Version | { error: string } {
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) return { kind: 'v1', root: V1_ROOT };
  const controllers = join(V2_ROOT, 'cgroup.controllers');
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) return { kind: 'v2', root: V2_ROOT };
  return { error: `no cgroup CPU controller found (neither ${V1_ROOT}/cpu.cfs_quota_us nor "cpu" in ${controllers})` };
}

const created = new Set<CpuCgroup>();
let exitHookSet = false;

/**
 * Create a group with `cores` of CPU (0.25 = a quarter of one core). Throws with the reason
 * when no CPU controller is writable (not root, no cgroup mounted). Groups still present when
 * the process exits are removed then.
 */
export function createCpuCgroup(name: string, cores: number): CpuCgroup {
  if (!(cores > 0)) throw new Error(`CPU budget must be a positive number of cores, got ${cores}`);
  const version = cgroupVersion();
  if ('error' in version) throw new Error(version.error);
  const path = join(version.root, name);
  const quota = Math.max(1000, Math.round(cores * PERIOD_US));
  try {
    if (version.kind === 'v2') writeFileSync(join(version.root, 'cgroup.subtree_control'), '+cpu');
    mkdirSync(path);
    if (version.kind === 'v1') {
      writeFileSync(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quota));
    } else writeFileSync(join(path, 'cpu.max'), `${quota} ${PERIOD_US}`);
  } catch (err) {
    try {
      rmdirSync(path);
    } catch {
      // never made
    }
    throw new Error(`cannot set a CPU quota in ${path} (${(err as Error).message}); run as root on a machine with cgroup v1 "cpu" or v2 "cpu.max"`);
  }
  const group: CpuCgroup = {
    path,
    cores: quota / PERIOD_US,
    add: (pid) => writeFileSync(join(path, 'cgroup.procs'), String(pid)),
    stat() {
      const fields = new Map(
        readFileSync(join(path, 'cpu.stat'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      const n = (k: string) => Number(fields.get(k) ?? 0);
      return { periods: n('nr_periods'), throttled: n('nr_throttled'), throttledMs: version.kind === 'v1' ? n('throttled_time') / 1e6 : n('throttled_usec') / 1000 };
    },
    remove() {
      created.delete(group);
      try {
        for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) writeFileSync(join(version.root, 'cgroup.procs'), pid);
        rmdirSync(path);
      } catch {
        // already gone
      }
    },
  };
  created.add(group);
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', () => {
      for (const g of [...created]) g.remove();
    });
    // A bench stopped with Ctrl-C or kill leaves no group behind either.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  }
  return group;
}

/** A stat reading's difference from an earlier one. */
export function statBetween(a: CpuStat, b: CpuStat): CpuStat {
  return { periods: b.periods - a.periods, throttled: b.throttled - a.throttled, throttledMs: b.throttledMs - a.throttledMs };
}
