/**
 * Per-source token buckets, in process: cheap enough to run before anything else on every REGISTER.
 * The map is bounded; when full, the stalest bucket is dropped (it would be nearly full anyway).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxSources = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes a token for `source`; returns 0 when allowed, else the seconds until one is available. */
  take(source: string): number {
    if (!this.enabled) return 0;
    const now = this.now();
    const bucket = this.buckets.get(source) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.delete(source);
    this.buckets.set(source, bucket);
    this.evictIfFull();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  private evictIfFull(): void {
    while (this.buckets.size > this.maxSources) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }
}
