// The replica's immutability and sorting cache (the vectors test the rules themselves).

import { describe, expect, it } from 'vitest';
import { applyOp, applyOps, createRoomState, sortedNotes } from './apply';
import type { Note } from './protocol';
import { note } from './testing/notes';

const n = (id: string, current_index: number): Note =>
  note(id, current_index, { updated_at: 't1' });

describe('apply', () => {
  const base = createRoomState(3, [n('c', 3), n('a', 1), n('b', 2)]);

  it('never mutates the old state and keeps untouched notes by identity', () => {
    const before = sortedNotes(base);
    const next = applyOp(base, { seq: 4, at: 't4', op: { kind: 'update', id: 'b', set: { title: 'B' } } });
    expect(base.notes.get('b')?.title).toBe('b');
    expect(sortedNotes(base)).toBe(before);
    expect(next.notes).not.toBe(base.notes);
    expect(next.notes.get('a')).toBe(base.notes.get('a'));
    expect(next.notes.get('b')).toMatchObject({ title: 'B', seq: 4, updated_at: 't4' });
  });

  it('sorts once per state, and a field-only change keeps the order without a sort', () => {
    const sorted = sortedNotes(base);
    expect(sortedNotes(base)).toBe(sorted);
    expect(sorted.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    const next = applyOp(base, { seq: 4, at: 't4', op: { kind: 'update', id: 'c', set: { is_completed: true } } });
    const nextSorted = sortedNotes(next);
    expect(nextSorted.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    expect(nextSorted[0]).toBe(sorted[0]);
    expect(nextSorted[2]?.is_completed).toBe(true);
    const moved = applyOp(next, { seq: 5, at: 't5', op: { kind: 'move', id: 'c', current_index: 0 } });
    expect(sortedNotes(moved).map((x) => x.id)).toEqual(['c', 'a', 'b']);
  });

  it('a no-op keeps the notes map and only advances the seq', () => {
    const next = applyOp(base, { seq: 4, at: 't4', op: { kind: 'delete', id: 'zz' } });
    expect(next.notes).toBe(base.notes);
    expect(next.seq).toBe(4);
  });

  it('local ops can keep the room seq', () => {
    const next = applyOps(base, [{ seq: 3, at: 'local', op: { kind: 'delete', id: 'a' } }], { keepRoomSeq: true });
    expect(next.seq).toBe(3);
    expect(sortedNotes(next).map((x) => x.id)).toEqual(['b', 'c']);
  });

  it('treats "__proto__" as an ordinary note id', () => {
    const indexes = Object.create(null) as Record<string, number>;
    indexes['__proto__'] = 9;
    let s = applyOp(base, {
      seq: 4,
      at: 't4',
      op: { kind: 'create', note: { id: '__proto__', title: '', body: '', is_important: false, is_completed: false, current_index: 0 } },
    });
    s = applyOp(s, { seq: 5, at: 't5', op: { kind: 'rebalance', indexes } });
    expect(sortedNotes(s).map((x) => x.id)).toEqual(['a', 'b', 'c', '__proto__']);
    expect(JSON.parse(JSON.stringify({ indexes }))).toEqual(JSON.parse('{"indexes":{"__proto__":9}}'));
  });
});
