import { describe, expect, it } from 'vitest';
import { sortRooms } from './sortRooms';

const rooms = [
  { id: 'b', name: 'Beta', active_user_count: 2, total_notes: 5 },
  { id: 'a', name: 'Alpha', active_user_count: 2, total_notes: 9 },
  { id: 'c', name: 'Gamma', active_user_count: 0, total_notes: 1 },
];

describe('sortRooms', () => {
  it('sorts by name both ways', () => {
    expect(sortRooms(rooms, 'name', 'ascending').map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(sortRooms(rooms, 'name', 'descending').map((r) => r.id)).toEqual(['c', 'b', 'a']);
  });

  it('sorts by a count and breaks ties by name', () => {
    expect(sortRooms(rooms, 'active_user_count', 'descending').map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(sortRooms(rooms, 'total_notes', 'ascending').map((r) => r.id)).toEqual(['c', 'b', 'a']);
  });

  it('does not reorder its input', () => {
    sortRooms(rooms, 'name', 'ascending');
    expect(rooms.map((r) => r.id)).toEqual(['b', 'a', 'c']);
  });
});
