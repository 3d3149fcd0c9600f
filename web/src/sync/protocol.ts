// Protocol v1 message and model types (see docs/protocol.md).

import type { TextComponent } from './textOp';

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
  | { kind: 'delete'; id: string }
  | {
      kind: 'text';
      id: string;
      field: 'title' | 'body';
      base: number;
      /** The wire form of a text op (textOp.ts), normalized by the codec. */
      ops: readonly TextComponent[];
    };

export type Visibility = 'private' | 'link' | 'public';
export type Role = 'owner' | 'editor' | 'viewer';
/** What a signed-in non-member gets in a `public` room. */
export type PublicRole = 'viewer' | 'editor';

export interface RoomInfo {
  id: string;
  name: string;
  visibility: Visibility;
  /** The caller's role in the room (for a public room's non-member: its `public_role`). */
  role: Role;
  active_user_count: number;
  total_notes: number;
  /** Present in HTTP room objects (docs/protocol.md, "Sharing"). */
  public_role?: PublicRole;
  owner_id?: string;
}

export interface RoomStat {
  id: string;
  name: string;
  active_user_count: number;
  total_notes: number;
  /** Dashboard entries carry the room's visibility and the user's role in it (docs/protocol.md,
   *  "Sharing"); `role` is null for a public room the user is not a member of, and both are
   *  absent when a server (or an older cache) did not say. */
  visibility?: Visibility;
  role?: Role | null;
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
  | {
      type: 'snapshot';
      room: string;
      seq: number;
      room_info: RoomInfo;
      notes: Note[];
      /** The answer to a join's `in_doubt`: the cids numbered among the ops from `checked_from` on. */
      in_doubt?: { numbered: Record<string, number>; checked_from: number };
    }
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
  /** The room left this user's dashboard (deleted, made private, or the user removed). */
  | { type: 'room_gone'; room: string }
  /** This socket's role in a joined room changed. */
  | { type: 'role'; room: string; role: Role }
  | { type: 'pong'; t: unknown }
  /** Another socket's caret in a joined room (docs/protocol.md, "Carets"); without `note` the
   *  caret was cleared (blur, leave, disconnect). */
  | {
      type: 'cursor';
      room: string;
      session: string;
      user: { id: string; name: string };
      note?: string;
      field?: 'title' | 'body';
      anchor?: number;
      head?: number;
      seq?: number;
    };

export type ClientFrame =
  | { type: 'hello'; token: string; client: string; batch?: boolean }
  | { type: 'join'; room: string; since?: number; in_doubt?: string[] }
  | { type: 'leave'; room: string }
  | { type: 'op'; room: string; cid: string; op: Op }
  | { type: 'watch_rooms' }
  | { type: 'unwatch_rooms' }
  | { type: 'ping'; t: unknown }
  | {
      type: 'cursor';
      room: string;
      note?: string;
      field?: 'title' | 'body';
      anchor?: number;
      head?: number;
      seq?: number;
    };
