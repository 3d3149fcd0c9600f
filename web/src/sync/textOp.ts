// Text ops (operational transformation), equal to core/src/text_op.cpp: the same normal form,
// results and error messages, checked by the shared vectors of core/testdata/ot. Everything
// counts Unicode code points, as the wire does, never UTF-16 units: "😀" is one, "👍🏽" two.

import { defaultLimits, utf8Length, type CodecError, type CodecResult, type Limits } from './codec';

/** A wire component: n > 0 retains n code points, a string inserts it, n < 0 removes -n. */
export type TextComponent = number | string;

/**
 * One edit spanning a whole text, in normal form (every builder and function here keeps it):
 * no empty component, no two neighbours of the same kind, and where an insert and a remove
 * meet at one position the insert comes first. A trailing retain is kept, so `ops` always spans
 * the whole base text: the identity op on a text of n code points is [n] (on "", []).
 */
export interface TextOp {
  /** The wire form, normalized. */
  readonly ops: readonly TextComponent[];
  /** Code points of the text the op applies to (retains + removes). */
  readonly baseLength: number;
  /** Code points of the text it produces (retains + inserts). */
  readonly targetLength: number;
}

/** The largest count a component may carry and the longest span of an op. */
export const MAX_TEXT_OP_COUNT = Number.MAX_SAFE_INTEGER;

const invalid = (message: string): CodecError => ({ ok: false, code: 'invalid', message });
const tooLarge = (message: string): CodecError => ({ ok: false, code: 'too_large', message });
const ok = <T>(value: T): CodecResult<T> => ({ ok: true, value });

const isHigh = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff;
const isLow = (unit: number): boolean => unit >= 0xdc00 && unit <= 0xdfff;

/** Code points of `s`, or null when it holds a lone surrogate (which UTF-8 cannot carry, so
 *  the server could never have sent it). */
export function codePointLength(s: string): number | null {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (isHigh(unit)) {
      if (i + 1 >= s.length || !isLow(s.charCodeAt(i + 1))) return null;
      i++;
    } else if (isLow(unit)) {
      return null;
    }
    count++;
  }
  return count;
}

// Code points of a string already known to be well formed: every unit but a low surrogate
// starts one.
function countValid(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    if (!isLow(s.charCodeAt(i))) count++;
  }
  return count;
}

// The UTF-16 offset `count` code points after offset `from` in a well-formed string.
function advance(s: string, from: number, count: number): number {
  let at = from;
  for (; count > 0; count--) {
    at += isHigh(s.charCodeAt(at)) ? 2 : 1;
  }
  return at;
}

/** Builds a text op in normal form; a zero count or an empty string appends nothing. Inserted
 *  strings must be well formed (`parseTextOp` checks that for untrusted input). */
export class TextOpBuilder {
  private readonly ops: TextComponent[] = [];
  private base = 0;
  private target = 0;

  retain(count: number): this {
    if (count === 0) return this;
    this.base += count;
    this.target += count;
    const last = this.ops.length - 1;
    if (last >= 0 && typeof this.ops[last] === 'number' && (this.ops[last] as number) > 0) {
      (this.ops[last] as number) += count;
    } else {
      this.ops.push(count);
    }
    return this;
  }

  insert(text: string): this {
    if (text === '') return this;
    this.target += countValid(text);
    const ops = this.ops;
    let last = ops.length - 1;
    // In normal form a remove is preceded by a retain, an insert or nothing, so an insert that
    // meets a remove joins the insert before it or goes in front of it.
    if (last >= 0 && isRemove(ops[last])) {
      if (last >= 1 && typeof ops[last - 1] === 'string') {
        last--;
      } else {
        ops.splice(last, 0, text);
        return this;
      }
    }
    if (last >= 0 && typeof ops[last] === 'string') {
      ops[last] = (ops[last] as string) + text;
    } else {
      ops.push(text);
    }
    return this;
  }

  remove(count: number): this {
    if (count === 0) return this;
    this.base += count;
    const last = this.ops.length - 1;
    if (last >= 0 && isRemove(this.ops[last])) {
      (this.ops[last] as number) -= count;
    } else {
      this.ops.push(-count);
    }
    return this;
  }

