// Live dashboard: the rooms the user may join with live user and note counts, sortable.

import { useMemo, useState } from 'react';
import { useDashboard } from '../client/client';
import { Link, navigate, roomPath } from '../router/router';
import { sortRooms, type SortDirection, type SortKey } from './sortRooms';

const COLUMNS: { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'name', label: 'Room', numeric: false },
  { key: 'active_user_count', label: 'Active users', numeric: true },
  { key: 'total_notes', label: 'Notes', numeric: true },
];

export function Dashboard() {
  const view = useDashboard();
  const [sort, setSort] = useState<{ key: SortKey; direction: SortDirection }>({
    key: 'name',
    direction: 'ascending',
  });
  const rooms = view?.rooms;
  const sorted = useMemo(() => (rooms ? sortRooms(rooms, sort.key, sort.direction) : []), [rooms, sort]);

  const toggle = (key: SortKey) => {
    setSort((current) =>
      current.key === key
        ? { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' }
        : { key, direction: key === 'name' ? 'ascending' : 'descending' },
    );
  };

  return (
    <main id="main" className="page">
      <h1>Dashboard</h1>
      <p className="lead">Rooms you can join, live. Counts change as people come, go and write.</p>
      {view?.status === 'offline' && (
        <p className="notice" role="status">
          Offline: the counts will refresh when the connection is back.
        </p>
      )}
      <div className="table-wrap">
        <table className="rooms-table">
          <caption className="visually-hidden">Your rooms, sortable by column</caption>
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
            </tr>
          </thead>
          <tbody>
            {sorted.map((room) => (
              <tr
                key={room.id}
                data-room-id={room.id}
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
                </th>
                <td className="numeric" data-col="active_user_count">
                  {room.active_user_count}
                </td>
                <td className="numeric" data-col="total_notes">
                  {room.total_notes}
                </td>
              </tr>
            ))}
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
