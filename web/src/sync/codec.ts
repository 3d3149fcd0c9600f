// Strict op and note parsing, equal to core/src/codec.cpp: the page validates its own ops before
// sending (so the server never has to reject them as invalid) and checks what the server sends.

import { parseTextOp, textOpToJson } from './textOp';
import type {
  Note,
  NoteUpdate,
  Op,
  PresenceUser,
  Role,
  RoomInfo,
  RoomStat,
  ServerFrame,
  Visibility,
  WelcomeLimits,
} from './protocol';

export interface Limits {
  maxTitleBytes: number;
  maxBodyBytes: number;
  maxRebalanceEntries: number;
  /** Components of one text op (`textOp.ts`), as core's `limits::max_text_op_components`. */
  maxTextOpComponents: number;
  /** The largest frame the server reads; a bigger one closes the socket (1009). */
  maxFrameBytes: number;
}

/** The server's defaults (`--max-title-bytes`, `--max-body-bytes`, `--max-frame-bytes`), used
 *  until a `welcome` says otherwise. */
export const defaultLimits: Readonly<Limits> = Object.freeze({
  maxTitleBytes: 1024,
  maxBodyBytes: 64 * 1024,
  maxRebalanceEntries: 10000,
  maxTextOpComponents: 10000,
  maxFrameBytes: 64 * 1024,
});

/** The limits a `welcome` advertises, each falling back to `base` when absent. */
export function limitsFromWelcome(advertised: WelcomeLimits | undefined, base: Limits = defaultLimits): Limits {
  return {
    ...base,
    maxTitleBytes: advertised?.title_bytes ?? base.maxTitleBytes,
    maxBodyBytes: advertised?.body_bytes ?? base.maxBodyBytes,
    maxFrameBytes: advertised?.frame_bytes ?? base.maxFrameBytes,
  };
}

export type CodecError = { ok: false; code: 'invalid' | 'too_large'; message: string };
export type CodecResult<T> = { ok: true; value: T } | CodecError;

const ID_RULE = '1-64 chars of [A-Za-z0-9_-]';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function validId(id: string): boolean {
  return ID_PATTERN.test(id);
}

