// Undo and redo of a user's own changes, with others editing the same room through the fake
// server: undoing text removes only the user's own characters (others' typed since stay),
// typing is grouped into steps by pauses and caret jumps, and toggles, moves and deletes go back
// and forth.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncClient } from './client';
import type { Room } from './room';
import { FakeServer } from './testing/fake-server';
import { diffTexts } from './textSync';

function world() {
  const server = new FakeServer('r1');
  const clients = ['ann', 'bob'].map(
    (user) => new SyncClient({ token: 't', userId: null, socketFactory: server.factoryFor(user), random: () => 0.5 }),
  );
  const [ann, bob] = clients.map((c) => c.openRoom('r1')) as [Room, Room];
  const pump = () => {
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const conn of server.connections.filter((c) => c.alive)) {
        while (server.process(conn)) moved = true;
        while (conn.deliver()) moved = true;
      }
      if (!moved) break;
    }
  };
  pump();
  const id = ann.createNote({ title: 'Plan', body: '' });
  pump();
  const body = (room: Room) => room.getView().notes.find((n) => n.id === id)?.body;
  /** Types `text` at code point `at`, one character per input event, `gap` ms apart. */
  const type = (room: Room, at: number, text: string, gap = 100) => {
    let pos = at;
    for (const ch of Array.from(text)) {
      const before = body(room) ?? '';
      const chars = Array.from(before);
      const after = [...chars.slice(0, pos), ch, ...chars.slice(pos)].join('');
      expect(room.editText(id, 'body', diffTexts(before, after).ops)).toBe(true);
      pos++;
      vi.advanceTimersByTime(gap);
      pump();
    }
  };
  const close = () => clients.forEach((c) => c.close());
  return { server, ann, bob, id, pump, body, type, close };
}

describe('undo and redo', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('undoes only the user\u2019s own words, keeping what someone else typed in between', () => {
    const w = world();
    w.type(w.ann, 0, 'Hello ');
    vi.advanceTimersByTime(1500); // a pause: a new step
    w.type(w.ann, 6, 'world');
    // Bob types into the middle of Ann's words meanwhile.
    w.type(w.bob, 6, 'big ');
    expect(w.body(w.ann)).toBe('Hello big world');
    expect(w.ann.undo()).toBe(true);
    w.pump();
    expect(w.body(w.ann)).toBe('Hello big ');
    expect(w.body(w.bob)).toBe('Hello big ');
    expect(w.ann.undo()).toBe(true);
    w.pump();
    expect(w.body(w.bob)).toBe('big ');
    expect(w.ann.undo()).toBe(false);
    // Redo brings Ann's words back where they were, around Bob's.
    expect(w.ann.redo()).toBe(true);
    expect(w.ann.redo()).toBe(true);
    w.pump();
    expect(w.body(w.bob)).toBe('Hello big world');
    expect(w.body(w.ann)).toBe('Hello big world');
    w.close();
  });

  it('never takes back text someone else typed inside the user\u2019s own insert', () => {
    const w = world();
    w.type(w.ann, 0, 'abcd');
    w.type(w.bob, 2, 'XY');
    expect(w.body(w.ann)).toBe('abXYcd');
    w.ann.undo();
    w.pump();
    expect(w.body(w.bob)).toBe('XY');
    w.close();
  });

  it('groups typing into one step until a pause over a second or a caret jump', () => {
    const w = world();
    w.type(w.ann, 0, 'one two', 300);
    w.type(w.ann, 0, '>', 300); // a jump to the start: its own step
    expect(w.body(w.ann)).toBe('>one two');
    w.ann.undo();
    expect(w.body(w.ann)).toBe('one two');
    w.ann.undo();
    expect(w.body(w.ann)).toBe('');
    expect(w.ann.canUndo).toBe(false);
    w.close();
  });

  it('leaving the field ends the typing step', () => {
    const w = world();
    w.type(w.ann, 0, 'ab');
    w.ann.clearCaret();
    w.type(w.ann, 2, 'cd');
    w.ann.undo();
    expect(w.body(w.ann)).toBe('ab');
    w.close();
  });

  it('a new edit clears redo', () => {
    const w = world();
    w.type(w.ann, 0, 'abc');
    w.ann.undo();
    expect(w.ann.canRedo).toBe(true);
    w.type(w.ann, 0, 'z');
    expect(w.ann.canRedo).toBe(false);
    w.close();
  });

  it('undoes and redoes toggles, moves and deletes', () => {
    const w = world();
    const second = w.ann.createNote({ title: 'Second', body: 'two' });
    w.pump();
    const order = (room: Room) => room.getView().notes.map((n) => n.id);
    w.ann.updateNote(w.id, { is_important: true });
    w.ann.moveNote(second, 0);
    w.ann.deleteNote(w.id);
    w.pump();
    expect(order(w.bob)).toEqual([second]);
    w.ann.undo(); // the delete: back with its flag, at its index
    w.pump();
    expect(order(w.bob)).toEqual([second, w.id]);
    expect(w.bob.getView().notes[1]).toMatchObject({ title: 'Plan', is_important: true });
    w.ann.undo(); // the move
    w.pump();
    expect(order(w.bob)).toEqual([w.id, second]);
    w.ann.undo(); // the toggle
    w.pump();
    expect(w.bob.getView().notes[0]?.is_important).toBe(false);
    w.ann.redo();
    w.ann.redo();
    w.ann.redo();
    w.pump();
    expect(order(w.bob)).toEqual([second]);
    w.ann.undo();
    w.pump();
    expect(w.bob.getView().notes.find((n) => n.id === w.id)?.is_important).toBe(true);
    w.close();
  });
});

describe('undo steps of backspacing', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('groups backspaces into one step and brings the text back at once', () => {
    const w = world();
    w.type(w.ann, 0, 'abcdef');
    vi.advanceTimersByTime(1500);
    for (let i = 0; i < 3; i++) {
      const before = w.body(w.ann) ?? '';
      w.ann.editText(w.id, 'body', diffTexts(before, before.slice(0, -1)).ops);
      vi.advanceTimersByTime(100);
    }
    expect(w.body(w.ann)).toBe('abc');
    w.ann.undo();
    expect(w.body(w.ann)).toBe('abcdef');
    w.close();
  });
});
