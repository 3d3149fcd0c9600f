// A room's workspace: live notes, presence, connection state, undo and reject notices.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { RoomHandle, RoomView } from '../../sync/api';
import type { Note, NoteUpdate } from '../../sync/protocol';
import { useEditLimits, useRoom } from '../client/client';
import { Link } from '../router/router';
import { ConnectionBadge } from '../../components/ConnectionBadge';
import { CopyButton } from '../../components/CopyButton';
import { Toasts } from '../../components/Toasts';
import { NoteList } from './NoteList';
import { noteLabel } from './NoteItem';
import { Presence } from './Presence';
import { useToasts } from './useToasts';

const UNDO_MS = 5000;

// A refused change in words; the server's message names protocol fields, not what a person sees.
function rejectText(code: string, message: string): string {
  switch (code) {
    case 'too_large':
      return 'A change was not saved: it is bigger than the server accepts.';
    case 'forbidden':
      return 'A change was not saved: you can only read this room.';
    default:
      return `A change was not saved: ${message || code}`;
  }
}
const REJECT_NOTICE_MS = 5000;

function JoinErrorMessage({ roomId, error }: { roomId: string; error: NonNullable<RoomView['joinError']> }) {
  const text =
    error.code === 'forbidden'
      ? 'This room is private and you are not a member. Ask its owner to invite you.'
      : error.code === 'not_found'
        ? `There is no room with the id “${roomId}”. Check the id and try again.`
        : error.message || `The room could not be opened (${error.code}).`;
  return (
    <div className="card join-error" role="alert">
      <h2>Cannot open this room</h2>
      <p>{text}</p>
      <Link className="button" href="/">
        Back to rooms
      </Link>
    </div>
  );
}

function WorkspaceBody({ handle, view }: { handle: RoomHandle; view: RoomView }) {
  const toasts = useToasts();
  const [focusId, setFocusId] = useState<string | null>(null);
  const { push } = toasts;

  useEffect(
    () =>
      handle.onReject((notice) => {
        push({ message: rejectText(notice.code, notice.message), tone: 'error' }, REJECT_NOTICE_MS);
      }),
    [handle, push],
  );

  const update = useCallback((id: string, set: NoteUpdate) => handle.updateNote(id, set), [handle]);
  const move = useCallback((id: string, toIndex: number) => handle.moveNote(id, toIndex), [handle]);
  // A new function when the server's limits change, so every note measures against them again.
  const limits = useEditLimits();
  const measure = useCallback(
    (id: string, field: 'title' | 'body', value: string) => handle.fieldSize(id, field, value),
    [handle, limits],
  );
  // After a delete, focus goes to the neighbouring note's move button (or New note), not to
  // the page's start, so keyboard users keep their place.
  const focusAfterDelete = useRef<string | null>(null);
  const newNoteButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const target = focusAfterDelete.current;
    if (target === null) return;
    focusAfterDelete.current = null;
    const handleButton = document.querySelector<HTMLElement>(`li[data-note-id="${CSS.escape(target)}"] .handle`);
    (handleButton ?? newNoteButton.current)?.focus();
  }, [view.notes]);

  const remove = useCallback(
    (note: Note) => {
      const notes = handle.getView().notes;
      const at = notes.findIndex((other) => other.id === note.id);
      focusAfterDelete.current = (notes[at + 1] ?? notes[at - 1])?.id ?? '';
      handle.deleteNote(note.id);
      push({ message: `Deleted “${noteLabel(note)}”.`, action: { label: 'Undo', run: () => handle.restoreNote(note) } }, UNDO_MS);
    },
    [handle, push],
  );
  const create = () => setFocusId(handle.createNote({ title: '', body: '' }));

  return (
    <>
      <div className="toolbar">
        <button type="button" className="primary" onClick={create} ref={newNoteButton}>
          New note
        </button>
        <span className="muted" data-testid="note-count">
          {view.notes.length} {view.notes.length === 1 ? 'note' : 'notes'}
        </span>
      </div>
      {view.notes.length === 0 ? (
        <p className="empty muted">No notes yet. Add the first one.</p>
      ) : (
        <NoteList notes={view.notes} focusId={focusId} onUpdate={update} onMove={move} onDelete={remove} measure={measure} />
      )}
      <Toasts items={toasts.items} onDismiss={toasts.dismiss} />
    </>
  );
}

export function Workspace({ roomId }: { roomId: string }) {
  const { handle, view } = useRoom(roomId);
  const title = view?.joinError ? 'Room unavailable' : (view?.info?.name ?? 'Room');

  useEffect(() => {
    document.title = `${title} · fun-notes`;
    return () => {
      document.title = 'fun-notes';
    };
  }, [title]);

  return (
    <main id="main" className="page workspace">
      <div className="workspace-header">
        <div>
          <h1>{title}</h1>
          {!view?.joinError && (
            <p className="room-id-line">
              <span className="muted">Room id</span> <code className="room-id">{roomId}</code>
              <CopyButton text={roomId} label="Copy room id" />
            </p>
          )}
        </div>
        {view && !view.joinError && <ConnectionBadge status={view.status} pending={view.pendingCount} />}
      </div>
      {view?.joinError ? (
        <JoinErrorMessage roomId={roomId} error={view.joinError} />
      ) : !handle || !view || !view.loaded ? (
        <p className="muted" role="status">
          {view?.status === 'offline' ? 'Offline, and this room is not saved on this device yet.' : 'Loading notes…'}
        </p>
      ) : (
        <>
          <Presence
            count={view.presence.active_user_count}
            users={view.presence.users}
            offline={view.status === 'offline'}
          />
          {view.fromCache && (
            <p className="notice" role="status">
              Showing the copy saved on this device; changes will sync when the server answers.
            </p>
          )}
          <WorkspaceBody handle={handle} view={view} />
        </>
      )}
    </main>
  );
}
