// Fractional indexes: the same expectations as core/tests/order_test.cpp, plus the move planner.

import { describe, expect, it } from 'vitest';
import { INDEX_STEP, MIN_INDEX_GAP, between, indexForMove, precisionExhausted, spreadIndexes } from './order';

describe('between', () => {
  it('starts an empty list at the index step and steps at the ends', () => {
    expect(between(undefined, undefined)).toBe(INDEX_STEP);
    expect(between(null, 1024)).toBe(0);
    expect(between(undefined, -5)).toBe(-5 - INDEX_STEP);
    expect(between(2048, undefined)).toBe(3072);
  });

  it('bisects between neighbours', () => {
    expect(between(1024, 2048)).toBe(1536);
    expect(between(-1, 1)).toBe(0);
    expect(between(0, 1e-8)).toBe(5e-9);
  });

  it('refuses unordered or equal neighbours', () => {
    expect(between(2048, 1024)).toBeNull();
    expect(between(1024, 1024)).toBeNull();
  });

  it('refuses gaps below the minimum', () => {
    expect(between(1, 1 + MIN_INDEX_GAP / 2)).toBeNull();
    expect(between(0, MIN_INDEX_GAP)).not.toBeNull();
  });

  it('refuses non-finite neighbours', () => {
    expect(between(0, Infinity)).toBeNull();
    expect(between(-Infinity, 0)).toBeNull();
    expect(between(NaN, undefined)).toBeNull();
    expect(between(undefined, NaN)).toBeNull();
  });

  it('stays finite at the ends of the double range', () => {
    const max = Number.MAX_VALUE;
    const mid = between(-max, max);
    expect(mid).not.toBeNull();
    expect(Number.isFinite(mid)).toBe(true);
    expect(between(max, undefined)).toBeNull();
    expect(between(undefined, -max)).toBeNull();
  });

  it.each([
    [1024, 2048, true],
    [1024, 2048, false],
    [-2048, -1024, true],
    [0, INDEX_STEP, false],
  ])('bisecting %d..%d reports exhaustion before looping forever', (lo0, hi0, towardLo) => {
    let lo = lo0;
    let hi = hi0;
    let steps = 0;
    for (;;) {
      const mid = between(lo, hi);
      if (mid === null) {
        expect(precisionExhausted(lo, hi)).toBe(true);
        break;
      }
      expect(precisionExhausted(lo, hi)).toBe(false);
      expect(lo < mid && mid < hi).toBe(true);
      if (towardLo) hi = mid;
      else lo = mid;
      expect(++steps).toBeLessThan(60);
    }
    expect(steps).toBeGreaterThan(30);
  });

  it('detects exhaustion one ulp apart', () => {
    const a = 1024;
    const b = a + 2 ** -42; // one ulp above 1024
    expect(between(a, b)).toBeNull();
    expect(precisionExhausted(a, b)).toBe(true);
    expect(precisionExhausted(1024, 2048)).toBe(false);
    expect(precisionExhausted(1, 1)).toBe(true);
    expect(precisionExhausted(2, 1)).toBe(true);
    expect(precisionExhausted(1, 1 + 1e-12)).toBe(true);
  });

  it('spreads indexes one step apart', () => {
    expect(spreadIndexes(0)).toEqual([]);
    expect(spreadIndexes(3)).toEqual([1024, 2048, 3072]);
    const many = spreadIndexes(10000);
    for (let i = 1; i < many.length; i++) {
      expect(precisionExhausted(many[i - 1] as number, many[i] as number)).toBe(false);
    }
  });
});

const notes = (...indexes: number[]) => indexes.map((current_index, i) => ({ id: `n${i}`, current_index }));

function applyPlan(
  list: { id: string; current_index: number }[],
  id: string,
  plan: ReturnType<typeof indexForMove>,
): string[] {
  if (!plan) throw new Error('no plan');
  const moved = list.map((n) => {
    if (plan.kind === 'move') return n.id === id ? { ...n, current_index: plan.current_index } : n;
    const index = plan.indexes[n.id];
    return index === undefined ? n : { ...n, current_index: index };
  });
  return moved
    .sort((a, b) => a.current_index - b.current_index || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((n) => n.id);
}

describe('indexForMove', () => {
  it('moves between the new neighbours', () => {
    const list = notes(1024, 2048, 3072);
    expect(indexForMove(list, 'n2', 0)).toEqual({ kind: 'move', current_index: 0 });
    expect(indexForMove(list, 'n0', 2)).toEqual({ kind: 'move', current_index: 4096 });
    expect(indexForMove(list, 'n0', 1)).toEqual({ kind: 'move', current_index: 2560 });
    expect(applyPlan(list, 'n0', indexForMove(list, 'n0', 1))).toEqual(['n1', 'n0', 'n2']);
  });

  it('returns null for an unknown note or a move to where it already is', () => {
    const list = notes(1024, 2048);
    expect(indexForMove(list, 'x', 0)).toBeNull();
    expect(indexForMove(list, 'n1', 1)).toBeNull();
    expect(indexForMove(list, 'n1', 7)).toBeNull(); // clamped to the end, where it is
  });

  it('rebalances a small window when the gap has run out, and the order is right after it', () => {
    // n1 and n2 are one ulp apart: nothing fits between them.
    const a = 2048;
    const list = [
      { id: 'n0', current_index: 1024 },
      { id: 'n1', current_index: a },
      { id: 'n2', current_index: a + 2 ** -41 },
      { id: 'n3', current_index: 4096 },
      { id: 'n4', current_index: 5120 },
      { id: 'n5', current_index: 6144 },
      { id: 'n6', current_index: 7168 },
    ];
    const plan = indexForMove(list, 'n5', 2);
    expect(plan?.kind).toBe('rebalance');
    expect(applyPlan(list, 'n5', plan)).toEqual(['n0', 'n1', 'n5', 'n2', 'n3', 'n4', 'n6']);
    if (plan?.kind === 'rebalance') {
      // Not the whole room: notes far from the target keep their index.
      expect(Object.keys(plan.indexes)).not.toContain('n6');
      expect(Object.keys(plan.indexes)).toContain('n5');
    }
  });

  it('rebalances equal indexes (two clients dropped at the same spot)', () => {
    const list = [
      { id: 'a', current_index: 1024 },
      { id: 'b', current_index: 1024 },
      { id: 'c', current_index: 2048 },
    ];
    const plan = indexForMove(list, 'c', 1);
    expect(plan?.kind).toBe('rebalance');
    expect(applyPlan(list, 'c', plan)).toEqual(['a', 'c', 'b']);
  });

  it('keeps every later move possible after a rebalance (random drags)', () => {
    let list = spreadIndexes(12).map((current_index, i) => ({ id: `k${i}`, current_index }));
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 2000; step++) {
      const from = Math.floor(rnd() * list.length);
      const to = Math.floor(rnd() * list.length);
      const id = (list[from] as { id: string }).id;
      const plan = indexForMove(list, id, to);
      const expected = list.map((n) => n.id).filter((x) => x !== id);
      expected.splice(to, 0, id);
      if (from === to) {
        expect(plan).toBeNull();
        continue;
      }
      const order = applyPlan(list, id, plan);
      expect(order).toEqual(expected);
      list = order.map((x) => {
        const old = list.find((n) => n.id === x) as { id: string; current_index: number };
        if (!plan) return old;
        const index = plan.kind === 'move' ? (x === id ? plan.current_index : undefined) : plan.indexes[x];
        return { id: x, current_index: index ?? old.current_index };
      });
    }
  });
});
