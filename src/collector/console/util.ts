/** Small helpers shared by the console services. */
import { randomBytes } from 'node:crypto';

/** A random id with a readable prefix, e.g. "usr_3f…". */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

/** JSON column → value; a broken cell yields the fallback rather than a crash. */
export function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** A clock the services share, so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
