// The sortable list of notes: pointer and keyboard drag & drop with screen-reader
// announcements; a drop asks the sync layer to move the note, which shows the new order at once.

import { useCallback, useMemo, useRef, useState, type FocusEvent, type KeyboardEvent } from 'react';
import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  closestCenter,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
  type UniqueIdentifier,
} from '@dnd-kit/core';
import { SortableContext, sortableKeyboardCoordinates, verticalListSortingStrategy } from '@dnd-kit/sortable';
import type { FieldSize, RemoteCaret } from '../../sync/api';
import type { Note, NoteUpdate } from '../../sync/protocol';
import { NoteItem, noteLabel } from './NoteItem';
import type { FieldBinding } from './EditableField';
import { useFlipAnimation } from './useFlipAnimation';

interface NoteListProps {
  notes: Note[];
  focusId: string | null;
  onUpdate(id: string, set: NoteUpdate): void;
  onMove(id: string, toIndex: number): void;
  onDelete(note: Note): void;
  measure(id: string, field: 'title' | 'body', value: string): FieldSize;
  bind(id: string, field: 'title' | 'body'): FieldBinding;
  /** Others' carets in the room. */
  carets?: readonly RemoteCaret[];
  /** A viewer's list: no dragging, no editing. */
  readOnly?: boolean;
  /** False in a view whose order is not the room's (sorted, filtered): no dragging. */
  movable?: boolean;
  /** Notes someone else just changed, with the words of their cue ("Bob edited this"). */
  cues?: Readonly<Record<string, string>>;
}

const screenReaderInstructions = {
  draggable:
    'To move a note, press Space or Enter on its move button. Use the up and down arrow keys to ' +
    'move it, Space or Enter to drop it in its new place, or Escape to cancel.',
};

/**
 * Where a key pressed in the list moves the focus (a roving focus over the notes): ArrowUp /
 * ArrowDown the same control of the previous / next note, Home / End the first / last note,
 * Escape from a note's text field its move button (or its title when it has none). Arrows and
 * Home/End inside a text field move its caret, as they should. Null: not a list key.
 */
export function rovingTarget(
  key: string,
  inField: boolean,
  at: number,
  count: number,
): { note: number; sameControl: boolean } | null {
  if (count === 0 || at < 0) return null;
  if (key === 'Escape') return inField ? { note: at, sameControl: false } : null;
  if (inField) return null;
  if (key === 'ArrowUp') return at > 0 ? { note: at - 1, sameControl: true } : null;
  if (key === 'ArrowDown') return at < count - 1 ? { note: at + 1, sameControl: true } : null;
  if (key === 'Home') return { note: 0, sameControl: true };
  if (key === 'End') return { note: count - 1, sameControl: true };
  return null;
}

const NO_CARETS: readonly RemoteCaret[] = Object.freeze([]);
const NO_CUES: Readonly<Record<string, string>> = Object.freeze({});

