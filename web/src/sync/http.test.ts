// HTTP helpers against a fake fetch: paths, bearer tokens, and errors as ApiError.

import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, createRoom, getRoom, listRooms, login, register, setApiBase } from './http';

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
