// Protocol v1 message and model types (see docs/protocol.md).

export interface NoteFields {
  title: string;
  body: string;
  is_important: boolean;
  is_completed: boolean;
}

export interface Note extends NoteFields {
  id: string;
  current_index: number;
  seq: number;
  updated_at: string;
}

export type NoteUpdate = Partial<NoteFields>;

export type Op =
  | { kind: 'create'; note: NoteFields & { id: string; current_index: number } }
  | { kind: 'update'; id: string; set: NoteUpdate }
  | { kind: 'move'; id: string; current_index: number }
  | { kind: 'rebalance'; indexes: Record<string, number> }
  | { kind: 'delete'; id: string };

export type Visibility = 'private' | 'link';
export type Role = 'owner' | 'editor' | 'viewer';

export interface RoomInfo {
  id: string;
  name: string;
  visibility: Visibility;
  role: Role;
  active_user_count: number;
  total_notes: number;
}

export interface RoomStat {
  id: string;
  name: string;
  active_user_count: number;
  total_notes: number;
}

export interface PresenceUser {
  id: string;
  name: string;
}

/** `welcome.limits`: each present only when the server sent a usable value. */
export interface WelcomeLimits {
  title_bytes?: number;
  body_bytes?: number;
  frame_bytes?: number;
}

export type ServerFrame =
  | {
      type: 'welcome';
      protocol: number;
      server: string;
      user: { id: string; name: string };
      /** The sizes the server enforces (an optional addition, docs/protocol.md). */
      limits?: WelcomeLimits;
    }
  | { type: 'snapshot'; room: string; seq: number; room_info: RoomInfo; notes: Note[] }
  | { type: 'resume'; room: string; since: number }
  | { type: 'op'; room: string; seq: number; cid: string; user: string; at: string; op: Op }
  | { type: 'reject'; room: string; cid: string; code: string; message: string }
  | { type: 'error'; code: string; room?: string; message?: string }
  | {
      type: 'presence';
      room: string;
      active_user_count: number;
      users: PresenceUser[];
    }
  | { type: 'rooms'; rooms: RoomStat[] }
  | { type: 'room_stat'; room: RoomStat }
  | { type: 'pong'; t: unknown };

export type ClientFrame =
  | { type: 'hello'; token: string; client: string }
  | { type: 'join'; room: string; since?: number }
  | { type: 'leave'; room: string }
  | { type: 'op'; room: string; cid: string; op: Op }
  | { type: 'watch_rooms' }
  | { type: 'unwatch_rooms' }
  | { type: 'ping'; t: unknown };
