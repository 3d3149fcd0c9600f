// One open room: the confirmed replica, the queue of local ops, reconciliation of the two into
// the view, and the join/resume state machine. The socket is reached through RoomHost.

import type { Activity, ConnectionStatus, FieldSize, RejectNotice, RemoteCaret, RoomHandle, RoomView, TextChange } from './api';
import { applyOps, createRoomState, emptyRoomState, sortedNotes, type RoomState } from './apply';
import { composeState, sameView, type LocalOp } from './reconcile';
import type { CachedPendingOp, CachedRoom, CachedRoomState } from './cache';
import { indexMap, opToJson, parseNote, parseOp, utf8Length, type Limits } from './codec';
import { randomId } from './ids';
import { between, indexForMove, spreadIndexes } from './order';
import {
  codePointLength,
  applyTextOp,
  composeTextOps,
  invertTextOp,
  isNoop,
  transformIndex,
  parseTextOp,
  transformTextOps,
  type TextComponent,
  type TextOp,
} from './textOp';
import {
  changeSize,
  diffTexts,
  effectOn,
  fieldText,
  rebaseOver,
  textFieldsOf,
  textOpOf,
  type TextField,
} from './textSync';
import type {
  ClientFrame,
  Note,
  NoteFields,
  NoteUpdate,
  Op,
  RoomInfo,
  ServerFrame,
} from './protocol';
import { backoffDelay } from './timing';
import { UndoHistory, type UndoStep } from './undo';

/** What a room needs from the client that owns the socket. */
export interface RoomHost {
  connected(): boolean;
  /** Sends a control frame (join, leave); false when not connected. */
  send(frame: ClientFrame): boolean;
  /** Sends an op frame within the client-side rate limit. */
  sendOp(frame: ClientFrame & { type: 'op' }): 'sent' | 'throttled' | 'offline';
  /** Milliseconds until sendOp may succeed after 'throttled'. */
  throttleWaitMs(): number;
  nextCid(): string;
  random(): number;
  /** The server's size limits as last advertised (or its defaults). */
  limits(): Limits;
  /** The room's view changed (the client recomputes its own status). */
  roomChanged(room: Room): void;
  roomClosed(room: Room): void;
}

/** Where a room's durable copy goes; the client debounces and writes it. */
export interface RoomPersistence {
  stateChanged(): void;
  pendingChanged(): void;
  /** Writes whatever is outstanding now (the room is closing). */
  flush(): void;
  /** Deletes the room's durable copy; nothing is written for it afterwards. */
  forget(): void;
}

interface PendingOp extends LocalOp {
  cid: string;
  /** Sent on the current join and not yet acknowledged. */
  sent: boolean;
  /** Position in the order the user made the ops (retries keep it). */
  made: number;
  /** Ever sent (on any socket): the server may have numbered it as it was then, so it must
   *  never change again. */
  everSent: boolean;
}

// Codes after which the op is kept and sent again; every other reject drops it.
const RETRYABLE = new Set(['rate_limited', 'unavailable', 'conflict']);

// Rebalance entries per op: an entry is at most ~100 bytes (64-char id and a double).
const REBALANCE_CHUNK = 500;

const unlimitedText = { maxBodyBytes: Infinity, maxTextOpComponents: Infinity };

// How long ops in doubt wait for the end of a resume's replay when no presence frame comes.
// Cids a join may name as in doubt (the server's limit).
const MAX_IN_DOUBT = 256;
const REPLAY_WAIT_MS = 2_000;

// Carets: at most 10 sent a second, each refreshed every 20 s while the field has focus; a
// remote one not refreshed for 45 s is dropped.
const CARET_MIN_GAP_MS = 100;
const CARET_REFRESH_MS = 20_000;
const CARET_TTL_MS = 45_000;
const CARET_SWEEP_MS = 5_000;
// Confirmed text ops kept per field, to move a caret sent at an older seq.
const TEXT_LOG_LENGTH = 200;

interface CaretEntry extends RemoteCaret {
  /** The confirmed seq the offsets are relative to. */
  seq: number;
  seen: number;
}

type JoinState = 'idle' | 'joining' | 'joined' | 'failed';

type Presence = RoomView['presence'];
const NO_PRESENCE: Presence = { active_user_count: 0, users: [] };

function fieldKey(id: string, field: TextField): string {
  return `${id}\u0000${field}`;
}

function moveCaret(c: CaretEntry, op: TextOp, seq: number): void {
  c.anchor = transformIndex(op, c.anchor, false);
  c.head = transformIndex(op, c.head, false);
  c.seq = seq;
}

function touchedIds(op: Op): string[] {
  switch (op.kind) {
    case 'create':
      return [op.note.id];
    case 'rebalance':
      return Object.keys(op.indexes);
    default:
      return [op.id];
  }
}

/** A note worth showing to others: some title or body text. */
function hasContent(note: Pick<NoteFields, 'title' | 'body'>): boolean {
  return note.title.trim() !== '' || note.body.trim() !== '';
}

function applyTextOpOrNull(op: TextOp, text: string): string | null {
  const r = applyTextOp(op, text);
  return r.ok ? r.value : null;
}

export class Room implements RoomHandle {
  private confirmed: RoomState = emptyRoomState;
  private info: RoomInfo | null = null;
  private presence: Presence = NO_PRESENCE;
  private joinError: RoomView['joinError'] = null;
  private accessLost: RoomView['accessLost'] = null;
  /** Bumped whenever a frame sets the room info (snapshot, role): an answer over HTTP asked for
   *  before that is older than what the frame said. */
  private infoVersionValue = 0;
  private loaded = false;
  private fromCache = false;
  private joinState: JoinState = 'idle';
  private cacheReady: boolean;
  private closed = false;

  /** Local ops not yet acknowledged, in the order the server will number them: the ones sent
   *  on the current join first, then the unsent ones (flush keeps this invariant). */
  private pending: PendingOp[] = [];
  /** New notes shown here only, until they get some content (then they are created for
   *  everyone) or are dropped (Escape on an empty one). Never cached, never sent. */
  private readonly drafts = new Map<string, Note>();
  private draftVersion = 0;
  private pendingVersion = 0;
  private ackedUnsaved: CachedPendingOp[] = [];
  private madeCounter = 0;
  private retryAttempt = 0;
  private retryUntil = 0;
  private joinAttempt = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private replayTimer: ReturnType<typeof setTimeout> | null = null;
  private awaitingReplayEnd = false;
  private joinTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly caretsBySession = new Map<string, CaretEntry>();
  private caretsVersion = 0;
  private caretsShown: { version: number; pendingVersion: number; confirmed: RoomState; list: readonly RemoteCaret[] } | null = null;
  private readonly textLog = new Map<string, { seq: number; op: TextOp }[]>();
  private ownCaret: { note: string; field: TextField; anchor: number; head: number } | null = null;
  private caretSentAt = 0;
  private caretTimer: ReturnType<typeof setTimeout> | null = null;
  private caretRefreshTimer: ReturnType<typeof setTimeout> | null = null;
  private caretSweepTimer: ReturnType<typeof setInterval> | null = null;

