/**
 * node-cron in the agent bundle reads local time from agent/cron-local-time.ts instead of ICU:
 * for every hour of two years, across daylight-saving changes and zones with half-hour
 * offsets, it must give node-cron the same date parts and offset as Intl.DateTimeFormat.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cronIntl } from '../../agent/cron-local-time.js';

// The two formatters node-cron makes (node-cron/dist/_shared.js getPartsFormatter, getOffsetFormatter).
const PARTS = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hour12: false } as const;
const OFFSET = { timeZone: undefined, timeZoneName: 'shortOffset' } as const;

/** What node-cron keeps of the parts (literals dropped; ICU's hour "24" is its midnight). */
function dateFields(parts: { type: string; value: string }[]): Record<string, string> {
  const fields = Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, p.value]));
  if (fields.hour === '24') fields.hour = '00';
  return fields;
}

/** The offset in minutes node-cron reads from the timeZoneName part ("GMT", "GMT+0", "GMT+9", "GMT-3:30"). */
function offsetMinutes(parts: { type: string; value: string }[]): number {
  const name = parts.find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/.exec(name);
  if (!m) throw new Error(`unexpected offset ${name}`);
  return m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
}

const savedTz = process.env.TZ;
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('node-cron local time without ICU', () => {
  // The offsets (minutes) each zone has over the two years: the zone really is the one asked for.
  const zones: Record<string, number[]> = { 'Asia/Tokyo': [540], 'America/New_York': [-300, -240], 'Europe/London': [0, 60], 'Australia/Adelaide': [570, 630], 'America/St_Johns': [-210, -150], UTC: [0] };
  for (const [zone, offsets] of Object.entries(zones)) {
    it(`matches Intl.DateTimeFormat hour by hour in ${zone}`, () => {
      process.env.TZ = zone;
      const real = { parts: new Intl.DateTimeFormat('en-US', PARTS), offset: new Intl.DateTimeFormat('en-US', OFFSET) };
      const local = { parts: new cronIntl.DateTimeFormat('en-US', PARTS), offset: new cronIntl.DateTimeFormat('en-US', OFFSET) };
      expect(local.parts).not.toBeInstanceOf(Intl.DateTimeFormat);
      const start = Date.UTC(2026, 0, 1);
      let compared = 0;
      const seen = new Set<number>();
      // Every hour of two years, at a minute and second that change as it goes.
      for (let t = start; t < start + 2 * 366 * 86_400_000; t += 3_600_000 + 7_000) {
        const date = new Date(t);
        expect(dateFields(local.parts.formatToParts(date)), date.toISOString()).toEqual(dateFields(real.parts.formatToParts(date)));
        expect(offsetMinutes(local.offset.formatToParts(date)), date.toISOString()).toBe(offsetMinutes(real.offset.formatToParts(date)));
        seen.add(offsetMinutes(local.offset.formatToParts(date)));
        compared++;
      }
      expect(compared).toBeGreaterThan(17_000);
      expect([...seen].sort((a, b) => a - b)).toEqual(offsets);
    });
  }

  it('gives a formatter for another time zone to Intl', () => {
    expect(new cronIntl.DateTimeFormat('en-US', { ...OFFSET, timeZone: 'Asia/Tokyo' })).toBeInstanceOf(Intl.DateTimeFormat);
  });
});
