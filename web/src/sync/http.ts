// Fetch helpers for the HTTP API. URLs are relative (the page is served by the server); tests set
// a base URL with setApiBase.

import type { Note, PublicRole, RoomInfo, Role, Visibility } from './protocol';

/** An HTTP API failure: `status` 0 with code `offline` when the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export interface AuthResult {
  token: string;
  user: { id: string; name: string };
}

export interface RoomMember {
  id: string;
  name: string;
  role: Role;
}

export interface RoomDetails {
  room: RoomInfo;
  members: RoomMember[];
}

let apiBase = '';
let fetchImpl: typeof fetch | null = null;

/** Base URL for every call ('' = same origin), and optionally a fetch to use (tests). */
export function setApiBase(base: string, fetchFn?: typeof fetch): void {
  apiBase = base.replace(/\/+$/, '');
  fetchImpl = fetchFn ?? null;
}

async function request<T>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    const f = fetchImpl ?? fetch;
    response = await f(`${apiBase}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch (e) {
    throw new ApiError(0, 'offline', `The server could not be reached (${(e as Error).message}).`);
  }
  const text = await response.text().catch(() => '');
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const err = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : `http_${response.status}`;
    const message =
      typeof err?.message === 'string' ? err.message : `HTTP ${response.status} ${response.statusText}`;
    throw new ApiError(response.status, code, message);
  }
  if (parsed === null && text) {
    throw new ApiError(response.status, 'invalid', 'The server sent a response that is not JSON.');
  }
  return parsed as T;
}

export function register(username: string, password: string): Promise<AuthResult> {
  return request<AuthResult>('POST', '/api/register', { body: { username, password } });
}

export function login(username: string, password: string): Promise<AuthResult> {
  return request<AuthResult>('POST', '/api/login', { body: { username, password } });
}

/** The signed-in user's rooms. */
export async function listRooms(token: string): Promise<RoomInfo[]> {
  const r = await request<{ rooms: RoomInfo[] }>('GET', '/api/rooms', { token });
  return r.rooms;
}

export async function createRoom(
  token: string,
  name: string,
  visibility: Visibility = 'private',
  publicRole?: PublicRole,
): Promise<RoomInfo> {
  const body: Record<string, string> = { name, visibility };
  if (visibility === 'public' && publicRole) body.public_role = publicRole;
  const r = await request<{ room: RoomInfo }>('POST', '/api/rooms', { token, body });
  return r.room;
}

const roomUrl = (roomId: string) => `/api/rooms/${encodeURIComponent(roomId)}`;

export function getRoom(token: string, roomId: string): Promise<RoomDetails> {
  return request<RoomDetails>('GET', roomUrl(roomId), { token });
}

/** A deleted note in the room's Trash: the note as it was just before the delete. */
export interface TrashedNote extends Note {
  /** RFC 3339 UTC. */
  deleted_at: string;
  deleted_seq: number;
  /** `name` is null when the account no longer exists. */
  deleted_by: { id: string; name: string | null };
}

export interface Trash {
  /** Newest first. */
  notes: TrashedNote[];
  /** How long a deleted note stays restorable. */
  retention_days: number;
}

/** The room's Trash (any member). A note is restored by creating it again (`restoreNote`). */
export function getTrash(token: string, roomId: string): Promise<Trash> {
  return request<Trash>('GET', `${roomUrl(roomId)}/trash`, { token });
}

// ---- Sharing (docs/protocol.md, "Sharing: roles, visibility, invites") ----------------------

export interface RoomChanges {
  name?: string;
  visibility?: Visibility;
  public_role?: PublicRole;
}

/** Renames the room or changes who may open it (owner only). */
export async function updateRoom(token: string, roomId: string, changes: RoomChanges): Promise<RoomInfo> {
  const r = await request<{ room: RoomInfo }>('PATCH', roomUrl(roomId), { token, body: changes });
  return r.room;
}

/** Deletes the room with its notes, members and invites (owner only). */
export async function deleteRoom(token: string, roomId: string): Promise<void> {
  await request<null>('DELETE', roomUrl(roomId), { token });
}

/** Public rooms, most active first. */
export async function listPublicRooms(token: string): Promise<RoomInfo[]> {
  const r = await request<{ rooms: RoomInfo[] }>('GET', '/api/public-rooms', { token });
  return r.rooms;
}

/** Adds a member or changes a member's role; `owner` transfers ownership (owner only). */
export async function setMemberRole(token: string, roomId: string, userId: string, role: Role): Promise<RoomMember> {
  const r = await request<{ member: RoomMember }>('PUT', `${roomUrl(roomId)}/members/${encodeURIComponent(userId)}`, {
    token,
    body: { role },
  });
  return r.member;
}

/** Removes a member (owner), or leaves the room (the member themself). */
export async function removeMember(token: string, roomId: string, userId: string): Promise<void> {
  await request<null>('DELETE', `${roomUrl(roomId)}/members/${encodeURIComponent(userId)}`, { token });
}

export interface Invite {
  token: string;
  role: Exclude<Role, 'owner'>;
  /** RFC 3339; null = never. */
  expires_at: string | null;
  /** null = unlimited. */
  max_uses: number | null;
  uses: number;
  created_at: string;
}

export interface NewInvite {
  role: Exclude<Role, 'owner'>;
  /** Seconds (60 to 31,536,000); null = never; absent = the server's default (a week). */
  expires_in?: number | null;
  /** 1 to 100,000; null or absent = unlimited. */
  max_uses?: number | null;
}

export interface CreatedInvite {
  invite: Invite;
  token: string;
  /** The path `/invite/<token>` on the server's own origin. */
  url: string;
}

export function createInvite(token: string, roomId: string, invite: NewInvite): Promise<CreatedInvite> {
  return request<CreatedInvite>('POST', `${roomUrl(roomId)}/invites`, { token, body: invite });
}

/** The room's open invites, newest first (owner only). */
export async function listInvites(token: string, roomId: string): Promise<Invite[]> {
  const r = await request<{ invites: Invite[] }>('GET', `${roomUrl(roomId)}/invites`, { token });
  return r.invites;
}

export async function revokeInvite(token: string, roomId: string, inviteToken: string): Promise<void> {
  await request<null>('DELETE', `${roomUrl(roomId)}/invites/${encodeURIComponent(inviteToken)}`, { token });
}

/** What accepting an invite would give. */
export interface InvitePreview {
  room: { id: string; name: string };
  role: Exclude<Role, 'owner'>;
  expires_at: string | null;
}

const inviteUrl = (inviteToken: string) => `/api/invites/${encodeURIComponent(inviteToken)}`;

export function getInvite(token: string, inviteToken: string): Promise<InvitePreview> {
  return request<InvitePreview>('GET', inviteUrl(inviteToken), { token });
}

/** Makes the caller a member with the invite's role; returns the room. */
export async function acceptInvite(token: string, inviteToken: string): Promise<RoomInfo> {
  const r = await request<{ room: RoomInfo }>('POST', `${inviteUrl(inviteToken)}/accept`, { token });
  return r.room;
}
