// The sync layer's public surface: what React components (through hooks) may use.
// Everything here is plain TypeScript with no React; protocol v1 types live in protocol.ts.

import type { Note, NoteFields, NoteUpdate, RoomInfo, RoomStat, PresenceUser } from './protocol';
import type { SocketFactory } from './socket';
import type { TextComponent, TextOp } from './textOp';

/** Connection state shown by the badge. `syncing` = connected, but local ops are unacknowledged
 *  or a join is being answered. */
export type ConnectionStatus = 'online' | 'offline' | 'syncing';

/** What a workspace renders: the confirmed state with the pending local ops applied on top. */
export interface RoomView {
  roomId: string;
  /** Sorted by (current_index, id). */
  notes: Note[];
  /** Last applied (confirmed) room seq; 0 before the first snapshot. */
  seq: number;
  info: RoomInfo | null;
  /** true once a snapshot/resume was applied or a cached state was loaded. */
  loaded: boolean;
  /** true when `notes` came from the IndexedDB cache and the server has not answered yet. */
  fromCache: boolean;
  presence: { active_user_count: number; users: PresenceUser[] };
  /** Local ops not yet acknowledged by the server (sent or not). */
  pendingCount: number;
  status: ConnectionStatus;
  /** Set when a join failed for good (`forbidden`, `not_found`) for a room never open here. */
  joinError: { code: string; message: string } | null;
  /** Set when the user lost a room that was open here (or shown from this device's copy):
   *  `forbidden` = removed, or the room is no longer public; `not_found` = deleted. The room is
   *  no longer synced, its notes and unsent changes are dropped, and this device's copy of it
   *  deleted. `info` still names it. */
  accessLost: { code: string; message: string } | null;
  /** Others' carets (docs/protocol.md, "Carets"), moved along with every edit since they were
   *  sent; one not refreshed for 45 s is dropped. */
  carets: readonly RemoteCaret[];
}

/** Another socket's caret (or selection) in a note field, in code points of the text the view
 *  shows: `anchor` where the selection started, `head` where the caret is. */
export interface RemoteCaret {
  session: string;
  user: { id: string; name: string };
  note: string;
  field: 'title' | 'body';
  anchor: number;
  head: number;
}

/** A rejected local op, rolled back; the UI says why. */
export interface RejectNotice {
  roomId: string;
  cid: string;
  code: string;
  message: string;
}

/** The sizes the server enforces for what a person types, in UTF-8 bytes (as it counts them):
 *  from the `welcome` frame, or the server's defaults until one arrives. */
export interface EditLimits {
  titleBytes: number;
  bodyBytes: number;
  frameBytes: number;
}

/** How big a field's text is, against the most that can be sent for it (UTF-8 bytes). */
export interface FieldSize {
  bytes: number;
  limit: number;
}

/** Unacknowledged local changes of one room (sent or not). */
export interface UnsentRoom {
  roomId: string;
  /** The room's name when known (from the server or the cache). */
  name: string | null;
  count: number;
}

/** What signing out does with this device's copy: delete all of it, or keep the rooms that have
 *  unsent changes (their queue and state) so the next sign-in of the user sends them. */
export type CloseCache = 'keep' | 'keep-unsent';

/** A change of a note field's text in the view that this page's own edits did not make
 *  (someone else's edit, or a local one rolled back): `op` turns `before` into `after`, so a
 *  focused field can move its caret (textOp.ts `transformIndex`). */
export interface TextChange {
  id: string;
  field: 'title' | 'body';
  before: string;
  after: string;
  op: TextOp;
}

/** A change someone else made, as a person would say it. */
export interface Activity {
  kind: 'added' | 'edited' | 'moved' | 'deleted' | 'marked';
  noteId: string;
  /** The note's title when it happened ("" for an untitled note). */
  title: string;
  /** Who, by name ("Someone" when the room's presence does not name them). */
  by: string;
  /** For `marked`: what ("done", "not done", "important", "not important"). */
  detail?: string;
}

export interface RoomHandle {
  readonly roomId: string;
  getView(): RoomView;
  /** Called after every change of the view; returns an unsubscribe function. */
  subscribe(listener: () => void): () => void;
  onReject(listener: (notice: RejectNotice) => void): () => void;

