// The shared test vectors of core/testdata, run through the TypeScript replica and codec: the
// C++ suite runs the same files, so both sides agree byte for byte on state and validation.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyOp, createRoomState, sortedNotes, type RoomState } from './apply';
import { opToJson, parseNote, parseOp, parseOpText } from './codec';
import type { Note } from './protocol';

const dir = fileURLToPath(new URL('../../../core/testdata/', import.meta.url));

function load<T>(name: string): { description: string; cases: T[] } {
  return JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as { description: string; cases: T[] };
}

interface ApplyCase {
  name: string;
  initial: { seq: number; notes: unknown[] };
  ops: { seq: number; at: string; op: unknown }[];
  expected: { seq: number; notes: Note[] };
}

interface CodecCase {
  name: string;
  input?: unknown;
  text?: string;
  error: string | null;
  output?: unknown;
}

function runApply(c: ApplyCase): RoomState {
  const initial = c.initial.notes.map((raw) => {
    const n = parseNote(raw);
    if (!n.ok) throw new Error(`bad initial note in "${c.name}": ${n.message}`);
    return n.value;
  });
  let state = createRoomState(c.initial.seq, initial);
  for (const a of c.ops) {
    const op = parseOp(a.op);
    if (!op.ok) throw new Error(`op rejected in "${c.name}": ${op.message}`);
    state = applyOp(state, { seq: a.seq, at: a.at, op: op.value });
  }
  return state;
}

for (const file of ['apply_basic', 'apply_noops', 'apply_text', 'lww', 'ordering']) {
  const vectors = load<ApplyCase>(file);
  describe(`vectors: ${file}`, () => {
    it('has cases', () => expect(vectors.cases.length).toBeGreaterThan(0));
    for (const c of vectors.cases) {
      it(c.name, () => {
        const state = runApply(c);
        expect(state.seq).toBe(c.expected.seq);
        // toEqual compares numbers as values, so 1024 and 1024.0 in the JSON are equal.
        expect(sortedNotes(state)).toEqual(c.expected.notes);
        // The order is part of the contract: ids in the expected order, exactly.
        expect(sortedNotes(state).map((n) => n.id)).toEqual(c.expected.notes.map((n) => n.id));
      });
    }
  });
}

function checkCodec(c: CodecCase, result: ReturnType<typeof parseOp>): void {
  if (c.error === null) {
    if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.message}`);
    const canonical = opToJson(result.value);
    expect(canonical).toEqual(c.output ?? c.input);
    // Key order of the canonical form is part of the vector (JSON text compares).
    expect(JSON.stringify(canonical)).toBe(JSON.stringify(c.output ?? c.input));
  } else {
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe(c.error);
  }
}

describe('vectors: codec_ops', () => {
  const vectors = load<CodecCase>('codec_ops');
  it('has cases', () => expect(vectors.cases.length).toBeGreaterThan(0));
  for (const c of vectors.cases) {
    it(c.name, () => checkCodec(c, parseOp(c.input)));
  }
});

describe('vectors: codec_raw', () => {
  const vectors = load<CodecCase>('codec_raw');
  it('has cases', () => expect(vectors.cases.length).toBeGreaterThan(0));
  for (const c of vectors.cases) {
    it(c.name, () => checkCodec(c, parseOpText(c.text as string)));
  }
});
