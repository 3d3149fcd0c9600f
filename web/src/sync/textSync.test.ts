// The classic OT client under random interleavings: several clients type into one note body at
// once while the fake server (which rebases text ops like the real one) numbers their ops late,
// rate-limits some, drops sockets and sometimes answers a re-join with a snapshot. Every inserted
// character is unique, so the end state can be checked character by character: all views end
// byte-identical to the server, every character typed and never deleted is there exactly once,
// and no deleted one is.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyOps, sortedNotes } from './apply';
import { SyncClient } from './client';
import type { Room } from './room';
import { FakeServer, FakeSocket, type FakeConnection } from './testing/fake-server';
import { note } from './testing/notes';
import type { Op } from './protocol';
import type { TextChange } from './api';
import { mulberry32 } from './testing/random';
import { applyTextOp, codePointToUtf16 } from './textOp';
import { changeSize, diffInput, diffTexts, effectOn, rebaseOver } from './textSync';

const USERS = ['u1', 'u2', 'u3'];

// Unique characters: letters of several scripts and, every fifth, an emoji (two UTF-16 units).
function uniqueChar(n: number): string {
  return n % 5 === 4 ? String.fromCodePoint(0x1f300 + n) : String.fromCodePoint(0x4e00 + n);
}

interface TextSim {
  server: FakeServer;
  clients: SyncClient[];
  rooms: Room[];
  typed: Set<string>;
  deleted: Set<string>;
  rateLimited: number;
  drops: number;
  snapshots: number;
  echoes: number;
}

function bodyOf(room: Room, id: string): string {
  return room.getView().notes.find((n) => n.id === id)?.body ?? '';
}

function runText(seed: number, steps: number, replaceRate = 0): TextSim {
  const rnd = mulberry32(seed);
  let accepting = false;
  const sim: TextSim = {
    server: new FakeServer('r1', {
      judge: (_conn, op) => {
        if (accepting || op.kind !== 'text') return undefined;
        if (rnd() < 0.05) {
          sim.rateLimited++;
          return 'rate_limited';
        }
        return undefined;
      },
      preferSnapshot: () => {
        const yes = rnd() < 0.3;
        if (yes) sim.snapshots++;
        return yes;
      },
    }),
    clients: [],
    rooms: [],
    typed: new Set(),
    deleted: new Set(),
    rateLimited: 0,
    drops: 0,
    snapshots: 0,
    echoes: 0,
  };
  const { server } = sim;
  for (const user of USERS) {
    const client = new SyncClient({ token: 't', userId: null, socketFactory: server.factoryFor(user), random: rnd });
    sim.clients.push(client);
    sim.rooms.push(client.openRoom('r1'));
  }
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const ownerOf = (conn: FakeConnection): Room | undefined => sim.rooms[USERS.indexOf(conn.user)];

  const pump = () => {
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (const conn of server.connections.filter((c) => c.alive)) {
        while (server.process(conn)) moved = true;
        while (conn.deliver()) moved = true;
      }
      if (!moved) break;
      vi.advanceTimersByTime(50);
    }
  };
  pump();
  const id = (sim.rooms[0] as Room).createNote({ title: 'shared', body: '' });
  pump();
  let counter = 0;

  const check = (room: Room) => {
    // The view is the confirmed replica with the queue applied on top.
    const { confirmed, pending } = room.inspect();
    const local = pending.map((p) => ({ seq: confirmed.seq, at: p.at, op: p.op }));
    expect(room.getView().notes).toEqual(sortedNotes(applyOps(confirmed, local, { keepRoomSeq: true })));
    // At most one text op of the field in flight.
    expect(pending.filter((p) => p.sent && effectOn(p.op, id, 'body') === 'text').length).toBeLessThanOrEqual(1);
  };

  const edit = (room: Room) => {
    if (rnd() < replaceRate) {
      // A whole-body update (an older client): text ops based before it get `conflict`.
      const value = `set${counter++}`;
      room.updateNote(id, { body: value });
      expect(bodyOf(room, id)).toBe(value);
      return;
    }
    const text = bodyOf(room, id);
    const chars = Array.from(text);
    const at = Math.floor(rnd() * (chars.length + 1));
    let next: string[];
    if (rnd() < 0.7 || chars.length === 0) {
      const n = 1 + Math.floor(rnd() * 3);
      const inserted = Array.from({ length: n }, () => uniqueChar(counter++));
      inserted.forEach((c) => sim.typed.add(c));
      next = [...chars.slice(0, at), ...inserted, ...chars.slice(at)];
    } else {
      const n = Math.min(chars.length - at, 1 + Math.floor(rnd() * 2));
      chars.slice(at, at + n).forEach((c) => sim.deleted.add(c));
      next = [...chars.slice(0, at), ...chars.slice(at + n)];
    }
    const after = next.join('');
    expect(room.editText(id, 'body', diffTexts(text, after).ops)).toBe(true);
    // The edit shows at once.
    expect(bodyOf(room, id)).toBe(after);
  };

  for (let step = 0; step < steps; step++) {
    const r = rnd();
    const alive = server.connections.filter((c) => c.alive);
    if (r < 0.35) {
      edit(pick(sim.rooms) as Room);
    } else if (r < 0.6) {
      const conn = pick(alive.filter((c) => c.inbox.length > 0));
      if (conn) server.process(conn);
    } else if (r < 0.92) {
      const conn = pick(alive.filter((c) => c.outbox.length > 0));
      if (conn) {
        const owner = ownerOf(conn);
        const next = conn.outbox[0];
        const frame = next?.kind === 'frame' ? next.frame : null;
        const own = owner && frame?.type === 'op' && owner.inspect().pending.some((p) => p.cid === frame.cid);
        const before = owner ? bodyOf(owner, id) : '';
        conn.deliver();
        if (owner && own) {
          // An own echo changes nothing the user sees.
          expect(bodyOf(owner, id)).toBe(before);
          sim.echoes++;
        }
      }
    } else if (r < 0.935) {
      const conn = pick(alive.filter((c) => c.socket.readyState === 1));
      if (conn) {
        server.drop(conn, 1001);
        sim.drops++;
      }
    } else {
      vi.advanceTimersByTime(Math.floor(rnd() * 400));
    }
    for (const room of sim.rooms) check(room);
  }

  accepting = true;
  for (let round = 0; round < 300; round++) {
    pump();
    const settled = sim.rooms.every((room) => room.getView().pendingCount === 0 && room.getView().status === 'online');
    if (settled) break;
    vi.advanceTimersByTime(1000);
  }
  return sim;
}

