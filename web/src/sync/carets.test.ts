// Carets (docs/protocol.md, "Carets"): the `cursor` frame's codec, others' carets moved through
// the text ops applied after the seq they were sent at (and through local edits not yet sent),
// dropped when cleared or stale, and this page's caret sent throttled and refreshed.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseServerFrame } from './codec';
import { SyncClient } from './client';
import type { Op } from './protocol';
import { FakeSocket } from './testing/fake-server';
import { note } from './testing/notes';

const info = { id: 'r1', name: 'Room', visibility: 'private' as const, role: 'owner' as const, active_user_count: 2, total_notes: 1 };
const bob = { id: 'u2', name: 'Bob' };

function opFrame(seq: number, op: Op, cid = `other-${seq}`) {
  return { type: 'op', room: 'r1', seq, cid, user: 'u2', at: '2026-01-01T00:00:00.000Z', op };
}

function caret(extra: Record<string, unknown>) {
  return { type: 'cursor', room: 'r1', session: 's-bob', user: bob, note: 'a', field: 'body', ...extra };
}

function joined(body = 'hello world') {
  let socket: FakeSocket | null = null;
  const client = new SyncClient({
    token: 't',
    userId: null,
    url: 'ws://test/ws',
    socketFactory: (url) => (socket = new FakeSocket(url)),
  });
  const s = socket as unknown as FakeSocket;
  // A live server answers every ping (the timers below run for minutes).
  s.onSend = (frame) => {
    if (frame.type === 'ping') s.receive({ type: 'pong', t: frame.t });
  };
  s.open();
  s.receive({ type: 'welcome', protocol: 1, server: 'srv', user: { id: 'u1', name: 'Ann' } });
  const room = client.openRoom('r1');
  s.receive({ type: 'snapshot', room: 'r1', seq: 5, room_info: info, notes: [note('a', 1, { body })] });
  return { client, s, room };
}

describe('cursor frame codec', () => {
  it('reads a caret, a cleared caret, and ignores unknown fields', () => {
    expect(
      parseServerFrame(JSON.stringify({ ...caret({ anchor: 1, head: 3, seq: 7 }), colour: 'red', extra: { x: 1 } })),
    ).toEqual({ type: 'cursor', room: 'r1', session: 's-bob', user: bob, note: 'a', field: 'body', anchor: 1, head: 3, seq: 7 });
    expect(parseServerFrame(JSON.stringify({ type: 'cursor', room: 'r1', session: 's-bob', user: bob, since: 3 }))).toEqual({
      type: 'cursor',
      room: 'r1',
      session: 's-bob',
      user: bob,
    });
  });

  it('drops a caret with a bad field, offset or seq', () => {
    for (const bad of [
      caret({ field: 'tags', anchor: 0, head: 0, seq: 1 }),
      caret({ anchor: -1, head: 0, seq: 1 }),
      caret({ anchor: 0, head: 1.5, seq: 1 }),
      caret({ anchor: 0, head: 0 }),
      { type: 'cursor', room: 'r1', user: bob },
      { type: 'cursor', room: 'r1', session: 's', user: 'bob' },
    ]) {
      expect(parseServerFrame(JSON.stringify(bad))).toBeNull();
    }
  });
});