  /** Creates a note at the end of the list (or at `currentIndex`); returns its new id. With
   *  `draft`, the note shows only here until it has some text (then it is created for
   *  everyone), and discardDraft drops it while it is empty. */
  createNote(fields?: Partial<NoteFields>, currentIndex?: number, options?: { draft?: boolean }): string;
  /** Whether the note is a draft nobody else sees yet. */
  isDraft?(id: string): boolean;
  /** Drops an empty draft (Escape in a new note); false when there is none. */
  discardDraft?(id: string): boolean;
  updateNote(id: string, set: NoteUpdate): void;
  /** A character-level edit of a field: `ops` (textOp.ts wire form) spans the field's text as
   *  the view shows it. Shown at once, sent as a text op (one in flight per field, later edits
   *  composed). False when it does not span the view's text (nothing changes). */
  editText(id: string, field: 'title' | 'body', ops: readonly TextComponent[]): boolean;
  /** This page's caret in a note field (code points of the text shown), sent to the others at
   *  most 10 times a second and again every 20 s; `clearCaret` on blur. */
  setCaret(note: string, field: 'title' | 'body', anchor: number, head: number): void;
  clearCaret(): void;
  /** Undoes this page's latest own change that still changes something: text (typing is
   *  grouped into steps; others' text typed since is kept), a flag toggle, a move, a delete.
   *  False when there is nothing to undo. `redo` re-applies what undo took back. */
  undo(): boolean;
  redo(): boolean;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /** Called for every TextChange; returns an unsubscribe function. */
  onTextChange(listener: (change: TextChange) => void): () => void;
  /** Someone else's change reached the room (for a visual cue and a screen-reader notice). */
  onActivity?(listener: (activity: Activity) => void): () => void;
  /** Moves note `id` to position `toIndex` of the current view order (0-based, the position it
   *  ends at). Sends one `move`, or a `rebalance` when the gap's precision has run out. */
  moveNote(id: string, toIndex: number): void;
  deleteNote(id: string): void;
  /** Re-creates a note deleted a moment ago (undo), with its fields and index. */
  restoreNote(note: Note): void;
  /** The size of `value` as note `id`'s field, against the most the server takes for it: the
   *  field's limit, or less when the op would not fit in one frame. An edit over it is refused. */
  fieldSize(id: string, field: 'title' | 'body', value: string): FieldSize;
  /** Leaves the room (sends `leave`) and stops updates. */
  close(): void;
  /** Closes the room and deletes this device's copy of it, unsent changes included (the user
   *  left the room or deleted it). */
  forget(): void;
  /** Room info learned over HTTP (`GET`/`PATCH /api/rooms/{id}`) merged into `view.info`. With
   *  `version` (read from `infoVersion` before asking), it is dropped when a frame set the info
   *  since: a `role` frame is newer than an answer requested before it. */
  mergeInfo(info: Partial<RoomInfo>, version?: number): void;
  readonly infoVersion: number;
}

export interface DashboardView {
  rooms: RoomStat[];
  status: ConnectionStatus;
}

export interface SyncClientOptions {
  /** ws URL, e.g. `ws://localhost:8080/ws`; defaults to the page's own origin + /ws. */
  url?: string;
  token: string;
  /** A user id namespaces the IndexedDB cache; null disables caching (tests). */
  userId: string | null;
  /** Makes the WebSocket (tests pass a fake); defaults to the browser's WebSocket. */
  socketFactory?: SocketFactory;
  /** Randomness for reconnect jitter (tests); defaults to Math.random. */
  random?: () => number;
}

/** The server refused the token (close 4001): the client stopped reconnecting; sign in again. */
export interface AuthErrorNotice {
  code: 'unauthorized';
  message: string;
}

export interface SyncClientApi {
  readonly status: ConnectionStatus;
  subscribeStatus(listener: () => void): () => void;
  /** Opens (joins) a room; the same handle is returned while it is open. */
  openRoom(roomId: string): RoomHandle;
  watchRooms(): { getView(): DashboardView; subscribe(l: () => void): () => void; close(): void };
  /** Closes the socket for good (sign out). `cache` = 'keep-unsent' drops the cached rooms
   *  that have nothing unsent once the last writes are done; the default keeps the cache. */
  close(options?: { cache?: CloseCache }): void;
  /** The server's size limits (see EditLimits); a new object when a welcome changes them. */
  readonly limits: EditLimits;
  /** Called when `limits` changes; returns an unsubscribe function. */
  subscribeLimits(listener: () => void): () => void;
  /** Local changes not yet acknowledged, per room: the open rooms' queues and the queues cached
   *  on this device for the others. Rooms with none are left out. */
  unsentChanges(): Promise<UnsentRoom[]>;
  /** The rooms cached on this device (what the Rooms page lists offline), most recent first,
   *  with the note totals of their cached state. Optional: a client without a cache has none. */
  cachedRooms?(): Promise<RoomInfo[]>;
  /** Set once the server refused the token; the client then stays offline. */
  readonly authError?: AuthErrorNotice | null;
  /** Called once when the server refuses the token; returns an unsubscribe function. */
  onAuthError?(listener: (notice: AuthErrorNotice) => void): () => void;
}
