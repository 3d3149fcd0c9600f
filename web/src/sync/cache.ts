// The IndexedDB cache: per user, per room the confirmed notes, seq and room info, and the pending
// local ops in order, so a reload shows the room at once and loses no offline edit.

import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Note, Op, RoomInfo } from './protocol';

export interface CachedPendingOp {
  cid: string;
  op: Op;
}

export interface CachedRoomState {
  seq: number;
  notes: Note[];
  info: RoomInfo | null;
}

export interface CachedRoom extends CachedRoomState {
  roomId: string;
  pending: CachedPendingOp[];
}

interface CacheSchema extends DBSchema {
  // The confirmed state changes with every remote op and is written lazily; pending ops are
  // small and written at once, so they live in their own store.
  rooms: { key: string; value: CachedRoomState & { roomId: string; saved_at: number } };
  pending: { key: string; value: { roomId: string; ops: CachedPendingOp[] } };
}

export interface RoomCache {
  load(roomId: string): Promise<CachedRoom | null>;
  saveState(roomId: string, state: CachedRoomState): Promise<void>;
  savePending(roomId: string, ops: CachedPendingOp[]): Promise<void>;
  /** State and queue in one transaction, so a reload never sees one without the other. */
  saveRoom(roomId: string, state: CachedRoomState, ops: CachedPendingOp[]): Promise<void>;
  /** Rooms with a cached state, most recently saved first (for an offline dashboard). */
  listRooms(): Promise<RoomInfo[]>;
  /** Rooms whose cached queue is not empty, with its length and the room's name when cached. */
  listPending(): Promise<{ roomId: string; name: string | null; count: number }[]>;
  /** Deletes the cached state of every room with an empty queue (sign-out that keeps only what
   *  is still to be sent). */
  forgetSentRooms(): Promise<void>;
  /** Deletes one room's state and queue (the user lost access to it, or left it). */
  forget(roomId: string): Promise<void>;
  close(): void;
}

export function cacheDbName(userId: string): string {
  return `fun-notes-${userId}`;
}

/** Opens the user's cache; resolves to null when IndexedDB is unavailable (private mode, tests
 *  without it): the client then simply runs without a cache. */
export async function openRoomCache(userId: string): Promise<RoomCache | null> {
  if (!(globalThis as { indexedDB?: IDBFactory }).indexedDB) return null;
  try {
    const db = await openDB<CacheSchema>(cacheDbName(userId), 1, {
      upgrade(d) {
        d.createObjectStore('rooms');
        d.createObjectStore('pending');
      },
    });
    return new IdbRoomCache(db);
  } catch {
    return null;
  }
}

/** Deletes a user's cache (sign out on a shared computer). Waits while another tab holds it
 *  open; resolves false when IndexedDB is unavailable or the delete fails. */
export async function clearCache(userId: string): Promise<boolean> {
  if (!(globalThis as { indexedDB?: IDBFactory }).indexedDB) return false;
  try {
    await deleteDB(cacheDbName(userId));
    return true;
  } catch {
    return false;
  }
}

class IdbRoomCache implements RoomCache {
  constructor(private readonly db: IDBPDatabase<CacheSchema>) {}

  async load(roomId: string): Promise<CachedRoom | null> {
    const tx = this.db.transaction(['rooms', 'pending'], 'readonly');
    const [state, pending] = await Promise.all([
      tx.objectStore('rooms').get(roomId),
      tx.objectStore('pending').get(roomId),
    ]);
    if (!state && !pending) return null;
    return {
      roomId,
      seq: state?.seq ?? 0,
      notes: state?.notes ?? [],
      info: state?.info ?? null,
      pending: pending?.ops ?? [],
    };
  }

  async saveState(roomId: string, state: CachedRoomState): Promise<void> {
    await this.db.put('rooms', { ...state, roomId, saved_at: Date.now() }, roomId);
  }

  async savePending(roomId: string, ops: CachedPendingOp[]): Promise<void> {
    if (ops.length === 0) await this.db.delete('pending', roomId);
    else await this.db.put('pending', { roomId, ops }, roomId);
  }

  async saveRoom(roomId: string, state: CachedRoomState, ops: CachedPendingOp[]): Promise<void> {
    const tx = this.db.transaction(['rooms', 'pending'], 'readwrite');
    const writes: Promise<unknown>[] = [
      tx.objectStore('rooms').put({ ...state, roomId, saved_at: Date.now() }, roomId),
      ops.length === 0
        ? tx.objectStore('pending').delete(roomId)
        : tx.objectStore('pending').put({ roomId, ops }, roomId),
    ];
    await Promise.all([...writes, tx.done]);
  }

  async listRooms(): Promise<RoomInfo[]> {
    const all = await this.db.getAll('rooms');
    return all
      .filter((r) => r.info !== null)
      .sort((a, b) => b.saved_at - a.saved_at)
      // The totals as this device last saw the room, not what the join said back then.
      .map((r) => ({ ...(r.info as RoomInfo), total_notes: r.notes.length }));
  }

  async listPending(): Promise<{ roomId: string; name: string | null; count: number }[]> {
    const tx = this.db.transaction(['rooms', 'pending'], 'readonly');
    const queues = await tx.objectStore('pending').getAll();
    const rooms = tx.objectStore('rooms');
    const out: { roomId: string; name: string | null; count: number }[] = [];
    for (const q of queues) {
      if (q.ops.length === 0) continue;
      const state = await rooms.get(q.roomId);
      out.push({ roomId: q.roomId, name: state?.info?.name ?? null, count: q.ops.length });
    }
    await tx.done;
    return out;
  }

  async forgetSentRooms(): Promise<void> {
    const tx = this.db.transaction(['rooms', 'pending'], 'readwrite');
    const withQueue = new Set(await tx.objectStore('pending').getAllKeys());
    const rooms = tx.objectStore('rooms');
    for (const roomId of await rooms.getAllKeys()) {
      if (!withQueue.has(roomId)) await rooms.delete(roomId);
    }
    await tx.done;
  }

  async forget(roomId: string): Promise<void> {
    const tx = this.db.transaction(['rooms', 'pending'], 'readwrite');
    await Promise.all([tx.objectStore('rooms').delete(roomId), tx.objectStore('pending').delete(roomId), tx.done]);
  }

  close(): void {
    this.db.close();
  }
}
