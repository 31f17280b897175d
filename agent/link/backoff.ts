/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): the delay is uniform in [0, min(cap, base·2^attempt)], so 10,000 agents that
 * lost the same collector do not come back in lock-step.
 */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly baseMs = 1000,
    private readonly capMs = 60_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.floor(this.random() * ceiling);
  }

  /** Longest possible delay: used after the collector refused this agent (revoked, bad credentials). */
  max(): number {
    return Math.floor(this.capMs / 2 + this.random() * (this.capMs / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
