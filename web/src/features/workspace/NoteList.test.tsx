// @vitest-environment jsdom
// A viewer's list: the notes and their flags, and no control that would change them; the same
// list switches to the editor's controls when the role changes, without a remount.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render } from '@testing-library/react';
import { NoteList, rovingTarget } from './NoteList';
import { note } from '../../sync/testing/notes';

const notes = [note('a', 1, { title: 'Read me', is_important: true }), note('b', 2, { title: 'Done one', is_completed: true })];

const bind = () => ({ edit: () => true, subscribe: () => () => undefined });

function list(readOnly: boolean) {
  return (
    <NoteList
      notes={notes}
      focusId={null}
      onUpdate={vi.fn()}
      onMove={vi.fn()}
      onDelete={vi.fn()}
      measure={() => ({ bytes: 0, limit: 1024 })}
      bind={bind}
      readOnly={readOnly}
    />
  );
}

afterEach(cleanup);

describe('NoteList read-only', () => {
  it('shows a viewer the notes without drag handles, toggles or delete, and fields they cannot edit', () => {
    const view = render(list(true));
    expect(view.queryAllByRole('button')).toHaveLength(0);
    expect(view.queryAllByRole('checkbox')).toHaveLength(0);
    const titles = view.getAllByLabelText(/^Note title: /) as HTMLInputElement[];
    expect(titles.map((t) => t.value)).toEqual(['Read me', 'Done one']);
    for (const field of [...titles, ...(view.getAllByLabelText(/^Note body: /) as HTMLTextAreaElement[])]) {
      expect(field.readOnly).toBe(true);
    }
    expect(view.getByText('Important')).toBeTruthy();
    expect(view.getByText('Done')).toBeTruthy();

    view.rerender(list(false));
    expect(view.getByRole('button', { name: 'Move note Read me' })).toBeTruthy();
    expect(view.getByRole('button', { name: 'Delete note Done one' })).toBeTruthy();
    expect(view.getByRole('checkbox', { name: 'Done: Done one' })).toBeTruthy();
    expect((view.getAllByLabelText(/^Note title: /) as HTMLInputElement[]).every((t) => !t.readOnly)).toBe(true);

    view.rerender(list(true));
    expect(view.queryAllByRole('button')).toHaveLength(0);
  });
});

describe('NoteList keyboard', () => {
  it('names every field after its note and gives each note a heading', () => {
    const view = render(list(false));
    expect(view.getByLabelText('Note title: Read me')).toBeTruthy();
    expect(view.getByLabelText('Note body: Done one')).toBeTruthy();
    expect(view.getAllByRole('heading').map((h) => h.textContent)).toEqual(['Read me', 'Done one']);
  });

  it('keeps only the current note in the Tab order, so the list costs the same Tabs at any length', () => {
    const view = render(list(false));
    const tabbable = () =>
      Array.from(view.container.querySelectorAll<HTMLElement>('button, textarea, input')).filter((el) => el.tabIndex === 0);
    expect(tabbable()).toHaveLength(6); // move, title, body, important, done, delete of the first note
    expect(tabbable().every((el) => el.closest('li')?.getAttribute('data-note-id') === 'a')).toBe(true);
    act(() => view.getByRole('button', { name: 'Delete note Done one' }).focus());
    expect(tabbable().every((el) => el.closest('li')?.getAttribute('data-note-id') === 'b')).toBe(true);
  });

  it('moves between notes with the arrows, Home and End, and leaves a field with Escape', () => {
    expect(rovingTarget('ArrowDown', false, 0, 3)).toEqual({ note: 1, sameControl: true });
    expect(rovingTarget('ArrowUp', false, 0, 3)).toBeNull();
    expect(rovingTarget('ArrowDown', false, 2, 3)).toBeNull();
    expect(rovingTarget('End', false, 0, 3)).toEqual({ note: 2, sameControl: true });
    expect(rovingTarget('Home', false, 2, 3)).toEqual({ note: 0, sameControl: true });
    // In a text field the arrows move the caret; Escape goes back to the note.
    expect(rovingTarget('ArrowDown', true, 0, 3)).toBeNull();
    expect(rovingTarget('Escape', true, 1, 3)).toEqual({ note: 1, sameControl: false });
    expect(rovingTarget('Escape', false, 1, 3)).toBeNull();
    expect(rovingTarget('a', false, 1, 3)).toBeNull();
  });

  it("focuses a new note's title once, not again when the note comes back (an undone delete)", () => {
    const shown = (list: typeof notes) => (
      <NoteList
        notes={list}
        focusId="b"
        onUpdate={vi.fn()}
        onMove={vi.fn()}
        onDelete={vi.fn()}
        measure={() => ({ bytes: 0, limit: 1024 })}
        bind={bind}
      />
    );
    const view = render(shown(notes));
    expect(document.activeElement).toBe(view.getByLabelText('Note title: Done one'));
    const elsewhere = view.getByRole('button', { name: 'Important: Read me' });
    act(() => elsewhere.focus());
    view.rerender(shown([notes[0]!])); // deleted
    view.rerender(shown(notes)); // and back
    expect(document.activeElement).toBe(elsewhere);
  });

  it('lets a viewer reach every note with the arrows: the read-only fields are its only stops', () => {
    // jsdom has no CSS.escape; the ids here need no escaping.
    if (typeof CSS === 'undefined' || !CSS.escape) vi.stubGlobal('CSS', { escape: (id: string) => id });
    const view = render(list(true));
    const first = view.getByLabelText('Note title: Read me');
    act(() => first.focus());
    act(() => {
      fireEvent.keyDown(first, { key: 'ArrowDown' });
    });
    expect(document.activeElement).toBe(view.getByLabelText('Note title: Done one'));
    act(() => {
      fireEvent.keyDown(document.activeElement as Element, { key: 'Home' });
    });
    expect(document.activeElement).toBe(first);
    vi.unstubAllGlobals();
  });
});