describe('text ops: the classic OT client (seeded random interleavings)', () => {
  const totals = { rateLimited: 0, drops: 0, snapshots: 0, resurrected: 0, deletedChars: 0 };
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  const seedCount = Number(process.env.FUN_NOTES_TEXT_SEEDS ?? 25);
  it.each(Array.from({ length: seedCount }, (_, i) => i + 1))(
    'seed %d: every client ends with the same text, every surviving character there once',
    (seed) => {
      const idRandom = mulberry32(seed * 104729);
      vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
        const bytes = array as unknown as Uint8Array;
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(idRandom() * 256);
        return array;
      });
      const sim = runText(seed, 500);
      totals.rateLimited += sim.rateLimited;
      totals.drops += sim.drops;
      totals.snapshots += sim.snapshots;
      const note = [...sim.server.state.notes.values()][0];
      expect(note).toBeDefined();
      const final = note?.body ?? '';
      for (const room of sim.rooms) {
        expect(room.getView().pendingCount).toBe(0);
        expect(room.getView().seq).toBe(sim.server.state.seq);
        expect(room.getView().notes).toEqual(sortedNotes(sim.server.state));
      }
      const chars = Array.from(final);
      expect(new Set(chars).size).toBe(chars.length); // nothing doubled
      // Every character typed and never deleted is there.
      const surviving = [...sim.typed].filter((c) => !sim.deleted.has(c));
      expect(surviving.filter((c) => !chars.includes(c))).toEqual([]);
      // Nothing else is, but for the one guess (README, "In doubt"): an op in doubt when a
      // snapshot came, whose characters someone deleted meanwhile, looks never numbered, and
      // is sent again. Without snapshots that cannot happen.
      const resurrected = chars.filter((c) => sim.deleted.has(c));
      totals.resurrected += resurrected.length;
      totals.deletedChars += sim.deleted.size;
      if (sim.snapshots === 0) expect(resurrected).toEqual([]);
      expect(chars.filter((c) => !sim.typed.has(c))).toEqual([]);
      expect(sim.typed.size).toBeGreaterThan(100);
      expect(sim.echoes).toBeGreaterThan(10);
      for (const c of sim.clients) c.close();
    },
  );

  it.each(Array.from({ length: Math.max(1, Math.round(seedCount / 3)) }, (_, i) => i + 1))('seed %d with whole-body updates mixed in: conflicts rebase and every view converges', (seed) => {
    const idRandom = mulberry32(seed * 15485863);
    vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array;
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(idRandom() * 256);
      return array;
    });
    const sim = runText(seed, 400, 0.05);
    for (const room of sim.rooms) {
      expect(room.getView().pendingCount).toBe(0);
      expect(room.getView().notes).toEqual(sortedNotes(sim.server.state));
    }
    for (const c of sim.clients) c.close();
  });

  it('the runs included rate limits, dropped sockets and snapshots', () => {
    expect(totals.rateLimited).toBeGreaterThan(5);
    expect(totals.drops).toBeGreaterThan(5);
    expect(totals.snapshots).toBeGreaterThan(0);
    // After a snapshot the server says which ops in doubt it numbered: no deleted character
    // comes back.
    expect(totals.resurrected).toBe(0);
  });
});

