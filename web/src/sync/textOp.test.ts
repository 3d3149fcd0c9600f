// Text ops: the shared vectors of core/testdata/ot (core/tests/text_op_test.cpp runs the same
// files), what only JavaScript strings can hold (lone surrogates), and seeded property tests of
// the OT laws. FUN_NOTES_OT_SEED and FUN_NOTES_OT_CASES pick another seed or more cases.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CodecResult } from './codec';
import {
  applyTextOp,
  codePointLength,
  codePointToUtf16,
  composeTextOps,
  invertTextOp,
  isNoop,
  parseTextOp,
  TextOpBuilder,
  textOpToJson,
  transformIndex,
  transformTextOps,
  utf16ToCodePoint,
  type TextComponent,
  type TextOp,
} from './textOp';
import { mulberry32 } from './testing/random';

const dir = fileURLToPath(new URL('../../../core/testdata/ot/', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Shared vectors

interface OtCase {
  name: string;
  fn: string;
  [key: string]: unknown;
}

interface OtFile {
  type: string;
  cases: OtCase[];
}

function mustOk<T>(r: CodecResult<T>, what = 'result'): T {
  if (!r.ok) throw new Error(`${what}: ${r.code}: ${r.message}`);
  return r.value;
}

const opOf = (c: OtCase, key: string): TextOp => mustOk(parseTextOp(c[key]), key);
const text = (c: OtCase, key: string): string => c[key] as string;
const apply = (op: TextOp, s: string): string => mustOk(applyTextOp(op, s), 'apply');

// An expected op is written in normal form: compare as JSON text, and it must read as itself.
function expectOp(got: TextOp, c: OtCase, key: string): void {
  expect(JSON.stringify(textOpToJson(got)), key).toBe(JSON.stringify(c[key]));
  const reread = mustOk(parseTextOp(c[key]), key);
  expect(JSON.stringify(textOpToJson(reread)), `${key} is not in normal form`).toBe(JSON.stringify(c[key]));
}

function expectError(r: CodecResult<unknown>, c: OtCase): void {
  expect(r.ok, 'succeeded where the vector expects an error').toBe(false);
  if (r.ok) return;
  expect(r.code).toBe(c.error);
  if (c.message !== undefined) expect(r.message).toBe(c.message);
}

function limitsOf(c: OtCase) {
  const l = (c.limits ?? {}) as { max_text_op_components?: number; max_body_bytes?: number };
  return {
    maxTextOpComponents: l.max_text_op_components ?? defaultLimits.maxTextOpComponents,
    maxBodyBytes: l.max_body_bytes ?? defaultLimits.maxBodyBytes,
  };
}

const runners: Record<string, (c: OtCase) => void> = {
  parse(c) {
    const input = typeof c.json === 'string' ? JSON.parse(c.json) : c.input;
    const op = parseTextOp(input, limitsOf(c));
    if (c.error !== undefined) return expectError(op, c);
    const value = mustOk(op);
    expectOp(value, c, 'output');
    expect(value.baseLength).toBe(c.base_length);
    expect(value.targetLength).toBe(c.target_length);
  },
  apply(c) {
    const got = applyTextOp(opOf(c, 'ops'), text(c, 'text'));
    if (c.error !== undefined) return expectError(got, c);
    expect(mustOk(got)).toBe(c.expected);
  },
  compose(c) {
    const a = opOf(c, 'a');
    const b = opOf(c, 'b');
    const ab = composeTextOps(a, b);
    if (c.error !== undefined) return expectError(ab, c);
    expectOp(mustOk(ab), c, 'expected');
    expect(apply(b, apply(a, text(c, 'text')))).toBe(c.result);
    expect(apply(mustOk(ab), text(c, 'text'))).toBe(c.result);
  },
  transform(c) {
    const a = opOf(c, 'a');
    const b = opOf(c, 'b');
    const primes = transformTextOps(a, b, c.a_first_on_tie as boolean);
    if (c.error !== undefined) return expectError(primes, c);
    const [aPrime, bPrime] = mustOk(primes);
    expectOp(aPrime, c, 'a_prime');
    expectOp(bPrime, c, 'b_prime');
    expect(apply(bPrime, apply(a, text(c, 'text')))).toBe(c.result);
    expect(apply(aPrime, apply(b, text(c, 'text')))).toBe(c.result);
  },
  invert(c) {
    const op = opOf(c, 'ops');
    const inverse = invertTextOp(op, text(c, 'text'));
    if (c.error !== undefined) return expectError(inverse, c);
    expectOp(mustOk(inverse), c, 'expected');
    expect(apply(mustOk(inverse), apply(op, text(c, 'text')))).toBe(c.text);
  },
  transform_index(c) {
    const op = opOf(c, 'ops');
    for (const [index, isOwn, expected] of c.checks as [number, boolean, number][]) {
      expect(transformIndex(op, index, isOwn), `index ${index}${isOwn ? ', own' : ''}`).toBe(expected);
    }
  },
};

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('vectors: core/testdata/ot', () => {
  it('has a file for each function', () => {
    const perFn = new Map<string, number>();
    for (const file of files) {
      for (const c of (JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as OtFile).cases) {
        perFn.set(c.fn, (perFn.get(c.fn) ?? 0) + 1);
      }
    }
    for (const fn of Object.keys(runners)) expect(perFn.get(fn) ?? 0, fn).toBeGreaterThanOrEqual(5);
  });
});

for (const file of files) {
  const vectors = JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as OtFile;
  describe(`vectors: ot/${file}`, () => {
    it('is a text_op file with cases', () => {
      expect(vectors.type).toBe('text_op');
      expect(vectors.cases.length).toBeGreaterThan(0);
    });
    for (const c of vectors.cases) {
      it(c.name, () => {
        const run = runners[c.fn];
        if (!run) throw new Error(`unknown fn "${c.fn}"`);
        run(c);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// What only JavaScript strings hold: lone surrogates, which UTF-8 (and so the server) cannot

const loneSurrogates = ['\ud800', 'a\udc00', '\ude00\ud83d', '😀\ud83d', '\udfff'];

describe('lone surrogates', () => {
  it('are not code points', () => {
    for (const s of loneSurrogates) expect(codePointLength(s), JSON.stringify(s)).toBeNull();
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('a😀👍🏽')).toBe(4);
  });

  it('make an insert invalid', () => {
    for (const s of loneSurrogates) {
      const r = parseTextOp([1, s]);
      expect(r).toEqual({ ok: false, code: 'invalid', message: 'op.ops[1] is not valid Unicode (a lone surrogate)' });
    }
  });

  it('make a text invalid to apply and invert', () => {
    for (const s of loneSurrogates) {
      const op = new TextOpBuilder().retain(s.length).build();
      expect(applyTextOp(op, s)).toMatchObject({ ok: false, code: 'invalid' });
      expect(invertTextOp(op, s)).toMatchObject({ ok: false, code: 'invalid' });
    }
  });
});

describe('parseTextOp limits', () => {
  it('allows 10000 components by default, not one more', () => {
    const wire: TextComponent[] = [];
    for (let i = 0; i < 5000; i++) wire.push(1, 'x');
    expect(mustOk(parseTextOp(wire)).ops.length).toBe(10000);
    wire.push(1);
    expect(parseTextOp(wire)).toEqual({
      ok: false,
      code: 'invalid',
      message: 'op.ops has more than 10000 components',
    });
  });

  it('allows inserts up to the body limit in UTF-8 bytes', () => {
    expect(parseTextOp(['a'.repeat(64 * 1024)]).ok).toBe(true);
    expect(parseTextOp(['é'.repeat(32 * 1024), 'b'])).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('rejects what JSON cannot send but a caller can', () => {
    for (const bad of [NaN, Infinity, -Infinity, undefined, 1n]) {
      expect(parseTextOp([bad]).ok, String(bad)).toBe(false);
    }
    // A hole in a sparse array reads as undefined.
    expect(parseTextOp(new Array(2))).toMatchObject({ ok: false, message: 'op.ops[0] must be an integer or a string' });
  });
});

describe('TextOpBuilder', () => {
  it('keeps the normal form', () => {
    const empty = new TextOpBuilder().retain(0).insert('').remove(0).build();
    expect(empty.ops).toEqual([]);
    const op = new TextOpBuilder().retain(1).retain(2).remove(1).insert('a').remove(2).insert('é').retain(1).build();
    expect(op.ops).toEqual([3, 'aé', -3, 1]);
    expect(op.baseLength).toBe(7);
    expect(op.targetLength).toBe(6);
    expect(isNoop(op)).toBe(false);
    expect(isNoop(new TextOpBuilder().retain(4).build())).toBe(true);
    expect(isNoop(empty)).toBe(true);
  });

  it('counts code points of what it inserts', () => {
    expect(new TextOpBuilder().insert('👨\u200d👩\u200d👧').build().targetLength).toBe(5);
    expect(new TextOpBuilder().insert('🇫🇷').insert('e\u0301').build().targetLength).toBe(4);
  });

  it('builds ops that cannot be changed afterwards', () => {
    const op = new TextOpBuilder().retain(1).build();
    expect(Object.isFrozen(op) && Object.isFrozen(op.ops)).toBe(true);
    expect(textOpToJson(op)).not.toBe(op.ops);
  });
});

describe('code point and UTF-16 offsets', () => {
  const s = 'a😀b👍🏽';
  it('converts a code point index to a UTF-16 offset and back', () => {
    const offsets = [0, 1, 3, 4, 6, 8];
    offsets.forEach((offset, index) => {
      expect(codePointToUtf16(s, index)).toBe(offset);
      expect(utf16ToCodePoint(s, offset)).toBe(index);
    });
    expect(codePointToUtf16(s, 99)).toBe(s.length);
  });

  it('counts an offset inside a surrogate pair as the pair start', () => {
    expect(utf16ToCodePoint(s, 2)).toBe(1);
    expect(utf16ToCodePoint(s, 5)).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const SEED = Number(process.env.FUN_NOTES_OT_SEED ?? 20260301);
const CASES = Number(process.env.FUN_NOTES_OT_CASES ?? 300);

// One code point per entry, of every UTF-8 length and of both UTF-16 lengths, with the pieces
// of grapheme clusters (skin tone, regional indicators, ZWJ, a combining mark) on their own.
const ALPHABET = [
  ...['a', 'b', 'c', ' ', '\n', 'é', 'ß', '\u0301', '中', '文'],
  ...['\u200d', '😀', '👍', '🏽', '🇫', '🇷'],
];

class Generator {
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }

  below(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  text(maxCodePoints: number): string {
    let out = '';
    const n = this.below(maxCodePoints + 1);
    for (let i = 0; i < n; i++) out += ALPHABET[this.below(ALPHABET.length)];
    return out;
  }

  /** A random op over a text of `length` code points, built through the builder. */
  op(length: number): TextOp {
    const out = new TextOpBuilder();
    for (const c of this.wire(length, 4)) {
      if (typeof c === 'string') out.insert(c);
      else if (c > 0) out.retain(c);
      else out.remove(-c);
    }
    return out.build();
  }

  /** Raw components over `length` code points, with neighbours of one kind and removes before
   *  inserts on purpose. */
  wire(length: number, maxInsert = 2): TextComponent[] {
    const out: TextComponent[] = [];
    let left = length;
    while (left > 0 || this.below(3) === 0) {
      const choice = this.below(left > 0 ? 3 : 1);
      if (choice === 0) {
        out.push(this.text(maxInsert) + ALPHABET[this.below(ALPHABET.length)]);
        if (left === 0) break;
      } else {
        const n = 1 + this.below(Math.min(left, 5));
        out.push(choice === 1 ? n : -n);
        left -= n;
      }
    }
    return out;
  }
}

const cpLength = (s: string): number => Array.from(s).length;

// The normal form, checked from its definition.
function expectNormal(op: TextOp): void {
  let base = 0;
  let target = 0;
  const kind = (c: TextComponent) => (typeof c === 'string' ? 'insert' : c > 0 ? 'retain' : 'remove');
  op.ops.forEach((c, i) => {
    expect(c === 0 || c === '', `empty component ${i}`).toBe(false);
    if (i > 0) {
      const prev = op.ops[i - 1] as TextComponent;
      expect(kind(prev) === kind(c), `unmerged neighbours at ${i}`).toBe(false);
      expect(kind(prev) === 'remove' && kind(c) === 'insert', `a remove before an insert at ${i}`).toBe(false);
    }
    if (typeof c === 'string') target += cpLength(c);
    else if (c > 0) {
      base += c;
      target += c;
    } else base -= c;
  });
  expect([base, target]).toEqual([op.baseLength, op.targetLength]);
}

// Apply on an array of code points, component by component as sent, with no normalization.
function modelApply(wire: TextComponent[], s: string): string {
  const points = Array.from(s);
  let out = '';
  let at = 0;
  for (const c of wire) {
    if (typeof c === 'string') out += c;
    else if (c > 0) {
      out += points.slice(at, at + c).join('');
      at += c;
    } else at -= c;
  }
  return out;
}

const show = (op: TextOp) => JSON.stringify(op.ops);

describe(`text op properties (seed ${SEED}, ${CASES} cases each)`, () => {
  it('reading normalizes, and apply matches a model on code points', () => {
    const gen = new Generator(SEED);
    for (let i = 0; i < CASES; i++) {
      const s = gen.text(12);
      const wire = gen.wire(cpLength(s));
      const op = mustOk(parseTextOp(wire), JSON.stringify(wire));
      expectNormal(op);
      expect(apply(op, s), `case ${i}: ${JSON.stringify(wire)}`).toBe(modelApply(wire, s));
      expect(mustOk(parseTextOp(textOpToJson(op))).ops).toEqual(op.ops);
    }
  });

  it('transform converges (TP1), and swapping the arguments swaps the results', () => {
    const gen = new Generator(SEED + 1);
    for (let i = 0; i < CASES; i++) {
      const s = gen.text(10);
      const a = gen.op(cpLength(s));
      const b = gen.op(cpLength(s));
      for (const aFirst of [false, true]) {
        const [aPrime, bPrime] = mustOk(transformTextOps(a, b, aFirst));
        expectNormal(aPrime);
        expectNormal(bPrime);
        expect(apply(bPrime, apply(a, s)), `case ${i}: ${show(a)} ${show(b)} ${aFirst}`).toBe(
          apply(aPrime, apply(b, s)),
        );
        const [bSwapped, aSwapped] = mustOk(transformTextOps(b, a, !aFirst));
        expect([bSwapped.ops, aSwapped.ops]).toEqual([bPrime.ops, aPrime.ops]);
      }
    }
  });

  it('compose equals applying both', () => {
    const gen = new Generator(SEED + 2);
    for (let i = 0; i < CASES; i++) {
      const s = gen.text(10);
      const a = gen.op(cpLength(s));
      const afterA = apply(a, s);
      const b = gen.op(cpLength(afterA));
      const ab = mustOk(composeTextOps(a, b));
      expectNormal(ab);
      expect(apply(ab, s), `case ${i}: ${show(a)} ${show(b)}`).toBe(apply(b, afterA));
    }
  });

  it('invert undoes', () => {
    const gen = new Generator(SEED + 4);
    for (let i = 0; i < CASES; i++) {
      const s = gen.text(12);
      const op = gen.op(cpLength(s));
      const inverse = mustOk(invertTextOp(op, s));
      expectNormal(inverse);
      expect(apply(inverse, apply(op, s)), `case ${i}: ${show(op)}`).toBe(s);
    }
  });

  it('transformIndex stays in bounds, keeps order and follows the text like a one-character insert', () => {
    const marker = '\u0001'; // not in the alphabet
    const gen = new Generator(SEED + 5);
    for (let i = 0; i < CASES; i++) {
      const s = gen.text(12);
      const length = cpLength(s);
      const op = gen.op(length);
      const after = apply(op, s);
      for (const isOwn of [false, true]) {
        let previous = 0;
        for (let index = 0; index <= length; index++) {
          const moved = transformIndex(op, index, isOwn);
          expect(moved).toBeLessThanOrEqual(op.targetLength);
          expect(moved).toBeGreaterThanOrEqual(previous);
          previous = moved;
          // The caret loses insert ties to the user's own typing and wins them otherwise.
          const caret = new TextOpBuilder().retain(index).insert(marker).retain(length - index).build();
          const [caretPrime] = mustOk(transformTextOps(caret, op, !isOwn));
          expect(moved, `case ${i}: ${show(op)} index ${index}${isOwn ? ' own' : ''}`).toBe(
            Array.from(apply(caretPrime, after)).indexOf(marker),
          );
        }
        expect(transformIndex(op, length + 1 + gen.below(5), isOwn)).toBe(transformIndex(op, length, isOwn));
      }
    }
  });

  it('classic clients (one op in flight, the rest composed) converge with the server', () => {
    // The server transforms an incoming op against every op committed after its base, the
    // committed op first on ties; a client transforms its op in flight and its buffer against
    // each op it receives, the server's op first.
    interface Client {
      text: string;
      revision: number;
      outstanding: TextOp | null;
      buffer: TextOp | null;
      toServer: [number, TextOp][];
      fromServer: number[];
    }
    const gen = new Generator(SEED + 3);
    for (let run = 0; run < Math.max(1, Math.floor(CASES / 10)); run++) {
      let serverText = gen.text(6);
      const log: [number, TextOp][] = [];
      const clients: Client[] = Array.from({ length: 2 + gen.below(3) }, () => ({
        text: serverText,
        revision: 0,
        outstanding: null,
        buffer: null,
        toServer: [],
        fromServer: [],
      }));
      const edit = (c: Client) => {
        const op = gen.op(cpLength(c.text));
        c.text = apply(op, c.text);
        if (!c.outstanding) {
          c.outstanding = op;
          c.toServer.push([c.revision, op]);
        } else {
          c.buffer = c.buffer ? mustOk(composeTextOps(c.buffer, op)) : op;
        }
      };
      const toServer = (who: number) => {
        const [base, sent] = clients[who]!.toServer.shift()!;
        let op = sent;
        for (let seq = base + 1; seq <= log.length; seq++) {
          op = mustOk(transformTextOps(op, log[seq - 1]![1], false))[0];
        }
        serverText = apply(op, serverText);
        log.push([who, op]);
        for (const c of clients) c.fromServer.push(log.length);
      };
      const toClient = (who: number) => {
        const c = clients[who]!;
        const seq = c.fromServer.shift()!;
        const [author, committed] = log[seq - 1]!;
        c.revision = seq;
        if (author === who) {
          c.outstanding = c.buffer;
          c.buffer = null;
          if (c.outstanding) c.toServer.push([c.revision, c.outstanding]);
          return;
        }
        let incoming = committed;
        if (c.outstanding) [c.outstanding, incoming] = mustOk(transformTextOps(c.outstanding, incoming, false));
        if (c.buffer) [c.buffer, incoming] = mustOk(transformTextOps(c.buffer, incoming, false));
        c.text = apply(incoming, c.text);
      };
      for (let step = 0; step < 60; step++) {
        const who = gen.below(clients.length);
        const c = clients[who]!;
        const action = gen.below(3);
        if (action === 0) edit(c);
        else if (action === 1 && c.toServer.length > 0) toServer(who);
        else if (action === 2 && c.fromServer.length > 0) toClient(who);
      }
      for (let moving = true; moving; ) {
        moving = false;
        clients.forEach((c, who) => {
          while (c.toServer.length > 0) {
            toServer(who);
            moving = true;
          }
          while (c.fromServer.length > 0) {
            toClient(who);
            moving = true;
          }
        });
      }
      for (const c of clients) {
        expect(c.outstanding ?? c.buffer).toBeNull();
        expect(c.text, `run ${run}`).toBe(serverText);
      }
    }
  });
});
