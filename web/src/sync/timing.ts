// Small timing helpers shared by the socket and the op queue: backoff with full jitter and the
// client-side token bucket.

/** Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^attempt)).
 *  Full jitter spreads a crowd of clients that lost the same server over the whole window. */
export function backoffDelay(
  attempt: number,
  random: () => number,
  baseMs = 250,
  capMs = 10_000,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * A token bucket like the server's per-connection op limit (50/s, burst 100), a little
 * stricter, so a burst of local edits waits here instead of coming back `rate_limited`.
 * The server's bucket starts full and refills continuously; ours does the same.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
  }

  /** Takes one token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available (0 when one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSec);
  }

  /** A new connection gets a new bucket on the server. */
  reset(): void {
    this.tokens = this.burst;
    this.last = this.now();
  }
}
