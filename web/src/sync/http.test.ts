// HTTP helpers against a fake fetch: paths, bearer tokens, and errors as ApiError.

import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  acceptInvite,
  createInvite,
  createRoom,
  deleteRoom,
  getInvite,
  getRoom,
  listInvites,
  listPublicRooms,
  listRooms,
  login,
  register,
  removeMember,
  revokeInvite,
  setApiBase,
  setMemberRole,
  updateRoom,
} from './http';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

function fakeFetch(status: number, body: unknown, calls: Call[]): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    });
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  }) as typeof fetch;
}

afterEach(() => setApiBase(''));

const room = { id: 'r1', name: 'Plans', visibility: 'link', role: 'owner', active_user_count: 0, total_notes: 0 };

describe('http', () => {
  it('registers and logs in', async () => {
    const calls: Call[] = [];
    const result = { token: 'jwt', user: { id: 'u1', name: 'ann' } };
    setApiBase('http://host:1/', fakeFetch(201, result, calls));
    expect(await register('ann', 'password1')).toEqual(result);
    expect(calls[0]).toMatchObject({ url: 'http://host:1/api/register', method: 'POST', body: { username: 'ann', password: 'password1' } });
    setApiBase('', fakeFetch(200, result, calls));
    expect(await login('ann', 'password1')).toEqual(result);
    expect(calls[1]?.url).toBe('/api/login');
  });

  it('sends the bearer token and unwraps rooms', async () => {
    const calls: Call[] = [];
    setApiBase('', fakeFetch(200, { rooms: [room] }, calls));
    expect(await listRooms('jwt')).toEqual([room]);
    expect(calls[0]?.headers.Authorization).toBe('Bearer jwt');
    setApiBase('', fakeFetch(201, { room }, calls));
    expect(await createRoom('jwt', 'Plans', 'link')).toEqual(room);
    expect(calls[1]).toMatchObject({ method: 'POST', url: '/api/rooms', body: { name: 'Plans', visibility: 'link' } });
    setApiBase('', fakeFetch(200, { room, members: [] }, calls));
    expect(await getRoom('jwt', 'r/1')).toEqual({ room, members: [] });
    expect(calls[2]?.url).toBe('/api/rooms/r%2F1');
  });

  it('speaks the sharing API: rooms, members, invites', async () => {
    const calls: Call[] = [];
    const answer = (status: number, body: unknown) => setApiBase('', fakeFetch(status, body, calls));
    answer(201, { room });
    await createRoom('jwt', 'Open', 'public', 'editor');
    answer(201, { room });
    await createRoom('jwt', 'Closed', 'private', 'editor');
    answer(200, { room });
    expect(await updateRoom('jwt', 'r1', { name: 'New', visibility: 'public', public_role: 'viewer' })).toEqual(room);
    answer(204, undefined);
    await deleteRoom('jwt', 'r1');
    const member = { id: 'u/2', name: 'bob', role: 'editor' };
    answer(200, { member });
    expect(await setMemberRole('jwt', 'r1', 'u/2', 'editor')).toEqual(member);
    answer(204, undefined);
    await removeMember('jwt', 'r1', 'u/2');
    const invite = { token: 't1', role: 'viewer', expires_at: null, max_uses: 5, uses: 0, created_at: '2026-01-01T00:00:00Z' };
    answer(201, { invite, token: 't1', url: '/invite/t1' });
    expect(await createInvite('jwt', 'r1', { role: 'viewer', expires_in: null, max_uses: 5 })).toEqual({ invite, token: 't1', url: '/invite/t1' });
    answer(200, { invites: [invite] });
    expect(await listInvites('jwt', 'r1')).toEqual([invite]);
    answer(204, undefined);
    await revokeInvite('jwt', 'r1', 't1');
    const preview = { room: { id: 'r1', name: 'Plans' }, role: 'viewer', expires_at: null };
    answer(200, preview);
    expect(await getInvite('jwt', 't1')).toEqual(preview);
    answer(200, { room });
    expect(await acceptInvite('jwt', 't1')).toEqual(room);
    answer(200, { rooms: [room] });
    expect(await listPublicRooms('jwt')).toEqual([room]);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/rooms',
      'POST /api/rooms',
      'PATCH /api/rooms/r1',
      'DELETE /api/rooms/r1',
      'PUT /api/rooms/r1/members/u%2F2',
      'DELETE /api/rooms/r1/members/u%2F2',
      'POST /api/rooms/r1/invites',
      'GET /api/rooms/r1/invites',
      'DELETE /api/rooms/r1/invites/t1',
      'GET /api/invites/t1',
      'POST /api/invites/t1/accept',
      'GET /api/public-rooms',
    ]);
    expect(calls.map((c) => c.body)).toEqual([
      { name: 'Open', visibility: 'public', public_role: 'editor' },
      // public_role only goes with a public room.
      { name: 'Closed', visibility: 'private' },
      { name: 'New', visibility: 'public', public_role: 'viewer' },
      undefined,
      { role: 'editor' },
      undefined,
      { role: 'viewer', expires_in: null, max_uses: 5 },
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(calls.every((c) => c.headers.Authorization === 'Bearer jwt')).toBe(true);
  });

  it('passes an invite refusal on with the server message', async () => {
    setApiBase('', fakeFetch(403, { error: { code: 'forbidden', message: 'this invite has expired' } }, []));
    await expect(acceptInvite('jwt', 't1')).rejects.toMatchObject({ status: 403, code: 'forbidden', message: 'this invite has expired' });
  });

  it('throws ApiError with the server error body', async () => {
    setApiBase('', fakeFetch(409, { error: { code: 'conflict', message: 'username taken' } }, []));
    const err = await register('ann', 'password1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict', message: 'username taken' });
  });

  it('throws ApiError for an error without a JSON body', async () => {
    setApiBase('', (async () => new Response('<html>bad gateway</html>', { status: 502 })) as typeof fetch);
    await expect(listRooms('jwt')).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('reports a network failure as status 0, code offline', async () => {
    setApiBase('', (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch);
    await expect(login('ann', 'x')).rejects.toMatchObject({ status: 0, code: 'offline' });
  });
});
