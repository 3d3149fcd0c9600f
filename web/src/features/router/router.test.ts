import { describe, expect, it } from 'vitest';
import { invitePath, parseRoute, roomPath } from './router';

describe('parseRoute', () => {
  it('maps the known pages', () => {
    expect(parseRoute('/login')).toEqual({ page: 'auth' });
    expect(parseRoute('/dashboard')).toEqual({ page: 'dashboard' });
    expect(parseRoute('/')).toEqual({ page: 'rooms' });
  });

  it('round-trips room ids through the path, including characters that need escaping', () => {
    for (const id of ['abc123', 'a_b-c', 'weird id/with?chars']) {
      expect(parseRoute(roomPath(id))).toEqual({ page: 'workspace', roomId: id });
    }
  });

  it('sends unknown paths to the room entry', () => {
    expect(parseRoute('/nothing/here')).toEqual({ page: 'rooms' });
  });

  it('reads invite links, and refuses what is not one', () => {
    expect(parseRoute('/invite/abc_DEF-123')).toEqual({ page: 'invite', token: 'abc_DEF-123' });
    expect(parseRoute('/invite/abc/')).toEqual({ page: 'invite', token: 'abc' });
    expect(parseRoute(invitePath('a/b c'))).toEqual({ page: 'invite', token: 'a/b c' });
    expect(parseRoute('/invite/')).toEqual({ page: 'rooms' });
    expect(parseRoute('/invite/a/b')).toEqual({ page: 'rooms' });
    // A link cut in the middle of an escape.
    expect(parseRoute('/invite/abc%E0%A4%A')).toEqual({ page: 'rooms' });
    expect(parseRoute('/r/abc%E0%A4%A')).toEqual({ page: 'rooms' });
  });
});
