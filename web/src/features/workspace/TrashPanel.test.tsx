import { describe, expect, it } from 'vitest';
import { timeAgo } from './TrashPanel';

describe('timeAgo', () => {
  const now = Date.parse('2026-12-03T12:00:00.000Z');
  const at = (ms: number) => new Date(now - ms).toISOString();

  it('says "just now" for the last few seconds', () => {
    expect(timeAgo(at(0), now)).toBe('just now');
    expect(timeAgo(at(9_000), now)).toBe('just now');
  });

  it('uses the largest unit that fits', () => {
    const words = (ms: number) => timeAgo(at(ms), now);
    expect(words(30_000)).toMatch(/30 seconds ago/);
    expect(words(5 * 60_000)).toMatch(/5 minutes ago/);
    expect(words(3 * 3_600_000)).toMatch(/3 hours ago/);
    expect(words(24 * 3_600_000)).toMatch(/yesterday|1 day ago/);
    expect(words(29 * 24 * 3_600_000)).toMatch(/29 days ago/);
    expect(words(400 * 24 * 3_600_000)).toMatch(/last year|1 year ago/);
  });
});
