// The SyncClient: one socket, the open rooms, the dashboard subscription, the client-side rate
// limit and the IndexedDB cache writer, behind SyncClientApi.

import type {
  AuthErrorNotice,
  CloseCache,
  ConnectionStatus,
  DashboardView,
  EditLimits,
  SyncClientApi,
  SyncClientOptions,
  UnsentRoom,
} from './api';
import { openRoomCache, type RoomCache } from './cache';
import { defaultLimits, limitsFromWelcome, type Limits } from './codec';
import { Dashboard, type DashboardHandle } from './dashboard';
import { randomId } from './ids';
import type { ClientFrame, RoomInfo, ServerFrame } from './protocol';
import { Room, type RoomHost, type RoomPersistence } from './room';
import { Connection, defaultSocketFactory } from './socket';
import { TokenBucket } from './timing';

// The server allows 50 ops/s with a burst of 100 per connection; staying a little below leaves
// room for clock drift between the two buckets.
const OP_RATE_PER_SEC = 45;
const OP_BURST = 90;
// A new or changed pending op is written at once (an offline edit must survive a reload); the
// confirmed state, which changes with every remote op, is written at most this often.
const PENDING_WRITE_DELAY_MS = 10;
const STATE_WRITE_DELAY_MS = 100;

function defaultUrl(): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc) return 'ws://localhost:8080/ws';
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

type OpFrame = ClientFrame & { type: 'op' };

export class SyncClient implements SyncClientApi {
  private readonly connection: Connection;
  private readonly rooms = new Map<string, Room>();
  private readonly clientId = randomId(8);
  private counter = 0;
  private readonly bucket = new TokenBucket(OP_RATE_PER_SEC, OP_BURST, () => Date.now());
  /** The server answered a `cursor` frame with `invalid` (it has no carets): none are sent. */
  private caretsRefused = false;
  private readonly random: () => number;
  private readonly cache: Promise<RoomCache | null> | null;
  private statusValue: ConnectionStatus = 'offline';
  private readonly statusListeners = new Set<() => void>();
  private statusCheckQueued = false;
  private authErrorValue: AuthErrorNotice | null = null;
  private readonly authListeners = new Set<(n: AuthErrorNotice) => void>();
  private readonly dashboard = new Dashboard();
  private watchers = 0;
  private closed = false;
  private readonly host: RoomHost;
  private limitsValue: Limits = defaultLimits;
  private editLimits: EditLimits = toEditLimits(defaultLimits);
  private readonly limitListeners = new Set<() => void>();
  /** Rooms opened without a page to show them, only to send a queue cached on this device;
   *  each closes once its queue is acknowledged (or its join fails for good). */
  private readonly background = new Set<string>();

  constructor(options: SyncClientOptions) {
    this.random = options.random ?? Math.random;
    this.cache = options.userId === null ? null : openRoomCache(options.userId);
    this.host = this.makeHost();
    this.connection = new Connection({
      url: options.url ?? defaultUrl(),
      token: options.token,
      factory: options.socketFactory ?? defaultSocketFactory,
      random: this.random,
      events: {
        onWelcome: (welcome) => this.onWelcome(welcome),
        onFrame: (f) => this.onFrame(f),
        onDown: () => this.onDown(),
        onAuthError: (message) => this.onAuthFailure(message),
      },
    });
    this.connection.start();
    if (this.cache) this.sendCachedQueues(this.cache);
  }

  /** Edits made offline in rooms the user does not open now (or made before a sign-out that
   *  kept them) still go out: every room with a cached queue is opened in the background. */
  private sendCachedQueues(cache: Promise<RoomCache | null>): void {
    this.queueCacheTask(async () => {
      const c = await cache;
      const queued = c ? await c.listPending().catch(() => []) : [];
      for (const { roomId } of queued) {
        if (this.closed || this.rooms.has(roomId)) continue;
        this.background.add(roomId);
        this.openRoom(roomId);
      }
    });
  }

  get limits(): EditLimits {
    return this.editLimits;
  }

  subscribeLimits(listener: () => void): () => void {
    this.limitListeners.add(listener);
    return () => this.limitListeners.delete(listener);
  }

  async unsentChanges(): Promise<UnsentRoom[]> {
    const cache = this.cache;
    // Behind the queued writes, so a room closed a moment ago is counted from what it wrote.
    const cached = await new Promise<UnsentRoom[]>((resolve) => {
      if (!cache) {
        resolve([]);
        return;
      }
      this.queueCacheTask(async () => {
        try {
          const c = await cache;
          resolve(c ? await c.listPending() : []);
        } catch {
          resolve([]);
        }
      });
    });
    const byRoom = new Map<string, UnsentRoom>();
    for (const room of this.rooms.values()) {
      // An open room's own queue is the truth: the cached one may still hold acknowledged ops.
      byRoom.set(room.roomId, { roomId: room.roomId, name: room.name, count: room.unsentCount });
    }
    for (const entry of cached) {
      const open = byRoom.get(entry.roomId);
      if (!open) {
        byRoom.set(entry.roomId, entry);
        continue;
      }
      open.name ??= entry.name;
      // Not read yet: the cached ops will join the queue ahead of the ones made since.
      if (!this.rooms.get(entry.roomId)?.cacheRead) open.count += entry.count;
    }
    return [...byRoom.values()].filter((r) => r.count > 0);
  }