  build(): TextOp {
    return Object.freeze({
      ops: Object.freeze([...this.ops]),
      baseLength: this.base,
      targetLength: this.target,
    });
  }
}

function isRemove(c: TextComponent | undefined): boolean {
  return typeof c === 'number' && c < 0;
}

/** True when the op changes nothing (only retains, or nothing at all). */
export function isNoop(op: TextOp): boolean {
  return op.ops.every((c) => typeof c === 'number' && c > 0);
}

/**
 * Reads the wire form into its normal form ([1, 2] reads as [3], [-1, "x"] as ["x", -1]).
 * Errors as core's `parse_text_op`: "invalid" for a non-array, more than
 * `lim.maxTextOpComponents` components, a component that is 0, not an integer, neither number
 * nor string, an empty string or one with a lone surrogate, or a span over MAX_TEXT_OP_COUNT;
 * "too_large" when the inserts add up to more than `lim.maxBodyBytes` UTF-8 bytes.
 */
export function parseTextOp(
  v: unknown,
  lim: Pick<Limits, 'maxBodyBytes' | 'maxTextOpComponents'> = defaultLimits,
): CodecResult<TextOp> {
  if (!Array.isArray(v)) return invalid('op.ops must be an array');
  if (v.length > lim.maxTextOpComponents) {
    return invalid(`op.ops has more than ${lim.maxTextOpComponents} components`);
  }
  const out = new TextOpBuilder();
  let base = 0;
  let target = 0;
  let insertedBytes = 0;
  for (let i = 0; i < v.length; i++) {
    const c: unknown = v[i];
    const where = `op.ops[${i}]`;
    if (typeof c === 'string') {
      if (c === '') return invalid(`${where} must not be an empty string`);
      const count = codePointLength(c);
      if (count === null) return invalid(`${where} is not valid Unicode (a lone surrogate)`);
      insertedBytes += utf8Length(c);
      if (insertedBytes > lim.maxBodyBytes) {
        return tooLarge(`op.ops inserts more than ${lim.maxBodyBytes} bytes`);
      }
      target += count;
      out.insert(c);
    } else if (typeof c === 'number') {
      if (!Number.isInteger(c)) return invalid(`${where} must be an integer`);
      if (c === 0) return invalid(`${where} must not be 0`);
      if (Math.abs(c) > MAX_TEXT_OP_COUNT) {
        return invalid(`${where} must be at most ${MAX_TEXT_OP_COUNT} in magnitude`);
      }
      // Sums of two safe integers may round, but never below 2^53, so the checks below hold.
      if (c > 0) {
        base += c;
        target += c;
        out.retain(c);
      } else {
        base -= c;
        out.remove(-c);
      }
    } else {
      return invalid(`${where} must be an integer or a string`);
    }
    if (base > MAX_TEXT_OP_COUNT) {
      return invalid(`op.ops spans more than ${MAX_TEXT_OP_COUNT} code points`);
    }
    if (target > MAX_TEXT_OP_COUNT) {
      return invalid(`op.ops produces more than ${MAX_TEXT_OP_COUNT} code points`);
    }
  }
  return ok(out.build());
}

/** The normal form as a JSON array (a copy). */
export function textOpToJson(op: TextOp): TextComponent[] {
  return [...op.ops];
}

function spanError(what: string, opLength: number, textLength: number): CodecError {
  return invalid(`${what}: the op spans ${opLength} code points but the text has ${textLength}`);
}

/** The text `op` makes of `text`. Error "invalid" when the text has a lone surrogate or the op
 *  does not span exactly its code points. */
export function applyTextOp(op: TextOp, text: string): CodecResult<string> {
  const length = codePointLength(text);
  if (length === null) return invalid('cannot apply: the text is not valid Unicode (a lone surrogate)');
  if (length !== op.baseLength) return spanError('cannot apply', op.baseLength, length);
  const parts: string[] = [];
  let at = 0;
  for (const c of op.ops) {
    if (typeof c === 'string') {
      parts.push(c);
    } else if (c > 0) {
      const end = advance(text, at, c);
      parts.push(text.slice(at, end));
      at = end;
    } else {
      at = advance(text, at, -c);
    }
  }
  return ok(parts.join(''));
}

