// The pieces of the classic OT client that do not need a room: which ops touch which note field,
// the text op between two versions of a field, and rebasing a run of local text ops over a
// change that is already numbered. room.ts keeps the queue and decides when to call these.

import type { RoomState } from './apply';
import type { Op } from './protocol';
import { parseTextOp, transformTextOps, TextOpBuilder, type TextOp } from './textOp';

export type TextField = 'title' | 'body';

const unlimited = { maxBodyBytes: Infinity, maxTextOpComponents: Infinity };

/** The text op of a `text` Op (the codec already normalized it), or null for another kind. */
export function textOpOf(op: Op): TextOp | null {
  if (op.kind !== 'text') return null;
  const parsed = parseTextOp(op.ops, unlimited);
  return parsed.ok ? parsed.value : null;
}

export function fieldText(state: RoomState, id: string, field: TextField): string | null {
  const note = state.notes.get(id);
  if (!note) return null;
  return field === 'title' ? note.title : note.body;
}

/**
 * How an op bears on one note field: 'text' edits it character by character, 'replace' sets
 * it whole (an update of the field, a create or a delete of the note: every text op made before
 * it no longer applies after it), null leaves it alone.
 */
export function effectOn(op: Op, id: string, field: TextField): 'text' | 'replace' | null {
  switch (op.kind) {
    case 'text':
      return op.id === id && op.field === field ? 'text' : null;
    case 'update':
      return op.id === id && op.set[field] !== undefined ? 'replace' : null;
    case 'create':
      return op.note.id === id ? 'replace' : null;
    case 'delete':
      return op.id === id ? 'replace' : null;
    default:
      return null;
  }
}

/** The note fields an op changes the text of. */
export function textFieldsOf(op: Op): [string, TextField][] {
  switch (op.kind) {
    case 'text':
      return [[op.id, op.field]];
    case 'update': {
      const out: [string, TextField][] = [];
      if (op.set.title !== undefined) out.push([op.id, 'title']);
      if (op.set.body !== undefined) out.push([op.id, 'body']);
      return out;
    }
    case 'create':
      return [
        [op.note.id, 'title'],
        [op.note.id, 'body'],
      ];
    case 'delete':
      return [
        [op.id, 'title'],
        [op.id, 'body'],
      ];
    default:
      return [];
  }
}

function codePoints(s: string): string[] {
  return Array.from(s);
}

// Beyond this many edits the middle of a diff is taken as one replaced run (the cost of the
// exact diff grows with its square).
const MAX_EXACT_EDITS = 1_000;

/**
 * An op that turns `before` into `after` with the fewest inserted and removed code points
 * (Myers' diff over code points, after the common prefix and suffix are kept). For an input
 * event this is the edit made; for a field replaced by someone else it is the closest account
 * of what changed, so rebasing local edits over it keeps both sides' characters. Very
 * different texts fall back to one replaced run.
 */
export function diffTexts(before: string, after: string): TextOp {
  return diffAround(before, after, null);
}

/**
 * The edit of one input event: like diffTexts, but the changed run ends at `caret` (a code
 * point offset in `after`, where the caret is after the event) when the texts allow it. Typing
 * " " before a " " could otherwise be read as an insert one place later, which others' edits
 * and undo steps would see in the wrong place.
 */
export function diffInput(before: string, after: string, caret: number): TextOp {
  return diffAround(before, after, caret);
}

function diffAround(before: string, after: string, caret: number | null): TextOp {
  const a = codePoints(before);
  const b = codePoints(after);
  // With a caret, the common suffix stops at it and the prefix then gives way to the suffix.
  const maxSuffix = caret === null ? Infinity : Math.max(0, b.length - caret);
  let suffix = 0;
  if (caret !== null) {
    while (
      suffix < maxSuffix &&
      suffix < a.length &&
      suffix < b.length &&
      a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
    ) {
      suffix++;
    }
  }
  let prefix = 0;
  while (
    prefix < a.length - suffix &&
    prefix < b.length - suffix &&
    a[prefix] === b[prefix]
  ) {
    prefix++;
  }
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    suffix < maxSuffix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const out = new TextOpBuilder().retain(prefix);
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);
  const script = caret === null ? editScript(midA, midB) : null;
  if (script) {
    for (const step of script) {
      if (step.kind === 'insert') out.insert(midB.slice(step.from, step.from + step.count).join(''));
      else if (step.kind === 'keep') out.retain(step.count);
      else out.remove(step.count);
    }
  } else {
    out.remove(midA.length).insert(midB.join(''));
  }
  return out.retain(suffix).build();
}

type Step = { kind: 'keep' | 'remove'; count: number } | { kind: 'insert'; from: number; count: number };

/** Myers' shortest edit script, or null when it needs more than MAX_EXACT_EDITS edits. */
function editScript(a: readonly string[], b: readonly string[]): Step[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EXACT_EDITS);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return null;
  // Walk back from the end, one edit per d.
  const steps: Step[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d] as Int32Array; // v as it was before round d
    const k = x - y;
    const down = k === -d || (k !== d && (prev[offset + k - 1] as number) < (prev[offset + k + 1] as number));
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[offset + prevK] as number;
    const prevY = prevX - prevK;
    const startX = down ? prevX : prevX + 1;
    if (x > startX) steps.push({ kind: 'keep', count: x - startX });
    if (down) steps.push({ kind: 'insert', from: prevY, count: 1 });
    else steps.push({ kind: 'remove', count: 1 });
    x = prevX;
    y = prevY;
  }
  if (x > 0) steps.push({ kind: 'keep', count: x });
  return steps.reverse();
}

/** Code points an op inserts plus those it removes. */
export function changeSize(op: TextOp): number {
  let n = 0;
  for (const c of op.ops) {
    if (typeof c === 'string') n += codePoints(c).length;
    else if (c < 0) n -= c;
  }
  return n;
}

/**
 * Rebases local ops made one after another on a text over `numbered`, a change of that text
 * that is already numbered (so its inserts go first on a tie, as on the server). Returns the
 * rebased ops and `numbered` as it applies after all of them (what the view sees), or null when
 * an op does not span (which a well-kept queue never has).
 */
export function rebaseOver(
  local: readonly TextOp[],
  numbered: TextOp,
): { local: TextOp[]; numbered: TextOp } | null {
  const out: TextOp[] = [];
  let other = numbered;
  for (const op of local) {
    const t = transformTextOps(op, other, false);
    if (!t.ok) return null;
    out.push(t.value[0]);
    other = t.value[1];
  }
  return { local: out, numbered: other };
}