describe('textSync helpers', () => {
  it('diffTexts keeps the common prefix and suffix, in code points', () => {
    expect(diffTexts('a😀b', 'a😀xb').ops).toEqual([2, 'x', 1]);
    expect(diffTexts('abc', 'ac').ops).toEqual([1, -1, 1]);
    expect(diffTexts('', 'x').ops).toEqual(['x']);
    expect(changeSize(diffTexts('abc', 'xbz'))).toBe(4);
    expect(codePointToUtf16('😀a', 1)).toBe(2);
  });

  it('rebaseOver puts a numbered insert first on a tie and maps it past the local ops', () => {
    const r = rebaseOver([diffTexts('ab', 'aXb')], diffTexts('ab', 'aYb'));
    expect(r?.local[0]?.ops).toEqual([2, 'X', 1]);
    expect(r?.numbered.ops).toEqual([1, 'Y', 2]);
  });
});

describe('diffTexts (exact)', () => {
  it('turns any text into any other with the fewest changed code points', () => {
    const rnd = mulberry32(99);
    const alphabet = ['a', 'b', 'c', '😀'];
    const make = () => Array.from({ length: Math.floor(rnd() * 12) }, () => alphabet[Math.floor(rnd() * 4)]).join('');
    for (let i = 0; i < 500; i++) {
      const a = make();
      const b = make();
      const op = diffTexts(a, b);
      expect(applyTextOp(op, a)).toEqual({ ok: true, value: b });
    }
    expect(changeSize(diffTexts('yABCDEz', 'yABxCDEz'))).toBe(1);
    expect(changeSize(diffTexts('ABCDE', 'yABxCDEz'))).toBe(3);
  });
});

describe('diffInput', () => {
  it('puts the edit where the caret is when the texts alone cannot tell', () => {
    // " " typed before " Bob": the caret is after the new space, at 6.
    expect(diffInput('Hello Bob', 'Hello  Bob', 6).ops).toEqual([5, ' ', 4]);
    expect(diffTexts('Hello Bob', 'Hello  Bob').ops).toEqual([6, ' ', 3]);
    // "a" typed between two "a"s; a backspace of the second "l" of "hello".
    expect(diffInput('aa', 'aaa', 1).ops).toEqual(['a', 2]);
    expect(diffInput('hello', 'helo', 3).ops).toEqual([3, -1, 1]);
    // A caret that does not fit the change (a paste elsewhere) still gives a correct op.
    for (const [a, b, c] of [['abc', 'xabc', 4], ['abc', '', 0], ['', 'abc', 0], ['😀😀', '😀x😀', 2]] as const) {
      expect(applyTextOp(diffInput(a, b, c), a)).toEqual({ ok: true, value: b });
    }
  });
});

