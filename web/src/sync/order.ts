// Fractional ordering, equal to core/src/order.cpp: an index between two neighbours, detecting
// when doubles run out, and the indexes a move or a rebalance sends.

import { indexMap } from './codec';

/** Smallest gap between neighbours that `between` still splits. */
export const MIN_INDEX_GAP = 1e-9;
/** Spacing of fresh indexes (first note, end of list, rebalance). */
export const INDEX_STEP = 1024;

type Bound = number | null | undefined;

/** An index strictly between `before` and `after` (either absent: an end of the list), or null
 *  when precision is exhausted and a rebalance is needed (or before >= after). */
export function between(before: Bound, after: Bound): number | null {
  const hasBefore = before !== null && before !== undefined;
  const hasAfter = after !== null && after !== undefined;
  if ((hasBefore && !Number.isFinite(before)) || (hasAfter && !Number.isFinite(after))) {
    return null;
  }
  if (!hasBefore && !hasAfter) return INDEX_STEP;
  // At the ends a step that cannot move the value (1024 below one ulp) or overflows counts as
  // exhaustion rather than returning a duplicate index.
  if (!hasBefore) {
    const candidate = (after as number) - INDEX_STEP;
    return Number.isFinite(candidate) && candidate < (after as number) ? candidate : null;
  }
  if (!hasAfter) {
    const candidate = (before as number) + INDEX_STEP;
    return Number.isFinite(candidate) && candidate > (before as number) ? candidate : null;
  }
  const lo = before as number;
  const hi = after as number;
  if (!(lo < hi)) return null;
  const gap = hi - lo;
  if (gap < MIN_INDEX_GAP) return null;
  // hi - lo overflows only for neighbours near ±MAX_VALUE; halving first keeps that finite.
  const mid = Number.isFinite(gap) ? lo + gap / 2 : lo / 2 + hi / 2;
  if (!Number.isFinite(mid) || !(lo < mid && mid < hi)) return null;
  return mid;
}

/** True when no usable index exists strictly between a and b. Defined through `between` so the
 *  two never disagree. */
export function precisionExhausted(a: number, b: number): boolean {
  return between(a, b) === null;
}

/** `count` evenly spaced indexes (1024, 2048, ...) for a rebalance of a whole list. */
export function spreadIndexes(count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(INDEX_STEP * (i + 1));
  return out;
}

export interface Ordered {
  id: string;
  current_index: number;
}

export type MovePlan =
  | { kind: 'move'; current_index: number }
  | { kind: 'rebalance'; indexes: Record<string, number> };

// A rebalance window is accepted when its notes end up at least this far apart: about twenty
// bisections before the next rebalance.
const MIN_REBALANCE_GAP = 1e-3;

/** Indexes for `count` notes strictly inside (lo, hi), or null when they do not fit well. */
function spreadInside(lo: Bound, hi: Bound, count: number): number[] | null {
  const hasLo = lo !== null && lo !== undefined;
  const hasHi = hi !== null && hi !== undefined;
  let out: number[];
  if (!hasLo && !hasHi) {
    out = spreadIndexes(count);
  } else if (!hasLo) {
    out = [];
    for (let i = count; i >= 1; i--) out.push((hi as number) - INDEX_STEP * i);
  } else if (!hasHi) {
    out = [];
    for (let i = 1; i <= count; i++) out.push((lo as number) + INDEX_STEP * i);
  } else {
    const g = ((hi as number) - (lo as number)) / (count + 1);
    if (!(g >= MIN_REBALANCE_GAP)) return null;
    out = [];
    for (let i = 1; i <= count; i++) out.push((lo as number) + g * i);
  }
  // Every neighbouring pair, bounds included, must still leave room for later moves.
  const chain = [...(hasLo ? [lo as number] : []), ...out, ...(hasHi ? [hi as number] : [])];
  for (let i = 1; i < chain.length; i++) {
    if (precisionExhausted(chain[i - 1] as number, chain[i] as number)) return null;
  }
  return out;
}

/**
 * What to send to move note `id` to position `toIndex` of `sorted` (the current view order; the
 * position the note ends at). A `move` when its new neighbours leave room; otherwise a
 * `rebalance` of the smallest window around the target that can be spread out again (so a
 * large room does not send every note). null when the note is unknown or would not move.
 */
export function indexForMove(
  sorted: readonly Ordered[],
  id: string,
  toIndex: number,
): MovePlan | null {
  const from = sorted.findIndex((n) => n.id === id);
  if (from < 0) return null;
  const moved = sorted[from] as Ordered;
  const rest = sorted.filter((_, i) => i !== from);
  const to = Math.max(0, Math.min(rest.length, Math.trunc(toIndex)));
  if (to === from) return null;
  const mid = between(rest[to - 1]?.current_index, rest[to]?.current_index);
  if (mid !== null) return { kind: 'move', current_index: mid };

  const order = [...rest.slice(0, to), moved, ...rest.slice(to)];
  const last = order.length - 1;
  for (let radius = 1; ; radius *= 2) {
    const lo = Math.max(0, to - radius);
    const hi = Math.min(last, to + radius);
    // The whole list has no outer bounds, so it is spread as core's spread_indexes does.
    const spread = spreadInside(order[lo - 1]?.current_index, order[hi + 1]?.current_index, hi - lo + 1);
    if (spread) {
      const indexes = indexMap();
      for (let i = lo; i <= hi; i++) {
        const n = order[i] as Ordered;
        const index = spread[i - lo] as number;
        if (n.id === id || n.current_index !== index) indexes[n.id] = index;
      }
      return { kind: 'rebalance', indexes };
    }
    if (lo === 0 && hi === last) return null; // unreachable: 1024, 2048, ... always fit
  }
}
