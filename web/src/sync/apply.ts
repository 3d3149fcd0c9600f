// The room state replica: the same apply rules as core/src/note.cpp, so this page reaches the
// same state as the server and every other client from the same ops in seq order.

import type { Note, Op } from './protocol';
import { applyTextOp, parseTextOp } from './textOp';

// Ops reaching apply were parsed by the codec already; apply does not limit them again.
const unlimited = { maxBodyBytes: Infinity, maxTextOpComponents: Infinity };

/** An op as the server numbered it. */
export interface AppliedOp {
  seq: number;
  at: string;
  op: Op;
}

/** An immutable room state. Never mutate `notes`: a change makes a new state, and only the
 *  notes an op reached become new objects, so React can skip the others by identity. */
export interface RoomState {
  readonly seq: number;
  readonly notes: ReadonlyMap<string, Note>;
}

export const emptyRoomState: RoomState = { seq: 0, notes: new Map() };

export function createRoomState(seq: number, notes: Iterable<Note>): RoomState {
  const map = new Map<string, Note>();
  for (const n of notes) {
    map.set(n.id, n);
  }
  return { seq, notes: map };
}

/** Display order: by current_index, then by id in code unit order. Ids are ASCII, so this is
 *  the byte order the C++ side uses (NOT localeCompare). */
export function compareNotes(a: Note, b: Note): number {
  if (a.current_index < b.current_index) return -1;
  if (a.current_index > b.current_index) return 1;
  if (a.id < b.id) return -1;
  if (a.id > b.id) return 1;
  return 0;
}

// Sorted lists are cached per notes map, so a state read twice is sorted once. When a batch of
// ops changed only fields (no create, delete or index change), the new sorted list is the old
// one with the changed objects swapped in: O(n) instead of a sort.
const sortedCache = new WeakMap<ReadonlyMap<string, Note>, readonly Note[]>();
const derivedFrom = new WeakMap<ReadonlyMap<string, Note>, ReadonlyMap<string, Note>>();

export function sortedNotes(state: RoomState): readonly Note[] {
  const cached = sortedCache.get(state.notes);
  if (cached) return cached;
  let sorted: readonly Note[];
  const parent = derivedFrom.get(state.notes);
  const parentSorted = parent ? sortedCache.get(parent) : undefined;
  if (parentSorted && parentSorted.length === state.notes.size) {
    const notes = state.notes;
    sorted = parentSorted.map((n) => notes.get(n.id) as Note);
  } else {
    sorted = [...state.notes.values()].sort(compareNotes);
  }
  // Shared by every view of this state: a caller that sorted or spliced it in place would
  // corrupt the others, so that fails loudly instead.
  Object.freeze(sorted);
  sortedCache.set(state.notes, sorted);
  return sorted;
}

export interface ApplyOptions {
  /** Keep the room seq (for local, not yet numbered ops applied on top of a confirmed state). */
  keepRoomSeq?: boolean;
}

/** Applies one op; returns a new state (the same notes map when no note changed). */
export function applyOp(state: RoomState, applied: AppliedOp, options: ApplyOptions = {}): RoomState {
  return applyOps(state, [applied], options);
}

/** Applies ops in order with copy-on-write: the notes map is copied at most once per batch. */
export function applyOps(
  state: RoomState,
  ops: readonly AppliedOp[],
  options: ApplyOptions = {},
): RoomState {
  if (ops.length === 0) return state;
  let notes: Map<string, Note> | null = null;
  let orderChanged = false;
  const current = (): ReadonlyMap<string, Note> => notes ?? state.notes;
  const writable = (): Map<string, Note> => {
    if (!notes) notes = new Map(state.notes);
    return notes;
  };
  // Every op that reaches an existing note stamps it, even when the values it sets are the ones
  // the note already has: `seq` tells clients which op last touched the note.
  const touch = (id: string, a: AppliedOp, change: Partial<Note>): boolean => {
    const old = current().get(id);
    if (!old) return false;
    const next = { ...old, ...change, seq: a.seq, updated_at: a.at };
    writable().set(id, next);
    return true;
  };

  let seq = state.seq;
  for (const a of ops) {
    if (!options.keepRoomSeq) seq = a.seq;
    const op = a.op;
    switch (op.kind) {
      case 'create': {
        if (current().has(op.note.id)) break;
        const n = op.note;
        writable().set(n.id, {
          id: n.id,
          title: n.title,
          body: n.body,
          is_important: n.is_important,
          is_completed: n.is_completed,
          current_index: n.current_index,
          seq: a.seq,
          updated_at: a.at,
        });
        orderChanged = true;
        break;
      }
      case 'update': {
        const set: Partial<Note> = {};
        if (op.set.title !== undefined) set.title = op.set.title;
        if (op.set.body !== undefined) set.body = op.set.body;
        if (op.set.is_important !== undefined) set.is_important = op.set.is_important;
        if (op.set.is_completed !== undefined) set.is_completed = op.set.is_completed;
        touch(op.id, a, set);
        break;
      }
      case 'move':
        if (touch(op.id, a, { current_index: op.current_index })) orderChanged = true;
        break;
      case 'rebalance':
        for (const id of Object.keys(op.indexes)) {
          const index = op.indexes[id];
          if (index !== undefined && touch(id, a, { current_index: index })) orderChanged = true;
        }
        break;
      case 'text': {
        // As core/src/note.cpp: an op that does not span the field's current text is a no-op
        // (the server never numbers one) and the note is not stamped.
        const old = current().get(op.id);
        if (!old) break;
        const parsed = parseTextOp(op.ops, unlimited);
        if (!parsed.ok) break;
        const edited = applyTextOp(parsed.value, op.field === 'title' ? old.title : old.body);
        if (!edited.ok) break;
        touch(op.id, a, op.field === 'title' ? { title: edited.value } : { body: edited.value });
        break;
      }
      case 'delete':
        if (current().has(op.id)) {
          writable().delete(op.id);
          orderChanged = true;
        }
        break;
    }
  }
  if (!notes) return seq === state.seq ? state : { seq, notes: state.notes };
  if (!orderChanged) derivedFrom.set(notes, state.notes);
  return { seq, notes };
}

/** The state as the protocol's canonical form: {seq, notes sorted}. */
export function stateToJson(state: RoomState): { seq: number; notes: Note[] } {
  return { seq: state.seq, notes: sortedNotes(state).map((n) => ({ ...n })) };
}