describe('the OT client, frame by frame', () => {
  const info = { id: 'r1', name: 'Room', visibility: 'private' as const, role: 'owner' as const, active_user_count: 1, total_notes: 1 };
  function joined(initial: string) {
    let socket: FakeSocket | null = null;
    const client = new SyncClient({ token: 't', userId: null, url: 'ws://test/ws', socketFactory: (url) => (socket = new FakeSocket(url)) });
    const s = socket as unknown as FakeSocket;
    s.open();
    s.receive({ type: 'welcome', protocol: 1, server: 'srv', user: { id: 'u1', name: 'Ann' } });
    const room = client.openRoom('r1');
    s.receive({ type: 'snapshot', room: 'r1', seq: 5, room_info: info, notes: [note('a', 1, { body: initial })] });
    const textOps = () => s.sentOf('op').filter((f) => f.op.kind === 'text');
    const op = (seq: number, o: Op, cid = `other-${seq}`) =>
      s.receive({ type: 'op', room: 'r1', seq, cid, user: 'u2', at: '2026-01-01T00:00:00.000Z', op: o });
    const body = () => room.getView().notes[0]?.body;
    return { client, s, room, textOps, op, body };
  }
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps one op in flight and composes the edits made meanwhile into one', () => {
    const t = joined('ab');
    t.room.editText('a', 'body', [2, 'c']);
    t.room.editText('a', 'body', [3, 'd']);
    t.room.editText('a', 'body', [4, 'e']);
    expect(t.body()).toBe('abcde');
    expect(t.textOps().map((f) => f.op)).toEqual([{ kind: 'text', id: 'a', field: 'body', base: 5, ops: [2, 'c'] }]);
    const first = t.textOps()[0];
    t.op(6, first?.op as Op, first?.cid);
    expect(t.textOps().map((f) => f.op)).toEqual([
      { kind: 'text', id: 'a', field: 'body', base: 5, ops: [2, 'c'] },
      { kind: 'text', id: 'a', field: 'body', base: 6, ops: [3, 'de'] },
    ]);
    t.client.close();
  });

  it('rebases the op in flight and the buffered one over someone else\u2019s edit, and tells the view', () => {
    const t = joined('hello');
    const changes: TextChange[] = [];
    t.room.onTextChange((c) => changes.push(c));
    t.room.editText('a', 'body', [5, '!']); // in flight
    t.room.editText('a', 'body', [6, '?']); // buffered
    t.op(6, { kind: 'text', id: 'a', field: 'body', base: 5, ops: ['Oh ', 5] });
    expect(t.body()).toBe('Oh hello!?');
    expect(changes.map((c) => [c.before, c.after, c.op.ops])).toEqual([['hello!?', 'Oh hello!?', ['Oh ', 7]]]);
    // The echo of the op in flight, as the server rebased it.
    const first = t.textOps()[0];
    t.op(7, { kind: 'text', id: 'a', field: 'body', base: 6, ops: [8, '!'] }, first?.cid);
    expect(t.body()).toBe('Oh hello!?');
    expect(t.textOps()[1]?.op).toEqual({ kind: 'text', id: 'a', field: 'body', base: 7, ops: [9, '?'] });
    t.client.close();
  });

  it('after a conflict (the field was set whole) sends the op rebased onto the new text', () => {
    const t = joined('abc');
    t.room.editText('a', 'body', [3, 'X']);
    const sent = t.textOps()[0];
    t.op(6, { kind: 'update', id: 'a', set: { body: 'abc and more' } });
    // The replacement counts as an insert at the end, numbered first: it goes first on the tie.
    expect(t.body()).toBe('abc and moreX');
    t.s.receive({ type: 'reject', room: 'r1', cid: sent?.cid as string, code: 'conflict', message: 'replaced' });
    vi.advanceTimersByTime(1_000);
    const again = t.textOps()[1];
    expect(again?.cid).toBe(sent?.cid);
    expect(again?.op).toEqual({ kind: 'text', id: 'a', field: 'body', base: 6, ops: [12, 'X'] });
    t.client.close();
  });

  it('a refused op is rolled back, and the later edits of the field are kept without it', () => {
    const t = joined('abc');
    const notices: string[] = [];
    t.room.onReject((n) => notices.push(n.code));
    t.room.editText('a', 'body', [3, 'XY']);
    t.room.editText('a', 'body', ['>', 5]);
    expect(t.body()).toBe('>abcXY');
    t.s.receive({ type: 'reject', room: 'r1', cid: t.textOps()[0]?.cid as string, code: 'too_large', message: '' });
    expect(notices).toEqual(['too_large']);
    expect(t.body()).toBe('>abc');
    expect(t.textOps()[1]?.op).toEqual({ kind: 'text', id: 'a', field: 'body', base: 5, ops: ['>', 3] });
    t.client.close();
  });
});
