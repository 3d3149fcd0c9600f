// @vitest-environment jsdom
// A viewer's list: the notes and their flags, and no control that would change them; the same
// list switches to the editor's controls when the role changes, without a remount.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { NoteList } from './NoteList';
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
    const titles = view.getAllByLabelText('Note title') as HTMLInputElement[];
    expect(titles.map((t) => t.value)).toEqual(['Read me', 'Done one']);
    for (const field of [...titles, ...(view.getAllByLabelText('Note body') as HTMLTextAreaElement[])]) {
      expect(field.readOnly).toBe(true);
    }
    expect(view.getByText('Important')).toBeTruthy();
    expect(view.getByText('Done')).toBeTruthy();

    view.rerender(list(false));
    expect(view.getByRole('button', { name: 'Move note Read me' })).toBeTruthy();
    expect(view.getByRole('button', { name: 'Delete note Done one' })).toBeTruthy();
    expect(view.getByRole('checkbox', { name: 'Done: Done one' })).toBeTruthy();
    expect((view.getAllByLabelText('Note title') as HTMLInputElement[]).every((t) => !t.readOnly)).toBe(true);

    view.rerender(list(true));
    expect(view.queryAllByRole('button')).toHaveLength(0);
  });
});
