// Sorting of the dashboard table. By default the most active rooms come first, as the server
// lists them; ties fall back to the name, then the id, so rows that compare equal keep a stable
// place while their counts change live.

import type { RoomStat } from '../../sync/protocol';

export type SortKey = 'name' | 'active_user_count' | 'total_notes';
export type SortDirection = 'ascending' | 'descending';

/** Most active first (then by name, then id). */
export const DEFAULT_SORT: { key: SortKey; direction: SortDirection } = {
  key: 'active_user_count',
  direction: 'descending',
};

export function sortRooms(
  rooms: readonly RoomStat[],
  key: SortKey = DEFAULT_SORT.key,
  direction: SortDirection = DEFAULT_SORT.direction,
): RoomStat[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const byName = (a: RoomStat, b: RoomStat) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  return [...rooms].sort((a, b) => {
    const primary = key === 'name' ? byName(a, b) : a[key] - b[key];
    return primary !== 0 ? sign * primary : byName(a, b);
  });
}

/**
 * A public room the user is not a member of (shown with a "Public" badge). The entry's `role`
 * says so when it is null; `memberRoomIds` (the user's rooms from `GET /api/rooms`, once known)
 * settles it for a server that gives a visitor's role instead.
 */
export function isVisitor(room: RoomStat, memberRoomIds: { has(id: string): boolean } | null): boolean {
  if (room.visibility !== 'public') return false;
  if (room.role === null) return true;
  if (room.role === 'owner' || !memberRoomIds) return false;
  return !memberRoomIds.has(room.id);
}