  private readonly history = new UndoHistory();
  /** Off while an undo or redo applies its step (which is not a new step). */
  private recording = true;

  private view: RoomView | null = null;
  private stale = true;
  private composite: {
    confirmed: RoomState;
    pendingVersion: number;
    draftVersion: number;
    state: RoomState;
    withDrafts: RoomState;
  } | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly rejectListeners = new Set<(n: RejectNotice) => void>();
  private readonly textListeners = new Set<(c: TextChange) => void>();
  private readonly activityListeners = new Set<(a: Activity) => void>();
  private notifyQueued = false;
  persistence: RoomPersistence | null = null;

  constructor(
    readonly roomId: string,
    private readonly host: RoomHost,
    /** true when a cached copy is being read: the join waits for it, to know `since`. */
    waitForCache: boolean,
  ) {
    this.cacheReady = !waitForCache;
  }

  // ---- RoomHandle ---------------------------------------------------------------------------

  getView(): RoomView {
    if (this.stale || !this.view) {
      const next = this.buildView();
      // React's useSyncExternalStore re-renders on a new object: keep the old one when nothing
      // in it differs.
      if (!this.view || !sameView(this.view, next)) this.view = next;
      this.stale = false;
    }
    return this.view;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onReject(listener: (notice: RejectNotice) => void): () => void {
    this.rejectListeners.add(listener);
    return () => this.rejectListeners.delete(listener);
  }

  onTextChange(listener: (change: TextChange) => void): () => void {
    this.textListeners.add(listener);
    return () => this.textListeners.delete(listener);
  }

  onActivity(listener: (activity: Activity) => void): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  /** Tells the page about someone else's op, in words. */
  private emitActivity(op: Op, user: string, before: RoomState): void {
    if (this.activityListeners.size === 0 || op.kind === 'rebalance') return;
    const id = op.kind === 'create' ? op.note.id : op.id;
    const note = this.confirmed.notes.get(id) ?? before.notes.get(id);
    const by = this.presence.users.find((u) => u.id === user)?.name ?? 'Someone';
    let kind: Activity['kind'];
    let detail: string | undefined;
    switch (op.kind) {
      case 'create':
        kind = 'added';
        break;
      case 'delete':
        if (!before.notes.has(id)) return;
        kind = 'deleted';
        break;
      case 'move':
        kind = 'moved';
        break;
      case 'text':
        kind = 'edited';
        break;
      case 'update':
        if (op.set.title !== undefined || op.set.body !== undefined) kind = 'edited';
        else {
          kind = 'marked';
          if (op.set.is_completed !== undefined) detail = op.set.is_completed ? 'done' : 'not done';
          else detail = op.set.is_important ? 'important' : 'not important';
        }
        break;
    }
    if (!note) return;
    const activity: Activity = { kind, noteId: id, title: note.title, by };
    if (detail) activity.detail = detail;
    for (const l of [...this.activityListeners]) l(activity);
  }

  editText(id: string, field: TextField, ops: readonly TextComponent[]): boolean {
    const text = fieldText(this.currentState(), id, field);
    if (text === null) return false;
    const parsed = parseTextOp(ops, unlimitedText);
    if (!parsed.ok || parsed.value.baseLength !== codePointLength(text)) return false;
    if (isNoop(parsed.value)) return true;
    // `base` is set again when the op is sent; until then it says which confirmed seq the op
    // is rebased up to (see rebaseField).
    const queued = this.enqueue({ kind: 'text', id, field, base: this.confirmed.seq, ops: parsed.value.ops });
    if (queued && this.recording) this.history.recordText(id, field, parsed.value, text, Date.now());
    return queued;
  }

  setCaret(note: string, field: TextField, anchor: number, head: number): void {
    if (this.closed) return;
    const c = this.ownCaret;
    if (c && c.note === note && c.field === field && c.anchor === anchor && c.head === head) return;
    this.ownCaret = { note, field, anchor, head };
    if (this.caretTimer) return;
    const wait = this.caretSentAt + CARET_MIN_GAP_MS - Date.now();
    if (wait <= 0) this.sendCaret();
    else {
      this.caretTimer = setTimeout(() => {
        this.caretTimer = null;
        this.sendCaret();
      }, wait);
    }
  }

  clearCaret(): void {
    // Leaving a field ends its typing step.
    this.history.seal();
    if (!this.ownCaret) return;
    this.ownCaret = null;
    this.stopCaretTimers();
    if (this.joinState === 'joined') this.host.send({ type: 'cursor', room: this.roomId });
  }

  private sendCaret(): void {
    const c = this.ownCaret;
    if (!c || this.closed || this.joinState !== 'joined') return;
    const sent = this.host.send({
      type: 'cursor',
      room: this.roomId,
      note: c.note,
      field: c.field,
      anchor: c.anchor,
      head: c.head,
      seq: this.confirmed.seq,
    });
    if (sent) this.caretSentAt = Date.now();
    if (this.caretRefreshTimer) clearTimeout(this.caretRefreshTimer);
    this.caretRefreshTimer = setTimeout(() => {
      this.caretRefreshTimer = null;
      this.sendCaret();
    }, CARET_REFRESH_MS);
  }

  private stopCaretTimers(): void {
    if (this.caretTimer) clearTimeout(this.caretTimer);
    if (this.caretRefreshTimer) clearTimeout(this.caretRefreshTimer);
    this.caretTimer = null;
    this.caretRefreshTimer = null;
  }

  private handleCaret(frame: Extract<ServerFrame, { type: 'cursor' }>): void {
    if (this.joinState !== 'joined') return;
    if (frame.note === undefined || frame.field === undefined) {
      if (this.caretsBySession.delete(frame.session)) this.caretsChanged();
      return;
    }
    const entry: CaretEntry = {
      session: frame.session,
      user: frame.user,
      note: frame.note,
      field: frame.field,
      anchor: frame.anchor ?? 0,
      head: frame.head ?? 0,
      seq: frame.seq ?? 0,
      seen: Date.now(),
    };
    // Sent at an older seq: moved through the text ops applied here since.
    for (const e of this.textLog.get(fieldKey(entry.note, entry.field)) ?? []) {
      if (e.seq > entry.seq) moveCaret(entry, e.op, e.seq);
    }
    this.caretsBySession.set(entry.session, entry);
    this.caretSweepTimer ??= setInterval(() => this.sweepCarets(), CARET_SWEEP_MS);
    this.caretsChanged();
  }

  private sweepCarets(): void {
    const now = Date.now();
    let dropped = false;
    for (const [session, c] of this.caretsBySession) {
      if (now - c.seen > CARET_TTL_MS) {
        this.caretsBySession.delete(session);
        dropped = true;
      }
    }
    if (this.caretsBySession.size === 0 && this.caretSweepTimer) {
      clearInterval(this.caretSweepTimer);
      this.caretSweepTimer = null;
    }
    if (dropped) this.caretsChanged();
  }

  private caretsChanged(): void {
    this.caretsVersion++;
    this.changed();
  }

  /** A confirmed change of a field's text: logged, and the carets in it moved along. */
  private confirmedTextChange(id: string, field: TextField, op: TextOp, seq: number): void {
    const key = fieldKey(id, field);
    const log = this.textLog.get(key) ?? [];
    log.push({ seq, op });
    if (log.length > TEXT_LOG_LENGTH) log.shift();
    this.textLog.set(key, log);
    let moved = false;
    for (const c of this.caretsBySession.values()) {
      if (c.note === id && c.field === field && c.seq < seq) {
        moveCaret(c, op, seq);
        moved = true;
      }
    }
    if (moved) this.caretsVersion++;
  }

  /** Others' carets in the view's coordinates: moved through the local edits not yet sent. */
  private shownCarets(state: RoomState): readonly RemoteCaret[] {
    const cached = this.caretsShown;
    if (
      cached &&
      cached.version === this.caretsVersion &&
      cached.pendingVersion === this.pendingVersion &&
      cached.confirmed === this.confirmed
    ) {
      return cached.list;
    }
    const list: RemoteCaret[] = [];
    for (const c of this.caretsBySession.values()) {
      const text = fieldText(state, c.note, c.field);
      if (text === null) continue;
      let { anchor, head } = c;
      for (const p of this.pending) {
        const effect = effectOn(p.op, c.note, c.field);
        if (effect !== 'text') continue;
        const t = textOpOf(p.op);
        if (!t) continue;
        anchor = transformIndex(t, anchor, false);
        head = transformIndex(t, head, false);
      }
      const length = codePointLength(text) ?? 0;
      list.push({
        session: c.session,
        user: c.user,
        note: c.note,
        field: c.field,
        anchor: Math.min(anchor, length),
        head: Math.min(head, length),
      });
    }
    list.sort((a, b) => (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
    const frozen = Object.freeze(list);
    this.caretsShown = { version: this.caretsVersion, pendingVersion: this.pendingVersion, confirmed: this.confirmed, list: frozen };
    return frozen;
  }

  createNote(fields: Partial<NoteFields> = {}, currentIndex?: number, options: { draft?: boolean } = {}): string {
    const id = randomId();
    let index = currentIndex;
    if (index === undefined) {
      const notes = this.getView().notes;
      const next = between(notes[notes.length - 1]?.current_index, undefined);
      if (next === null) {
        // The end of the number line (indexes near MAX_VALUE): renumber first, then append.
        const spread = spreadIndexes(notes.length + 1);
        const indexes = indexMap();
        notes.forEach((n, i) => (indexes[n.id] = spread[i] as number));
        this.enqueueRebalance(indexes);
        index = spread[notes.length] as number;
      } else {
        index = next;
      }
    }
    const note = {
      id,
      title: fields.title ?? '',
      body: fields.body ?? '',
      is_important: fields.is_important ?? false,
      is_completed: fields.is_completed ?? false,
      current_index: index,
    };
    if (options.draft && !hasContent(note)) {
      if (this.closed || this.info?.role === 'viewer' || this.joinState === 'failed') return id;
      this.drafts.set(id, { ...note, seq: 0, updated_at: new Date().toISOString() });
      this.draftVersion++;
      this.changed();
      return id;
    }
    this.enqueue({ kind: 'create', note });
    return id;
  }

  /** Whether `id` is a new note nobody else sees yet (see createNote's `draft`). */
  isDraft(id: string): boolean {
    return this.drafts.has(id);
  }

  /** Drops a draft that is still empty (Escape in a new note); false when there is none. */
  discardDraft(id: string): boolean {
    const draft = this.drafts.get(id);
    if (!draft || hasContent(draft)) return false;
    this.drafts.delete(id);
    this.draftVersion++;
    this.changed();
    return true;
  }

  /** An op on a draft changes the draft; once it has content, it is created for everyone. */
  private applyToDraft(op: Op): boolean {
    const id = op.kind === 'create' ? op.note.id : op.kind === 'rebalance' ? null : op.id;
    const draft = id === null ? undefined : this.drafts.get(id);
    if (!draft || id === null) return false;
    const next: Note = { ...draft };
    switch (op.kind) {
      case 'text': {
        const parsed = parseTextOp(op.ops, unlimitedText);
        const text = parsed.ok ? applyTextOp(parsed.value, next[op.field]) : null;
        if (!text || !text.ok) return true; // does not span: a no-op, as on the server
        next[op.field] = text.value;
        break;
      }
      case 'update':
        Object.assign(next, op.set);
        break;
      case 'move':
        next.current_index = op.current_index;
        break;
      case 'delete':
        this.drafts.delete(id);
        this.draftVersion++;
        this.changed();
        return true;
      default:
        return false;
    }
    if (!hasContent(next)) {
      this.drafts.set(id, next);
      this.draftVersion++;
      this.changed();
      return true;
    }
    this.drafts.delete(id);
    this.draftVersion++;
    const { seq: _seq, updated_at: _at, ...fields } = next;
    return this.enqueue({ kind: 'create', note: fields });
  }

  updateNote(id: string, set: NoteUpdate): void {
    const clean: NoteUpdate = {};
    if (set.title !== undefined) clean.title = set.title;
    if (set.body !== undefined) clean.body = set.body;
    if (set.is_important !== undefined) clean.is_important = set.is_important;
    if (set.is_completed !== undefined) clean.is_completed = set.is_completed;
    if (Object.keys(clean).length === 0) return;
    const before = this.currentState().notes.get(id);
    if (!this.enqueue({ kind: 'update', id, set: clean }) || !before || !this.recording) return;
    const flags: { is_important?: boolean; is_completed?: boolean } = {};
    if (clean.is_important !== undefined && clean.is_important !== before.is_important) flags.is_important = before.is_important;
    if (clean.is_completed !== undefined && clean.is_completed !== before.is_completed) flags.is_completed = before.is_completed;
    if (Object.keys(flags).length > 0) this.history.record({ kind: 'flags', note: id, set: flags });
  }

  moveNote(id: string, toIndex: number): void {
    const notes = this.getView().notes;
    const from = notes.findIndex((n) => n.id === id);
    const plan = indexForMove(notes, id, toIndex);
    if (!plan) return;
    if (this.recording && from >= 0 && from !== toIndex) this.history.record({ kind: 'move', note: id, to: from });
    if (plan.kind === 'move') this.enqueue({ kind: 'move', id, current_index: plan.current_index });
    else this.enqueueRebalance(plan.indexes);
  }

  /** A large rebalance goes out in several ops: one frame must stay under the server's 64 KiB
   *  limit. Applied in order, the parts reach the same state as one op would. */
  private enqueueRebalance(indexes: Record<string, number>): void {
    const ids = Object.keys(indexes);
    for (let i = 0; i < ids.length; i += REBALANCE_CHUNK) {
      const part = indexMap();
      for (const id of ids.slice(i, i + REBALANCE_CHUNK)) part[id] = indexes[id] as number;
      this.enqueue({ kind: 'rebalance', indexes: part });
    }
  }

  deleteNote(id: string): void {
    const note = this.currentState().notes.get(id);
    if (this.enqueue({ kind: 'delete', id }) && note && this.recording) {
      this.history.record({ kind: 'restore', note: { ...note } });
    }
  }

  get canUndo(): boolean {
    return this.history.undo.length > 0;
  }

  get canRedo(): boolean {
    return this.history.redo.length > 0;
  }

  undo(): boolean {
    return this.stepHistory(this.history.undo, this.history.redo);
  }

  redo(): boolean {
    return this.stepHistory(this.history.redo, this.history.undo);
  }

  /** Applies the latest step that still changes something; its opposite goes on `to`. */
  private stepHistory(from: UndoStep[], to: UndoStep[]): boolean {
    if (this.closed || this.info?.role === 'viewer') return false;
    while (from.length > 0) {
      const step = from.pop() as UndoStep;
      this.recording = false;
      let back: UndoStep | null;
      try {
        back = this.applyStep(step);
      } finally {
        this.recording = true;
      }
      if (back) {
        this.history.push(to, back);
        return true;
      }
    }
    return false;
  }

  private applyStep(step: UndoStep): UndoStep | null {
    const state = this.currentState();
    switch (step.kind) {
      case 'text': {
        const text = fieldText(state, step.note, step.field);
        if (text === null || isNoop(step.op) || step.op.baseLength !== codePointLength(text)) return null;
        const inverse = invertTextOp(step.op, text);
        if (!inverse.ok) return null;
        if (!this.enqueue({ kind: 'text', id: step.note, field: step.field, base: this.confirmed.seq, ops: step.op.ops })) return null;
        // The other steps of the field move over it; the field is told, as for others' edits.
        this.history.transform(step.note, step.field, step.op);
        this.emitTextChange(state, step.note, step.field, step.op, false);
        const at = transformIndex(step.op, step.start, true);
        return { kind: 'text', note: step.note, field: step.field, op: inverse.value, start: at, end: at, at: -Infinity };
      }
      case 'flags': {
        const note = state.notes.get(step.note);
        if (!note) return null;
        const back: { is_important?: boolean; is_completed?: boolean } = {};
        if (step.set.is_important !== undefined) back.is_important = note.is_important;
        if (step.set.is_completed !== undefined) back.is_completed = note.is_completed;
        this.updateNote(step.note, step.set);
        return { kind: 'flags', note: step.note, set: back };
      }
      case 'move': {
        const notes = this.getView().notes;
        const from = notes.findIndex((n) => n.id === step.note);
        if (from < 0) return null;
        const to = Math.min(step.to, notes.length - 1);
        this.moveNote(step.note, to);
        return { kind: 'move', note: step.note, to: from };
      }
      case 'restore': {
        if (state.notes.has(step.note.id)) return null;
        this.restoreNote(step.note);
        return { kind: 'delete', note: step.note.id };
      }
      case 'delete': {
        const note = state.notes.get(step.note);
        if (!note) return null;
        this.deleteNote(step.note);
        return { kind: 'restore', note: { ...note } };
      }
    }
  }

  restoreNote(note: Note): void {
    // The note was deleted, so a create with its old id applies again (create on an existing
    // id would be a no-op, which is also the right outcome if someone else restored it first).
    this.enqueue({
      kind: 'create',
      note: {
        id: note.id,
        title: note.title,
        body: note.body,
        is_important: note.is_important,
        is_completed: note.is_completed,
        current_index: note.current_index,
      },
    });
  }

  fieldSize(id: string, field: 'title' | 'body', value: string): FieldSize {
    const limits = this.host.limits();
    const bytes = utf8Length(value);
    let limit = field === 'title' ? limits.maxTitleBytes : limits.maxBodyBytes;
    // JSON escapes (a newline is two bytes, a control character six) can push a text within the
    // field's limit past the frame limit: then the most that fits is what can be sent.
    const excess = this.frameBytes({ kind: 'update', id, set: { [field]: value } }) - limits.maxFrameBytes;
    if (excess > 0) limit = Math.min(limit, bytes - excess);
    return { bytes, limit };
  }

  get infoVersion(): number {
    return this.infoVersionValue;
  }

  mergeInfo(patch: Partial<RoomInfo>, version?: number): void {
    if (this.closed || !this.info) return;
    if (version !== undefined && version !== this.infoVersionValue) return;
    // An HTTP answer is not checked by the codec: only values the protocol knows are taken (a
    // visitor's `role` may be null, which must not turn a viewer's page into an editor's).
    const next: RoomInfo = { ...this.info };
    if (typeof patch.name === 'string') next.name = patch.name;
    if (patch.visibility === 'private' || patch.visibility === 'link' || patch.visibility === 'public') {
      next.visibility = patch.visibility;
    }
    if (patch.role === 'owner' || patch.role === 'editor' || patch.role === 'viewer') next.role = patch.role;
    if (patch.public_role === 'viewer' || patch.public_role === 'editor') next.public_role = patch.public_role;
    if (typeof patch.owner_id === 'string') next.owner_id = patch.owner_id;
    if (JSON.stringify(next) === JSON.stringify(this.info)) return;
    this.info = next;
    this.persistence?.stateChanged();
    this.changed();
  }

  forget(): void {
    if (this.closed) return;
    this.persistence?.forget();
    this.dropPending();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.joinState === 'joining' || this.joinState === 'joined') {
      this.host.send({ type: 'leave', room: this.roomId });
    }
    this.clearTimers();
    this.persistence?.flush();
    this.host.roomClosed(this);
  }

  // ---- Driven by the client -----------------------------------------------------------------

  get isClosed(): boolean {
    return this.closed;
  }

  /** Local ops not yet acknowledged (sent or not). */
  get unsentCount(): number {
    return this.pending.length;
  }

  /** The cached copy was read (or there was none to wait for): the queue holds its ops. */
  get cacheRead(): boolean {
    return this.cacheReady;
  }

  get name(): string | null {
    return this.info?.name ?? null;
  }

  /** Nothing left to send: joined with an empty queue, or the join failed for good. */
  get settled(): boolean {
    if (this.joinState === 'failed') return true;
    return this.joinState === 'joined' && this.pending.length === 0 && !this.awaitingReplayEnd;
  }

  /** True while something is unconfirmed: a join unanswered or local ops unacknowledged. */
  get busy(): boolean {
    if (this.joinState === 'failed') return false;
    return this.joinState !== 'joined' || this.pending.length > 0;
  }

  /** The cached copy was read (or there is none): show it and join with its seq. */
  loadCached(cached: CachedRoom | null): void {
    if (this.closed) return;
    if (cached && !this.loaded) {
      const notes: Note[] = [];
      let usable = true;
      for (const raw of cached.notes) {
        const n = parseNote(raw);
        if (!n.ok) {
          usable = false;
          break;
        }
        notes.push(n.value);
      }
      if (usable && (cached.info !== null || cached.seq > 0)) {
        this.confirmed = createRoomState(cached.seq, notes);
        this.info = cached.info;
        this.loaded = true;
        this.fromCache = true;
      }
      // Edits made offline before the reload go first: they were made first.
      const now = new Date().toISOString();
      const restored: PendingOp[] = [];
      for (const p of cached.pending) {
        if (parseOp(p.op).ok) restored.push({ cid: p.cid, op: p.op, sent: false, at: now, made: 0, everSent: true });
      }
      if (restored.length > 0) {
        this.pending = [...restored, ...this.pending];
        this.pending.forEach((p, i) => (p.made = i));
        this.madeCounter = this.pending.length;
        this.pendingVersion++;
      }
    }
    this.cacheReady = true;
    this.changed();
    if (this.host.connected()) this.join();
  }

  /** The confirmed replica and the queue, for tests that check view = confirmed + pending. */
  inspect(): { confirmed: RoomState; pending: readonly Readonly<PendingOp>[] } {
    return { confirmed: this.confirmed, pending: this.pending.map((p) => ({ ...p })) };
  }

  /**
   * What the cache stores for this room, written together in one transaction. The queue is
   * written more often than the state (at once, for an offline edit), so acknowledged ops stay in
   * the cached queue until a state holding them is written: a reload between the two writes
   * then sends them again (the resume's replay acknowledges them) instead of losing them.
   */
  cacheSnapshot(): { state: CachedRoomState; pending: CachedPendingOp[]; acked: number } {
    return {
      state: { seq: this.confirmed.seq, notes: [...this.confirmed.notes.values()], info: this.info },
      pending: this.pending.map((p) => ({ cid: p.cid, op: p.op })),
      acked: this.ackedUnsaved.length,
    };
  }

  /** The first `acked` acknowledged ops are now in the cached state. */
  stateSaved(acked: number): void {
    this.ackedUnsaved.splice(0, acked);
  }

  /** The queue alone, for the prompt write after a local edit. */
  cachePending(): CachedPendingOp[] {
    return [...this.ackedUnsaved, ...this.pending.map((p) => ({ cid: p.cid, op: p.op }))];
  }

  onConnected(): void {
    if (this.closed) return;
    this.joinAttempt = 0;
    this.join();
    this.changed();
  }

  onDisconnected(): void {
    if (this.closed) return;
    if (this.joinState !== 'failed') this.joinState = 'idle';
    if (this.joinTimer) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    if (this.replayTimer) clearTimeout(this.replayTimer);
    this.replayTimer = null;
    this.awaitingReplayEnd = false;
    // Whatever was sent may or may not have been numbered: it is in doubt until the re-join.
    for (const p of this.pending) p.sent = false;
    // The server sends the carets it knows again after the join.
    if (this.caretsBySession.size > 0) {
      this.caretsBySession.clear();
      this.caretsVersion++;
    }
    this.stopCaretTimers();
    this.changed();
  }

  handleFrame(frame: ServerFrame): void {
    if (this.closed) return;
    switch (frame.type) {
      case 'snapshot':
        if (this.joinState !== 'joining') return;
        {
          const before = this.confirmed;
          const viewBefore = this.currentState();
          this.confirmed = createRoomState(frame.seq, frame.notes);
          this.textLog.clear();
          this.rebaseOntoSnapshot(before, viewBefore, frame.in_doubt ?? null);
        }
        this.info = frame.room_info;
        this.infoVersionValue++;
        this.loaded = true;
        this.fromCache = false;
        this.persistence?.stateChanged();
        this.joined(false);
        return;
      case 'resume':
        if (this.joinState !== 'joining') return;
        if (frame.since !== this.confirmed.seq) {
          // Not the seq we asked for (cannot happen with a conforming server): start over.
          this.join(true);
          return;
        }
        this.loaded = true;
        this.fromCache = false;
        this.joined(true);
        return;
      case 'op':
        this.handleOp(frame);
        return;
      case 'reject':
        this.handleReject(frame);
        return;
      case 'error':
        this.handleJoinError(frame.code, frame.message ?? '');
        return;
      case 'role':
        this.handleRole(frame.role);
        return;
      case 'cursor':
        this.handleCaret(frame);
        return;
      case 'presence':
        // The end of a join's answer: the resume replay, if any, is complete.
        if (this.joinState === 'joined') this.replayEnded();
        this.presence = {
          active_user_count: frame.active_user_count,
          users: frame.users,
        };
        this.changed();
        return;
      default:
        return;
    }
  }

  /** Called when the connection's state changed (the view's status depends on it). */
  statusChanged(): void {
    this.changed();
  }

  // ---- Join ---------------------------------------------------------------------------------

  private join(fresh = false): void {
    if (this.closed || !this.cacheReady || this.joinState === 'failed') return;
    const frame: ClientFrame = { type: 'join', room: this.roomId };
    if (this.loaded && !fresh) frame.since = this.confirmed.seq;
    // Text ops sent before the last socket died are in doubt, and resending one that was
    // numbered would insert its text twice: the server says which were numbered when it
    // answers with a snapshot (a resume's replay tells by their echoes).
    const inDoubt = this.pending.filter((p) => p.everSent && p.op.kind === 'text').map((p) => p.cid);
    if (inDoubt.length > 0) frame.in_doubt = inDoubt.slice(0, MAX_IN_DOUBT);
    if (this.host.send(frame)) this.joinState = 'joining';
    this.changed();
  }

  private joined(replay: boolean): void {
    this.joinState = 'joined';
    this.joinAttempt = 0;
    this.joinError = null;
    // Ops sent before this join are in doubt: the server may have numbered them (their echoes
    // were lost with the old socket or ignored while joining) or not (the socket died first).
    //
    // After a `resume`, the replay that follows it carries the echoes of those that were
    // numbered, and the server ends the join's answer with a `presence` frame (docs/protocol.md).
    // So sending waits for that frame: the replay acknowledges the numbered ones by cid, and only
    // the others are sent again. (A server that sends no presence is waited for at most
    // REPLAY_WAIT_MS.)
    //
    // After a `snapshot` there are no cids to match: every op in doubt is sent again. That is
    // safe because ops are idempotent under the apply rules: a create on an existing id is a
    // no-op, an update/move/rebalance sets the same values again, a delete of a missing id is a
    // no-op. An op acknowledged twice (original and copy) leaves the queue at the first echo;
    // the second is applied like any remote op. The one cost: a copy re-applies a value that
    // someone else overwrote in between.
    for (const p of this.pending) p.sent = false;
    if (replay && this.pending.length > 0) {
      this.awaitingReplayEnd = true;
      this.replayTimer = setTimeout(() => this.replayEnded(), REPLAY_WAIT_MS);
    }
    this.changed();
    this.flush();
    this.sendCaret();
  }

  private replayEnded(): void {
    if (this.replayTimer) clearTimeout(this.replayTimer);
    this.replayTimer = null;
    if (!this.awaitingReplayEnd) return;
    this.awaitingReplayEnd = false;
    this.flush();
  }

  private handleJoinError(code: string, message: string): void {
    if (code === 'forbidden' || code === 'not_found') {
      // Refused for good. A room that was open here (joined, or shown from this device's copy)
      // was lost: the user was removed, it stopped being public, or it was deleted. Either way
      // its copy on this device goes, and so do the changes that can no longer be sent.
      const lost = this.joinState === 'joined' || this.loaded;
      this.joinState = 'failed';
      if (lost) {
        this.accessLost = { code, message };
        this.confirmed = emptyRoomState;
        this.dropPending();
      } else {
        this.joinError = { code, message };
      }
      this.clearTimers();
      this.awaitingReplayEnd = false;
      this.persistence?.forget();
      this.changed();
      return;
    }
    if (code === 'unavailable' && this.joinState === 'joining') {
      // Storage could not be read: ask again later.
      this.joinState = 'idle';
      const delay = 500 + backoffDelay(this.joinAttempt++, () => this.host.random(), 500);
      this.joinTimer = setTimeout(() => {
        this.joinTimer = null;
        if (this.host.connected() && this.joinState === 'idle') this.join();
      }, delay);
      this.changed();
    }
  }

  private handleRole(role: RoomInfo['role']): void {
    // Before a snapshot there is no info to change; the snapshot carries the role.
    if (!this.info || this.joinState === 'failed') return;
    this.infoVersionValue++;
    if (this.info.role === role) return;
    this.info = { ...this.info, role };
    this.persistence?.stateChanged();
    this.changed();
  }

  private dropPending(): void {
    if (this.pending.length === 0 && this.ackedUnsaved.length === 0) return;
    this.pending = [];
    this.ackedUnsaved = [];
    this.pendingVersion++;
  }

  // ---- Ops from the server ------------------------------------------------------------------

  private handleOp(frame: Extract<ServerFrame, { type: 'op' }>): void {
    // Until the join is answered the stream is the old one, possibly with a gap; the snapshot
    // or the resume's replay brings every op again.
    if (this.joinState !== 'joined') return;
    const seq = this.confirmed.seq;
    if (frame.seq <= seq) return; // a duplicate
    if (frame.seq > seq + 1) {
      this.join();
      return;
    }
    const before = this.confirmed;
    const viewBefore = this.currentState();
    this.confirmed = applyOps(this.confirmed, [{ seq: frame.seq, at: frame.at, op: frame.op }]);
    const mine = frame.cid === '' ? -1 : this.pending.findIndex((p) => p.cid === frame.cid);
    for (const [id, field] of textFieldsOf(frame.op)) {
      const change = frame.op.kind === 'text' ? textOpOf(frame.op) : this.replacement(before, id, field);
      if (change) this.confirmedTextChange(id, field, change, frame.seq);
    }
    if (mine >= 0) {
      // Our own op, acknowledged: it moves from the queue into the confirmed state, so the
      // view (confirmed + pending) shows the same values as before the echo. (A text op was
      // rebased here over every op numbered before it, as the server rebased it: the echo is
      // the same edit.)
      const [acked] = this.pending.splice(mine, 1);
      this.pendingVersion++;
      this.retryAttempt = 0;
      // Until the confirmed state is written, the cached queue keeps it (see cacheSnapshot).
      if (acked) this.ackedUnsaved.push({ cid: acked.cid, op: acked.op });
    } else {
      this.emitActivity(frame.op, frame.user, before);
      // Someone else's op: the local text ops of the fields it changed are rebased over it.
      for (const [id, field] of textFieldsOf(frame.op)) {
        const numbered =
          frame.op.kind === 'text' ? textOpOf(frame.op) : this.replacement(before, id, field);
        if (!numbered) continue;
        const shown = this.rebaseField(id, field, numbered, frame.seq);
        if (viewBefore) this.emitTextChange(viewBefore, id, field, shown);
      }
    }
    this.persistence?.stateChanged();
    this.changed();
    // An acknowledgement lets the field's next text op go.
    if (mine >= 0 && this.pending.some((p) => !p.sent)) this.flush();
  }

  /** A field set whole by an update (or a create/delete) as a text op from its old text to
   *  its new one, so the local edits still waiting can be rebased over it. */
  private replacement(before: RoomState, id: string, field: TextField): TextOp | null {
    const old = fieldText(before, id, field);
    const now = fieldText(this.confirmed, id, field);
    if (old === null || now === null || old === now) return null;
    return diffTexts(old, now);
  }

  /**
   * Rebases the queued text ops of one field over `numbered`, a change of the confirmed text
   * numbered `seq`. Returns the change as the view sees it (after the local edits), or null
   * when the view's text of the field did not change by it (a local replace hides it).
   */
  private rebaseField(id: string, field: TextField, numbered: TextOp, seq: number): TextOp | null {
    let other: TextOp | null = numbered;
    let touched = false;
    for (const p of this.pending) {
      const effect = effectOn(p.op, id, field);
      if (effect === null) continue;
      if (effect === 'replace') {
        other = null;
        break;
      }
      // A queue cached after being rebased, with a state cached before: the resume's replay
      // brings ops this one is already rebased over.
      if (p.op.kind !== 'text' || p.op.base >= seq) continue;
      const t = textOpOf(p.op);
      const r: ReturnType<typeof transformTextOps> | null = t && other ? transformTextOps(t, other, false) : null;
      if (!r || !r.ok) {
        other = null;
        break;
      }
      p.op = { ...p.op, base: seq, ops: r.value[0].ops };
      other = r.value[1];
      touched = true;
    }
    if (touched) {
      this.pendingVersion++;
      this.persistence?.pendingChanged();
    }
    return other;
  }

  /** The view's text of a field changed by something other than this page's own edit: undo
   *  steps are rebased over it (unless `history` is false) and listeners told. */
  private emitTextChange(viewBefore: RoomState, id: string, field: TextField, op: TextOp | null, history = true): void {
    const before = fieldText(viewBefore, id, field);
    const after = fieldText(this.currentState(), id, field);
    if (before === null || after === null || before === after) return;
    // Without an exact op (a local edit hid part of it), the smallest change stands in.
    const change: TextChange = { id, field, before, after, op: op ?? diffTexts(before, after) };
    if (history) this.history.transform(id, field, change.op);
    for (const l of [...this.textListeners]) l(change);
  }

  private handleReject(frame: Extract<ServerFrame, { type: 'reject' }>): void {
    const i = this.pending.findIndex((p) => p.cid === frame.cid);
    if (i < 0) return; // a copy of an op already acknowledged
    const p = this.pending[i] as PendingOp;
    this.pending.splice(i, 1);
    if (RETRYABLE.has(frame.code)) {
      // Ops sent after it may still be numbered first, so it goes after every op still in
      // flight: the queue stays in the order the server will see.
      // Among the unsent ones it keeps the order the user made them in: rejects of one burst
      // arrive oldest first, and each lands behind the ones rejected before it.
      p.sent = false;
      let at = this.pending.findIndex((q) => !q.sent && q.made > p.made);
      if (at < 0) at = this.pending.length;
      this.pending.splice(at, 0, p);
      // The rejects of one burst (every op in flight when the limit hit) count as one step.
      if (Date.now() >= this.retryUntil) {
        this.retryUntil =
          Date.now() + 250 + backoffDelay(this.retryAttempt++, () => this.host.random(), 500);
      }
      this.pendingVersion++;
      this.changed();
      this.scheduleFlush(this.retryUntil - Date.now());
      return;
    }
    if (p.op.kind === 'text') this.rollBackText(p, i);
    this.pendingVersion++;
    this.persistence?.pendingChanged();
    this.changed();
    // `duplicate`: a text op sent again that the server had numbered, which the confirmed
    // state already holds; its copy in the view goes, and there is nothing to tell the user.
    if (frame.code !== 'duplicate') {
      this.emitReject({ roomId: this.roomId, cid: frame.cid, code: frame.code, message: frame.message });
    }
    // An op of the same field may have waited for this one.
    this.flush();
  }

  /**
   * A refused text op, already out of the queue at `at`: the later edits of its field were made
   * on top of it, so they are rebased over its inverse (what it inserted goes, what it removed
   * comes back), and the view is told.
   */
  private rollBackText(p: PendingOp, at: number): void {
    if (p.op.kind !== 'text') return;
    const { id, field } = p.op;
    const t = textOpOf(p.op);
    const viewBefore = this.currentStateWith([...this.pending.slice(0, at), p, ...this.pending.slice(at)]);
    const baseText = fieldText(composeState(this.confirmed, this.pending.slice(0, at), null), id, field);
    if (!t || baseText === null) return;
    const inverse = invertTextOp(t, baseText);
    if (!inverse.ok) return;
    let other: TextOp | null = inverse.value;
    for (const q of this.pending.slice(at)) {
      const effect = effectOn(q.op, id, field);
      if (effect === null) continue;
      if (effect === 'replace' || q.op.kind !== 'text') {
        other = null;
        break;
      }
      const qt = textOpOf(q.op);
      const r: ReturnType<typeof transformTextOps> | null = qt && other ? transformTextOps(qt, other, false) : null;
      if (!r || !r.ok) {
        other = null;
        break;
      }
      q.op = { ...q.op, ops: r.value[0].ops };
      other = r.value[1];
    }
    this.pendingVersion++;
    if (viewBefore) this.emitTextChange(viewBefore, id, field, other);
  }

  private currentStateWith(pending: readonly PendingOp[]): RoomState {
    return composeState(this.confirmed, pending, null);
  }

  /**
   * After a snapshot the queued text ops are rebased onto the snapshot's text. Whether the one
   * in doubt (sent before the socket died) was numbered is not known; it is taken as numbered
   * when the snapshot's text is closer to the text with it than without it. Either way every
   * local character not known to be in the snapshot stays queued, and every character of the
   * snapshot stays.
   */
  private rebaseOntoSnapshot(
    before: RoomState,
    viewBefore: RoomState | null,
    doubts: { numbered: Record<string, number>; checked_from: number } | null,
  ): void {
    const fields = new Map<string, [string, TextField]>();
    for (const p of this.pending) {
      if (p.op.kind === 'text') fields.set(fieldKey(p.op.id, p.op.field), [p.op.id, p.op.field]);
    }
    for (const [id, field] of fields.values()) {
      const old = fieldText(before, id, field);
      const now = fieldText(this.confirmed, id, field);
      if (old === null || now === null) continue;
      const run: PendingOp[] = [];
      for (const p of this.pending) {
        const effect = effectOn(p.op, id, field);
        if (effect === null) continue;
        if (effect === 'replace' || p.op.kind !== 'text') break;
        run.push(p);
      }
      const first = run[0];
      let from = old;
      const firstOp = first ? textOpOf(first.op) : null;
      if (first && first.everSent && firstOp) {
        const withFirst = applyTextOpOrNull(firstOp, old);
        // The server's answer when it covers every op after the state the op was made on;
        // else the guess: numbered when the snapshot's text is nearer the text with it.
        const known =
          doubts && (first.cid in doubts.numbered || doubts.checked_from <= before.seq + 1)
            ? first.cid in doubts.numbered
            : null;
        const numbered =
          known ??
          (withFirst !== null &&
            changeSize(diffTexts(withFirst, now)) < changeSize(diffTexts(old, now)));
        if (withFirst !== null && numbered) {
          // Numbered before the snapshot: acknowledged by it.
          this.pending.splice(this.pending.indexOf(first), 1);
          this.ackedUnsaved.push({ cid: first.cid, op: first.op });
          run.shift();
          from = withFirst;
        }
      }
      if (from === now) continue;
      const ops = run.map((p) => textOpOf(p.op));
      if (ops.some((t) => t === null)) continue;
      const rebased = rebaseOver(ops as TextOp[], diffTexts(from, now));
      if (!rebased) continue;
      run.forEach((p, k) => {
        if (p.op.kind === 'text') p.op = { ...p.op, base: this.confirmed.seq, ops: (rebased.local[k] as TextOp).ops };
      });
    }
    this.pendingVersion++;
    if (viewBefore) {
      for (const [id, field] of fields.values()) this.emitTextChange(viewBefore, id, field, null);
    }
  }

  // ---- Local ops ----------------------------------------------------------------------------

  /** Queues a local op; false when it was refused at once (nothing changed). */
  private enqueue(op: Op): boolean {
    if (this.closed) return false;
    if (this.drafts.size > 0 && this.applyToDraft(op)) return true;
    if (this.joinState === 'failed') {
      this.emitReject({ roomId: this.roomId, cid: '', code: this.accessLost?.code ?? 'forbidden', message: 'the room is no longer available' });
      return false;
    }
    if (this.info?.role === 'viewer') {
      // The server would refuse it (`forbidden`); a viewer's page offers no way to edit, so
      // this is an edit that raced a demotion.
      this.emitReject({ roomId: this.roomId, cid: '', code: 'forbidden', message: 'viewers cannot change this room' });
      return false;
    }
    const checked = parseOp(opToJson(op), this.host.limits());
    if (!checked.ok) {
      // The server would reject it the same way; say so now and change nothing.
      this.emitReject({ roomId: this.roomId, cid: '', code: checked.code, message: checked.message });
      return false;
    }
    const canon = checked.value;
    if (!this.fitsInFrame(canon)) {
      // A bigger frame would make the server close the socket (1009), and the op would be sent
      // again after every reconnect: refuse it here instead.
      this.emitReject({
        roomId: this.roomId,
        cid: '',
        code: 'too_large',
        message: `the change does not fit in one ${this.host.limits().maxFrameBytes}-byte message`,
      });
      return false;
    }
    const last = this.pending[this.pending.length - 1];
    const merged =
      last &&
      !last.everSent &&
      last.op.kind === 'update' &&
      canon.kind === 'update' &&
      last.op.id === canon.id
        ? ({ kind: 'update', id: canon.id, set: { ...last.op.set, ...canon.set } } as const)
        : null;
    const buffered = canon.kind === 'text' ? this.composeText(canon) : false;
    if (buffered) {
      // The classic OT client's buffer: edits made while one is in flight become one op.
    } else if (last && merged && this.fitsInFrame(merged)) {
      // Typing offline or while throttled: one update per note instead of one per keystroke.
      // Only into an op never sent: one in doubt may be acknowledged as it was sent.
      last.op = merged;
    } else {
      this.pending.push({
        cid: this.host.nextCid(),
        op: canon,
        sent: false,
        made: this.madeCounter++,
        everSent: false,
        at: new Date().toISOString(),
      });
    }
    this.pendingVersion++;
    this.persistence?.pendingChanged();
    this.changed();
    this.flush();
    return true;
  }

  /** Composes a text op into the field's latest queued one when that was never sent and
   *  nothing queued since replaces the field; true when it did. */
  private composeText(op: Extract<Op, { kind: 'text' }>): boolean {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i] as PendingOp;
      const effect = effectOn(p.op, op.id, op.field);
      if (effect === null) continue;
      if (effect === 'replace' || p.op.kind !== 'text' || p.everSent) return false;
      const a = textOpOf(p.op);
      const b = textOpOf(op);
      const c = a && b ? composeTextOps(a, b) : null;
      if (!c || !c.ok) return false;
      const next: Op = { ...p.op, ops: c.value.ops };
      if (!this.fitsInFrame(next) || c.value.ops.length > this.host.limits().maxTextOpComponents) return false;
      p.op = next;
      p.at = new Date().toISOString();
      return true;
    }
    return false;
  }

