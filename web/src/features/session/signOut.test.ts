import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionStatus } from '../../sync/api';
import { describeRoom, describeUnsent, planSignOut, waitWhileSyncing } from './signOut';

describe('planSignOut', () => {
  it('signs out at once when nothing is unsent', () => {
    expect(planSignOut([])).toEqual({ kind: 'sign-out' });
    expect(planSignOut([{ roomId: 'r1', name: 'Trip', count: 0 }])).toEqual({ kind: 'sign-out' });
  });

  it('asks when any room has unsent changes, counting them all', () => {
    const plan = planSignOut([
      { roomId: 'r1', name: 'Trip', count: 2 },
      { roomId: 'r2', name: null, count: 0 },
      { roomId: 'r3', name: 'Work', count: 1 },
    ]);
    expect(plan).toEqual({
      kind: 'ask',
      total: 3,
      rooms: [
        { roomId: 'r1', name: 'Trip', count: 2 },
        { roomId: 'r3', name: 'Work', count: 1 },
      ],
    });
  });
});

describe('the words of the dialog', () => {
  const ask = (rooms: Parameters<typeof planSignOut>[0]) => {
    const plan = planSignOut(rooms);
    if (plan.kind !== 'ask') throw new Error('expected ask');
    return plan;
  };

  it('one change in one room', () => {
    expect(describeUnsent(ask([{ roomId: 'r1', name: 'Trip planning', count: 1 }]))).toBe(
      '1 change in “Trip planning” has not reached the server yet.',
    );
  });

  it('several changes in several rooms, a room without a cached name by its id', () => {
    const plan = ask([
      { roomId: 'r1', name: 'Trip', count: 1200 },
      { roomId: 'abc', name: null, count: 1 },
    ]);
    expect(describeUnsent(plan)).toBe('1,201 changes in 2 rooms have not reached the server yet:');
    expect(plan.rooms.map(describeRoom)).toEqual(['“Trip”: 1,200 changes', 'the room abc: 1 change']);
  });
});

describe('waitWhileSyncing', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function fakeClient(status: ConnectionStatus) {
    const listeners = new Set<() => void>();
    return {
      status,
      subscribeStatus(l: () => void) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      set(next: ConnectionStatus) {
        this.status = next;
        for (const l of listeners) l();
      },
      listeners,
    };
  }

  it('does not wait when online or offline', async () => {
    await waitWhileSyncing(fakeClient('offline'), 3000);
    await waitWhileSyncing(fakeClient('online'), 3000);
  });

  it('waits for the acknowledgements, or gives up after the limit', async () => {
    const acked = fakeClient('syncing');
    let done = false;
    const waiting = waitWhileSyncing(acked, 3000).then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    acked.set('online');
    await waiting;
    expect(acked.listeners.size).toBe(0);

    const stuck = fakeClient('syncing');
    const giving = waitWhileSyncing(stuck, 3000);
    vi.advanceTimersByTime(3000);
    await giving;
    expect(stuck.listeners.size).toBe(0);
  });
});
