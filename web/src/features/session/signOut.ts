// What signing out does with changes that have not reached the server: the decision and the
// words the dialog uses. Plain functions, so they are tested without a browser.

import type { ConnectionStatus, UnsentRoom } from '../../sync/api';

export type SignOutPlan =
  /** Nothing unsent: sign out and delete this device's copy, as always. */
  | { kind: 'sign-out' }
  /** Unsent changes: ask whether to keep them on this device, discard them, or stay. */
  | { kind: 'ask'; total: number; rooms: UnsentRoom[] };

export function planSignOut(unsent: readonly UnsentRoom[]): SignOutPlan {
  const rooms = unsent.filter((room) => room.count > 0);
  if (rooms.length === 0) return { kind: 'sign-out' };
  const total = rooms.reduce((sum, room) => sum + room.count, 0);
  return { kind: 'ask', total, rooms: [...rooms] };
}

const numberFormat = new Intl.NumberFormat('en-US');
export const changesText = (n: number) => `${numberFormat.format(n)} ${n === 1 ? 'change' : 'changes'}`;

export const roomLabel = (room: UnsentRoom) => (room.name ? `“${room.name}”` : `the room ${room.roomId}`);

/** The dialog's first sentence: how many changes, in which rooms. */
export function describeUnsent(plan: Extract<SignOutPlan, { kind: 'ask' }>): string {
  const [only] = plan.rooms;
  if (plan.rooms.length === 1 && only) {
    return `${changesText(plan.total)} in ${roomLabel(only)} ${plan.total === 1 ? 'has' : 'have'} not reached the server yet.`;
  }
  return `${changesText(plan.total)} in ${numberFormat.format(plan.rooms.length)} rooms have not reached the server yet:`;
}

/** One line of the list when several rooms have unsent changes. */
export const describeRoom = (room: UnsentRoom) => `${roomLabel(room)}: ${changesText(room.count)}`;

/** While connected and syncing, the last edits are usually acknowledged within moments: wait
 *  for that (at most `maxWaitMs`) before counting, so a sign-out right after typing online does
 *  not ask about changes that are about to arrive. */
export function waitWhileSyncing(
  client: { readonly status: ConnectionStatus; subscribeStatus(listener: () => void): () => void },
  maxWaitMs: number,
): Promise<void> {
  if (client.status !== 'syncing') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    const unsubscribe = client.subscribeStatus(() => {
      if (client.status !== 'syncing') done();
    });
  });
}
