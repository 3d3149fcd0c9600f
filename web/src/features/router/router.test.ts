import { describe, expect, it } from 'vitest';
import { parseRoute, roomPath } from './router';

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
});
