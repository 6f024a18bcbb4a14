import { describe, expect, it } from 'vitest';
import { createPacer } from '../../src/notify/pacer.ts';

/** Sends as fast as the pacer allows on a fake clock: the times they go out. */
function drive(pacer: ReturnType<typeof createPacer>, count: number, start = 0): number[] {
  const out: number[] = [];
  let now = start;
  while (out.length < count) {
    const wait = pacer.wait(now);
    if (wait > 0) {
      now += wait;
      continue;
    }
    pacer.take(now);
    out.push(now);
  }
  return out;
}

describe('pacer (fake clock)', () => {
  it('lets a small burst out at once, then one a second', () => {
    const times = drive(createPacer({ ratePerSec: 1, burst: 3 }), 6);
    expect(times).toEqual([0, 0, 0, 1000, 2000, 3000]);
  });

  it('stays under Slack’s limit over any window: at most burst + rate × seconds', () => {
    const times = drive(createPacer({ ratePerSec: 1, burst: 3 }), 200);
    for (let i = 0; i < times.length; i++) {
      const windowEnd = (times[i] as number) + 60_000;
      const inWindow = times.filter((t) => t >= (times[i] as number) && t < windowEnd).length;
      expect(inWindow).toBeLessThanOrEqual(3 + 60);
    }
  });

  it('a quiet spell refills the burst, never beyond it', () => {
    const p = createPacer({ ratePerSec: 1, burst: 3 });
    drive(p, 3);
    expect(drive(p, 4, 60_000)).toEqual([60_000, 60_000, 60_000, 61_000]);
  });

  it('Retry-After pauses sending, and the bucket starts empty after it', () => {
    const p = createPacer({ ratePerSec: 2, burst: 4 });
    p.pause(5_000);
    expect(p.wait(1_000)).toBe(4_000);
    expect(p.pausedUntil).toBe(5_000);
    expect(drive(p, 3, 5_000)).toEqual([5_500, 6_000, 6_500]);
  });

  it('a shorter pause never cuts a longer one short', () => {
    const p = createPacer({ ratePerSec: 1, burst: 1 });
    p.pause(10_000);
    p.pause(2_000);
    expect(p.wait(3_000)).toBe(7_000);
  });
});