type Kind = 'retain' | 'insert' | 'remove';

// Walks an op's components a piece at a time, so compose and transform can consume two ops in
// step, splitting a component where the other op's component ends.
class ComponentReader {
  private index = 0;
  private used = 0; // code points of the current component already consumed
  private unit = 0; // the same, in UTF-16 units of an insert
  private size = 0; // code points of the current component

  constructor(private readonly ops: readonly TextComponent[]) {
    this.enter();
  }

  done(): boolean {
    return this.index === this.ops.length;
  }

  type(): Kind {
    const c = this.ops[this.index] as TextComponent;
    if (typeof c === 'string') return 'insert';
    return c > 0 ? 'retain' : 'remove';
  }

  remaining(): number {
    return this.size - this.used;
  }

  /** Consumes `count` code points (at most remaining()); for an insert, returns them. */
  take(count: number): string {
    const c = this.ops[this.index] as TextComponent;
    let taken = '';
    if (typeof c === 'string') {
      const end = advance(c, this.unit, count);
      taken = c.slice(this.unit, end);
      this.unit = end;
    }
    this.used += count;
    if (this.used === this.size) {
      this.index++;
      this.used = 0;
      this.unit = 0;
      this.enter();
    }
    return taken;
  }

  takeAll(): string {
    return this.take(this.remaining());
  }

  private enter(): void {
    if (this.done()) return;
    const c = this.ops[this.index] as TextComponent;
    this.size = typeof c === 'string' ? countValid(c) : Math.abs(c);
  }
}

/** One op with the effect of `a` then `b`. Error "invalid" unless a.targetLength ===
 *  b.baseLength. */
export function composeTextOps(a: TextOp, b: TextOp): CodecResult<TextOp> {
  if (a.targetLength !== b.baseLength) {
    return invalid(
      `cannot compose: the first op produces ${a.targetLength} code points but the second spans ${b.baseLength}`,
    );
  }
  const out = new TextOpBuilder();
  const ra = new ComponentReader(a.ops);
  const rb = new ComponentReader(b.ops);
  while (!ra.done() || !rb.done()) {
    // What a removed never reaches b, and what b inserts never came from a.
    if (!ra.done() && ra.type() === 'remove') {
      out.remove(ra.remaining());
      ra.takeAll();
      continue;
    }
    if (!rb.done() && rb.type() === 'insert') {
      out.insert(rb.takeAll());
      continue;
    }
    // The rest of a produces exactly what the rest of b spans (the lengths were checked).
    const n = Math.min(ra.remaining(), rb.remaining());
    const ka = ra.type();
    const kb = rb.type();
    const inserted = ra.take(n);
    rb.take(n);
    if (ka === 'retain' && kb === 'retain') out.retain(n);
    else if (ka === 'retain' && kb === 'remove') out.remove(n);
    else if (ka === 'insert' && kb === 'retain') out.insert(inserted);
    // An insert of a that b removes leaves nothing.
  }
  return ok(out.build());
}

/**
 * For two ops made on the same text, [a', b'] with apply(apply(s, a), b') ===
 * apply(apply(s, b), a'). When both insert at one position, the inserts of `a` go first if
 * `aFirstOnTie`, else those of `b`. Every replica breaks ties the same way: the op already
 * numbered (smaller seq) goes first, so a client transforming its unacknowledged op `a`
 * against an op `b` from the server passes false, as the server does for an incoming `a`
 * against a committed `b`. Error "invalid" unless a.baseLength === b.baseLength.
 */
