// Test doubles: a fake WebSocket and a fake server that numbers ops like the real one, with
// every delivery step driven by the test so interleavings can be chosen at random.

import { applyOp, emptyRoomState, sortedNotes, type RoomState } from '../apply';
import { parseOp } from '../codec';
import { applyTextOp, parseTextOp, transformTextOps } from '../textOp';
import type { ClientFrame, Op, RoomInfo, ServerFrame } from '../protocol';
import type { SocketLike } from '../socket';

/** A WebSocket the test opens, feeds and closes by hand. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: ClientFrame[] = [];
  closedByClient: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Called for every frame the client sends (the fake server's inbox). */
  onSend: ((frame: ClientFrame) => void) | null = null;

  constructor(readonly url: string) {}

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: ServerFrame | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The server (or the network) closes the socket. */
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const frame = JSON.parse(data) as ClientFrame;
    this.sent.push(frame);
    this.onSend?.(frame);
  }

  close(code?: number): void {
    this.closedByClient = code ?? 1000;
    this.readyState = 3;
  }

  /** Frames of one type the client sent, in order. */
  sentOf<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

export interface LogEntry {
  seq: number;
  at: string;
  cid: string;
  user: string;
  op: Op;
}

type Outbound = { kind: 'open' } | { kind: 'frame'; frame: ServerFrame };

export class FakeConnection {
  readonly inbox: ClientFrame[] = [];
  readonly outbox: Outbound[] = [];
  readonly joined = new Set<string>();
  alive = true;

  constructor(
    readonly socket: FakeSocket,
    readonly user: string,
  ) {
    socket.onSend = (f) => {
      if (this.alive) this.inbox.push(f);
    };
    this.outbox.push({ kind: 'open' });
  }

  /** Delivers the next outbound event to the client; false when there is none. */
  deliver(): boolean {
    if (this.socket.closedByClient !== null) this.alive = false;
    const next = this.outbox.shift();
    if (!next || !this.alive) return false;
    if (next.kind === 'open') this.socket.open();
    else this.socket.receive(next.frame);
    return true;
  }
}

export interface ServerPolicy {
  /** Decides the fate of an op: undefined accepts it, a code rejects it. */
  judge?: (conn: FakeConnection, op: Op) => string | undefined;
  /** Answer a join with `since` by a snapshot even when a resume is possible (servers may). */
  preferSnapshot?: () => boolean;
}

/** One room, numbered like the server: every accepted op gets the next seq and goes to every
 *  joined connection, the sender included. */
export class FakeServer {
  state: RoomState = emptyRoomState;
  readonly log: LogEntry[] = [];
  /** The state after every seq: history[s] is the room at seq s. */
  readonly history: RoomState[] = [emptyRoomState];
  readonly connections: FakeConnection[] = [];
  private clock = Date.UTC(2026, 10, 25, 12, 0, 0);

  constructor(
    readonly roomId: string,
    private readonly policy: ServerPolicy = {},
  ) {}

  /** A socket factory for one simulated user. */
  factoryFor(user: string): (url: string) => SocketLike {
    return (url) => {
      const socket = new FakeSocket(url);
      this.connections.push(new FakeConnection(socket, user));
      return socket;
    };
  }

  info(): RoomInfo {
    return {
      id: this.roomId,
      name: 'Room',
      visibility: 'private',
      role: 'owner',
      active_user_count: 1,
      total_notes: this.state.notes.size,
    };
  }

