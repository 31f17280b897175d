import { describe, expect, it } from 'vitest';
import { Backoff } from '../../agent/link/backoff.js';

describe('Backoff (exponential, full jitter)', () => {
  it('draws each delay uniformly below a ceiling that doubles up to the cap', () => {
    const top = new Backoff(1000, 60_000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => top.next())).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]);
    const bottom = new Backoff(1000, 60_000, () => 0);
    expect(bottom.next()).toBe(0);
  });

  it('starts over after reset', () => {
    const b = new Backoff(1000, 60_000, () => 0.5);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(500);
  });
});
