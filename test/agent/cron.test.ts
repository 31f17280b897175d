import { afterEach, describe, expect, test, vi } from 'vitest';
import { CronError, CronSchedule, nextMatch, parseCron } from '../../agent/cron.js';

/** A local time (the schedules are in the PC's local time). */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);
const next = (expr: string, from: Date) => nextMatch(parseCron(expr), from);

describe('cron expressions (crontab(5), local time)', () => {
  test('the agent\'s schedules: every hour on the hour, daily at 12:17', () => {
    expect(next('0 * * * *', at(2026, 12, 7, 9, 0))).toEqual(at(2026, 12, 7, 10, 0));
    expect(next('0 * * * *', at(2026, 12, 7, 9, 59, 59))).toEqual(at(2026, 12, 7, 10, 0));
    expect(next('0 * * * *', at(2026, 12, 31, 23, 30))).toEqual(at(2027, 1, 1, 0, 0));
    expect(next('17 12 * * *', at(2026, 12, 7, 12, 17))).toEqual(at(2026, 12, 8, 12, 17));
    expect(next('17 12 * * *', at(2026, 12, 7, 12, 16, 30))).toEqual(at(2026, 12, 7, 12, 17));
  });
  test('ranges, steps, lists and names', () => {
    const weekdayOffice = parseCron('*/20 9-17 * * mon-fri');
    expect([...weekdayOffice.minutes]).toEqual([0, 20, 40]);
    expect(nextMatch(weekdayOffice, at(2026, 12, 4, 17, 40))).toEqual(at(2026, 12, 7, 9, 0)); // Friday evening → Monday 9:00
    expect(next('30 8 1,15 * *', at(2026, 12, 2))).toEqual(at(2026, 12, 15, 8, 30));
    expect(next('0 0 1 jan *', at(2026, 12, 7))).toEqual(at(2027, 1, 1));
    expect(next('5 10-20/5 * * *', at(2026, 12, 7, 15, 6))).toEqual(at(2026, 12, 7, 20, 5));
    expect([...parseCron('0 0 * * 7').daysOfWeek]).toEqual([0]);
    expect([...parseCron('0 0 * * SUN').daysOfWeek]).toEqual([0]);
  });
  test('both day fields restricted: either one matches (crontab(5)); one restricted: it alone decides', () => {
    // 2026-12-07 is a Monday.
    expect(next('0 0 13 * fri', at(2026, 12, 7))).toEqual(at(2026, 12, 11)); // Friday the 11th, before the 13th
    expect(next('0 0 13 * *', at(2026, 12, 7))).toEqual(at(2026, 12, 13));
    expect(next('0 0 * * fri', at(2026, 12, 7))).toEqual(at(2026, 12, 11));
  });
  test('29 February is found years ahead', () => {
    expect(next('0 0 29 2 *', at(2026, 3, 1))).toEqual(at(2028, 2, 29));
  });
  test.each([
    ['0 * * *', /five fields/],
    ['0 0 * * * *', /five fields .* not 6/],
    ['60 * * * *', /minute "60" is not between 0 and 59/],
    ['0 24 * * *', /hour "24"/],
    ['0 0 0 * *', /day of month "0"/],
    ['0 0 * 13 *', /month "13"/],
    ['0 0 * * funday', /day of week "funday"/],
    ['0 0 30 2 *', /matches no date/],
    ['0 0 * * 5-1', /empty range/],
    ['*/0 * * * *', /empty range/],
    ['1-2-3 * * * *', /not a value, range or step/],
  ])('%s is refused with a reason', (expr, reason) => {
    const attempt = () => next(expr, at(2026, 12, 7));
    expect(attempt).toThrow(CronError);
    expect(attempt).toThrow(reason);
  });
});

describe('CronSchedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  test('runs at each matching minute, once, and not after stop()', () => {
    vi.useFakeTimers({ now: at(2026, 12, 7, 9, 58, 30) });
    const runs: string[] = [];
    const s = new CronSchedule('0 * * * *', () => runs.push(new Date().toTimeString().slice(0, 5))).start();
    expect(s.nextRun).toEqual(at(2026, 12, 7, 10, 0));
    vi.advanceTimersByTime(3 * 3_600_000);
    expect(runs).toEqual(['10:00', '11:00', '12:00']);
    s.stop();
    vi.advanceTimersByTime(3 * 3_600_000);
    expect(runs).toHaveLength(3);
    expect(s.nextRun).toBeUndefined();
  });
  test('a time missed by more than a minute (the PC slept) is skipped, and the clock set back is followed', () => {
    vi.useFakeTimers({ now: at(2026, 12, 7, 9, 30) });
    let clock = at(2026, 12, 7, 9, 30);
    const runs: Date[] = [];
    const s = new CronSchedule('0 * * * *', () => runs.push(clock), () => clock).start();
    // The process was frozen for two hours: its timer fires at 11:30 by the wall clock.
    clock = at(2026, 12, 7, 11, 30);
    vi.advanceTimersByTime(15 * 60_000);
    expect(runs).toEqual([]);
    expect(s.nextRun).toEqual(at(2026, 12, 7, 12, 0));
    // Set back to 8:10: the next run is 9:00, not 12:00.
    clock = at(2026, 12, 7, 8, 10);
    vi.advanceTimersByTime(15 * 60_000);
    expect(s.nextRun).toEqual(at(2026, 12, 7, 9, 0));
    s.stop();
  });
});
