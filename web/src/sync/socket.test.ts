// @vitest-environment jsdom
// The connection notices a lost network within seconds (the browser's offline event, a ping
// unanswered for PONG_DEADLINE_MS) and comes back quickly once the server is there again.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection, FAST_RETRIES, PING_INTERVAL_MS, PONG_DEADLINE_MS, reconnectDelay } from './socket';
import { FakeSocket } from './testing/fake-server';

function setup() {
  const sockets: FakeSocket[] = [];
  const downs: boolean[] = [];
  const frames: string[] = [];
  let welcomes = 0;
  const c = new Connection({
    url: 'ws://test/ws',
    token: 't',
    factory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    events: {
      onWelcome: () => welcomes++,
      onFrame: (f) => frames.push(f.type),
      onDown: (retry) => downs.push(retry),
      onAuthError: () => {},
    },
  });
  const welcome = (s: FakeSocket) => {
    s.open();
    s.receive({ type: 'welcome', server: 'x', user: { id: 'u', name: 'ann' }, limits: {} });
  };
  return { c, sockets, downs, frames, welcome, welcomes: () => welcomes };
}

describe('Connection', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('goes down at once when the browser says it is offline, and back when it is online', () => {
    const { c, sockets, downs, welcome, welcomes } = setup();
    c.start();
    welcome(sockets[0] as FakeSocket);
    expect(c.ready).toBe(true);
    window.dispatchEvent(new Event('offline'));
    expect(downs).toEqual([true]);
    expect(c.ready).toBe(false);
    expect((sockets[0] as FakeSocket).closedByClient).toBe(4000);
    // A retry fails while offline and the next waits; `online` tries again at once.
    vi.advanceTimersByTime(600);
    (sockets[sockets.length - 1] as FakeSocket).serverClose(1006);
    const before = sockets.length;
    window.dispatchEvent(new Event('online'));
    expect(sockets.length).toBe(before + 1);
    welcome(sockets[sockets.length - 1] as FakeSocket);
    expect(welcomes()).toBe(2);
    c.stop();
  });

  it('asks for batches and hands on the frames of a batch one by one, in order', () => {
    const { c, sockets, frames } = setup();
    c.start();
    const s = sockets[0] as FakeSocket;
    s.open();
    expect(s.sentOf('hello')[0]).toMatchObject({ batch: true });
    s.receive({
      type: 'batch',
      frames: [
        { type: 'welcome', server: 'x', user: { id: 'u', name: 'ann' }, limits: {} },
        { type: 'pong', t: 1 },
        { type: 'no such frame' },
        { type: 'error', code: 'invalid', message: 'm' },
      ],
    });
    expect(c.ready).toBe(true);
    expect(frames).toEqual(['pong', 'error']);
    c.stop();
  });

  it('closes a socket whose ping goes unanswered', () => {
    const { c, sockets, downs, welcome } = setup();
    c.start();
    const s = sockets[0] as FakeSocket;
    welcome(s);
    vi.advanceTimersByTime(PING_INTERVAL_MS);
    expect(s.sentOf('ping')).toHaveLength(1);
    s.receive({ type: 'pong', t: 1 });  // answered: still up
    vi.advanceTimersByTime(PONG_DEADLINE_MS + 10);
    expect(downs).toEqual([]);
    vi.advanceTimersByTime(PING_INTERVAL_MS - PONG_DEADLINE_MS);
    expect(s.sentOf('ping')).toHaveLength(2);
    vi.advanceTimersByTime(PONG_DEADLINE_MS + 10);  // silence: the path is dead
    expect(downs).toEqual([true]);
    expect(s.closedByClient).toBe(4000);
    c.stop();
  });

  it('reconnects within half a second for the first attempts, then backs off', () => {
    for (let attempt = 0; attempt < FAST_RETRIES; attempt++) {
      expect(reconnectDelay(attempt, () => 0)).toBeGreaterThanOrEqual(100);
      expect(reconnectDelay(attempt, () => 0.999)).toBeLessThan(500);
    }
    expect(reconnectDelay(FAST_RETRIES + 5, () => 0.999)).toBeGreaterThan(5_000);
    expect(reconnectDelay(FAST_RETRIES + 30, () => 0.999)).toBeLessThanOrEqual(10_500);
  });

  it('is back a moment after a restarted server answers again', () => {
    const { c, sockets, welcome, welcomes } = setup();
    c.start();
    welcome(sockets[0] as FakeSocket);
    (sockets[0] as FakeSocket).serverClose(1001, 'going away');
    // Refused twice while the server restarts, then it answers.
    vi.advanceTimersByTime(500);
    (sockets[1] as FakeSocket).serverClose(1006);
    vi.advanceTimersByTime(500);
    (sockets[2] as FakeSocket).serverClose(1006);
    vi.advanceTimersByTime(500);
    welcome(sockets[3] as FakeSocket);
    expect(welcomes()).toBe(2);
    c.stop();
  });
});