  async cachedRooms(): Promise<RoomInfo[]> {
    const c = this.cache ? await this.cache.catch(() => null) : null;
    return c ? c.listRooms().catch(() => []) : [];
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  get authError(): AuthErrorNotice | null {
    return this.authErrorValue;
  }

  subscribeStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  onAuthError(listener: (notice: AuthErrorNotice) => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  openRoom(roomId: string): Room {
    const open = this.rooms.get(roomId);
    if (open) {
      // A page now shows it: it stays open until the page closes it.
      this.background.delete(roomId);
      return open;
    }
    const room = new Room(roomId, this.host, this.cache !== null);
    this.rooms.set(roomId, room);
    if (this.cache) {
      const cache = this.cache;
      room.persistence = persistenceFor(room, cache, (task) => this.queueCacheTask(task));
      // Behind earlier writes: a room closed and opened again reads what it wrote on close.
      this.queueCacheTask(async () => {
        const c = await cache;
        const cached = c ? await c.load(roomId).catch(() => null) : null;
        room.loadCached(cached);
      });
    } else if (this.connection.ready) {
      room.onConnected();
    }
    this.scheduleStatusCheck();
    return room;
  }

  watchRooms(): DashboardHandle {
    if (this.watchers++ === 0) {
      this.connection.send({ type: 'watch_rooms' });
      // Until the server's list arrives (or while offline), show the rooms this browser knows.
      void this.cache
        ?.then((c) => (c ? c.listRooms() : []))
        .then((rooms) =>
          this.dashboard.seed(
            rooms.map(({ id, name, active_user_count, total_notes, visibility, role }) => ({
              id,
              name,
              active_user_count,
              total_notes,
              visibility,
              role,
            })),
          ),
        )
        .catch(() => undefined);
    }
    let open = true;
    const dashboard = this.dashboard;
    return {
      getView: (): DashboardView => dashboard.getView(),
      subscribe: (l) => dashboard.subscribe(l),
      close: () => {
        if (!open) return;
        open = false;
        if (--this.watchers === 0) this.connection.send({ type: 'unwatch_rooms' });
      },
    };
  }

  close(options: { cache?: CloseCache } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.background.clear();
    for (const room of [...this.rooms.values()]) room.close();
    this.connection.stop();
    const cache = this.cache;
    // After the rooms' last writes, which are queued ahead of this.
    if (cache) {
      this.queueCacheTask(async () => {
        const c = await cache;
        if (!c) return;
        try {
          if (options.cache === 'keep-unsent') await c.forgetSentRooms();
        } finally {
          c.close();
        }
      });
    }
  }

  // ---- Connection events --------------------------------------------------------------------

  private onWelcome(welcome: Extract<ServerFrame, { type: 'welcome' }>): void {
    this.bucket.reset();
    this.caretsRefused = false;
    const limits = limitsFromWelcome(welcome.limits);
    if (!sameLimits(limits, this.limitsValue)) {
      this.limitsValue = limits;
      this.editLimits = toEditLimits(limits);
      for (const l of [...this.limitListeners]) l();
    }
    if (this.watchers > 0) this.connection.send({ type: 'watch_rooms' });
    for (const room of this.rooms.values()) room.onConnected();
    this.scheduleStatusCheck();
  }

  private onDown(): void {
    for (const room of this.rooms.values()) room.onDisconnected();
    this.scheduleStatusCheck();
  }

  private onAuthFailure(message: string): void {
    this.authErrorValue = { code: 'unauthorized', message };
    for (const l of [...this.authListeners]) l(this.authErrorValue);
    this.scheduleStatusCheck();
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'rooms':
      case 'room_stat':
        this.dashboard.handleFrame(frame);
        return;
      case 'room_gone':
        this.dashboard.handleFrame(frame);
        // Gone from the dashboard means gone for this user: this device's copy is not offered
        // again. An open room hears it from the server itself (error on the room) and drops it.
        if (!this.rooms.has(frame.room)) this.forgetCached(frame.room);
        return;
      case 'snapshot':
      case 'resume':
      case 'op':
      case 'reject':
      case 'presence':
      case 'role':
      case 'cursor':
        this.rooms.get(frame.room)?.handleFrame(frame);
        return;
      case 'error':
        if (frame.room !== undefined) this.rooms.get(frame.room)?.handleFrame(frame);
        else if (frame.code === 'invalid' && /"cursor"/.test(frame.message ?? '')) {
          // A server without carets: stop sending them on this connection, or its replies
          // (20 in a row close the socket with 1008) would cut the session.
          this.caretsRefused = true;
        }
        return;
      default:
        return;
    }
  }

  // ---- Status -------------------------------------------------------------------------------

  private computeStatus(): ConnectionStatus {
    if (!this.connection.ready) return 'offline';
    for (const room of this.rooms.values()) {
      if (room.busy) return 'syncing';
    }
    return 'online';
  }

  private scheduleStatusCheck(): void {
    if (this.statusCheckQueued) return;
    this.statusCheckQueued = true;
    queueMicrotask(() => {
      this.statusCheckQueued = false;
      this.closeSettledBackgroundRooms();
      const next = this.computeStatus();
      this.dashboard.setStatus(this.connection.ready ? 'online' : 'offline');
      if (next === this.statusValue) return;
      this.statusValue = next;
      for (const room of this.rooms.values()) room.statusChanged();
      for (const l of [...this.statusListeners]) l();
    });
  }

  private closeSettledBackgroundRooms(): void {
    for (const roomId of [...this.background]) {
      const room = this.rooms.get(roomId);
      if (!room || room.settled) {
        this.background.delete(roomId);
        room?.close();
      }
    }
  }

  private forgetCached(roomId: string): void {
    const cache = this.cache;
    if (!cache) return;
    this.queueCacheTask(async () => {
      const c = await cache;
      await c?.forget(roomId);
    });
  }

  private cacheQueue: Promise<void> = Promise.resolve();

  /** Cache reads and writes run one at a time, in the order they were asked for. */
  private queueCacheTask(task: () => Promise<void>): void {
    this.cacheQueue = this.cacheQueue.then(task).catch(() => undefined);
  }

  private makeHost(): RoomHost {
    return {
      connected: () => this.connection.ready,
      send: (frame) => (frame.type === 'cursor' && this.caretsRefused ? false : this.connection.send(frame)),
      sendOp: (frame: OpFrame) => {
        if (!this.connection.ready) return 'offline';
        if (!this.bucket.take()) return 'throttled';
        return this.connection.send(frame) ? 'sent' : 'offline';
      },
      throttleWaitMs: () => this.bucket.waitMs(),
      nextCid: () => `${this.clientId}-${++this.counter}`,
      random: () => this.random(),
      limits: () => this.limitsValue,
      roomChanged: () => this.scheduleStatusCheck(),
      roomClosed: (room) => {
        if (this.rooms.get(room.roomId) === room) this.rooms.delete(room.roomId);
        this.scheduleStatusCheck();
      },
    };
  }
}

function toEditLimits(l: Limits): EditLimits {
  return { titleBytes: l.maxTitleBytes, bodyBytes: l.maxBodyBytes, frameBytes: l.maxFrameBytes };
}

function sameLimits(a: Limits, b: Limits): boolean {
  return (
    a.maxTitleBytes === b.maxTitleBytes &&
    a.maxBodyBytes === b.maxBodyBytes &&
    a.maxFrameBytes === b.maxFrameBytes &&
    a.maxRebalanceEntries === b.maxRebalanceEntries &&
    a.maxTextOpComponents === b.maxTextOpComponents
  );
}

/** Debounced writes of one room to the cache, in order. */
function persistenceFor(
  room: Room,
  cache: Promise<RoomCache | null>,
  queue: (task: () => Promise<void>) => void,
): RoomPersistence {
  let stateTimer: ReturnType<typeof setTimeout> | null = null;
  let pendingTimer: ReturnType<typeof setTimeout> | null = null;
  let forgotten = false;
  // The room's data is read when the write runs, so a burst of changes costs one write.
  const write = (what: 'state' | 'pending'): void => {
    queue(async () => {
      const c = await cache;
      if (!c || forgotten) return;
      if (what === 'state') {
        const snap = room.cacheSnapshot();
        await c.saveRoom(room.roomId, snap.state, snap.pending);
        room.stateSaved(snap.acked);
      } else {
        await c.savePending(room.roomId, room.cachePending());
      }
    });
  };
  return {
    stateChanged() {
      stateTimer ??= setTimeout(() => {
        stateTimer = null;
        write('state');
      }, STATE_WRITE_DELAY_MS);
    },
    pendingChanged() {
      pendingTimer ??= setTimeout(() => {
        pendingTimer = null;
        write('pending');
      }, PENDING_WRITE_DELAY_MS);
    },
    flush() {
      if (stateTimer) clearTimeout(stateTimer);
      if (pendingTimer) clearTimeout(pendingTimer);
      stateTimer = pendingTimer = null;
      if (forgotten) return;
      write('state');
      write('pending');
    },
    forget() {
      if (stateTimer) clearTimeout(stateTimer);
      if (pendingTimer) clearTimeout(pendingTimer);
      stateTimer = pendingTimer = null;
      forgotten = true;
      // Behind the writes already queued, which the flag now skips if they have not run.
      queue(async () => {
        const c = await cache;
        await c?.forget(room.roomId);
      });
    },
  };
}
