// Room entry: join a room by its id, create one (private, anyone with the id, or public), or
// pick one of the user's rooms.

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, createRoom, listRooms } from '../../sync';
import type { RoomInfo, Visibility } from '../../sync/protocol';
import { useSession } from '../session/session';
import { useSyncClient } from '../client/client';
import { Link, navigate, roomPath } from '../router/router';
import { usePageHeading } from '../../components/usePageHeading';
import { CopyButton } from '../../components/CopyButton';
import { visibilityText } from '../sharing/invites';

function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 0 ? 'You are offline; rooms cannot be created right now.' : error.message;
  }
  return 'Something went wrong. Please try again.';
}

/** The room id in what was typed or pasted: an id, or a room link (…/r/<id>). */
export function roomIdOf(input: string): string {
  const text = input.trim();
  const link = /\/r\/([^/?#\s]+)/.exec(text);
  if (link?.[1]) {
    try {
      return decodeURIComponent(link[1]);
    } catch {
      return link[1];
    }
  }
  return text;
}

function JoinForm() {
  const [roomId, setRoomId] = useState('');
  const join = (event: FormEvent) => {
    event.preventDefault();
    const id = roomIdOf(roomId);
    if (id) {
      navigate(roomPath(id));
    }
  };
  return (
    <form className="card form" onSubmit={join} aria-labelledby="join-heading">
      <h2 id="join-heading">Join a room</h2>
      <label className="field">
        <span>Room id</span>
        <input
          name="room-id"
          aria-describedby="room-id-hint"
          required
          autoComplete="off"
          spellCheck={false}
          value={roomId}
          onChange={(event) => setRoomId(event.target.value)}
        />
      </label>
      <small className="hint" id="room-id-hint">
        Or paste a room link.
      </small>
      <div className="actions">
        <button type="submit" className="primary">
          Join
        </button>
      </div>
    </form>
  );
}

function CreateForm({ onCreated }: { onCreated(): void }) {
  const { session } = useSession();
  const [name, setName] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('link');
  const [visitorsEdit, setVisitorsEdit] = useState(false);
  const [created, setCreated] = useState<RoomInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!session) {
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setCreated(await createRoom(session.token, name.trim(), visibility, visitorsEdit ? 'editor' : 'viewer'));
      setName('');
      onCreated();
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form" onSubmit={create} aria-labelledby="create-heading">
      <h2 id="create-heading">Create a room</h2>
      <label className="field">
        <span>Room name</span>
        <input
          name="room-name"
          required
          maxLength={200}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
      </label>
      <fieldset className="field">
        <legend>Who can join</legend>
        <label className="choice">
          <input
            type="radio"
            name="visibility"
            value="link"
            checked={visibility === 'link'}
            onChange={() => setVisibility('link')}
          />
          Anyone with the id can join
        </label>
        <label className="choice">
          <input
            type="radio"
            name="visibility"
            value="private"
            checked={visibility === 'private'}
            onChange={() => setVisibility('private')}
          />
          Private (members only)
        </label>
        <label className="choice">
          <input
            type="radio"
            name="visibility"
            value="public"
            checked={visibility === 'public'}
            onChange={() => setVisibility('public')}
          />
          Public (listed on every dashboard)
        </label>
        {visibility === 'public' && (
          <label className="choice nested-choice">
            <input type="checkbox" checked={visitorsEdit} onChange={(event) => setVisitorsEdit(event.target.checked)} />
            Visitors may edit (otherwise they can only read)
          </label>
        )}
      </fieldset>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Create room
        </button>
      </div>
      {created && (
        <div className="created" role="status">
          <p>
            Room <strong>{created.name}</strong> is ready. Share its id:
          </p>
          <p className="room-id-line">
            <code className="room-id" data-testid="created-room-id">
              {created.id}
            </code>
            <CopyButton text={`${window.location.origin}${roomPath(created.id)}`} label={`Copy room link ${created.id}`} />
          </p>
          <Link className="button primary" href={roomPath(created.id)}>
            Open {created.name}
          </Link>
        </div>
      )}
    </form>
  );
}

/** The user's rooms from the HTTP API; offline it says so and the forms above still work. */
function MyRooms({ version }: { version: number }) {
  const { session } = useSession();
  const client = useSyncClient();
  const [rooms, setRooms] = useState<RoomInfo[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!session) {
      return;
    }
    let cancelled = false;
    listRooms(session.token).then(
      (list) => {
        if (!cancelled) {
          setRooms(list);
        }
      },
      (caught: unknown) => {
        if (cancelled) return;
        const offline = caught instanceof ApiError && caught.status === 0;
        if (!offline) {
          setProblem(errorText(caught));
          return;
        }
        // Offline: the rooms this device knows, which open from the cache.
        void (client.cachedRooms?.() ?? Promise.resolve([])).then((cached) => {
          if (cancelled) return;
          setRooms(cached);
          setProblem(
            cached.length > 0
              ? 'Offline: the rooms opened on this device. The full list shows when you reconnect.'
              : 'Offline: your room list will show when you reconnect.',
          );
        });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [session, version, client]);

  return (
    <section className="card" aria-labelledby="my-rooms-heading">
      <h2 id="my-rooms-heading">Your rooms</h2>
      {problem && <p className="muted">{problem}</p>}
      {!problem && rooms === null && <p className="muted">Loading…</p>}
      {!problem && rooms && rooms.length === 0 && <p className="muted">No rooms yet. Create one or join by id.</p>}
      {rooms && rooms.length > 0 && (
        <ul className="room-links">
          {rooms.map((room) => (
            <li key={room.id}>
              <Link href={roomPath(room.id)}>{room.name}</Link>
              <span className="muted"> · {visibilityText(room.visibility)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function RoomEntry() {
  // Bumped when a room is created, so the list below shows it.
  const [version, setVersion] = useState(0);
  const bump = useCallback(() => setVersion((current) => current + 1), []);
  const heading = usePageHeading('Rooms');
  return (
    <main id="main" className="page">
      <h1 ref={heading} tabIndex={-1}>
        Rooms
      </h1>
      <div className="grid-2">
        <JoinForm />
        <CreateForm onCreated={bump} />
      </div>
      <MyRooms version={version} />
    </main>
  );
}
