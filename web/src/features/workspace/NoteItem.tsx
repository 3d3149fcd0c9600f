// One note in the list: drag handle, inline title and body, important / done toggles, delete.
// Read-only (a viewer): the text and the flags only, no controls.

import { memo, useMemo } from 'react';
import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import type { FieldSize, RemoteCaret } from '../../sync/api';
import type { Note, NoteUpdate } from '../../sync/protocol';
import { EditableField, type FieldBinding } from './EditableField';
import { EditingList, RemoteCarets } from './RemoteCarets';

export const noteLabel = (note: Pick<Note, 'title'>): string => note.title.trim() || 'Untitled';

interface NoteItemProps {
  note: Note;
  autoFocus: boolean;
  flipRef(element: HTMLElement | null): void;
  onUpdate(id: string, set: NoteUpdate): void;
  onDelete(note: Note): void;
  measure(id: string, field: 'title' | 'body', value: string): FieldSize;
  /** The text ops of one of the note's fields (stable per room). */
  bind(id: string, field: 'title' | 'body'): FieldBinding;
  /** Others' carets in this note. */
  carets: readonly RemoteCaret[];
  readOnly: boolean;
  /** Shows the move handle (not in a sorted or filtered view, whose order is not the room's). */
  movable?: boolean;
  /** Someone else just changed the note: a fading cue with these words (screen readers hear it
   *  from the workspace's live region instead). */
  cue?: string | undefined;
  /** The list's current note: its controls are in the Tab order, the other notes' are not
   *  (the list is one stop of a few Tabs whatever its length; arrow keys move between notes). */
  tabbable?: boolean;
}

function NoteItemImpl({
  note,
  autoFocus,
  flipRef,
  onUpdate,
  onDelete,
  measure,
  bind,
  carets,
  readOnly,
  movable = !readOnly,
  cue,
  tabbable = true,
}: NoteItemProps) {
  const tab = tabbable ? 0 : -1;
  const titleCarets = useMemo(() => carets.filter((c) => c.field === 'title'), [carets]);
  const bodyCarets = useMemo(() => carets.filter((c) => c.field === 'body'), [carets]);
  const titleBinding = useMemo(() => bind(note.id, 'title'), [bind, note.id]);
  const bodyBinding = useMemo(() => bind(note.id, 'body'), [bind, note.id]);
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } =
    useSortable({ id: note.id, disabled: !movable });
  const label = noteLabel(note);

  const classes = ['note'];
  if (note.is_important) classes.push('is-important');
  if (note.is_completed) classes.push('is-completed');
  if (isDragging) classes.push('is-dragging');
  if (readOnly) classes.push('read-only');
  if (cue) classes.push('has-cue');

  return (
    <li
      ref={setNodeRef}
      className="note-item"
      data-note-id={note.id}
      style={{ transform: CSS.Translate.toString(transform), transition }}
    >
      <div className={classes.join(' ')} ref={flipRef}>
        {/* For screen readers' heading navigation: one heading per note, named by its title. */}
        <h2 className="visually-hidden" id={`note-heading-${note.id}`}>
          {label}
        </h2>
        {cue && (
          <span className="remote-cue" aria-hidden="true" data-testid="remote-cue">
            {cue}
          </span>
        )}
        {movable && (
          <button
            type="button"
            className="handle"
            ref={setActivatorNodeRef}
            {...attributes}
            {...listeners}
            tabIndex={tab}
            data-control="handle"
            aria-label={`Move note ${label}`}
          >
            <span aria-hidden="true">⠿</span>
          </button>
        )}
        <div className="note-fields">
          <EditableField
            field="title"
            label={`Note title: ${label}`}
            tabIndex={tab}
            placeholder="Untitled"
            measure={(value) => measure(note.id, 'title', value)}
            value={note.title}
            autoFocus={autoFocus}
            readOnly={readOnly}
            binding={titleBinding}
            overlay={(text) => <RemoteCarets text={text} carets={titleCarets} field="title" />}
          />
          <EditableField
            field="body"
            label={`Note body: ${label}`}
            tabIndex={tab}
            placeholder="Write something…"
            measure={(value) => measure(note.id, 'body', value)}
            value={note.body}
            readOnly={readOnly}
            binding={bodyBinding}
            overlay={(text) => <RemoteCarets text={text} carets={bodyCarets} field="body" />}
          />
          <EditingList carets={carets} />
        </div>
        {readOnly ? (
          <div className="note-flags">
            {note.is_important && (
              <span className="flag flag-important">
                <span aria-hidden="true">★</span> Important
              </span>
            )}
            {note.is_completed && <span className="flag flag-done">Done</span>}
          </div>
        ) : (
          <div className="note-actions">
            <button
              type="button"
              className="toggle small"
              aria-pressed={note.is_important}
              tabIndex={tab}
              data-control="important"
              aria-label={`Important: ${label}`}
              onClick={() => onUpdate(note.id, { is_important: !note.is_important })}
            >
              <span aria-hidden="true">{note.is_important ? '★' : '☆'}</span> Important
            </button>
            <label className="check small">
              <input
                type="checkbox"
                checked={note.is_completed}
                tabIndex={tab}
                data-control="done"
                onChange={(event) => onUpdate(note.id, { is_completed: event.target.checked })}
                aria-label={`Done: ${label}`}
              />
              <span aria-hidden="true">Done</span>
            </label>
            <button
              type="button"
              className="small danger"
              tabIndex={tab}
              data-control="delete"
              aria-label={`Delete note ${label}`}
              onClick={() => onDelete(note)}
            >
              Delete
            </button>
          </div>
        )}
      </div>
    </li>
  );
}

// Notes are immutable snapshots: an unchanged note keeps its object, so memo skips its render.
export const NoteItem = memo(NoteItemImpl);
