// Reconciliation: what a room shows is its confirmed replica with the pending local ops applied
// on top, in queue order. Recomputed whenever either side changes (a remote op rebases the
// pending ops), so an edit shows at once and an echo never makes it flicker.

import type { RoomView } from './api';
import { applyOps, type RoomState } from './apply';
import type { Note, Op } from './protocol';

export interface LocalOp {
  op: Op;
  /** Local time of the edit, shown as updated_at until the server's echo. */
  at: string;
}

/**
 * confirmed + pending. Local ops are numbered with the confirmed seq: they keep the room seq and
 * mark the notes they touch as not newer than what the server confirmed. `previous` (the last
 * result) lets notes that come out equal keep their old objects, so React's memo skips them.
 */
export function composeState(
  confirmed: RoomState,
  pending: readonly LocalOp[],
  previous: RoomState | null,
): RoomState {
  if (pending.length === 0) return confirmed;
  const local = pending.map((p) => ({ seq: confirmed.seq, at: p.at, op: p.op }));
  const state = applyOps(confirmed, local, { keepRoomSeq: true });
  if (previous && state.notes !== confirmed.notes) {
    // applyOps copied the map for this result alone, so it may still be adjusted here, before
    // anything has read it.
    const notes = state.notes as Map<string, Note>;
    for (const p of pending) {
      for (const id of touchedIds(p.op)) {
        const now = notes.get(id);
        const before = previous.notes.get(id);
        if (now && before && now !== before && sameNote(now, before)) notes.set(id, before);
      }
    }
  }
  return state;
}

function touchedIds(op: Op): string[] {
  switch (op.kind) {
    case 'create':
      return [op.note.id];
    case 'rebalance':
      return Object.keys(op.indexes);
    default:
      return [op.id];
  }
}

export function sameNote(a: Note, b: Note): boolean {
  return (
    a.id === b.id &&
    a.title === b.title &&
    a.body === b.body &&
    a.is_important === b.is_important &&
    a.is_completed === b.is_completed &&
    a.current_index === b.current_index &&
    a.seq === b.seq &&
    a.updated_at === b.updated_at
  );
}

/** Views with equal parts: getView() then keeps returning the old object. */
export function sameView(a: RoomView, b: RoomView): boolean {
  return (
    a.notes === b.notes &&
    a.seq === b.seq &&
    a.info === b.info &&
    a.loaded === b.loaded &&
    a.fromCache === b.fromCache &&
    a.presence === b.presence &&
    a.pendingCount === b.pendingCount &&
    a.status === b.status &&
    a.joinError === b.joinError &&
    a.accessLost === b.accessLost &&
    a.carets === b.carets
  );
}