export function transformTextOps(
  a: TextOp,
  b: TextOp,
  aFirstOnTie: boolean,
): CodecResult<[TextOp, TextOp]> {
  if (a.baseLength !== b.baseLength) {
    return invalid(
      `cannot transform: the ops span ${a.baseLength} and ${b.baseLength} code points (they must be made on the same text)`,
    );
  }
  const aPrime = new TextOpBuilder();
  const bPrime = new TextOpBuilder();
  const ra = new ComponentReader(a.ops);
  const rb = new ComponentReader(b.ops);
  while (!ra.done() || !rb.done()) {
    const aInserts = !ra.done() && ra.type() === 'insert';
    const bInserts = !rb.done() && rb.type() === 'insert';
    if (aInserts && (aFirstOnTie || !bInserts)) {
      const n = ra.remaining();
      aPrime.insert(ra.take(n));
      bPrime.retain(n);
      continue;
    }
    if (bInserts) {
      const n = rb.remaining();
      bPrime.insert(rb.take(n));
      aPrime.retain(n);
      continue;
    }
    // Both span the same base text, so their retains and removes run out together.
    const n = Math.min(ra.remaining(), rb.remaining());
    const ka = ra.type();
    const kb = rb.type();
    ra.take(n);
    rb.take(n);
    if (ka === 'retain' && kb === 'retain') {
      aPrime.retain(n);
      bPrime.retain(n);
    } else if (ka === 'remove' && kb === 'retain') {
      aPrime.remove(n);
    } else if (ka === 'retain' && kb === 'remove') {
      bPrime.remove(n);
    }
    // Removed by both: already gone for either.
  }
  return ok([aPrime.build(), bPrime.build()]);
}

/** The op that undoes `op` on the text it produced: apply(apply(s, op), invert(op, s)) === s.
 *  `baseText` is the text `op` was applied to. Error "invalid" when it has a lone surrogate or
 *  not op.baseLength code points. */
export function invertTextOp(op: TextOp, baseText: string): CodecResult<TextOp> {
  const length = codePointLength(baseText);
  if (length === null) return invalid('cannot invert: the text is not valid Unicode (a lone surrogate)');
  if (length !== op.baseLength) return spanError('cannot invert', op.baseLength, length);
  const out = new TextOpBuilder();
  let at = 0;
  for (const c of op.ops) {
    if (typeof c === 'string') {
      out.remove(countValid(c));
    } else if (c > 0) {
      out.retain(c);
      at = advance(baseText, at, c);
    } else {
      const end = advance(baseText, at, -c);
      out.insert(baseText.slice(at, end));
      at = end;
    }
  }
  return ok(out.build());
}

/**
 * Where a caret at code point `index` of the base text is after `op`. A caret inside a removed
 * range lands at its start. An insert exactly at the caret pushes it forward when `isOwn` (the
 * user's own typing) and leaves it before the insert otherwise. An index past the base text
 * counts as its end, so the result is within [0, op.targetLength], and order is kept.
 */
export function transformIndex(op: TextOp, index: number, isOwn: boolean): number {
  const caret = Math.max(0, Math.min(index, op.baseLength));
  let out = caret;
  let at = 0; // position in the base text
  for (const c of op.ops) {
    if (at > caret) break;
    if (typeof c === 'string') {
      if (at < caret || (at === caret && isOwn)) out += countValid(c);
    } else if (c > 0) {
      at += c;
    } else {
      if (caret > at) out -= Math.min(-c, caret - at);
      at -= c;
    }
  }
  return out;
}

/** Code point index → UTF-16 offset in `text` (for a textarea's selection), clamped to its end. */
export function codePointToUtf16(text: string, index: number): number {
  let at = 0;
  for (let n = 0; n < index && at < text.length; n++) {
    at += isHigh(text.charCodeAt(at)) && isLow(text.charCodeAt(at + 1)) ? 2 : 1;
  }
  return at;
}

/** UTF-16 offset → code point index in `text`; an offset inside a surrogate pair counts as the
 *  pair's start. */
export function utf16ToCodePoint(text: string, offset: number): number {
  let n = 0;
  let at = 0;
  while (at < text.length) {
    const step = isHigh(text.charCodeAt(at)) && isLow(text.charCodeAt(at + 1)) ? 2 : 1;
    if (at + step > offset) break;
    at += step;
    n++;
  }
  return n;
}
