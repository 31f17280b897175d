/** A token bucket per connection: frames and bytes per second with a burst allowance. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = this.now();
  }

  /** Take `amount` tokens; false when the bucket is empty (the caller closes the connection). */
  take(amount = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}
