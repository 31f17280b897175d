/**
 * The agent's schedules (the hourly check run, the daily inventory): five-field cron
 * expressions as crontab(5) reads them, in the PC's local time.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is `*`, a number, a range `a-b`, a step `*∕n` or `a-b∕n`, or a comma list of them;
 * months and days of the week may be named (jan…dec, sun…sat; 0 and 7 are both Sunday). When
 * both day fields are restricted, a day matching either runs (crontab(5)).
 *
 * Written here rather than taken from a cron library: computing local times through
 * Intl.DateTimeFormat, as the libraries do, maps about 8 MB of ICU data into the idle agent.
 */

export class CronError extends Error {
  readonly code = 'CRON_EXPRESSION';
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

export interface CronExpression {
  readonly text: string;
  /** Allowed values of each field (day of week 0–6, Sunday 0). */
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether the day fields were `*` (crontab(5): a restricted one alone decides). */
  readonly anyDayOfMonth: boolean;
  readonly anyDayOfWeek: boolean;
}

function parseField(text: string, index: number, expression: string): Set<number> {
  const f = FIELDS[index]!;
  const names: readonly string[] = 'names' in f ? f.names : [];
  const value = (v: string): number => {
    const named = names.indexOf(v.toLowerCase());
    const n = named >= 0 ? named + (f.min === 1 ? 1 : 0) : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= f.min && n <= f.max)) throw new CronError(`"${expression}": ${f.name} "${v}" is not between ${f.min} and ${f.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|([^-/]+)(?:-([^-/]+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(`"${expression}": ${f.name} "${part}" is not a value, range or step`);
    const [lo, hi] = m[1] === '*' ? [f.min, f.max] : [value(m[2]!), m[3] !== undefined ? value(m[3]) : m[4] !== undefined ? f.max : value(m[2]!)];
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo > hi || step < 1) throw new CronError(`"${expression}": ${f.name} "${part}" is an empty range`);
    for (let v = lo; v <= hi; v += step) out.add(index === 4 && v === 7 ? 0 : v);
  }
  return out;
}

export function parseCron(text: string): CronExpression {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5) throw new CronError(`"${text}": a schedule has five fields (minute hour day-of-month month day-of-week), not ${fields.length}`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = fields.map((f, i) => parseField(f, i, text)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return { text, minutes, hours, daysOfMonth, months, daysOfWeek, anyDayOfMonth: fields[2] === '*', anyDayOfWeek: fields[4] === '*' };
}

function dayMatches(c: CronExpression, d: Date): boolean {
  const dom = c.daysOfMonth.has(d.getDate());
  const dow = c.daysOfWeek.has(d.getDay());
  if (c.anyDayOfMonth || c.anyDayOfWeek) return dom && dow;
  return dom || dow;
}

/** The first local minute strictly after `after` that the expression matches (searched up to 8 years ahead, so 29 February on a given weekday is found). */
export function nextMatch(c: CronExpression, after: Date): Date {
  const d = new Date(after.getTime());
  d.setSeconds(0, 0);
  d.setMinutes(d.getMinutes() + 1);
  const limit = after.getTime() + 8 * 366 * 86_400_000;
  while (d.getTime() <= limit) {
    if (!c.months.has(d.getMonth() + 1)) {
      d.setMonth(d.getMonth() + 1, 1);
      d.setHours(0, 0, 0, 0);
    } else if (!dayMatches(c, d)) {
      d.setDate(d.getDate() + 1);
      d.setHours(0, 0, 0, 0);
    } else if (!c.hours.has(d.getHours())) {
      d.setHours(d.getHours() + 1, 0, 0, 0);
    } else if (!c.minutes.has(d.getMinutes())) {
      d.setMinutes(d.getMinutes() + 1, 0, 0);
    } else {
      return d;
    }
  }
  throw new CronError(`"${c.text}": matches no date`);
}

/** Longest single wait: the next time is computed again after it, so a changed clock is followed within this. */
const MAX_WAIT_MS = 15 * 60_000;
/** A matching time is still run when the timer fires this late (a busy or loaded PC). */
const LATE_RUN_MS = 60_000;

/** Runs `task` at every time `expression` matches, until stop(); its timer keeps the process alive, as the daemon's schedule should. */
export class CronSchedule {
  private readonly cron: CronExpression;
  private timer: NodeJS.Timeout | undefined;
  private next: Date | undefined;
  private stopped = false;

  constructor(
    expression: string,
    private readonly task: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.cron = parseCron(expression);
  }

  start(): this {
    this.next = nextMatch(this.cron, this.now());
    this.arm();
    return this;
  }

  /** When the task runs next (undefined once stopped). */
  get nextRun(): Date | undefined {
    return this.stopped ? undefined : this.next;
  }

  private arm(): void {
    if (this.stopped || !this.next) return;
    const wait = Math.min(Math.max(this.next.getTime() - this.now().getTime(), 0), MAX_WAIT_MS);
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    const now = this.now();
    const due = this.next !== undefined && now.getTime() >= this.next.getTime();
    // A time missed by more than a minute (the PC slept, the clock jumped) is skipped, not run
    // late: the agent runs its checks on waking anyway (agent/agent.ts).
    const run = due && now.getTime() - this.next!.getTime() < LATE_RUN_MS;
    // Computed again at every wake-up, so a clock set back or forward is followed.
    this.next = nextMatch(this.cron, now);
    if (run) this.task();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
