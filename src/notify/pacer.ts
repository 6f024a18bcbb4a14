/**
 * A token bucket per destination: `ratePerSec` sends a second on average, `burst` at once after a
 * quiet spell, and a hard pause when Slack says 429 (Retry-After). Pure: time comes in as arguments.
 */
export type Pacer = {
  /** Milliseconds to wait before the next send may go out (0: now). */
  wait(now: number): number;
  /** A send went out now. */
  take(now: number): void;
  /** Slack asked to wait: nothing goes out before `until`, and the bucket starts empty then. */
  pause(until: number): void;
  readonly pausedUntil: number;
};

export function createPacer(opts: { ratePerSec: number; burst: number }, start = 0): Pacer {
  const rate = opts.ratePerSec / 1000; // tokens per ms
  const burst = Math.max(1, opts.burst);
  let tokens = burst;
  let at = start;
  let pausedUntil = 0;
  const refill = (now: number) => {
    if (now > at) {
      tokens = Math.min(burst, tokens + (now - at) * rate);
      at = now;
    }
  };
  return {
    wait(now) {
      if (now < pausedUntil) return pausedUntil - now;
      refill(now);
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate);
    },
    take(now) {
      refill(now);
      tokens -= 1;
    },
    pause(until) {
      if (until <= pausedUntil) return;
      pausedUntil = until;
      tokens = 0;
      at = until;
    },
    get pausedUntil() {
      return pausedUntil;
    },
  };
}
