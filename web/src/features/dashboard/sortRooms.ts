// Sorting of the dashboard table; ties fall back to the name, then the id, so rows that compare
// equal keep a stable place while their counts change live.

import type { RoomStat } from '../../sync/protocol';

export type SortKey = 'name' | 'active_user_count' | 'total_notes';
export type SortDirection = 'ascending' | 'descending';

export function sortRooms(rooms: readonly RoomStat[], key: SortKey, direction: SortDirection): RoomStat[] {
  const sign = direction === 'ascending' ? 1 : -1;
  const byName = (a: RoomStat, b: RoomStat) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  return [...rooms].sort((a, b) => {
    const primary = key === 'name' ? byName(a, b) : a[key] - b[key];
    return primary !== 0 ? sign * primary : byName(a, b);
  });
}