export function NoteList({
  notes,
  focusId,
  onUpdate,
  onMove,
  onDelete,
  measure,
  bind,
  carets = NO_CARETS,
  readOnly = false,
  movable = !readOnly,
  cues = NO_CUES,
}: NoteListProps) {
  const caretsByNote = useMemo(() => {
    const map = new Map<string, RemoteCaret[]>();
    for (const c of carets) map.set(c.note, [...(map.get(c.note) ?? []), c]);
    return map;
  }, [carets]);
  const ids = useMemo(() => notes.map((note) => note.id), [notes]);
  // The note whose controls are in the Tab order: the one last focused, else the first.
  const [currentId, setCurrentId] = useState<string | null>(null);
  const current = currentId !== null && ids.includes(currentId) ? currentId : (ids[0] ?? null);
  const dragging = useRef(false);
  const noteOf = (target: EventTarget | null) =>
    target instanceof Element ? target.closest<HTMLElement>('li[data-note-id]') : null;
  // A new note's title takes the focus once: the same note back later (an undone delete) must
  // not take it from wherever the user is by then.
  const focusTaken = useRef<string | null>(null);
  const onFocus = (event: FocusEvent<HTMLUListElement>) => {
    const id = noteOf(event.target)?.getAttribute('data-note-id');
    if (!id) return;
    if (id === focusId) focusTaken.current = id;
    setCurrentId(id);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    if (dragging.current || event.ctrlKey || event.metaKey) return;
    const item = noteOf(event.target);
    const target = event.target as HTMLElement;
    // A viewer's fields are read-only and are the only stops a viewer's note has: there the
    // arrows go from note to note (else the other notes could not be reached from the keyboard).
    const inField =
      (target.tagName === 'TEXTAREA' || (target.tagName === 'INPUT' && (target as HTMLInputElement).type !== 'checkbox')) &&
      !(target as HTMLTextAreaElement).readOnly;
    const at = item ? ids.indexOf(item.getAttribute('data-note-id') ?? '') : -1;
    // Alt+ArrowUp / Alt+ArrowDown move the note one place, from anywhere in it.
    if (event.altKey) {
      if (!movable || readOnly || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') || at < 0) return;
      const to = event.key === 'ArrowUp' ? at - 1 : at + 1;
      if (to < 0 || to >= ids.length) return;
      event.preventDefault();
      onMove(ids[at]!, to);
      return;
    }
    if (event.shiftKey) return;
    const move = rovingTarget(event.key, inField, at, ids.length);
    if (!move) return;
    const list = event.currentTarget;
    const control = target.getAttribute('data-control') ?? target.getAttribute('data-field');
    const next = list.querySelector<HTMLElement>(`li[data-note-id="${CSS.escape(ids[move.note]!)}"]`);
    if (!next) return;
    const pick =
      (move.sameControl && control
        ? next.querySelector<HTMLElement>(`[data-control="${control}"], [data-field="${control}"]`)
        : null) ??
      next.querySelector<HTMLElement>('[data-control="handle"]') ??
      next.querySelector<HTMLElement>('[data-field="title"]');
    if (!pick) return;
    // Escape also drops an empty new note (the workspace listens after this): not prevented.
    if (event.key !== 'Escape') event.preventDefault();
    setCurrentId(ids[move.note]!);
    pick.focus();
  };
  const suppressFlip = useRef(false);
  const flipRef = useFlipAnimation(ids, suppressFlip);

  const sensors = useSensors(
    // A few pixels of travel before a drag starts, so a click on the handle stays a click.
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  // Announcements read the live list, so they name notes by their current titles.
  const notesRef = useRef(notes);
  notesRef.current = notes;
  const announcements = useMemo<Announcements>(() => {
    const describe = (id: UniqueIdentifier) => {
      const list = notesRef.current;
      const index = list.findIndex((note) => note.id === id);
      const note = list[index];
      return { title: note ? noteLabel(note) : 'note', position: index + 1, count: list.length };
    };
    // dnd-kit reports "over" right after the pick-up (the note is over itself); saying "moved"
    // then would drown the pick-up message, so only a change of place is announced.
    let lastOver: UniqueIdentifier | null = null;
    return {
      onDragStart: ({ active }) => {
        lastOver = active.id;
        const { title, position, count } = describe(active.id);
        return `Picked up note ${title}, at position ${position} of ${count}.`;
      },
      onDragOver: ({ active, over }) => {
        const { title } = describe(active.id);
        if (!over) {
          lastOver = null;
          return `Note ${title} is no longer over the list.`;
        }
        if (over.id === lastOver) return undefined;
        lastOver = over.id;
        const { position, count } = describe(over.id);
        return `Note ${title} moved to position ${position} of ${count}.`;
      },
      onDragEnd: ({ active, over }) => {
        const { title } = describe(active.id);
        if (!over) return `Note ${title} dropped where it was.`;
        const { position, count } = describe(over.id);
        return `Note ${title} dropped at position ${position} of ${count}.`;
      },
      onDragCancel: ({ active }) => {
        const { title, position } = describe(active.id);
        return `Moving note ${title} was cancelled. It stays at position ${position}.`;
      },
    };
  }, []);

  const handleDragEnd = useCallback(
    ({ active, over }: DragEndEvent) => {
      if (!over || active.id === over.id) {
        return;
      }
      const from = ids.indexOf(String(active.id));
      const to = ids.indexOf(String(over.id));
      if (from < 0 || to < 0 || from === to) {
        return;
      }
      suppressFlip.current = true;
      onMove(String(active.id), to);
    },
    [ids, onMove],
  );

  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCenter}
      onDragStart={() => {
        dragging.current = true;
      }}
      onDragCancel={() => {
        dragging.current = false;
      }}
      onDragEnd={(event) => {
        dragging.current = false;
        handleDragEnd(event);
      }}
      accessibility={{ announcements, screenReaderInstructions }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy}>
        <ul className="notes" aria-label="Notes" onFocus={onFocus} onKeyDown={onKeyDown}>
          {notes.map((note) => (
            <NoteItem
              key={note.id}
              note={note}
              autoFocus={note.id === focusId && focusTaken.current !== focusId}
              flipRef={flipRef(note.id)}
              onUpdate={onUpdate}
              onDelete={onDelete}
              measure={measure}
              bind={bind}
              carets={caretsByNote.get(note.id) ?? NO_CARETS}
              readOnly={readOnly}
              movable={movable && !readOnly}
              cue={cues[note.id]}
              tabbable={note.id === current}
            />
          ))}
        </ul>
      </SortableContext>
    </DndContext>
  );
}