const invalid = (message: string): CodecError => ({ ok: false, code: 'invalid', message });
const tooLarge = (message: string): CodecError => ({ ok: false, code: 'too_large', message });
const ok = <T>(value: T): CodecResult<T> => ({ ok: true, value });

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Own keys only: a key such as "constructor" must not be found on Object.prototype.
function has(o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** Sizes are limited in UTF-8 bytes, as the server counts them. A lone surrogate counts 3, as
 *  TextEncoder sends it (U+FFFD). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function getString(o: JsonObject, parent: string, field: string): CodecResult<string> {
  if (!has(o, field)) return invalid(`${parent}.${field} is required`);
  const v = o[field];
  if (typeof v !== 'string') return invalid(`${parent}.${field} must be a string`);
  return ok(v);
}

function getBool(o: JsonObject, parent: string, field: string): CodecResult<boolean> {
  if (!has(o, field)) return invalid(`${parent}.${field} is required`);
  const v = o[field];
  if (typeof v !== 'boolean') return invalid(`${parent}.${field} must be a boolean`);
  return ok(v);
}

function toIndex(v: unknown, where: string): CodecResult<number> {
  if (typeof v !== 'number') return invalid(`${where} must be a number`);
  // JSON.parse turns 1e309 into Infinity instead of failing, as Boost.JSON does.
  if (!Number.isFinite(v)) return invalid(`${where} must be a finite number`);
  // -0 and 0 sort the same; folding them keeps every replica's serialized state identical.
  return ok(v + 0);
}

function getIndex(o: JsonObject, parent: string, field: string): CodecResult<number> {
  if (!has(o, field)) return invalid(`${parent}.${field} is required`);
  return toIndex(o[field], `${parent}.${field}`);
}

function getId(o: JsonObject, parent: string, field: string): CodecResult<string> {
  const id = getString(o, parent, field);
  if (!id.ok) return id;
  if (!validId(id.value)) return invalid(`${parent}.${field} must be ${ID_RULE}`);
  return id;
}

function checkSize(s: string, max: number, where: string): CodecError | null {
  return utf8Length(s) > max ? tooLarge(`${where} is over ${max} bytes`) : null;
}

function getObject(o: JsonObject, parent: string, field: string): CodecResult<JsonObject> {
  if (!has(o, field)) return invalid(`${parent}.${field} is required`);
  const v = o[field];
  if (!isObject(v)) return invalid(`${parent}.${field} must be an object`);
  return ok(v);
}

function parseCreate(o: JsonObject, lim: Limits): CodecResult<Op> {
  const noteObj = getObject(o, 'op', 'note');
  if (!noteObj.ok) return noteObj;
  const n = noteObj.value;
  const p = 'op.note';
  const id = getId(n, p, 'id');
  if (!id.ok) return id;
  const title = getString(n, p, 'title');
  if (!title.ok) return title;
  const titleSize = checkSize(title.value, lim.maxTitleBytes, 'op.note.title');
  if (titleSize) return titleSize;
  const body = getString(n, p, 'body');
  if (!body.ok) return body;
  const bodySize = checkSize(body.value, lim.maxBodyBytes, 'op.note.body');
  if (bodySize) return bodySize;
  const isImportant = getBool(n, p, 'is_important');
  if (!isImportant.ok) return isImportant;
  const isCompleted = getBool(n, p, 'is_completed');
  if (!isCompleted.ok) return isCompleted;
  const index = getIndex(n, p, 'current_index');
  if (!index.ok) return index;
  return ok({
    kind: 'create',
    note: {
      id: id.value,
      title: title.value,
      body: body.value,
      is_important: isImportant.value,
      is_completed: isCompleted.value,
      current_index: index.value,
    },
  });
}

function parseUpdate(o: JsonObject, lim: Limits): CodecResult<Op> {
  const id = getId(o, 'op', 'id');
  if (!id.ok) return id;
  const setObj = getObject(o, 'op', 'set');
  if (!setObj.ok) return setObj;
  const set = setObj.value;
  const p = 'op.set';
  // Built in the canonical order title, body, is_important, is_completed.
  const out: NoteUpdate = {};
  if (has(set, 'title')) {
    const title = getString(set, p, 'title');
    if (!title.ok) return title;
    const e = checkSize(title.value, lim.maxTitleBytes, 'op.set.title');
    if (e) return e;
    out.title = title.value;
  }
  if (has(set, 'body')) {
    const body = getString(set, p, 'body');
    if (!body.ok) return body;
    const e = checkSize(body.value, lim.maxBodyBytes, 'op.set.body');
    if (e) return e;
    out.body = body.value;
  }
  if (has(set, 'is_important')) {
    const b = getBool(set, p, 'is_important');
    if (!b.ok) return b;
    out.is_important = b.value;
  }
  if (has(set, 'is_completed')) {
    const b = getBool(set, p, 'is_completed');
    if (!b.ok) return b;
    out.is_completed = b.value;
  }
  if (Object.keys(out).length === 0) {
    return invalid('op.set must contain at least one of title, body, is_important, is_completed');
  }
  return ok({ kind: 'update', id: id.value, set: out });
}

function parseMove(o: JsonObject): CodecResult<Op> {
  const id = getId(o, 'op', 'id');
  if (!id.ok) return id;
  const index = getIndex(o, 'op', 'current_index');
  if (!index.ok) return index;
  return ok({ kind: 'move', id: id.value, current_index: index.value });
}

/** A map from note id to index that is safe for any id: "__proto__" is a valid note id, and on
 *  a plain object assigning it would change the prototype instead of adding an entry. */
export function indexMap(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

function parseRebalance(o: JsonObject, lim: Limits): CodecResult<Op> {
  const indexesObj = getObject(o, 'op', 'indexes');
  if (!indexesObj.ok) return indexesObj;
  const keys = Object.keys(indexesObj.value);
  if (keys.length === 0) return invalid('op.indexes must not be empty');
  if (keys.length > lim.maxRebalanceEntries) {
    return invalid(`op.indexes has more than ${lim.maxRebalanceEntries} entries`);
  }
  // JSON.parse, like Boost.JSON, keeps the last of duplicate keys, so ids are unique here.
  const indexes = indexMap();
  for (const id of keys) {
    if (!validId(id)) return invalid(`op.indexes keys must be ${ID_RULE}`);
    const index = toIndex(indexesObj.value[id], `op.indexes.${id}`);
    if (!index.ok) return index;
    indexes[id] = index.value;
  }
  return ok({ kind: 'rebalance', indexes });
}

function parseDelete(o: JsonObject): CodecResult<Op> {
  const id = getId(o, 'op', 'id');
  if (!id.ok) return id;
  return ok({ kind: 'delete', id: id.value });
}

function parseText(o: JsonObject, lim: Limits): CodecResult<Op> {
  const id = getId(o, 'op', 'id');
  if (!id.ok) return id;
  const field = getString(o, 'op', 'field');
  if (!field.ok) return field;
  if (field.value !== 'title' && field.value !== 'body') {
    return invalid('op.field must be "title" or "body"');
  }
  if (!has(o, 'base')) return invalid('op.base is required');
  const base = o.base;
  if (typeof base !== 'number' || !Number.isSafeInteger(base) || base < 0) {
    return invalid('op.base must be an integer >= 0');
  }
  if (!has(o, 'ops')) return invalid('op.ops is required');
  const ops = parseTextOp(o.ops, lim);
  if (!ops.ok) return ops;
  if (field.value === 'title') {
    let inserted = 0;
    for (const c of ops.value.ops) if (typeof c === 'string') inserted += utf8Length(c);
    if (inserted > lim.maxTitleBytes) {
      return tooLarge(`op.ops inserts more than ${lim.maxTitleBytes} bytes into the title`);
    }
  }
  return ok({ kind: 'text', id: id.value, field: field.value, base, ops: textOpToJson(ops.value) });
}

/** Parses the `op` object of an op message strictly; unknown fields are dropped. */
export function parseOp(v: unknown, lim: Limits = defaultLimits): CodecResult<Op> {
  if (!isObject(v)) return invalid('op must be an object');
  if (!has(v, 'kind')) return invalid('op.kind is required');
  const kind = v.kind;
  if (typeof kind !== 'string') return invalid('op.kind must be a string');
  switch (kind) {
    case 'create':
      return parseCreate(v, lim);
    case 'update':
      return parseUpdate(v, lim);
    case 'move':
      return parseMove(v);
    case 'rebalance':
      return parseRebalance(v, lim);
    case 'delete':
      return parseDelete(v);
    case 'text':
      return parseText(v, lim);
    default:
      return invalid(
        `op.kind "${kind}" is not one of create, update, move, rebalance, delete, text`,
      );
  }
}

/** Parses JSON text, then the op in it. */
export function parseOpText(text: string, lim: Limits = defaultLimits): CodecResult<Op> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return invalid(`not valid JSON: ${(e as Error).message}`);
  }
  return parseOp(v, lim);
}

