import { describe, expect, it } from 'vitest';
import { note } from '../../sync/testing/notes';
import { arrangeNotes } from './Workspace';

const notes = [
  note('a', 1, { title: 'Milk', body: 'oat' }),
  note('b', 2, { title: 'Bread', is_completed: true }),
  note('c', 3, { title: 'Eggs', is_important: true }),
  note('d', 4, { title: 'Call mum', body: 'about the MILK run' }),
];
const none = () => false;
const ids = (list: { id: string }[]) => list.map((n) => n.id);

describe('arrangeNotes', () => {
  it('keeps the shared order without a search', () => {
    expect(ids(arrangeNotes(notes, '', 'shared', false, none).shown)).toEqual(['a', 'b', 'c', 'd']);
  });
  it('finds notes by title or body, ignoring case, and keeps the note being written', () => {
    expect(ids(arrangeNotes(notes, ' milk ', 'shared', false, none).shown)).toEqual(['a', 'd']);
    expect(ids(arrangeNotes(notes, 'milk', 'shared', false, (id) => id === 'c').shown)).toEqual(['a', 'c', 'd']);
  });
  it('puts important notes first and collapses done ones at the end', () => {
    const collapsed = arrangeNotes(notes, '', 'flags', false, none);
    expect(ids(collapsed.shown)).toEqual(['c', 'a', 'd']);
    expect(collapsed.hiddenDone).toBe(1);
    const open = arrangeNotes(notes, '', 'flags', true, none);
    expect(ids(open.shown)).toEqual(['c', 'a', 'd', 'b']);
    expect(open.hiddenDone).toBe(0);
  });
});
