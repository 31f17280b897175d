/**
 * The `Intl` node-cron sees inside the agent bundle (scripts/package.mjs, cronLocalTimePlugin).
 *
 * node-cron reads the wall-clock time of every firing and of every next-run computation from
 * `new Intl.DateTimeFormat('en-US', …).formatToParts(date)`, with or without a timezone option.
 * The first such formatter maps about 5 MB of the runtime's ICU data, which the agent then holds
 * for its whole life. The agent's schedules have no timezone option (the PC's own time zone),
 * and in that zone a Date's local getters give the same parts without ICU. A formatter asked for
 * another time zone is still the real one.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

type Part = { type: string; value: string };

const two = (n: number) => String(n).padStart(2, '0');

/** Date and time parts of `date` in the local zone, as en-US with the options node-cron passes (hour12: false). */
function dateParts(date: Date): Part[] {
  const lit = (value: string): Part => ({ type: 'literal', value });
  return [
    { type: 'weekday', value: WEEKDAYS[date.getDay()]! },
    lit(', '),
    { type: 'month', value: two(date.getMonth() + 1) },
    lit('/'),
    { type: 'day', value: two(date.getDate()) },
    lit('/'),
    { type: 'year', value: String(date.getFullYear()) },
    lit(', '),
    { type: 'hour', value: two(date.getHours()) },
    lit(':'),
    { type: 'minute', value: two(date.getMinutes()) },
    lit(':'),
    { type: 'second', value: two(date.getSeconds()) },
  ];
}

/** The local zone's offset at `date` as en-US `timeZoneName: 'shortOffset'` writes it: GMT, GMT+9, GMT-3:30. */
function offsetParts(date: Date): Part[] {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  const name = minutes === 0 ? 'GMT' : `GMT${minutes < 0 ? '-' : '+'}${Math.floor(abs / 60)}${abs % 60 ? `:${two(abs % 60)}` : ''}`;
  return [
    { type: 'month', value: String(date.getMonth() + 1) },
    { type: 'literal', value: '/' },
    { type: 'day', value: String(date.getDate()) },
    { type: 'literal', value: '/' },
    { type: 'year', value: String(date.getFullYear()) },
    { type: 'literal', value: ', ' },
    { type: 'timeZoneName', value: name },
  ];
}

type FormatOptions = Intl.DateTimeFormatOptions & { timeZoneName?: string };

class LocalDateTimeFormat {
  private readonly offset: boolean = false;

  constructor(locale?: string, options: FormatOptions = {}) {
    // Another zone, or a shape node-cron does not ask for: the real formatter.
    const known = options.timeZoneName === 'shortOffset' || (options.hour12 === false && options.weekday === 'short');
    if (options.timeZone !== undefined || !known) return new Intl.DateTimeFormat(locale, options) as unknown as LocalDateTimeFormat;
    this.offset = options.timeZoneName === 'shortOffset';
  }

  formatToParts(date: Date | number = new Date()): Part[] {
    const d = typeof date === 'number' ? new Date(date) : date;
    return this.offset ? offsetParts(d) : dateParts(d);
  }

  format(date: Date | number = new Date()): string {
    return this.formatToParts(date)
      .map((p) => p.value)
      .join('');
  }
}

/** Stands for the global `Intl` in node-cron's module. */
export const cronIntl = { DateTimeFormat: LocalDateTimeFormat };
