// Undo and redo of this page's own changes in a room. Text steps are kept as ops on the text the
// view shows now: every later change of the field (others' edits included) rebases them, so
// undoing an edit removes only what this user typed and brings back only what they removed.
// Consecutive typing is one step until a pause of more than a second or a caret jump.

import type { Note } from './protocol';
import { composeTextOps, invertTextOp, transformIndex, transformTextOps, type TextOp } from './textOp';
import type { TextField } from './textSync';

/** Typing that pauses for longer than this starts a new undo step. */
export const UNDO_GROUP_MS = 1_000;
const MAX_STEPS = 200;

export type UndoStep =
  | {
      kind: 'text';
      note: string;
      field: TextField;
      /** Applies to the field's text as the view shows it now. */
      op: TextOp;
      /** Where the step's edit begins and ends in that text (to tell typing on from a jump). */
      start: number;
      end: number;
      at: number;
    }
  | { kind: 'flags'; note: string; set: { is_important?: boolean; is_completed?: boolean } }
  /** Move the note to this position of the view's order. */
  | { kind: 'move'; note: string; to: number }
  /** Bring a deleted note back as it was. */
  | { kind: 'restore'; note: Note }
  /** Delete the note again (the redo of a restore). */
  | { kind: 'delete'; note: string };

/** Where an op's changes begin (in its base text) and end (in its base and target text). */
function span(op: TextOp): { start: number; baseEnd: number; targetEnd: number } {
  const ops = op.ops;
  const first = ops[0];
  const last = ops[ops.length - 1];
  const lead = typeof first === 'number' && first > 0 ? first : 0;
  const trail = ops.length > 1 && typeof last === 'number' && last > 0 ? last : 0;
  return { start: lead, baseEnd: op.baseLength - trail, targetEnd: op.targetLength - trail };
}

export class UndoHistory {
  readonly undo: UndoStep[] = [];
  readonly redo: UndoStep[] = [];

  /** The user's own edit `op` of a field whose text was `before`. */
  recordText(note: string, field: TextField, op: TextOp, before: string, now: number): void {
    const inverse = invertTextOp(op, before);
    if (!inverse.ok) return;
    this.redo.length = 0;
    const top = this.undo[this.undo.length - 1];
    // Every older step of the field moves over the edit (the top one too, unless it absorbs it).
    const { start, baseEnd, targetEnd } = span(op);
    const continues =
      top?.kind === 'text' &&
      top.note === note &&
      top.field === field &&
      now - top.at <= UNDO_GROUP_MS &&
      // Typing on where the step ended, or deleting backwards from where it began.
      (start === top.end || (targetEnd === start && baseEnd === top.start));
    for (const step of this.undo) {
      if (continues && step === top) continue;
      this.moveStep(step, note, field, op);
    }
    if (continues && top?.kind === 'text') {
      const merged = composeTextOps(inverse.value, top.op);
      if (merged.ok) {
        top.op = merged.value;
        top.start = Math.min(transformIndex(op, top.start, false), start);
        top.end = targetEnd;
        top.at = now;
        return;
      }
    }
    this.push(this.undo, { kind: 'text', note, field, op: inverse.value, start, end: targetEnd, at: now });
  }

  /** A change the user did not make here as a step (others' edits, a rollback): every text
   *  step of the field is rebased over it. */
  transform(note: string, field: TextField, change: TextOp): void {
    for (const step of this.undo) this.moveStep(step, note, field, change);
    for (const step of this.redo) this.moveStep(step, note, field, change);
  }

  /** The next edit starts a new step (the field lost focus). */
  seal(): void {
    const top = this.undo[this.undo.length - 1];
    if (top?.kind === 'text') top.at = -Infinity;
  }

  /** A change that is not text (a toggle, a move, a delete); clears the redo steps. */
  record(step: UndoStep): void {
    this.redo.length = 0;
    this.push(this.undo, step);
  }

  push(stack: UndoStep[], step: UndoStep): void {
    stack.push(step);
    if (stack.length > MAX_STEPS) stack.shift();
  }

  private moveStep(step: UndoStep, note: string, field: TextField, change: TextOp): void {
    if (step.kind !== 'text' || step.note !== note || step.field !== field) return;
    // The step is not numbered yet: the change's inserts go first on a tie.
    const t = transformTextOps(step.op, change, false);
    if (!t.ok) return;
    step.op = t.value[0];
    step.start = transformIndex(change, step.start, false);
    step.end = transformIndex(change, step.end, false);
  }
}
