// The sortable list of notes: pointer and keyboard drag & drop with screen-reader
// announcements; a drop asks the sync layer to move the note, which shows the new order at once.

import { useCallback, useMemo, useRef } from 'react';
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
      onDragEnd={handleDragEnd}
      accessibility={{ announcements, screenReaderInstructions }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy}>
        <ul className="notes" aria-label="Notes">
          {notes.map((note) => (
            <NoteItem
              key={note.id}
              note={note}
              autoFocus={note.id === focusId}
              flipRef={flipRef(note.id)}
              onUpdate={onUpdate}
              onDelete={onDelete}
              measure={measure}
              bind={bind}
              carets={caretsByNote.get(note.id) ?? NO_CARETS}
              readOnly={readOnly}
              movable={movable && !readOnly}
              cue={cues[note.id]}
            />
          ))}
        </ul>
      </SortableContext>
    </DndContext>
  );
}
