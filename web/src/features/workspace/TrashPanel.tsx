// The room's Trash: notes deleted in the last 30 days (the server keeps them), newest first, for
// any editor to bring back. A restore is a create of the note with its old id and content, so
// every page sees it come back as it was, where it was.

import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, getTrash, type TrashedNote } from '../../sync';
import type { RoomHandle } from '../../sync/api';
import { apiErrorText } from '../sharing/errors';
import { noteLabel } from './NoteItem';

interface TrashPanelProps {
  id: string;
  token: string;
  handle: RoomHandle;
  readOnly: boolean;
  /** Changes when the room's notes do (a delete or a restore anywhere): the list is read again. */
  notesKey: string;
  onClose(): void;
}

/** Waits this long after the notes change before reading the Trash again (bursts of deletes). */
const REFRESH_MS = 300;

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago", "yesterday": how long ago `iso` was, in the largest unit that fits. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [
    ['second', 60],
    ['minute', 60],
    ['hour', 24],
    ['day', 30],
    ['month', 12],
  ];
  let value = seconds;
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return unit === 'second' && Math.abs(value) < 10 ? 'just now' : relative.format(value, unit);
    value = Math.round(value / size);
  }
  return relative.format(value, 'year');
}

function snippet(body: string): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > 140 ? `${line.slice(0, 140)}…` : line;
}

export function TrashPanel({ id, token, handle, readOnly, notesKey, onClose }: TrashPanelProps) {
  const roomId = handle.roomId;
  const [entries, setEntries] = useState<TrashedNote[] | null>(null);
  const [retention, setRetention] = useState(30);
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  // Restored here and not yet gone from the server's answer (the create is on its way).
  const restored = useRef(new Set<string>());
  const panel = useRef<HTMLElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  const reload = useCallback(async () => {
    try {
      const trash = await getTrash(token, roomId);
      const listed = new Set(trash.notes.map((n) => n.id));
      for (const noteId of restored.current) if (!listed.has(noteId)) restored.current.delete(noteId);
      setEntries(trash.notes.filter((n) => !restored.current.has(n.id)));
      setRetention(trash.retention_days);
      setProblem(null);
    } catch (caught) {
      setProblem(
        caught instanceof ApiError && caught.status === 0
          ? 'The Trash is kept on the server: it opens when the connection is back.'
          : apiErrorText(caught),
      );
    }
  }, [token, roomId]);

  // At once when the panel opens, then shortly after each change of the room's notes.
  const opened = useRef(false);
  useEffect(() => {
    const timer = window.setTimeout(() => void reload(), opened.current ? REFRESH_MS : 0);
    opened.current = true;
    return () => window.clearTimeout(timer);
  }, [reload, notesKey]);

  useEffect(() => heading.current?.focus(), []);

  const restore = (note: TrashedNote, at: number) => {
    handle.restoreNote(note);
    restored.current.add(note.id);
    const rest = (entries ?? []).filter((n) => n.id !== note.id);
    setEntries(rest);
    setStatus(`Restored “${noteLabel(note)}”.`);
    // Keep the keyboard user's place: the next entry's Restore, else the previous, else the heading.
    window.requestAnimationFrame(() => {
      const buttons = panel.current?.querySelectorAll<HTMLButtonElement>('button.restore');
      const next = buttons?.[Math.min(at, (buttons?.length ?? 1) - 1)];
      (next ?? heading.current)?.focus();
    });
  };

  return (
    <section
      id={id}
      ref={panel}
      className="card trash-panel"
      aria-labelledby={`${id}-heading`}
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          onClose();
        }
      }}
    >
      <div className="panel-header">
        <h2 id={`${id}-heading`} ref={heading} tabIndex={-1}>
          Trash
        </h2>
        <button type="button" className="small" onClick={onClose}>
          Close Trash
        </button>
      </div>
      <p className="muted">
        Deleted notes stay here for {retention} days.{' '}
        {readOnly ? 'Editors of the room can restore them.' : 'Anyone who can edit the room can restore them.'}
      </p>
      {entries === null && !problem && <p className="muted">Loading…</p>}
      {entries !== null && entries.length === 0 && <p className="muted">The Trash is empty.</p>}
      {entries !== null && entries.length > 0 && (
        <ul className="trash-list" aria-label="Deleted notes">
          {entries.map((note, at) => {
            const label = noteLabel(note);
            const body = snippet(note.body);
            const who = note.deleted_by.name ?? 'a former member';
            return (
              <li key={note.id} data-trash-id={note.id}>
                <div className="trash-note">
                  <h3 className="trash-title">{label}</h3>
                  {body && <p className="trash-body">{body}</p>}
                  <p className="muted trash-when">
                    Deleted by {who}, <time dateTime={note.deleted_at}>{timeAgo(note.deleted_at)}</time>
                  </p>
                </div>
                {!readOnly && (
                  <button type="button" className="small restore" onClick={() => restore(note, at)} aria-label={`Restore “${label}”`}>
                    Restore
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <p className="visually-hidden" role="status">
        {status}
      </p>
    </section>
  );
}