/** The canonical wire form: exactly the protocol's fields, in the protocol's order. */
export function opToJson(op: Op): Op {
  switch (op.kind) {
    case 'create': {
      const n = op.note;
      return {
        kind: 'create',
        note: {
          id: n.id,
          title: n.title,
          body: n.body,
          is_important: n.is_important,
          is_completed: n.is_completed,
          current_index: n.current_index,
        },
      };
    }
    case 'update': {
      const set: NoteUpdate = {};
      if (op.set.title !== undefined) set.title = op.set.title;
      if (op.set.body !== undefined) set.body = op.set.body;
      if (op.set.is_important !== undefined) set.is_important = op.set.is_important;
      if (op.set.is_completed !== undefined) set.is_completed = op.set.is_completed;
      return { kind: 'update', id: op.id, set };
    }
    case 'move':
      return { kind: 'move', id: op.id, current_index: op.current_index };
    case 'rebalance': {
      const indexes = indexMap();
      for (const id of Object.keys(op.indexes)) {
        const index = op.indexes[id];
        if (index !== undefined) indexes[id] = index;
      }
      return { kind: 'rebalance', indexes };
    }
    case 'delete':
      return { kind: 'delete', id: op.id };
    case 'text':
      return { kind: 'text', id: op.id, field: op.field, base: op.base, ops: [...op.ops] };
  }
}

/** Parses a stored or serialized Note (with seq and updated_at). */
export function parseNote(v: unknown): CodecResult<Note> {
  if (!isObject(v)) return invalid('note must be an object');
  const p = 'note';
  const id = getId(v, p, 'id');
  if (!id.ok) return id;
  const title = getString(v, p, 'title');
  if (!title.ok) return title;
  const body = getString(v, p, 'body');
  if (!body.ok) return body;
  const isImportant = getBool(v, p, 'is_important');
  if (!isImportant.ok) return isImportant;
  const isCompleted = getBool(v, p, 'is_completed');
  if (!isCompleted.ok) return isCompleted;
  const index = getIndex(v, p, 'current_index');
  if (!index.ok) return index;
  if (!has(v, 'seq')) return invalid('note.seq is required');
  const seq = v.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return invalid('note.seq must be a non-negative integer');
  }
  const updatedAt = getString(v, p, 'updated_at');
  if (!updatedAt.ok) return updatedAt;
  return ok({
    id: id.value,
    title: title.value,
    body: body.value,
    is_important: isImportant.value,
    is_completed: isCompleted.value,
    current_index: index.value,
    seq,
    updated_at: updatedAt.value,
  });
}

