// A room's workspace: live notes, presence, connection state, undo and reject notices; the
// owner's Share dialog and the members panel; a viewer's read-only state, switched live by the
// server; and what happens when the user loses the room while it is open.

import { useCallback, useEffect, useRef, useState, type FocusEvent as ReactFocusEvent, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import { getRoom } from '../../sync';
import { between } from '../../sync/order';
import type { Activity, RoomHandle, RoomView } from '../../sync/api';
import type { Note, NoteUpdate, Role, RoomInfo } from '../../sync/protocol';
import { useEditLimits, useRoom } from '../client/client';
import { useSession } from '../session/session';
import { Link, roomPath } from '../router/router';
import { MembersPanel } from '../sharing/MembersPanel';
import { ShareDialog } from '../sharing/ShareDialog';
import { ConnectionBadge } from '../../components/ConnectionBadge';
import { usePageHeading } from '../../components/usePageHeading';
import { CopyButton } from '../../components/CopyButton';
import { Toasts } from '../../components/Toasts';
import { NoteList } from './NoteList';
import type { FieldBinding } from './EditableField';
import { noteLabel } from './NoteItem';
import { Presence } from './Presence';
import { TrashPanel } from './TrashPanel';
import { useToasts } from './useToasts';

const UNDO_MS = 5000;

// A refused change in words; the server's message names protocol fields, not what a person sees.
function rejectText(code: string, message: string): string {
  switch (code) {
    case 'too_large':
      return 'A change was not saved: it is bigger than the server accepts.';
    case 'forbidden':
      return 'A change was not saved: you can only read this room.';
    case 'not_found':
      return 'A change was not saved: this room was deleted.';
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

/** The room was open here and the user lost it: removed, no longer public, or deleted. */
function AccessLostMessage({ lost, info }: { lost: NonNullable<RoomView['accessLost']>; info: RoomInfo | null }) {
  let headline: string;
  let text: string;
  if (lost.code === 'not_found') {
    headline = 'This room was deleted';
    text = 'Its owner deleted it, with all its notes.';
  } else if (info?.visibility === 'public' && info.role !== 'owner') {
    headline = 'This room is no longer public';
    text = 'Its owner closed it to visitors; only its members can open it now.';
  } else {
    headline = 'You were removed from this room';
    text = 'You are no longer a member. To come back, ask its owner for a new invite.';
  }
  return (
    <div className="card join-error" role="alert" data-testid="access-lost">
      <h2>{headline}</h2>
      <p>{text} Its copy on this device was deleted.</p>
      <Link className="button" href="/">
        Back to rooms
      </Link>
    </div>
  );
}

const ROLE_LINE: Record<Role, string> = {
  owner: 'You own this room',
  editor: 'You can edit',
  viewer: 'You can read',
};

/** How long a note carries the cue of someone else's change. */
const CUE_MS = 3_000;
/** Others' changes are told to screen readers at most this often, together. */
const SAY_EVERY_MS = 1_000;

/**
 * Others' changes as this page shows them: a fading cue on the note ("Bob edited this") and a
 * polite sentence for screen readers, coalesced ("Bob added “Milk”. Ann moved “Eggs”.").
 */
function useRemoteActivity(handle: RoomHandle): { cues: Record<string, string>; said: string } {
  const [cues, setCues] = useState<Record<string, string>>({});
  const [said, setSaid] = useState('');
  useEffect(() => {
    if (!handle.onActivity) return;
    const cueTimers = new Map<string, number>();
    // One line per person, note and kind of change; an add makes the note's edits redundant.
    const queued = new Map<string, Activity>();
    let sayTimer: number | null = null;
    const say = () => {
      sayTimer = null;
      const notes = handle.getView().notes;
      const lines: string[] = [];
      for (const a of queued.values()) {
        if (a.kind === 'edited' && queued.has(`${a.by}\u0000${a.noteId}\u0000added`)) continue;
        const title = (notes.find((n) => n.id === a.noteId)?.title ?? a.title).trim() || 'Untitled';
        lines.push(a.kind === 'marked' ? `${a.by} marked “${title}” ${a.detail}.` : `${a.by} ${a.kind} “${title}”.`);
      }
      queued.clear();
      setSaid(lines.join(' '));
    };
    const off = handle.onActivity((a) => {
      queued.set(`${a.by}\u0000${a.noteId}\u0000${a.kind}`, a);
      if (sayTimer === null) sayTimer = window.setTimeout(say, SAY_EVERY_MS);
      if (a.kind === 'deleted') return;
      const cue = `${a.by} ${a.kind === 'marked' ? `marked this ${a.detail}` : `${a.kind} this`}`;
      setCues((current) => ({ ...current, [a.noteId]: cue }));
      window.clearTimeout(cueTimers.get(a.noteId));
      cueTimers.set(
        a.noteId,
        window.setTimeout(() => {
          cueTimers.delete(a.noteId);
          setCues((current) => {
            const next = { ...current };
            delete next[a.noteId];
            return next;
          });
        }, CUE_MS),
      );
    });
    return () => {
      off();
      if (sayTimer !== null) window.clearTimeout(sayTimer);
      for (const t of cueTimers.values()) window.clearTimeout(t);
    };
  }, [handle]);
  return { cues, said };
}

/**
 * The notes this page shows: those matching `query` (title or body, ignoring case), and with
 * `flags`, important ones first and done ones last, collapsed unless `showDone`. A new note
 * being written (`keep`: a draft) always shows.
 */
export function arrangeNotes(
  notes: readonly Note[],
  query: string,
  arrange: 'shared' | 'flags',
  showDone: boolean,
  keep: (id: string) => boolean,
): { shown: Note[]; hiddenDone: number } {
  const q = query.trim().toLocaleLowerCase();
  let list = q
    ? notes.filter(
        (n) => keep(n.id) || n.title.toLocaleLowerCase().includes(q) || n.body.toLocaleLowerCase().includes(q),
      )
    : [...notes];
  let hiddenDone = 0;
  if (arrange === 'flags') {
    const important = list.filter((n) => n.is_important && !n.is_completed);
    const rest = list.filter((n) => !n.is_important && !n.is_completed);
    const done = list.filter((n) => n.is_completed);
    const doneShown = showDone ? done : done.filter((n) => keep(n.id));
    hiddenDone = done.length - doneShown.length;
    list = [...important, ...rest, ...doneShown];
  }
  return { shown: list, hiddenDone };
}

function WorkspaceBody({ handle, view }: { handle: RoomHandle; view: RoomView }) {
  const readOnly = view.info?.role === 'viewer';
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

  // Ctrl+Z / Cmd+Z undoes this user's own latest change in the room, Ctrl+Shift+Z and Ctrl+Y
  // redo (the browser's own undo of a field would replay its local history over others' text).
  useEffect(() => {
    if (readOnly) return;
    const onKey = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      const undo = key === 'z' && !event.shiftKey;
      const redo = (key === 'z' && event.shiftKey) || (key === 'y' && !event.shiftKey);
      if (!undo && !redo) return;
      const target = event.target instanceof HTMLElement ? event.target : null;
      // Not in a dialog, nor in a field that is not a note's.
      if (target?.closest('[role="dialog"]')) return;
      if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && !target.closest('.notes')) return;
      event.preventDefault();
      if (undo) handle.undo();
      else handle.redo();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [handle, readOnly]);

  const update = useCallback((id: string, set: NoteUpdate) => handle.updateNote(id, set), [handle]);
  const move = useCallback((id: string, toIndex: number) => handle.moveNote(id, toIndex), [handle]);
  // A new function when the server's limits change, so every note measures against them again.
  const limits = useEditLimits();
  const measure = useCallback(
    (id: string, field: 'title' | 'body', value: string) => handle.fieldSize(id, field, value),
    [handle, limits],
  );
  const bind = useCallback(
    (id: string, field: 'title' | 'body'): FieldBinding => ({
      edit: (ops) => handle.editText(id, field, ops),
      subscribe: (listener) =>
        handle.onTextChange((change) => {
          if (change.id === id && change.field === field) listener(change);
        }),
      caret: (anchor, head) => handle.setCaret(id, field, anchor, head),
      blur: () => handle.clearCaret(),
      undo: () => handle.undo(),
      redo: () => handle.redo(),
    }),
    [handle],
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
      push({ message: `Deleted “${noteLabel(note)}”; it is in the Trash.`, action: { label: 'Undo', run: () => handle.restoreNote(note) } }, UNDO_MS);
    },
    [handle, push],
  );
  const { cues, said } = useRemoteActivity(handle);

  // Views of the list for this page only; the room's order stays the one people drag.
  const [query, setQuery] = useState('');
  const [arrange, setArrange] = useState<'shared' | 'flags'>('shared');
  const [showDone, setShowDone] = useState(false);
  const { shown, hiddenDone } = arrangeNotes(view.notes, query, arrange, showDone, (id) => handle.isDraft?.(id) ?? false);
  const ordered = arrange === 'shared' && query.trim() === '';

  // A new note starts at the top, where the button is, and stays on this page only until it
  // has some text; Escape (or leaving it empty) drops it.
  const create = () => {
    const first = handle.getView().notes[0];
    const index = first ? (between(undefined, first.current_index) ?? undefined) : undefined;
    setFocusId(handle.createNote({ title: '', body: '' }, index, { draft: true }));
  };
  const draftOf = (target: EventTarget | null): string | null => {
    const item = target instanceof Element ? target.closest('li[data-note-id]') : null;
    const id = item?.getAttribute('data-note-id') ?? null;
    return id && handle.isDraft?.(id) ? id : null;
  };
  const onListKeyDown = (event: ReactKeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'Escape') return;
    const id = draftOf(event.target);
    if (id && handle.discardDraft?.(id)) {
      event.preventDefault();
      newNoteButton.current?.focus();
    }
  };
  const onListBlur = (event: ReactFocusEvent<HTMLDivElement>) => {
    const id = draftOf(event.target);
    if (!id) return;
    const next = event.relatedTarget instanceof Element ? event.relatedTarget.closest('li[data-note-id]') : null;
    if (next?.getAttribute('data-note-id') !== id) handle.discardDraft?.(id);
  };

  return (
    <>
      <div className="toolbar">
        {readOnly ? (
          <p className="notice view-only" role="status" data-testid="view-only">
            <strong>View only.</strong> You can read this room but not change it.
          </p>
        ) : (
          <button type="button" className="primary" onClick={create} ref={newNoteButton}>
            New note
          </button>
        )}
        <p className="visually-hidden" aria-live="polite" data-testid="remote-changes">
          {said}
        </p>
        {/* Shown at the bottom of the screen; here in the tab order, one Tab after New note. */}
        <Toasts items={toasts.items} onDismiss={toasts.dismiss} onHold={toasts.hold} onRelease={toasts.release} />
        <span className="muted" data-testid="note-count">
          {view.notes.length} {view.notes.length === 1 ? 'note' : 'notes'}
        </span>
        <div className="list-views">
          <label className="search">
            <span className="visually-hidden">Search notes</span>
            <input
              type="search"
              placeholder="Search notes"
              value={query}
              onChange={(event) => setQuery(event.target.value)}
            />
          </label>
          <label>
            <span className="visually-hidden">Arrange notes</span>
            <select value={arrange} onChange={(event) => setArrange(event.target.value === 'flags' ? 'flags' : 'shared')}>
              <option value="shared">In the shared order</option>
              <option value="flags">Important first, done last</option>
            </select>
          </label>
        </div>
      </div>
      {!readOnly && view.notes.length > 0 && (
        <details className="shortcuts">
          <summary>Keyboard shortcuts</summary>
          <ul>
            <li>
              <kbd>Tab</kbd> goes through one note’s controls; <kbd>↑</kbd> <kbd>↓</kbd> on a button go to the same
              button of the note above or below, <kbd>Home</kbd> <kbd>End</kbd> to the first or last note.
            </li>
            <li>
              <kbd>Esc</kbd> in a title or body goes back to the note’s move button.
            </li>
            <li>
              <kbd>Alt</kbd>+<kbd>↑</kbd> / <kbd>Alt</kbd>+<kbd>↓</kbd> move the note one place; or <kbd>Space</kbd> on
              the move button, the arrows, and <kbd>Space</kbd> to drop.
            </li>
            <li>
              <kbd>Ctrl</kbd>+<kbd>Z</kbd> undoes your own last change, <kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>Z</kbd>{' '}
              redoes it. Deleted notes are in the Trash.
            </li>
          </ul>
        </details>
      )}
      {!ordered && (
        <p className="muted view-note" role="status">
          {query.trim() !== '' ? `${shown.length} of ${view.notes.length} notes match “${query.trim()}”. ` : ''}
          Moving notes works in the shared order without a search.
        </p>
      )}
      {view.notes.length === 0 ? (
        <p className="empty muted">{readOnly ? 'No notes yet.' : 'No notes yet. Add the first one.'}</p>
      ) : (
        // Key and focus events of the notes bubble here: Escape in, or leaving, an empty new note.
        <div onKeyDown={onListKeyDown} onBlur={onListBlur}>
          <NoteList
          notes={shown}
          cues={cues}
          movable={ordered}
          focusId={focusId}
          onUpdate={update}
          onMove={move}
          onDelete={remove}
          measure={measure}
          bind={bind}
          carets={view.carets}
          readOnly={readOnly}
          />
          {hiddenDone > 0 && (
            <button type="button" className="show-done" onClick={() => setShowDone(true)}>
              Show {hiddenDone} done {hiddenDone === 1 ? 'note' : 'notes'}
            </button>
          )}
          {arrange === 'flags' && showDone && (
            <button type="button" className="show-done" onClick={() => setShowDone(false)}>
              Hide done notes
            </button>
          )}
        </div>
      )}
    </>
  );
}

export function Workspace({ roomId }: { roomId: string }) {
  const { handle, view } = useRoom(roomId);
  const { session } = useSession();
  const [sharing, setSharing] = useState(false);
  const [membersOpen, setMembersOpen] = useState(false);
  const [trashOpen, setTrashOpen] = useState(false);
  const trashButton = useRef<HTMLButtonElement>(null);
  const lost = view?.accessLost ?? null;
  const joinError = view?.joinError ?? null;
  const info = view?.info ?? null;
  const title = joinError ? 'Room unavailable' : (info?.name ?? 'Room');
  const usable = Boolean(handle && view?.loaded && !joinError && !lost);
  const role = usable ? (info?.role ?? null) : null;

  const heading = usePageHeading(title);

  // A `resume` carries no room info, so what changed while this page was away (a new role, a
  // new name) comes over HTTP once per connection; a `role` frame newer than the answer wins.
  const connected = view !== null && view.status !== 'offline';
  const fromServer = Boolean(view?.loaded && !view.fromCache);
  const token = session?.token;
  useEffect(() => {
    if (!handle || !token || !connected || !fromServer || lost || joinError) return;
    const version = handle.infoVersion;
    let cancelled = false;
    getRoom(token, roomId).then(
      (details) => {
        if (!cancelled) handle.mergeInfo(details.room, version);
      },
      // Refused or offline: the socket says what matters (error frames, role frames).
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [handle, token, connected, fromServer, lost, joinError, roomId]);

  // Losing the room (or owning it no longer) closes what only made sense with it.
  useEffect(() => {
    if (role !== 'owner') setSharing(false);
    if (!usable) {
      setMembersOpen(false);
      setTrashOpen(false);
    }
  }, [role, usable]);

  return (
    <main id="main" className="page workspace">
      <div className="workspace-header">
        <div>
          <h1 ref={heading} tabIndex={-1}>
            {title}
          </h1>
          {usable && (
            <p className="room-id-line">
              <span className="muted">Room id</span> <code className="room-id">{roomId}</code>
              <CopyButton text={`${window.location.origin}${roomPath(roomId)}`} label="Copy room link" />
            </p>
          )}
          {role && (
            <p className={`role-line role-${role}`} data-testid="role-line" data-role={role}>
              {ROLE_LINE[role]}
            </p>
          )}
        </div>
        <div className="workspace-actions">
          {role === 'owner' && (
            <button type="button" onClick={() => setSharing(true)} aria-haspopup="dialog">
              Share
            </button>
          )}
          {usable && (
            <button
              type="button"
              aria-expanded={membersOpen}
              aria-controls={membersOpen ? 'members-panel' : undefined}
              onClick={() => setMembersOpen((open) => !open)}
            >
              Members
            </button>
          )}
          {usable && (
            <button
              type="button"
              ref={trashButton}
              aria-expanded={trashOpen}
              aria-controls={trashOpen ? 'trash-panel' : undefined}
              onClick={() => setTrashOpen((open) => !open)}
            >
              Trash
            </button>
          )}
          {view && !joinError && !lost && <ConnectionBadge status={view.status} pending={view.pendingCount} />}
        </div>
      </div>
      {lost ? (
        <AccessLostMessage lost={lost} info={info} />
      ) : joinError ? (
        <JoinErrorMessage roomId={roomId} error={joinError} />
      ) : !handle || !view || !view.loaded ? (
        <p className="muted" role="status">
          {view?.status === 'offline' ? 'Offline, and this room is not saved on this device yet.' : 'Loading notes…'}
        </p>
      ) : (
        <>
          {membersOpen && session && role && (
            <MembersPanel
              id="members-panel"
              token={session.token}
              me={session.user}
              handle={handle}
              roomName={info?.name ?? roomId}
              myRole={role}
              present={view.presence.users}
            />
          )}
          {trashOpen && session && role && (
            <TrashPanel
              id="trash-panel"
              token={session.token}
              handle={handle}
              readOnly={role === 'viewer'}
              notesKey={String(view.notes.length)}
              onClose={() => {
                setTrashOpen(false);
                trashButton.current?.focus();
              }}
            />
          )}
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
      {sharing && session && handle && info && role === 'owner' && (
        <ShareDialog token={session.token} handle={handle} info={info} onClose={() => setSharing(false)} />
      )}
    </main>
  );
}
