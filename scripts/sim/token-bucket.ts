/** An API rate limit as AWS applies it per account and Region: a token bucket, refilled continuously. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  allowed = 0;
  throttled = 0;

  /** `ratePerSecond` <= 0 means no limit. */
  constructor(readonly ratePerSecond: number, readonly burst: number, startMs: number) {
    this.tokens = burst;
    this.last = startMs;
  }

  take(nowMs: number): boolean {
    if (this.ratePerSecond <= 0) {
      this.allowed++;
      return true;
    }
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) / 1000) * this.ratePerSecond);
    this.last = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.allowed++;
      return true;
    }
    this.throttled++;
    return false;
  }
}
