// The dashboard's room list: `rooms` replaces it, `room_stat` upserts one room by id (a room that
// became public appears through it), `room_gone` removes one.

import type { ConnectionStatus, DashboardView } from './api';
import type { RoomStat, ServerFrame } from './protocol';

export interface DashboardHandle {
  getView(): DashboardView;
  subscribe(listener: () => void): () => void;
  close(): void;
}

export class Dashboard {
  private rooms: RoomStat[] = [];
  private heardFromServer = false;
  private status: ConnectionStatus = 'offline';
  private view: DashboardView | null = null;
  private readonly listeners = new Set<() => void>();
  private notifyQueued = false;

  getView(): DashboardView {
    if (!this.view) this.view = { rooms: this.rooms, status: this.status };
    return this.view;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Before the first `rooms` frame (or offline), a list from elsewhere (the cache) may show. */
  seed(rooms: RoomStat[]): void {
    if (this.heardFromServer) return;
    this.rooms = rooms;
    this.changed();
  }

  setStatus(status: ConnectionStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.changed();
  }

  handleFrame(frame: ServerFrame): void {
    if (frame.type === 'rooms') {
      this.heardFromServer = true;
      this.rooms = frame.rooms;
      this.changed();
    } else if (frame.type === 'room_stat') {
      const i = this.rooms.findIndex((r) => r.id === frame.room.id);
      const next = [...this.rooms];
      if (i >= 0) next[i] = mergeStat(next[i] as RoomStat, frame.room);
      else next.push(frame.room);
      this.rooms = next;
      this.changed();
    } else if (frame.type === 'room_gone') {
      const next = this.rooms.filter((r) => r.id !== frame.room);
      if (next.length === this.rooms.length) return;
      this.rooms = next;
      this.changed();
    }
  }

  private changed(): void {
    this.view = null;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const l of [...this.listeners]) l();
    });
  }
}

/** A `room_stat` replaces the counts; what it leaves out (the role, for a server that sends it
 *  only in the full list) stays as the list said. */
function mergeStat(previous: RoomStat, update: RoomStat): RoomStat {
  const merged: RoomStat = { ...update };
  if (update.visibility === undefined && previous.visibility !== undefined) merged.visibility = previous.visibility;
  if (update.role === undefined && previous.role !== undefined) merged.role = previous.role;
  return merged;
}