  private fitsInFrame(op: Op): boolean {
    return this.frameBytes(op) <= this.host.limits().maxFrameBytes;
  }

  private frameBytes(op: Op): number {
    // The longest cid this client makes is well under 64 characters.
    const frame = { type: 'op', room: this.roomId, cid: 'x'.repeat(64), op };
    return utf8Length(JSON.stringify(frame));
  }

  private flush(): void {
    if (this.closed || this.joinState !== 'joined' || !this.host.connected()) return;
    if (this.awaitingReplayEnd) return;
    const wait = this.retryUntil - Date.now();
    if (wait > 0) {
      this.scheduleFlush(wait);
      return;
    }
    // One op per note field in flight (the classic OT client): an op that changes a field's
    // text waits while an earlier op of the queue bears on that field, since it was made on top
    // of that one and a text op's `base` must be a seq the server numbered it after. Ops of a note with a waiting op wait
    // too, so each note's ops reach the server in the order they were made.
    const waiting = new Set<string>();
    let reordered = false;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i] as PendingOp;
      if (p.sent) continue;
      const ids = touchedIds(p.op);
      let hold = ids.some((id) => waiting.has(id));
      if (!hold) {
        // Ops on one note field reach the server in the order they were made, one at a time:
        // an update sent past a text op that is then rate-limited would be numbered first and
        // the text op would land on the wrong text.
        // (Plain updates keep going out back to back, as before text ops: last writer wins.)
        const earlier = this.pending.slice(0, i);
        hold = textFieldsOf(p.op).some(([id, field]) =>
          earlier.some((q) => {
            const effect = effectOn(q.op, id, field);
            return effect === 'text' || (effect !== null && p.op.kind === 'text');
          }),
        );
      }
      if (hold) {
        for (const id of ids) waiting.add(id);
        continue;
      }
      if (p.op.kind === 'text') p.op = { ...p.op, base: this.confirmed.seq };
      const result = this.host.sendOp({ type: 'op', room: this.roomId, cid: p.cid, op: p.op });
      if (result === 'sent') {
        p.sent = true;
        p.everSent = true;
        if (waiting.size > 0) reordered = true;
      } else {
        if (result === 'throttled') this.scheduleFlush(this.host.throttleWaitMs());
        break;
      }
    }
    if (reordered) {
      // Sent ones first, as the server will number them; an op sent past a waiting one touches
      // none of its notes, so the view does not change.
      this.pending = [...this.pending.filter((p) => p.sent), ...this.pending.filter((p) => !p.sent)];
    }
  }

  private scheduleFlush(delay: number): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, Math.max(0, delay));
  }

  // ---- View ---------------------------------------------------------------------------------

  private currentState(): RoomState {
    const c = this.composite;
    if (
      c &&
      c.confirmed === this.confirmed &&
      c.pendingVersion === this.pendingVersion &&
      c.draftVersion === this.draftVersion
    ) {
      return c.withDrafts;
    }
    const state =
      c && c.confirmed === this.confirmed && c.pendingVersion === this.pendingVersion
        ? c.state
        : composeState(this.confirmed, this.pending, c?.state ?? null);
    let withDrafts = state;
    if (this.drafts.size > 0) {
      const notes = new Map(state.notes);
      for (const [id, draft] of this.drafts) if (!notes.has(id)) notes.set(id, draft);
      withDrafts = { seq: state.seq, notes };
    }
    this.composite = {
      confirmed: this.confirmed,
      pendingVersion: this.pendingVersion,
      draftVersion: this.draftVersion,
      state,
      withDrafts,
    };
    return withDrafts;
  }

  private status(): ConnectionStatus {
    if (!this.host.connected()) return 'offline';
    if (this.joinState === 'failed') return 'online';
    return this.busy || this.joinState !== 'joined' ? 'syncing' : 'online';
  }

  private buildView(): RoomView {
    const state = this.currentState();
    return {
      roomId: this.roomId,
      notes: sortedNotes(state) as Note[],
      seq: this.confirmed.seq,
      info: this.info,
      loaded: this.loaded,
      fromCache: this.fromCache,
      presence: this.presence,
      pendingCount: this.pending.length,
      status: this.status(),
      joinError: this.joinError,
      accessLost: this.accessLost,
      carets: this.shownCarets(state),
    };
  }

  /** Marks the view stale and tells listeners once, after the current task's frames. */
  private changed(): void {
    this.stale = true;
    this.host.roomChanged(this);
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (this.closed) return;
      // getView() returns the same object when nothing visible changed since the last read,
      // but listeners are cheap to call: useSyncExternalStore compares the snapshot itself.
      for (const l of [...this.listeners]) l();
    });
  }

  private emitReject(notice: RejectNotice): void {
    for (const l of [...this.rejectListeners]) l(notice);
  }

  private clearTimers(): void {
    this.stopCaretTimers();
    if (this.caretSweepTimer) clearInterval(this.caretSweepTimer);
    this.caretSweepTimer = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.joinTimer) clearTimeout(this.joinTimer);
    if (this.replayTimer) clearTimeout(this.replayTimer);
    this.flushTimer = null;
    this.joinTimer = null;
    this.replayTimer = null;
  }
}
