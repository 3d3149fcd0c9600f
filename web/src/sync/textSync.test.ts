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
import { FakeServer, type FakeConnection } from './testing/fake-server';
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
    // The guess after a snapshot is rarely wrong: a deleted character comes back rarely.
    expect(totals.resurrected).toBeLessThanOrEqual(Math.max(1, totals.deletedChars / 100));
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
