// Live dashboard: the user's rooms and the public rooms with live user and note counts, most
// active first, sortable. Public rooms the user is not a member of carry a "Public" badge.

import { useEffect, useMemo, useState } from 'react';
import { listRooms } from '../../sync';
import type { Role } from '../../sync/protocol';
import { useDashboard } from '../client/client';
import { useSession } from '../session/session';
import { Link, navigate, roomPath } from '../router/router';
import { usePageHeading } from '../../components/usePageHeading';
import { DEFAULT_SORT, isVisitor, sortRooms, type SortDirection, type SortKey } from './sortRooms';

const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'name', label: 'Room', numeric: false },
  { key: 'active_user_count', label: 'Active users', numeric: true },
  { key: 'total_notes', label: 'Notes', numeric: true },
];

const ROLE_TEXT = { owner: 'Owner', editor: 'Editor', viewer: 'Viewer' } as const;

/** The rooms the user is a member of, with the user's role, asked again when rooms come or go
 *  (a `room_stat` that adds a room says nothing of the role). */
function useMemberRoles(roomIds: string): ReadonlyMap<string, Role> | null {
  const { session } = useSession();
  const [roles, setRoles] = useState<ReadonlyMap<string, Role> | null>(null);
  const token = session?.token;
  useEffect(() => {
    if (!token) return;
    let cancelled = false;
    listRooms(token).then(
      (rooms) => {
        if (!cancelled) setRoles(new Map(rooms.map((room) => [room.id, room.role])));
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [token, roomIds]);
  return roles;
}

export function Dashboard() {
  const heading = usePageHeading('Dashboard');
  const view = useDashboard();
  const [sort, setSort] = useState<{ key: SortKey; direction: SortDirection }>(DEFAULT_SORT);
  const rooms = view?.rooms;
  const sorted = useMemo(() => (rooms ? sortRooms(rooms, sort.key, sort.direction) : []), [rooms, sort]);
  const idKey = useMemo(() => (rooms ? rooms.map((room) => room.id).sort().join(',') : ''), [rooms]);
  const memberRoles = useMemberRoles(idKey);

  const toggle = (key: SortKey) => {
    setSort((current) =>
      current.key === key
        ? { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' }
        : { key, direction: key === 'name' ? 'ascending' : 'descending' },
    );
  };

  return (
    <main id="main" className="page">
      <h1 ref={heading} tabIndex={-1}>
        Dashboard
      </h1>
      <p className="lead">Your rooms and the public rooms, most active first. Counts change live as people come, go and write.</p>
      {view?.status === 'offline' && (
        <p className="notice" role="status">
          Offline: the counts will refresh when the connection is back.
        </p>
      )}
      <div className="table-wrap">
        <table className="rooms-table">
          <caption className="visually-hidden">Your rooms and public rooms, sortable by column</caption>
          <thead>
            <tr>
              {COLUMNS.map((column) => (
                <th
                  key={column.key}
                  scope="col"
                  aria-sort={sort.key === column.key ? sort.direction : 'none'}
                  className={column.numeric ? 'numeric' : undefined}
                >
                  <button type="button" className="sort" onClick={() => toggle(column.key)}>
                    {column.label}
                    <span aria-hidden="true" className="sort-arrow">
                      {sort.key === column.key ? (sort.direction === 'ascending' ? '▲' : '▼') : '↕'}
                    </span>
                  </button>
                </th>
              ))}
              <th scope="col" className="role-col">
                Your role
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((room) => {
              const visitor = isVisitor(room, memberRoles);
              const role = room.role ?? memberRoles?.get(room.id) ?? null;
              return (
                <tr
                  key={room.id}
                  data-room-id={room.id}
                  data-visitor={visitor ? 'true' : undefined}
                  className="clickable"
                  onClick={(event) => {
                    // The link handles its own clicks; the rest of the row is a larger target.
                    if (!(event.target as HTMLElement).closest('a')) {
                      navigate(roomPath(room.id));
                    }
                  }}
                >
                  <th scope="row">
                    <Link href={roomPath(room.id)}>{room.name}</Link>
                    {visitor && (
                      <span className="tag tag-public" data-testid="public-badge">
                        Public
                      </span>
                    )}
                  </th>
                  <td className="numeric" data-col="active_user_count">
                    {room.active_user_count}
                  </td>
                  <td className="numeric" data-col="total_notes">
                    {room.total_notes}
                  </td>
                  <td data-col="role" className="muted">
                    {visitor ? 'Visitor' : role ? ROLE_TEXT[role] : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {view && sorted.length === 0 && (
        <p className="muted">
          {view.status === 'online' ? 'No rooms yet.' : 'Waiting for the room list…'}{' '}
          <Link href="/">Create or join a room</Link>.
        </p>
      )}
    </main>
  );
}
