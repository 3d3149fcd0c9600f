// The IndexedDB cache (fake-indexeddb): a reload shows the cached room at once, joins with the
// cached seq and sends the edits made offline before the reload.

import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { clearCache, openRoomCache } from './cache';
import { SyncClient } from './client';
import { FakeSocket } from './testing/fake-server';
import { note } from './testing/notes';

async function waitFor(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const info = {
  id: 'r1',
  name: 'Room',
  visibility: 'private' as const,
  role: 'editor' as const,
  active_user_count: 1,
  total_notes: 2,
};


function start(userId: string) {
  const sockets: FakeSocket[] = [];
  const client = new SyncClient({
    token: 'tok',
    userId,
    url: 'ws://test/ws',
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
  });
  const connect = () => {
    const s = sockets[sockets.length - 1] as FakeSocket;
    s.open();
    s.receive({ type: 'welcome', protocol: 1, server: 'srv', user: { id: userId, name: userId } });
    return s;
  };
  return { client, sockets, connect };
}

describe('IndexedDB cache', () => {
  it('keeps state and offline edits across a reload and sends them after the join', async () => {
    const first = start('user-reload');
    const s1 = first.connect();
    const room1 = first.client.openRoom('r1');
    // The join waits for the cache read (to know `since`).
    await waitFor(() => s1.sentOf('join').length === 1);
    expect(s1.sentOf('join')[0]).toEqual({ type: 'join', room: 'r1' });
    s1.receive({ type: 'snapshot', room: 'r1', seq: 4, room_info: info, notes: [note('a', 1024), note('b', 2048)] });
    s1.receive({
      type: 'op',
      room: 'r1',
      seq: 5,
      cid: 'x-1',
      user: 'u2',
      at: '2026-01-01T00:00:05.000Z',
      op: { kind: 'update', id: 'b', set: { body: 'from bob' } },
    });
    s1.serverClose(1006, '');
    room1.updateNote('a', { title: 'edited offline' });
    const created = room1.createNote({ title: 'made offline' });
    const offlineCids = room1.inspect().pending.map((p) => p.cid);
    expect(offlineCids).toHaveLength(2);
    // A reload ~100 ms later (the first client is never closed: the tab just went away).
    await new Promise((r) => setTimeout(r, 120));

    const second = start('user-reload');
    const room2 = second.client.openRoom('r1');
    await waitFor(() => room2.getView().loaded);
    const cached = room2.getView();
    expect(cached.fromCache).toBe(true);
    expect(cached.seq).toBe(5);
    expect(cached.info).toEqual(info);
    expect(cached.pendingCount).toBe(2);
    expect(cached.notes.map((n) => [n.id, n.title, n.body])).toEqual([
      ['a', 'edited offline', ''],
      ['b', 'b', 'from bob'],
      [created, 'made offline', ''],
    ]);

    const s2 = second.connect();
    await waitFor(() => s2.sentOf('join').length === 1);
    expect(s2.sentOf('join')[0]).toEqual({ type: 'join', room: 'r1', since: 5 });
    expect(s2.sentOf('op')).toHaveLength(0);
    s2.receive({ type: 'resume', room: 'r1', since: 5 });
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 1, users: [{ id: 'u1', name: 'u1' }] });
    const sent = s2.sentOf('op');
    expect(sent.map((f) => f.cid)).toEqual(offlineCids);
    expect(sent.map((f) => f.op.kind)).toEqual(['update', 'create']);
    expect(room2.getView().fromCache).toBe(false);

    // Acknowledged ops leave the cached queue too.
    for (const [i, f] of sent.entries()) {
      s2.receive({ type: 'op', room: 'r1', seq: 6 + i, cid: f.cid, user: 'u1', at: '2026-01-01T00:01:00.000Z', op: f.op });
    }
    expect(room2.getView().pendingCount).toBe(0);
    const cache = await openRoomCache('user-reload');
    let stored = await cache?.load('r1');
    const deadline = Date.now() + 2000;
    while (stored?.seq !== 7 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      stored = await cache?.load('r1');
    }
    expect(stored?.seq).toBe(7);
    expect(stored?.pending).toEqual([]);
    expect(stored?.notes).toHaveLength(3);
    cache?.close();
    first.client.close();
    second.client.close();
  });

  it('keeps offline text ops across a reload; the resume replay rebases them over others\' edits', async () => {
    const first = start('user-text');
    const s1 = first.connect();
    const room1 = first.client.openRoom('r1');
    await waitFor(() => s1.sentOf('join').length === 1);
    s1.receive({ type: 'snapshot', room: 'r1', seq: 4, room_info: info, notes: [note('a', 1024, { body: 'hello' })] });
    s1.serverClose(1006, '');
    // Typing offline: two edits, composed into one queued text op.
    expect(room1.editText('a', 'body', [5, ' world'])).toBe(true);
    expect(room1.editText('a', 'body', [11, '!'])).toBe(true);
    expect(room1.inspect().pending).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 120));

    const second = start('user-text');
    const room2 = second.client.openRoom('r1');
    await waitFor(() => room2.getView().loaded);
    expect(room2.getView().notes[0]?.body).toBe('hello world!');
    const s2 = second.connect();
    await waitFor(() => s2.sentOf('join').length === 1);
    // The cached text op may have reached the server before the reload: it is named in doubt.
    const join = s2.sentOf('join')[0] as { in_doubt?: string[] };
    expect(join).toMatchObject({ type: 'join', room: 'r1', since: 4 });
    expect(join.in_doubt).toHaveLength(1);
    s2.receive({ type: 'resume', room: 'r1', since: 4 });
    // Someone else typed at the start meanwhile.
    s2.receive({
      type: 'op',
      room: 'r1',
      seq: 5,
      cid: 'x-1',
      user: 'u2',
      at: '2026-01-01T00:00:05.000Z',
      op: { kind: 'text', id: 'a', field: 'body', base: 4, ops: ['Oh, ', 5] },
    });
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 2, users: [] });
    await waitFor(() => s2.sentOf('op').length === 1);
    expect(s2.sentOf('op')[0]?.op).toEqual({ kind: 'text', id: 'a', field: 'body', base: 5, ops: [9, ' world!'] });
    expect(room2.getView().notes[0]?.body).toBe('Oh, hello world!');
    first.client.close();
    second.client.close();
  });

  it('keeps an acknowledged edit in the cached queue until a state holding it is written', async () => {
    const first = start('user-acked');
    const s1 = first.connect();
    const room1 = first.client.openRoom('r1');
    await waitFor(() => s1.sentOf('join').length === 1);
    s1.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024), note('b', 2048)] });
    // Let the snapshot's state write happen, then edit and get the echo.
    await new Promise((r) => setTimeout(r, 150));
    room1.updateNote('a', { title: 'acked' });
    const [op1] = s1.sentOf('op');
    s1.receive({ type: 'op', room: 'r1', seq: 3, cid: op1?.cid as string, user: 'u1', at: 't3', op: op1?.op as never });
    // A second edit right away writes the queue promptly; the state (seq 3) is not written yet.
    room1.updateNote('b', { title: 'pending' });
    await new Promise((r) => setTimeout(r, 40));

    const second = start('user-acked');
    const room2 = second.client.openRoom('r1');
    await waitFor(() => room2.getView().loaded);
    expect(room2.getView().notes.map((n) => n.title)).toEqual(['acked', 'pending']);
    const s2 = second.connect();
    await waitFor(() => s2.sentOf('join').length === 1);
    expect(s2.sentOf('join')[0]).toEqual({ type: 'join', room: 'r1', since: 2 });
    s2.receive({ type: 'resume', room: 'r1', since: 2 });
    s2.receive({ type: 'op', room: 'r1', seq: 3, cid: op1?.cid as string, user: 'u1', at: 't3', op: op1?.op as never });
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 1, users: [] });
    // The replay acknowledged the first edit; only the second is sent.
    expect(s2.sentOf('op').map((f) => f.op)).toEqual([{ kind: 'update', id: 'b', set: { title: 'pending' } }]);
    first.client.close();
    second.client.close();
  });

  it('writes outstanding changes when the client is closed (sign out, room closed)', async () => {
    const first = start('user-close');
    const s1 = first.connect();
    const room1 = first.client.openRoom('r1');
    await waitFor(() => s1.sentOf('join').length === 1);
    s1.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024)] });
    room1.updateNote('a', { title: 'just before close' });
    first.client.close();
    expect(s1.sentOf('leave')).toEqual([{ type: 'leave', room: 'r1' }]);
    // The close wrote the unacknowledged update without waiting for its timer.
    const cache = await openRoomCache('user-close');
    let stored = await cache?.load('r1');
    for (let i = 0; i < 200 && stored?.pending.length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 2));
      stored = await cache?.load('r1');
    }
    cache?.close();
    expect(stored?.pending.map((p) => p.op)).toEqual([{ kind: 'update', id: 'a', set: { title: 'just before close' } }]);

    const second = start('user-close');
    const room2 = second.client.openRoom('r1');
    await waitFor(() => room2.getView().loaded);
    expect(room2.getView().seq).toBe(2);
    expect(room2.getView().notes[0]?.title).toBe('just before close');
    second.client.close();
  });

  it('signing out with keep-unsent keeps only the rooms with unsent changes; the next sign-in sends them', async () => {
    const first = start('user-keep');
    const s1 = first.connect();
    const kept = first.client.openRoom('r1');
    const other = first.client.openRoom('r2');
    await waitFor(() => s1.sentOf('join').length === 2);
    s1.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024)] });
    s1.receive({ type: 'snapshot', room: 'r2', seq: 1, room_info: { ...info, id: 'r2', name: 'Other' }, notes: [] });
    // Offline: the socket is gone, so the edit stays unsent.
    s1.serverClose(1006);
    kept.updateNote('a', { title: 'written offline' });
    expect(await first.client.unsentChanges()).toEqual([{ roomId: 'r1', name: 'Room', count: 1 }]);
    other.close();
    first.client.close({ cache: 'keep-unsent' });

    // What stays on the device: r1 with its queue; r2, which had nothing unsent, is gone.
    const cache = await openRoomCache('user-keep');
    const ids = async () => ((await cache?.listRooms()) ?? []).map((r) => r.id).join(',');
    let rooms = await ids();
    for (let i = 0; i < 200 && rooms !== 'r1'; i++) {
      await new Promise((r) => setTimeout(r, 5));
      rooms = await ids();
    }
    expect(rooms).toBe('r1');
    expect(await cache?.listPending()).toEqual([{ roomId: 'r1', name: 'Room', count: 1 }]);
    cache?.close();

    // Signing in again sends the queue without the room being opened by any page, and the
    // background room leaves once the change is acknowledged.
    const second = start('user-keep');
    expect(await second.client.unsentChanges()).toEqual([{ roomId: 'r1', name: 'Room', count: 1 }]);
    const s2 = second.connect();
    await waitFor(() => s2.sentOf('join').length === 1);
    expect(s2.sentOf('join')[0]).toEqual({ type: 'join', room: 'r1', since: 2 });
    s2.receive({ type: 'resume', room: 'r1', since: 2 });
    s2.receive({ type: 'presence', room: 'r1', active_user_count: 1, users: [] });
    await waitFor(() => s2.sentOf('op').length === 1);
    const sent = s2.sentOf('op')[0];
    expect(sent?.op).toEqual({ kind: 'update', id: 'a', set: { title: 'written offline' } });
    s2.receive({ type: 'op', room: 'r1', seq: 3, cid: sent?.cid ?? '', user: 'u', at: '2026-01-01T00:00:03.000Z', op: sent?.op });
    await waitFor(() => s2.sentOf('leave').length === 1);
    expect(await second.client.unsentChanges()).toEqual([]);
    second.client.close();
  });

  it('shows cached rooms on the dashboard until the server sends its list', async () => {
    const cache = await openRoomCache('user-dash');
    // The join said 5 notes; the device has seen the room since with 2: the total is what it holds.
    await cache?.saveState('r7', {
      seq: 1,
      notes: [note('n1', 1), note('n2', 1)],
      info: { ...info, id: 'r7', name: 'Cached', total_notes: 5 },
    });
    cache?.close();
    const t = start('user-dash');
    const dash = t.client.watchRooms();
    await waitFor(() => dash.getView().rooms.length === 1);
    expect(dash.getView().rooms[0]).toEqual({ id: 'r7', name: 'Cached', active_user_count: 1, total_notes: 2, visibility: 'private', role: 'editor' });
    const s = t.connect();
    expect(s.sentOf('watch_rooms')).toHaveLength(1);
    s.receive({ type: 'rooms', rooms: [] });
    expect(dash.getView().rooms).toEqual([]);
    t.client.close();
  });

  it('lists cached rooms and keeps users apart', async () => {
    const a = await openRoomCache('user-a');
    const b = await openRoomCache('user-b');
    await a?.saveState('r9', { seq: 3, notes: [note('n', 1)], info: { ...info, id: 'r9' } });
    expect((await a?.listRooms())?.map((r) => r.id)).toEqual(['r9']);
    expect(await b?.listRooms()).toEqual([]);
    expect(await b?.load('r9')).toBeNull();
    a?.close();
    b?.close();
    expect(await clearCache('user-a')).toBe(true);
    const again = await openRoomCache('user-a');
    expect(await again?.listRooms()).toEqual([]);
    again?.close();
  });

  it('deletes the copy of a room the user lost, and writes nothing for it afterwards', async () => {
    const t = start('user-lost');
    const s = t.connect();
    const room = t.client.openRoom('r1');
    await waitFor(() => s.sentOf('join').length === 1);
    s.receive({ type: 'snapshot', room: 'r1', seq: 2, room_info: info, notes: [note('a', 1024)] });
    room.updateNote('a', { title: 'unsent' });
    const cache = await openRoomCache('user-lost');
    let stored = await cache?.load('r1');
    for (let i = 0; i < 200 && !(stored && stored.seq === 2 && stored.pending.length === 1); i++) {
      await new Promise((r) => setTimeout(r, 5));
      stored = await cache?.load('r1');
    }
    expect(stored?.seq).toBe(2);
    s.receive({ type: 'error', code: 'forbidden', room: 'r1', message: 'removed' });
    // Closing the room (the page goes away) must not write it back.
    room.close();
    for (let i = 0; i < 200 && stored !== null; i++) {
      await new Promise((r) => setTimeout(r, 5));
      stored = (await cache?.load('r1')) ?? null;
    }
    expect(stored).toBeNull();
    await new Promise((r) => setTimeout(r, 150));
    expect(await cache?.load('r1')).toBeNull();
    expect(await cache?.listRooms()).toEqual([]);
    cache?.close();
    t.client.close();
  });

  it('forgets a cached room that left the dashboard (room_gone), and a room the user left', async () => {
    const cache = await openRoomCache('user-gone');
    await cache?.saveState('r5', { seq: 1, notes: [], info: { ...info, id: 'r5', name: 'Gone' } });
    await cache?.saveState('r6', { seq: 1, notes: [], info: { ...info, id: 'r6', name: 'Left' } });
    await cache?.savePending('r6', [{ cid: 'c-1', op: { kind: 'delete', id: 'x' } }]);
    const t = start('user-gone');
    const s = t.connect();
    t.client.watchRooms();
    s.receive({ type: 'room_gone', room: 'r5' });
    const left = t.client.openRoom('r6');
    await waitFor(() => left.getView().loaded);
    left.forget();
    const ids = async () => ((await cache?.listRooms()) ?? []).map((r) => r.id);
    for (let i = 0; i < 200 && (await ids()).length > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await ids()).toEqual([]);
    expect(await cache?.listPending()).toEqual([]);
    cache?.close();
    t.client.close();
  });
});