// ---- Server frames ------------------------------------------------------------------------
// The server is trusted to speak the protocol, but a frame that does not (a proxy's error page,
// a newer server's message) must not corrupt a replica: such frames are dropped.

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function str(o: JsonObject, key: string): string | null {
  const v = o[key];
  return typeof v === 'string' ? v : null;
}

function num(o: JsonObject, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function parseVisibility(v: unknown): Visibility | null {
  return v === 'private' || v === 'link' || v === 'public' ? v : null;
}

function parseRole(v: unknown): Role | null {
  return v === 'owner' || v === 'editor' || v === 'viewer' ? v : null;
}

function parseRoomStat(v: unknown): RoomStat | null {
  if (!isObject(v)) return null;
  const id = str(v, 'id');
  if (id === null) return null;
  const stat: RoomStat = {
    id,
    name: str(v, 'name') ?? '',
    active_user_count: num(v, 'active_user_count'),
    total_notes: num(v, 'total_notes'),
  };
  const visibility = parseVisibility(v.visibility);
  if (visibility !== null) stat.visibility = visibility;
  // Present but not a role (null, "none"): the user is not a member.
  if (has(v, 'role')) stat.role = parseRole(v.role);
  return stat;
}

function parseRoomInfo(v: unknown): RoomInfo | null {
  if (!isObject(v)) return null;
  const id = str(v, 'id');
  if (id === null) return null;
  const info: RoomInfo = {
    id,
    name: str(v, 'name') ?? '',
    visibility: parseVisibility(v.visibility) ?? 'private',
    // A room the server let us join and did not say more about is writable; the server still
    // refuses what the role does not allow.
    role: parseRole(v.role) ?? 'editor',
    active_user_count: num(v, 'active_user_count'),
    total_notes: num(v, 'total_notes'),
  };
  if (v.public_role === 'viewer' || v.public_role === 'editor') info.public_role = v.public_role;
  const owner = str(v, 'owner_id');
  if (owner !== null) info.owner_id = owner;
  return info;
}

function parseUsers(v: unknown): PresenceUser[] {
  if (!Array.isArray(v)) return [];
  const users: PresenceUser[] = [];
  for (const u of v) {
    if (isObject(u) && typeof u.id === 'string') {
      users.push({ id: u.id, name: typeof u.name === 'string' ? u.name : '' });
    }
  }
  return users;
}

// For what the server applied: it is the authority on what was accepted.
const NO_LIMITS: Limits = {
  maxTitleBytes: Infinity,
  maxBodyBytes: Infinity,
  maxRebalanceEntries: Infinity,
  maxTextOpComponents: Infinity,
  maxFrameBytes: Infinity,
};

// A size the server advertises: a positive safe integer, else ignored (the default stays).
function positiveSize(o: JsonObject, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

function parseWelcomeLimits(v: unknown): { limits?: WelcomeLimits } {
  if (!isObject(v)) return {};
  const limits: WelcomeLimits = {};
  const title = positiveSize(v, 'title_bytes');
  const body = positiveSize(v, 'body_bytes');
  const frame = positiveSize(v, 'frame_bytes');
  if (title !== undefined) limits.title_bytes = title;
  if (body !== undefined) limits.body_bytes = body;
  if (frame !== undefined) limits.frame_bytes = frame;
  return { limits };
}

const isOffset = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** A `cursor` frame: another socket's caret, or (without `note`) its clearing. Unknown fields
 *  are ignored; a caret with a bad field, offset or seq is dropped. */
function parseCursor(v: JsonObject): ServerFrame | null {
  const room = str(v, 'room');
  const session = str(v, 'session');
  const user = v.user;
  if (room === null || session === null || !isObject(user) || typeof user.id !== 'string') return null;
  const frame: Extract<ServerFrame, { type: 'cursor' }> = {
    type: 'cursor',
    room,
    session,
    user: { id: user.id, name: typeof user.name === 'string' ? user.name : '' },
  };
  if (v.note === undefined || v.note === null) return frame;
  const field = v.field;
  if (typeof v.note !== 'string' || (field !== 'title' && field !== 'body')) return null;
  if (!isOffset(v.anchor) || !isOffset(v.head) || !isOffset(v.seq)) return null;
  return { ...frame, note: v.note, field, anchor: v.anchor, head: v.head, seq: v.seq };
}

/** Parses and checks one server frame; null when it is not a usable protocol message. */
export function parseServerFrame(text: string): ServerFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return checkServerFrame(v);
}

/**
 * The frames one WebSocket message carries: itself, or the frames of a `batch` (sent to a
 * client whose hello asked for batches), in order; unusable ones are left out.
 */
export function parseServerFrames(text: string): ServerFrame[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (isObject(v) && v.type === 'batch' && Array.isArray(v.frames)) {
    const out: ServerFrame[] = [];
    for (const raw of v.frames) {
      const f = checkServerFrame(raw);
      if (f) out.push(f);
    }
    return out;
  }
  const f = checkServerFrame(v);
  return f ? [f] : [];
}

function checkServerFrame(v: unknown): ServerFrame | null {
  if (!isObject(v) || typeof v.type !== 'string') return null;
  switch (v.type) {
    case 'welcome': {
      const user = v.user;
      if (!isObject(user) || typeof user.id !== 'string') return null;
      return {
        type: 'welcome',
        protocol: num(v, 'protocol'),
        server: str(v, 'server') ?? '',
        user: { id: user.id, name: typeof user.name === 'string' ? user.name : '' },
        ...parseWelcomeLimits(v.limits),
      };
    }
    case 'snapshot': {
      const room = str(v, 'room');
      if (room === null || !isSeq(v.seq) || !Array.isArray(v.notes)) return null;
      const notes: Note[] = [];
      for (const raw of v.notes) {
        const n = parseNote(raw);
        if (!n.ok) return null;
        notes.push(n.value);
      }
      const info = parseRoomInfo(v.room_info);
      if (!info) return null;
      const frame: ServerFrame = { type: 'snapshot', room, seq: v.seq, room_info: info, notes };
      const doubts = v.in_doubt;
      if (isObject(doubts) && isObject(doubts.numbered) && isSeq(doubts.checked_from)) {
        const numbered: Record<string, number> = {};
        for (const [cid, seq] of Object.entries(doubts.numbered)) {
          if (isSeq(seq)) numbered[cid] = seq;
        }
        frame.in_doubt = { numbered, checked_from: doubts.checked_from };
      }
      return frame;
    }
    case 'resume': {
      const room = str(v, 'room');
      if (room === null || !isSeq(v.since)) return null;
      return { type: 'resume', room, since: v.since };
    }
    case 'op': {
      const room = str(v, 'room');
      if (room === null || !isSeq(v.seq)) return null;
      // No size limits on what the server applied: it is the authority on what was accepted.
      const op = parseOp(v.op, NO_LIMITS);
      if (!op.ok) return null;
      return {
        type: 'op',
        room,
        seq: v.seq,
        cid: str(v, 'cid') ?? '',
        user: str(v, 'user') ?? '',
        at: str(v, 'at') ?? '',
        op: op.value,
      };
    }
    case 'reject': {
      const room = str(v, 'room');
      const cid = str(v, 'cid');
      if (room === null || cid === null) return null;
      return {
        type: 'reject',
        room,
        cid,
        code: str(v, 'code') ?? 'invalid',
        message: str(v, 'message') ?? '',
      };
    }
    case 'error': {
      const frame: ServerFrame = { type: 'error', code: str(v, 'code') ?? 'invalid' };
      const room = str(v, 'room');
      const message = str(v, 'message');
      if (room !== null) frame.room = room;
      if (message !== null) frame.message = message;
      return frame;
    }
    case 'presence': {
      const room = str(v, 'room');
      if (room === null) return null;
      return {
        type: 'presence',
        room,
        active_user_count: num(v, 'active_user_count'),
        users: parseUsers(v.users),
      };
    }
    case 'rooms': {
      if (!Array.isArray(v.rooms)) return null;
      const rooms: RoomStat[] = [];
      for (const r of v.rooms) {
        const stat = parseRoomStat(r);
        if (stat) rooms.push(stat);
      }
      return { type: 'rooms', rooms };
    }
    case 'room_stat': {
      const stat = parseRoomStat(v.room);
      return stat ? { type: 'room_stat', room: stat } : null;
    }
    case 'room_gone': {
      const room = str(v, 'room');
      return room === null ? null : { type: 'room_gone', room };
    }
    case 'role': {
      const room = str(v, 'room');
      const role = parseRole(v.role);
      return room === null || role === null ? null : { type: 'role', room, role };
    }
    case 'pong':
      return { type: 'pong', t: v.t };
    case 'cursor':
      return parseCursor(v);
    default:
      return null;
  }
}
