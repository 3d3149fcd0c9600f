// Fetch helpers for the HTTP API. URLs are relative (the page is served by the server); tests set
// a base URL with setApiBase.

import type { RoomInfo, Role, Visibility } from './protocol';

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
): Promise<RoomInfo> {
  const r = await request<{ room: RoomInfo }>('POST', '/api/rooms', {
    token,
    body: { name, visibility },
  });
  return r.room;
}

export function getRoom(token: string, roomId: string): Promise<RoomDetails> {
  return request<RoomDetails>('GET', `/api/rooms/${encodeURIComponent(roomId)}`, { token });
}
