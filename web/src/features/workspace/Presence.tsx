// Who is in the room right now.

import type { PresenceUser } from '../../sync/protocol';

interface PresenceProps {
  count: number;
  users: PresenceUser[];
  /** Offline the server cannot say who is here; stale names would mislead. */
  offline: boolean;
}

export function Presence({ count, users, offline }: PresenceProps) {
  if (offline) {
    return (
      <section className="presence" aria-labelledby="presence-heading">
        <h2 id="presence-heading" className="small-heading">
          Here now: unknown while offline
        </h2>
      </section>
    );
  }
  return (
    <section className="presence" aria-labelledby="presence-heading">
      <h2 id="presence-heading" className="small-heading">
        Here now: <span data-testid="presence-count">{count}</span>
      </h2>
      <ul className="presence-list">
        {users.map((user) => (
          <li key={user.id} className="avatar-chip">
            <span className="avatar" aria-hidden="true">
              {user.name.slice(0, 1).toUpperCase()}
            </span>
            {user.name}
          </li>
        ))}
      </ul>
    </section>
  );
}