describe('remote carets', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('moves a caret through the text ops applied after the seq it was sent at', () => {
    const { room, s, client } = joined('hello world');
    // Applied here first: someone inserts "big " at 6, then "Oh, " at 0.
    s.receive(opFrame(6, { kind: 'text', id: 'a', field: 'body', base: 5, ops: [6, 'big ', 5] }));
    s.receive(opFrame(7, { kind: 'text', id: 'a', field: 'body', base: 6, ops: ['Oh, ', 15] }));
    // Bob's caret at the end of "world", sent when he had applied seq 5.
    s.receive(caret({ anchor: 11, head: 11, seq: 5 }));
    expect(room.getView().carets).toEqual([{ session: 's-bob', user: bob, note: 'a', field: 'body', anchor: 19, head: 19 }]);
    // Later ops move it along; an insert at the caret leaves it before the insert.
    s.receive(opFrame(8, { kind: 'text', id: 'a', field: 'body', base: 7, ops: [19, '!'] }));
    s.receive(opFrame(9, { kind: 'text', id: 'a', field: 'body', base: 8, ops: [-4, 16] }));
    expect(room.getView().carets[0]).toMatchObject({ anchor: 15, head: 15 });
    client.close();
  });

  it('keeps a selection through local edits not acknowledged yet, and a caret sent ahead waits for its ops', () => {
    const { room, s, client } = joined('abcdef');
    s.receive(caret({ anchor: 2, head: 4, seq: 5 }));
    expect(room.editText('a', 'body', ['XY', 6])).toBe(true);
    expect(room.getView().carets[0]).toMatchObject({ anchor: 4, head: 6 });
    // Sent at seq 6, which is not applied here yet: the op of seq 6 is already in it.
    s.receive(caret({ session: 's-cat', user: { id: 'u3', name: 'Cat' }, anchor: 2, head: 2, seq: 6 }));
    s.receive(opFrame(6, { kind: 'text', id: 'a', field: 'body', base: 5, ops: ['_', 6] }));
    const cat = room.getView().carets.find((c) => c.session === 's-cat');
    // 2 as Cat saw it (after "_a"); the local "XY", rebased behind the "_", comes before it: 4.
    expect(room.getView().notes[0]?.body).toBe('_XYabcdef');
    expect(cat).toMatchObject({ anchor: 4, head: 4 });
    client.close();
  });

  it('drops a caret when it is cleared, when the socket goes, and when it is not refreshed for 45 s', () => {
    const { room, s, client } = joined();
    s.receive(caret({ anchor: 1, head: 1, seq: 5 }));
    expect(room.getView().carets).toHaveLength(1);
    s.receive({ type: 'cursor', room: 'r1', session: 's-bob', user: bob });
    expect(room.getView().carets).toHaveLength(0);
    s.receive(caret({ anchor: 1, head: 1, seq: 5 }));
    vi.advanceTimersByTime(30_000);
    s.receive(caret({ anchor: 2, head: 2, seq: 5 }));
    vi.advanceTimersByTime(30_000);
    expect(room.getView().carets).toHaveLength(1);
    vi.advanceTimersByTime(20_000);
    expect(room.getView().carets).toHaveLength(0);
    s.receive(caret({ anchor: 1, head: 1, seq: 5 }));
    s.serverClose(1006);
    expect(room.getView().carets).toHaveLength(0);
    client.close();
  });

  it('sends this page\u2019s caret at most 10 times a second, refreshes it every 20 s, and clears it', () => {
    const { room, s, client } = joined();
    const sent = () => s.sentOf('cursor');
    room.setCaret('a', 'body', 1, 1);
    expect(sent()).toEqual([{ type: 'cursor', room: 'r1', note: 'a', field: 'body', anchor: 1, head: 1, seq: 5 }]);
    for (let i = 2; i < 8; i++) room.setCaret('a', 'body', i, i);
    expect(sent()).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(sent()).toHaveLength(2);
    expect(sent()[1]).toMatchObject({ anchor: 7, head: 7 });
    vi.advanceTimersByTime(20_000);
    expect(sent()).toHaveLength(3);
    room.clearCaret();
    expect(sent()[3]).toEqual({ type: 'cursor', room: 'r1' });
    vi.advanceTimersByTime(60_000);
    expect(sent()).toHaveLength(4);
    client.close();
  });

  it('stops sending carets to a server that answers them with invalid', () => {
    const { room, s, client } = joined();
    room.setCaret('a', 'body', 1, 1);
    s.receive({ type: 'error', code: 'invalid', message: 'unknown type "cursor"' });
    vi.advanceTimersByTime(150);
    room.setCaret('a', 'body', 2, 2);
    vi.advanceTimersByTime(20_500);
    expect(s.sentOf('cursor')).toHaveLength(1);
    client.close();
  });
});
