import { describe, expect, it } from 'vitest';
import type { RoomStat } from '../../sync/protocol';
import { isVisitor, sortRooms } from './sortRooms';

const rooms: RoomStat[] = [
  { id: 'b', name: 'Beta', active_user_count: 2, total_notes: 5 },
  { id: 'a', name: 'Alpha', active_user_count: 2, total_notes: 9 },
  { id: 'c', name: 'Gamma', active_user_count: 0, total_notes: 1 },
  { id: 'd', name: 'Delta', active_user_count: 7, total_notes: 0, visibility: 'public', role: null },
];

describe('sortRooms', () => {
  it('puts the most active rooms first by default, then by name, then id', () => {
    expect(sortRooms(rooms).map((r) => r.id)).toEqual(['d', 'a', 'b', 'c']);
    const twins: RoomStat[] = [
      { id: 'y', name: 'Same', active_user_count: 1, total_notes: 0 },
      { id: 'x', name: 'Same', active_user_count: 1, total_notes: 0 },
    ];
    expect(sortRooms(twins).map((r) => r.id)).toEqual(['x', 'y']);
  });

  it('sorts by name both ways', () => {
    expect(sortRooms(rooms, 'name', 'ascending').map((r) => r.id)).toEqual(['a', 'b', 'd', 'c']);
    expect(sortRooms(rooms, 'name', 'descending').map((r) => r.id)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('sorts by a count and breaks ties by name', () => {
    expect(sortRooms(rooms, 'active_user_count', 'ascending').map((r) => r.id)).toEqual(['c', 'a', 'b', 'd']);
    expect(sortRooms(rooms, 'total_notes', 'ascending').map((r) => r.id)).toEqual(['d', 'c', 'b', 'a']);
  });

  it('does not reorder its input', () => {
    sortRooms(rooms, 'name', 'ascending');
    expect(rooms.map((r) => r.id)).toEqual(['b', 'a', 'c', 'd']);
  });
});

describe('isVisitor', () => {
  const entry = (extra: Partial<RoomStat>): RoomStat => ({ id: 'r', name: 'R', active_user_count: 0, total_notes: 0, ...extra });
  it('marks public rooms the user is not a member of', () => {
    expect(isVisitor(entry({ visibility: 'public', role: null }), null)).toBe(true);
    expect(isVisitor(entry({ visibility: 'public', role: 'owner' }), new Set())).toBe(false);
    expect(isVisitor(entry({ visibility: 'public', role: 'viewer' }), null)).toBe(false);
    // A server that gives a visitor's role: the user's own room list decides.
    expect(isVisitor(entry({ visibility: 'public', role: 'viewer' }), new Set())).toBe(true);
    expect(isVisitor(entry({ visibility: 'public', role: 'editor' }), new Set(['r']))).toBe(false);
    expect(isVisitor(entry({ visibility: 'private', role: null }), null)).toBe(false);
    expect(isVisitor(entry({ visibility: 'link', role: 'editor' }), new Set())).toBe(false);
    expect(isVisitor(entry({}), new Set())).toBe(false);
  });
});