  /** Handles the next frame a connection sent; false when its inbox is empty. */
  process(conn: FakeConnection): boolean {
    if (conn.socket.closedByClient !== null) conn.alive = false;
    const f = conn.inbox.shift();
    if (!f || !conn.alive) return false;
    const out = (frame: ServerFrame) => conn.outbox.push({ kind: 'frame', frame });
    switch (f.type) {
      case 'hello':
        out({ type: 'welcome', protocol: 1, server: 'srv-fake', user: { id: conn.user, name: conn.user } });
        break;
      case 'join': {
        if (f.room !== this.roomId) {
          out({ type: 'error', code: 'not_found', room: f.room, message: 'no such room' });
          break;
        }
        conn.joined.add(f.room);
        if (f.since !== undefined && f.since <= this.state.seq && !this.policy.preferSnapshot?.()) {
          out({ type: 'resume', room: f.room, since: f.since });
          for (const e of this.log) if (e.seq > f.since) out(this.opFrame(e));
        } else {
          const snapshot: ServerFrame = {
            type: 'snapshot',
            room: f.room,
            seq: this.state.seq,
            room_info: this.info(),
            notes: sortedNotes(this.state).map((n) => ({ ...n })),
          };
          if (f.in_doubt && f.in_doubt.length > 0) {
            // As the real server: which of them were numbered, among every op it holds.
            const numbered: Record<string, number> = {};
            for (const e of this.log) {
              if (e.user === conn.user && f.in_doubt.includes(e.cid)) numbered[e.cid] = e.seq;
            }
            snapshot.in_doubt = { numbered, checked_from: this.log[0]?.seq ?? this.state.seq + 1 };
          }
          out(snapshot);
        }
        out({ type: 'presence', room: f.room, active_user_count: 1, users: [{ id: conn.user, name: conn.user }] });
        break;
      }
      case 'leave':
        conn.joined.delete(f.room);
        break;
      case 'ping':
        out({ type: 'pong', t: f.t });
        break;
      case 'op': {
        if (!conn.joined.has(f.room)) {
          out({ type: 'reject', room: f.room, cid: f.cid, code: 'invalid', message: 'not joined' });
          break;
        }
        const parsed = parseOp(JSON.parse(JSON.stringify(f.op)));
        if (!parsed.ok) {
          out({ type: 'reject', room: f.room, cid: f.cid, code: parsed.code, message: parsed.message });
          break;
        }
        const code = this.policy.judge?.(conn, parsed.value);
        if (code) {
          out({ type: 'reject', room: f.room, cid: f.cid, code, message: `fake ${code}` });
          break;
        }
        let op = parsed.value;
        if (op.kind === 'text') {
          // As the real server: a text op of this user and cid already numbered is a resend in
          // doubt; dropped, and refused as `duplicate` when the client holds it already.
          const first = this.log.find((e) => e.user === conn.user && e.cid === f.cid && e.op.kind === 'text');
          if (first) {
            if (first.seq <= op.base) {
              out({ type: 'reject', room: f.room, cid: f.cid, code: 'duplicate', message: 'fake duplicate' });
            }
            break;
          }
          const moved = this.transformText(op);
          if (typeof moved === 'string') {
            out({ type: 'reject', room: f.room, cid: f.cid, code: moved, message: `fake ${moved}` });
            break;
          }
          op = moved;
        }
        this.clock += 7;
        const entry: LogEntry = {
          seq: this.state.seq + 1,
          at: new Date(this.clock).toISOString(),
          cid: f.cid,
          user: conn.user,
          op,
        };
        this.state = applyOp(this.state, entry);
        this.log.push(entry);
        this.history.push(this.state);
        for (const c of this.connections) {
          if (c.alive && c.joined.has(this.roomId)) c.outbox.push({ kind: 'frame', frame: this.opFrame(entry) });
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  /**
   * As the real server: a text op is rebased over every text op of its note field numbered
   * after its base (those go first on a tie), and refused with `conflict` when the field was
   * replaced (update, create, delete) after its base or the base is ahead of the room.
   */
  private transformText(op: Extract<Op, { kind: 'text' }>): Op | string {
    if (op.base > this.state.seq) return 'conflict';
    const unlimited = { maxBodyBytes: Infinity, maxTextOpComponents: Infinity };
    const parsed = parseTextOp(op.ops, unlimited);
    if (!parsed.ok) return 'invalid';
    let moved = parsed.value;
    for (const e of this.log) {
      if (e.seq <= op.base) continue;
      const o = e.op;
      const sameNote = (o.kind === 'create' ? o.note.id : 'id' in o ? o.id : null) === op.id;
      if (!sameNote) continue;
      if (o.kind === 'create' || o.kind === 'delete') return 'conflict';
      if (o.kind === 'update' && o.set[op.field] !== undefined) return 'conflict';
      if (o.kind !== 'text' || o.field !== op.field) continue;
      const committed = parseTextOp(o.ops, unlimited);
      if (!committed.ok) return 'invalid';
      const t = transformTextOps(moved, committed.value, false);
      if (!t.ok) return 'invalid';
      moved = t.value[0];
    }
    const note = this.state.notes.get(op.id);
    if (note && !applyTextOp(moved, op.field === 'title' ? note.title : note.body).ok) return 'invalid';
    return { ...op, base: this.state.seq, ops: moved.ops };
  }

  /** Loses one op frame on its way to a connection (the client must see the gap). */
  loseOneOp(conn: FakeConnection, pick: (count: number) => number): boolean {
    const ops = conn.outbox
      .map((e, i) => (e.kind === 'frame' && e.frame.type === 'op' ? i : -1))
      .filter((i) => i >= 0);
    if (ops.length === 0) return false;
    conn.outbox.splice(ops[pick(ops.length)] as number, 1);
    return true;
  }

  /** The network drops a connection: frames not yet delivered either way are lost. */
  drop(conn: FakeConnection, code = 1001): void {
    if (!conn.alive) return;
    conn.alive = false;
    conn.inbox.length = 0;
    conn.outbox.length = 0;
    conn.socket.serverClose(code, 'going away');
  }

  private opFrame(e: LogEntry): ServerFrame {
    return { type: 'op', room: this.roomId, seq: e.seq, cid: e.cid, user: e.user, at: e.at, op: e.op };
  }
}
