// The SyncClient against a hand-driven fake socket: session, join/resume/snapshot, reconnect with
// backoff, in-doubt ops, gaps, rejects, the rate limit, presence and the dashboard.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SyncClient } from './client';
import type { Note, Op, RoomInfo } from './protocol';
import type { RejectNotice } from './api';
import { FakeSocket } from './testing/fake-server';
import { note } from './testing/notes';

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};


const info = {
  id: 'r1',
  name: 'Room',
  visibility: 'private' as const,
  role: 'owner' as const,
  active_user_count: 1,
  total_notes: 0,
};

function opFrame(seq: number, op: Op, cid = `other-${seq}`) {
  return { type: 'op', room: 'r1', seq, cid, user: 'u2', at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}.000Z`, op };
}

function setup(random: () => number = () => 0.5) {
  const sockets: FakeSocket[] = [];
  const client = new SyncClient({
    token: 'tok',
    userId: null,
    url: 'ws://test/ws',
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random,
  });
  const last = () => sockets[sockets.length - 1] as FakeSocket;
  const connect = () => {
    const s = last();
    s.open();
    s.receive({ type: 'welcome', protocol: 1, server: 'srv-1', user: { id: 'u1', name: 'Ann' } });
    return s;
  };
  return { client, sockets, last, connect };
}

/** A joined room r1 at seq 2 with notes a and b. */
function joined() {
  const t = setup();
  const s = t.connect();
  const room = t.client.openRoom('r1');
  s.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024), note('b', 2048)] });
  return { ...t, s, room };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('session', () => {
  it('says hello with the token, goes online on welcome and joins rooms', async () => {
    const { client, last, connect } = setup();
    expect(last().url).toBe('ws://test/ws');
    expect(client.status).toBe('offline');
    const s = connect();
    expect(s.sent[0]).toEqual({ type: 'hello', token: 'tok', client: 'web/0.1', batch: true });
    const room = client.openRoom('r1');
    expect(client.openRoom('r1')).toBe(room);
    expect(s.sentOf('join')).toEqual([{ type: 'join', room: 'r1' }]);
    await settle();
    expect(client.status).toBe('syncing');
    s.receive({ type: 'snapshot', room: 'r1', seq: 5, room_info: info, notes: [note('b', 2048), note('a', 1024)] });
    await settle();
    expect(client.status).toBe('online');
    const view = room.getView();
    expect(view.loaded).toBe(true);
    expect(view.fromCache).toBe(false);
    expect(view.seq).toBe(5);
    expect(view.info).toEqual(info);
    expect(view.notes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(view.status).toBe('online');
    // The same snapshot object until something changes.
    expect(room.getView()).toBe(view);
    s.receive({ type: 'pong', t: 1 });
    expect(room.getView()).toBe(view);
    s.receive(opFrame(6, { kind: 'update', id: 'a', set: { title: 'A' } }));
    const next = room.getView();
    expect(next).not.toBe(view);
    expect(next.notes[0]?.title).toBe('A');
    // The untouched note keeps its identity (React memo).
    expect(next.notes[1]).toBe(view.notes[1]);
  });

  it('ignores frames that are not protocol messages', () => {
    const { s, room } = joined();
    const before = room.getView();
    s.onmessage?.({ data: 'not json' });
    s.onmessage?.({ data: JSON.stringify({ type: 'op', room: 'r1', seq: 3, cid: 'x', user: 'u', at: 't', op: { kind: 'explode' } }) });
    s.receive({ type: 'snapshot', room: 'r1' });
    expect(room.getView()).toBe(before);
    s.receive(opFrame(3, { kind: 'delete', id: 'a' }));
    expect(room.getView().notes.map((n) => n.id)).toEqual(['b']);
  });

  it('pings every 15 seconds', () => {
    const { connect } = setup();
    const s = connect();
    vi.advanceTimersByTime(14_999);
    expect(s.sentOf('ping')).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(s.sentOf('ping')).toHaveLength(1);
    s.receive({ type: 'pong', t: 0 });
    vi.advanceTimersByTime(15_000);
    expect(s.sentOf('ping')).toHaveLength(2);
  });

  it('notifies subscribers once per batch of changes', async () => {
    const { room, s } = joined();
    const listener = vi.fn();
    room.subscribe(listener);
    await settle();
    listener.mockClear();
    s.receive(opFrame(3, { kind: 'update', id: 'a', set: { title: 'x' } }));
    s.receive(opFrame(4, { kind: 'update', id: 'a', set: { title: 'y' } }));
    await settle();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(room.getView().notes[0]?.title).toBe('y');
  });
});

describe('reconnect and resume', () => {
  it('re-joins with since = last seq after a close, and applies the resume stream', async () => {
    const { client, s, room, sockets, connect } = joined();
    s.receive(opFrame(3, { kind: 'update', id: 'a', set: { title: 'three' } }));
    s.serverClose(1001, 'going away');
    await settle();
    expect(client.status).toBe('offline');
    expect(room.getView().status).toBe('offline');
    // Offline edits queue.
    room.updateNote('b', { title: 'offline edit' });
    expect(room.getView().notes[1]?.title).toBe('offline edit');
    // The first attempts are quick; with random 0.5: 300 ms.
    vi.advanceTimersByTime(299);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    const s2 = connect();
    expect(s2.sentOf('join')).toEqual([{ type: 'join', room: 'r1', since: 3 }]);
    expect(s2.sentOf('op')).toHaveLength(0); // not before the join is answered
    s2.receive({ type: 'resume', room: 'r1', since: 3 });
    // Queued ops wait for the end of the replay (the presence frame that ends the answer).
    expect(s2.sentOf('op')).toHaveLength(0);
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 1, users: [] });
    const sent = s2.sentOf('op');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.op).toEqual({ kind: 'update', id: 'b', set: { title: 'offline edit' } });
    s2.receive(opFrame(4, { kind: 'move', id: 'a', current_index: 4096 }));
    s2.receive({ ...opFrame(5, sent[0]?.op as Op), cid: sent[0]?.cid as string });
    const view = room.getView();
    expect(view.seq).toBe(5);
    expect(view.pendingCount).toBe(0);
    expect(view.notes.map((n) => [n.id, n.title])).toEqual([
      ['b', 'offline edit'],
      ['a', 'three'],
    ]);
  });

  it('handles a snapshot on re-join and ignores duplicates', () => {
    const { s, room, connect } = joined();
    s.serverClose(4008, 'slow consumer');
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    expect(s2.sentOf('join')[0]).toEqual({ type: 'join', room: 'r1', since: 2 });
    s2.receive({ type: 'snapshot', room: 'r1', seq: 10, room_info: info, notes: [note('c', 5, { seq: 9 })] });
    expect(room.getView().notes.map((n) => n.id)).toEqual(['c']);
    s2.receive(opFrame(9, { kind: 'delete', id: 'c' })); // already in the snapshot
    s2.receive(opFrame(10, { kind: 'delete', id: 'c' }));
    expect(room.getView().notes.map((n) => n.id)).toEqual(['c']);
    expect(room.getView().seq).toBe(10);
    s2.receive(opFrame(11, { kind: 'delete', id: 'c' }));
    expect(room.getView().notes).toEqual([]);
  });

  it('after a resume, sends again only the in-flight ops the replay did not acknowledge', () => {
    const { s, room, connect } = joined();
    room.updateNote('a', { title: 'one' });
    room.deleteNote('b');
    const first = s.sentOf('op');
    expect(first).toHaveLength(2);
    s.serverClose(1006, '');
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    s2.receive({ type: 'resume', room: 'r1', since: 2 });
    // The replay holds the original of the first op (numbered before the socket died), then
    // someone else's edit of the same field.
    s2.receive({ ...opFrame(3, first[0]?.op as Op), cid: first[0]?.cid as string });
    s2.receive(opFrame(4, { kind: 'update', id: 'a', set: { title: 'theirs' } }));
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 2, users: [] });
    // Only the delete was lost: the update is not sent again, so it cannot overwrite 'theirs'.
    const again = s2.sentOf('op');
    expect(again.map((f) => f.cid)).toEqual([first[1]?.cid]);
    s2.receive({ ...opFrame(5, first[1]?.op as Op), cid: first[1]?.cid as string });
    const view = room.getView();
    expect(view.pendingCount).toBe(0);
    expect(view.notes.map((n) => [n.id, n.title])).toEqual([['a', 'theirs']]);
  });

  it('after a snapshot, sends every in-flight op again in order; a second echo is a remote op', () => {
    const { s, room, connect } = joined();
    room.updateNote('a', { title: 'one' });
    room.deleteNote('b');
    const first = s.sentOf('op');
    s.serverClose(4008, '');
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    // The first op was numbered (seq 3) and is in the snapshot, without its cid.
    s2.receive({
      type: 'snapshot',
      room: 'r1',
      seq: 3,
      room_info: info,
      notes: [note('a', 1024, { title: 'one', seq: 3 }), note('b', 2048)],
    });
    const again = s2.sentOf('op');
    expect(again.map((f) => f.cid)).toEqual(first.map((f) => f.cid));
    expect(room.getView().notes.map((n) => n.id)).toEqual(['a']);
    s2.receive({ ...opFrame(4, first[0]?.op as Op), cid: first[0]?.cid as string });
    s2.receive({ ...opFrame(5, first[1]?.op as Op), cid: first[1]?.cid as string });
    const view = room.getView();
    expect(view.pendingCount).toBe(0);
    expect(view.notes.map((n) => [n.id, n.title, n.seq])).toEqual([['a', 'one', 4]]);
  });

  it('sends in-doubt ops after a while when no presence ends the replay', () => {
    const { s, room, connect } = joined();
    room.updateNote('a', { title: 'one' });
    s.serverClose(1001, '');
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    s2.receive({ type: 'resume', room: 'r1', since: 2 });
    expect(s2.sentOf('op')).toHaveLength(0);
    vi.advanceTimersByTime(2_000);
    expect(s2.sentOf('op')).toHaveLength(1);
  });

  it('never merges a new edit into an op that was sent before the socket died', () => {
    const { s, room, connect } = joined();
    room.updateNote('a', { title: 'sent' });
    const [first] = s.sentOf('op');
    s.serverClose(1006, '');
    room.updateNote('a', { body: 'typed offline' });
    expect(room.getView().pendingCount).toBe(2);
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    s2.receive({ type: 'resume', room: 'r1', since: 2 });
    // The server had numbered the first op as it was sent.
    s2.receive({ ...opFrame(3, first?.op as Op), cid: first?.cid as string });
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 1, users: [] });
    const again = s2.sentOf('op');
    expect(again.map((f) => f.op)).toEqual([{ kind: 'update', id: 'a', set: { body: 'typed offline' } }]);
    expect(room.getView().notes[0]).toMatchObject({ title: 'sent', body: 'typed offline' });
  });

  it('detects a gap and re-joins with since on the same socket', () => {
    const { s, room } = joined();
    s.receive(opFrame(3, { kind: 'update', id: 'a', set: { title: 'three' } }));
    s.receive(opFrame(5, { kind: 'update', id: 'a', set: { title: 'five' } }));
    expect(s.sentOf('join')).toEqual([
      { type: 'join', room: 'r1' },
      { type: 'join', room: 'r1', since: 3 },
    ]);
    expect(room.getView().notes[0]?.title).toBe('three');
    // Frames of the old stream are ignored until the answer.
    s.receive(opFrame(6, { kind: 'update', id: 'a', set: { title: 'six' } }));
    expect(room.getView().seq).toBe(3);
    s.receive({ type: 'resume', room: 'r1', since: 3 });
    s.receive(opFrame(4, { kind: 'update', id: 'a', set: { title: 'four' } }));
    s.receive(opFrame(5, { kind: 'update', id: 'a', set: { title: 'five' } }));
    s.receive(opFrame(6, { kind: 'update', id: 'a', set: { title: 'six' } }));
    expect(room.getView().seq).toBe(6);
    expect(room.getView().notes[0]?.title).toBe('six');
  });

  it('stops reconnecting on 4001 and reports the auth error', async () => {
    const { client, sockets, connect, last } = setup();
    const onAuth = vi.fn();
    client.onAuthError(onAuth);
    connect();
    last().serverClose(4001, 'unauthorized');
    await settle();
    vi.advanceTimersByTime(600_000);
    expect(sockets).toHaveLength(1);
    expect(client.status).toBe('offline');
    expect(client.authError).toEqual({ code: 'unauthorized', message: 'unauthorized' });
    expect(onAuth).toHaveBeenCalledTimes(1);
  });

  it('retries quickly six times, then backs off exponentially with full jitter, capped', () => {
    let r = 0.999;
    const { sockets, last } = setup(() => r);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const count = sockets.length;
      last().serverClose(1006, '');
      let waited = 0;
      while (sockets.length === count) {
        vi.advanceTimersByTime(1);
        waited++;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([499, 499, 499, 499, 499, 499, 1499, 2498, 4496, 8492, 10490, 10490]);
    // Jitter: a smaller random number gives a proportionally shorter wait.
    r = 0.1;
    const count = sockets.length;
    last().serverClose(1006, '');
    vi.advanceTimersByTime(1499);
    expect(sockets).toHaveLength(count);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(count + 1);
  });

  it('reconnects at once when the browser comes back online', () => {
    const handlers: (() => void)[] = [];
    vi.stubGlobal('addEventListener', (type: string, h: () => void) => {
      if (type === 'online') handlers.push(h);
    });
    vi.stubGlobal('removeEventListener', () => undefined);
    try {
      const { sockets, last } = setup(() => 0.999);
      for (let i = 0; i < 5; i++) {
        last().serverClose(1006, '');
        vi.advanceTimersByTime(10_000);
      }
      const count = sockets.length;
      last().serverClose(1006, '');
      vi.advanceTimersByTime(100);
      expect(sockets).toHaveLength(count);
      expect(handlers).toHaveLength(1);
      handlers[0]?.();
      expect(sockets).toHaveLength(count + 1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('resets the backoff after a welcome', () => {
    const { sockets, last, connect } = setup(() => 0.999);
    for (let i = 0; i < 9; i++) {
      last().serverClose(1006, '');
      vi.advanceTimersByTime(11_000);
    }
    connect();
    const count = sockets.length;
    last().serverClose(1001, '');
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(count + 1);
  });
});

describe('op queue', () => {
  it('shows an edit at once, keeps it through the echo and drops it from pending', () => {
    const { s, room } = joined();
    room.updateNote('a', { title: 'mine' });
    const view = room.getView();
    expect(view.notes[0]?.title).toBe('mine');
    expect(view.pendingCount).toBe(1);
    const [sent] = s.sentOf('op');
    expect(sent?.cid).toMatch(/^[A-Za-z0-9_-]+-1$/);
    s.receive({ ...opFrame(3, sent?.op as Op), cid: sent?.cid as string });
    expect(room.getView().notes[0]?.title).toBe('mine');
    expect(room.getView().notes[0]?.seq).toBe(3);
    expect(room.getView().pendingCount).toBe(0);
  });

  it('rolls a rejected op back and tells onReject listeners', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.deleteNote('a');
    expect(room.getView().notes.map((n) => n.id)).toEqual(['b']);
    const [sent] = s.sentOf('op');
    s.receive({ type: 'reject', room: 'r1', cid: sent?.cid as string, code: 'forbidden', message: 'viewers cannot edit' });
    expect(room.getView().notes.map((n) => n.id)).toEqual(['a', 'b']);
    expect(room.getView().pendingCount).toBe(0);
    expect(notices).toEqual([{ roomId: 'r1', cid: sent?.cid, code: 'forbidden', message: 'viewers cannot edit' }]);
  });

  it('keeps a rate_limited op and sends it again after a backoff', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.updateNote('a', { title: 'later' });
    const [sent] = s.sentOf('op');
    s.receive({ type: 'reject', room: 'r1', cid: sent?.cid as string, code: 'rate_limited', message: 'slow down' });
    expect(room.getView().notes[0]?.title).toBe('later');
    expect(room.getView().pendingCount).toBe(1);
    expect(notices).toEqual([]);
    vi.advanceTimersByTime(1_000);
    const again = s.sentOf('op');
    expect(again).toHaveLength(2);
    expect(again[1]?.cid).toBe(sent?.cid);
  });

  it('counts a burst of rate_limited rejects as one backoff step, and keeps the order', () => {
    const { s, room } = joined();
    for (let i = 0; i < 5; i++) room.updateNote(i % 2 ? 'a' : 'b', { title: `t${i}` });
    const sent = s.sentOf('op');
    expect(sent).toHaveLength(5);
    // The first two are numbered; the other three hit the server's limit.
    s.receive({ ...opFrame(3, sent[0]?.op as Op), cid: sent[0]?.cid as string });
    s.receive({ ...opFrame(4, sent[1]?.op as Op), cid: sent[1]?.cid as string });
    for (const f of sent.slice(2)) {
      s.receive({ type: 'reject', room: 'r1', cid: f.cid, code: 'rate_limited', message: '' });
    }
    // random 0.5: 250 + 0.5 * 500 ms for the first step, whatever the number of rejects.
    vi.advanceTimersByTime(499);
    expect(s.sentOf('op')).toHaveLength(5);
    vi.advanceTimersByTime(1);
    const again = s.sentOf('op').slice(5);
    expect(again.map((f) => f.cid)).toEqual(sent.slice(2).map((f) => f.cid));
  });

  it('refuses an op the server would reject as too large, without sending it', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.updateNote('a', { title: 'é'.repeat(513) });
    expect(s.sentOf('op')).toHaveLength(0);
    expect(notices[0]?.code).toBe('too_large');
    expect(room.getView().notes[0]?.title).toBe('a');
  });

  it('refuses an op whose frame would pass 64 KiB, which the server would close the socket on', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.updateNote('a', { body: 'x'.repeat(65_500) }); // within the 64 KiB body limit
    expect(s.sentOf('op')).toHaveLength(0);
    expect(room.getView().pendingCount).toBe(0);
    expect(notices.map((n) => n.code)).toEqual(['too_large']);
    room.updateNote('a', { body: 'x'.repeat(60_000) });
    expect(s.sentOf('op')).toHaveLength(1);
  });

  it("uses the limits the server's welcome advertises, and its defaults until then", () => {
    const t = setup();
    expect(t.client.limits).toEqual({ titleBytes: 1024, bodyBytes: 65_536, frameBytes: 65_536 });
    const s = t.last();
    s.open();
    const changed = vi.fn();
    t.client.subscribeLimits(changed);
    s.receive({
      type: 'welcome',
      protocol: 1,
      server: 'srv-1',
      user: { id: 'u1', name: 'Ann' },
      limits: { title_bytes: 100, body_bytes: 'lots', frame_bytes: 65_536 } as unknown as Record<string, number>,
    });
    // A value that is not a positive integer keeps the default.
    expect(t.client.limits).toEqual({ titleBytes: 100, bodyBytes: 65_536, frameBytes: 65_536 });
    expect(changed).toHaveBeenCalledTimes(1);
    const room = t.client.openRoom('r1');
    s.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024)] });
    // 50 Cyrillic letters are 100 bytes: sent. 51 are 102: refused here, never sent.
    expect(room.fieldSize('a', 'title', 'Я'.repeat(51))).toEqual({ bytes: 102, limit: 100 });
    room.updateNote('a', { title: 'Я'.repeat(51) });
    expect(s.sentOf('op')).toHaveLength(0);
    room.updateNote('a', { title: 'Я'.repeat(50) });
    expect(s.sentOf('op')).toHaveLength(1);
  });

  it('measures a body against the frame when escapes make the op bigger than the text', () => {
    const { room } = joined();
    expect(room.fieldSize('a', 'body', 'x'.repeat(1000))).toEqual({ bytes: 1000, limit: 65_536 });
    // 65,000 newlines are 65,000 bytes of text but 130,000 bytes of JSON.
    const size = room.fieldSize('a', 'body', '\n'.repeat(65_000));
    expect(size.bytes).toBe(65_000);
    expect(size.limit).toBeLessThan(size.bytes);
    // What the limit says fits, fits: a text of exactly `limit` bytes of the same kind is sent.
    const fits = room.fieldSize('a', 'body', 'x'.repeat(65_400));
    expect(fits.limit).toBeLessThan(65_400);
    expect(room.fieldSize('a', 'body', 'x'.repeat(fits.limit)).limit).toBeGreaterThanOrEqual(fits.limit);
  });

  it('counts unsent changes per room, open or not', async () => {
    const { client, s, room } = joined();
    expect(await client.unsentChanges()).toEqual([]);
    room.updateNote('a', { title: 'one' });
    room.createNote({ title: 'two' });
    expect(await client.unsentChanges()).toEqual([{ roomId: 'r1', name: 'Room', count: 2 }]);
    for (const op of s.sentOf('op')) {
      s.receive(opFrame(room.getView().seq + 1, op.op, op.cid));
    }
    expect(await client.unsentChanges()).toEqual([]);
  });

  it('splits a large rebalance into ops that each fit in a frame', () => {
    const t = setup();
    const s = t.connect();
    const room = t.client.openRoom('r1');
    // 1200 notes on one index: no move fits anywhere, so the whole list is spread.
    const notes = Array.from({ length: 1200 }, (_, i) => note(`n${String(i).padStart(4, '0')}`, 1024));
    s.receive({ type: 'snapshot', room: 'r1', seq: 1, room_info: info, notes });
    room.moveNote('n1199', 600);
    const ops = s.sentOf('op');
    expect(ops.map((f) => f.op.kind)).toEqual(['rebalance', 'rebalance', 'rebalance']);
    for (const f of ops) expect(JSON.stringify(f).length).toBeLessThan(65_536);
    const ids = room.getView().notes.map((n) => n.id);
    expect(ids[600]).toBe('n1199');
    expect(ids[599]).toBe('n0599');
    expect(ids[601]).toBe('n0600');
    expect(ids[1199]).toBe('n1198');
  });

  it('stays under the server rate limit with a burst of local edits', () => {
    const { s, room } = joined();
    for (let i = 0; i < 300; i++) room.createNote({ title: `n${i}` });
    expect(room.getView().notes).toHaveLength(302);
    expect(s.sentOf('op')).toHaveLength(90);
    vi.advanceTimersByTime(1_000);
    const afterOne = s.sentOf('op').length;
    expect(afterOne).toBeGreaterThan(90);
    expect(afterOne).toBeLessThanOrEqual(90 + 46);
    vi.advanceTimersByTime(10_000);
    expect(s.sentOf('op')).toHaveLength(300);
  });

  it('merges queued updates of one note while they wait', () => {
    const { s, room } = joined();
    s.serverClose(1006, '');
    room.updateNote('a', { title: 'x' });
    room.updateNote('a', { body: 'y' });
    room.updateNote('a', { title: 'z' });
    expect(room.getView().pendingCount).toBe(1);
    expect(room.getView().notes[0]).toMatchObject({ title: 'z', body: 'y' });
  });

  it('creates at the end, moves with a between index, restores a deleted note', () => {
    const { s, room } = joined();
    const id = room.createNote({ title: 'new' });
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(room.getView().notes.map((n) => n.id)).toEqual(['a', 'b', id]);
    expect(s.sentOf('op')[0]?.op).toEqual({
      kind: 'create',
      note: { id, title: 'new', body: '', is_important: false, is_completed: false, current_index: 3072 },
    });
    room.moveNote(id, 0);
    expect(room.getView().notes.map((n) => n.id)).toEqual([id, 'a', 'b']);
    expect(s.sentOf('op')[1]?.op).toEqual({ kind: 'move', id, current_index: 0 });
    const b = room.getView().notes[2] as Note;
    room.deleteNote('b');
    room.restoreNote(b);
    expect(room.getView().notes.map((n) => n.id)).toEqual([id, 'a', 'b']);
    expect(s.sentOf('op')[3]?.op).toEqual({
      kind: 'create',
      note: { id: 'b', title: 'b', body: '', is_important: false, is_completed: false, current_index: 2048 },
    });
  });

  it('sends a rebalance when the gap has no room left', () => {
    const t = setup();
    const s = t.connect();
    const room = t.client.openRoom('r1');
    s.receive({
      type: 'snapshot',
      room: 'r1',
      seq: 3,
      room_info: info,
      notes: [note('a', 1024), note('b', 1024 + 2 ** -42), note('c', 4096)],
    });
    room.moveNote('c', 1);
    expect(room.getView().notes.map((n) => n.id)).toEqual(['a', 'c', 'b']);
    expect(s.sentOf('op')[0]?.op.kind).toBe('rebalance');
  });
});

describe('join errors, presence and the dashboard', () => {
  it('reports forbidden and not_found as joinError, and retries unavailable', () => {
    const { client, connect } = setup();
    const s = connect();
    const room = client.openRoom('r1');
    s.receive({ type: 'error', code: 'unavailable', room: 'r1', message: 'storage' });
    expect(room.getView().joinError).toBeNull();
    vi.advanceTimersByTime(2_000);
    expect(s.sentOf('join')).toHaveLength(2);
    s.receive({ type: 'error', code: 'forbidden', room: 'r1', message: 'private room' });
    expect(room.getView().joinError).toEqual({ code: 'forbidden', message: 'private room' });
    const other = client.openRoom('r2');
    s.receive({ type: 'error', code: 'not_found', room: 'r2', message: 'no such room' });
    expect(other.getView().joinError?.code).toBe('not_found');
  });

  it('shows presence', () => {
    const { s, room } = joined();
    const users = [{ id: 'u1', name: 'Ann' }, { id: 'u2', name: 'Bob' }];
    s.receive({ type: 'presence', room: 'r1', active_user_count: 2, users });
    expect(room.getView().presence).toEqual({ active_user_count: 2, users });
  });

  it('leaves on close', () => {
    const { s, room, client } = joined();
    room.close();
    expect(s.sentOf('leave')).toEqual([{ type: 'leave', room: 'r1' }]);
    expect(client.openRoom('r1')).not.toBe(room);
  });

  it('watches rooms: list, upserts, re-sent after reconnect, unwatch on close', async () => {
    const { client, connect } = setup();
    const s = connect();
    const dash = client.watchRooms();
    expect(s.sentOf('watch_rooms')).toHaveLength(1);
    const stat = (id: string, n: number) => ({ id, name: id, active_user_count: n, total_notes: 0 });
    s.receive({ type: 'rooms', rooms: [stat('r1', 0), stat('r2', 1)] });
    const v1 = dash.getView();
    expect(v1.rooms).toEqual([stat('r1', 0), stat('r2', 1)]);
    expect(dash.getView()).toBe(v1);
    s.receive({ type: 'room_stat', room: stat('r2', 3) });
    s.receive({ type: 'room_stat', room: stat('r3', 1) });
    expect(dash.getView().rooms).toEqual([stat('r1', 0), stat('r2', 3), stat('r3', 1)]);
    await settle();
    expect(dash.getView().status).toBe('online');
    s.serverClose(1001, '');
    await settle();
    expect(dash.getView().status).toBe('offline');
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    expect(s2.sentOf('watch_rooms')).toHaveLength(1);
    dash.close();
    expect(s2.sentOf('unwatch_rooms')).toHaveLength(1);
  });
});

describe('sharing: roles and losing access', () => {
  it('switches the role live both ways; a viewer cannot queue an edit, an editor can at once', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    s.receive({ type: 'role', room: 'r1', role: 'viewer' });
    expect(room.getView().info?.role).toBe('viewer');
    room.updateNote('a', { title: 'nope' });
    room.createNote({ title: 'nope' });
    expect(s.sentOf('op')).toHaveLength(0);
    expect(room.getView().notes.map((n) => n.title)).toEqual(['a', 'b']);
    expect(room.getView().pendingCount).toBe(0);
    expect(notices.map((n) => n.code)).toEqual(['forbidden', 'forbidden']);

    s.receive({ type: 'role', room: 'r1', role: 'editor' });
    expect(room.getView().info?.role).toBe('editor');
    room.updateNote('a', { title: 'yes' });
    expect(s.sentOf('op')).toHaveLength(1);
    expect(room.getView().notes[0]?.title).toBe('yes');
  });

  it('rolls back an op the server refuses after a demotion, and says why', () => {
    const { s, room } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.updateNote('a', { title: 'raced the demotion' });
    const [sent] = s.sentOf('op');
    expect(room.getView().notes[0]?.title).toBe('raced the demotion');
    s.receive({ type: 'role', room: 'r1', role: 'viewer' });
    s.receive({ type: 'reject', room: 'r1', cid: sent?.cid as string, code: 'forbidden', message: 'viewer' });
    expect(room.getView().notes[0]?.title).toBe('a');
    expect(room.getView().pendingCount).toBe(0);
    expect(notices).toEqual([{ roomId: 'r1', cid: sent?.cid, code: 'forbidden', message: 'viewer' }]);
  });

  it.each([
    ['forbidden', 'you were removed'],
    ['not_found', 'the room was deleted'],
  ])('an error %s for a joined room: access lost, notes and queue dropped, never joined again', (code, message) => {
    const { s, room, last, connect } = joined();
    const notices: RejectNotice[] = [];
    room.onReject((n) => notices.push(n));
    room.updateNote('a', { title: 'in flight' });
    s.receive({ type: 'error', code, room: 'r1', message });
    const view = room.getView();
    expect(view.accessLost).toEqual({ code, message });
    expect(view.joinError).toBeNull();
    expect(view.notes).toEqual([]);
    expect(view.pendingCount).toBe(0);
    expect(view.info?.name).toBe('Room');
    // Nothing more goes out for it: no edits, and no join after a reconnect.
    room.createNote({ title: 'too late' });
    expect(s.sentOf('op')).toHaveLength(1);
    expect(notices.map((n) => n.code)).toEqual([code]);
    s.serverClose(1006);
    vi.advanceTimersByTime(10_000);
    const s2 = connect();
    expect(last()).toBe(s2);
    expect(s2.sentOf('join')).toEqual([]);
    // A role frame for it changes nothing.
    s2.receive({ type: 'role', room: 'r1', role: 'editor' });
    expect(room.getView()).toBe(view);
  });

  it('keeps a join refused from the start as joinError (never open here)', () => {
    const { client, connect } = setup();
    const s = connect();
    const room = client.openRoom('r1');
    s.receive({ type: 'error', code: 'forbidden', room: 'r1', message: 'private room' });
    expect(room.getView().joinError).toEqual({ code: 'forbidden', message: 'private room' });
    expect(room.getView().accessLost).toBeNull();
  });

  it('merges room info from HTTP unless a frame set it since the request', () => {
    const { s, room } = joined();
    const asked = room.infoVersion;
    room.mergeInfo({ name: 'Renamed', visibility: 'public', public_role: 'viewer' });
    expect(room.getView().info).toMatchObject({ name: 'Renamed', visibility: 'public', public_role: 'viewer', role: 'owner' });
    // An answer asked for before the role frame is older than it.
    s.receive({ type: 'role', room: 'r1', role: 'editor' });
    room.mergeInfo({ role: 'owner' }, asked);
    expect(room.getView().info?.role).toBe('editor');
    room.mergeInfo({ role: 'owner' }, room.infoVersion);
    expect(room.getView().info?.role).toBe('owner');
    // What the protocol does not know is left alone (a visitor's role may come as null).
    const before = room.getView().info;
    room.mergeInfo({ role: null, visibility: 'secret', name: 7 } as unknown as Partial<RoomInfo>);
    expect(room.getView().info).toBe(before);
  });

  it('the dashboard lists rooms with visibility and role, adds rooms from room_stat, drops room_gone', () => {
    const { client, connect } = setup();
    const s = connect();
    const dash = client.watchRooms();
    const mine = { id: 'r1', name: 'Mine', active_user_count: 1, total_notes: 2, visibility: 'private', role: 'owner' } as const;
    const open = { id: 'r2', name: 'Open', active_user_count: 3, total_notes: 0, visibility: 'public', role: null } as const;
    s.receive({ type: 'rooms', rooms: [mine, open] });
    expect(dash.getView().rooms).toEqual([mine, open]);
    // A count change that leaves the role out keeps it; a room made public appears.
    s.receive({ type: 'room_stat', room: { id: 'r1', name: 'Mine', active_user_count: 2, total_notes: 2, visibility: 'private' } });
    const fresh = { id: 'r3', name: 'New', active_user_count: 0, total_notes: 0, visibility: 'public' } as const;
    s.receive({ type: 'room_stat', room: fresh });
    expect(dash.getView().rooms).toEqual([{ ...mine, active_user_count: 2 }, open, fresh]);
    s.receive({ type: 'room_gone', room: 'r2' });
    s.receive({ type: 'room_gone', room: 'nope' });
    expect(dash.getView().rooms.map((r) => r.id)).toEqual(['r1', 'r3']);
  });
});

describe('draft notes', () => {
  it('shows a new note only here until it has text, then creates it with that text', () => {
    const { room, s } = joined();
    const id = room.createNote({}, 512, { draft: true });
    expect(room.getView().notes.map((n) => n.id)).toEqual([id, 'a', 'b']); // at the top
    expect(room.getView().pendingCount).toBe(0);
    expect(room.isDraft(id)).toBe(true);
    expect(s.sentOf('op')).toHaveLength(0);
    room.updateNote(id, { is_important: true }); // a flag is not content
    expect(s.sentOf('op')).toHaveLength(0);
    expect(room.editText(id, 'title', ['H'])).toBe(true);
    expect(room.isDraft(id)).toBe(false);
    const [create] = s.sentOf('op');
    expect(create?.op).toEqual({
      kind: 'create',
      note: { id, title: 'H', body: '', is_important: true, is_completed: false, current_index: 512 },
    });
    // Later typing goes as text ops once the create is acknowledged.
    expect(room.editText(id, 'title', [1, 'i'])).toBe(true);
    expect(room.getView().notes[0]?.title).toBe('Hi');
  });

  it('drops an empty draft, and never one with text', () => {
    const { room, s } = joined();
    const id = room.createNote({}, undefined, { draft: true });
    expect(room.getView().notes).toHaveLength(3);
    expect(room.discardDraft(id)).toBe(true);
    expect(room.getView().notes).toHaveLength(2);
    expect(room.discardDraft(id)).toBe(false);
    const kept = room.createNote({}, undefined, { draft: true });
    room.editText(kept, 'body', ['x']);
    expect(room.discardDraft(kept)).toBe(false);
    expect(room.getView().notes).toHaveLength(3);
    expect(s.sentOf('op')).toHaveLength(1);
  });
});

describe('activity', () => {
  it('tells of others’ changes with their names, and never of this page’s own', () => {
    const { room, s } = joined();
    s.receive({ type: 'presence', room: 'r1', active_user_count: 2, users: [{ id: 'u1', name: 'Ann' }, { id: 'u2', name: 'Bob' }] });
    const heard: unknown[] = [];
    room.onActivity((a) => heard.push(a));
    s.receive(opFrame(3, { kind: 'update', id: 'a', set: { is_completed: true } }));
    s.receive(opFrame(4, { kind: 'move', id: 'b', current_index: 1 }));
    s.receive(opFrame(5, { kind: 'delete', id: 'a' }));
    room.updateNote('b', { title: 'mine' });
    const [sent] = s.sentOf('op');
    s.receive({ ...opFrame(6, sent?.op as Op), cid: sent?.cid as string, user: 'u1' });
    expect(heard).toEqual([
      { kind: 'marked', noteId: 'a', title: 'a', by: 'Bob', detail: 'done' },
      { kind: 'moved', noteId: 'b', title: 'b', by: 'Bob' },
      { kind: 'deleted', noteId: 'a', title: 'a', by: 'Bob' },
    ]);
  });
});
