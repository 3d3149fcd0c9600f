// Online / offline / syncing, with the number of local changes the server has not confirmed.

import type { ConnectionStatus } from '../sync/api';

const LABELS: Record<ConnectionStatus, string> = {
  online: 'Online',
  offline: 'Offline',
  syncing: 'Syncing',
};

export function ConnectionBadge({ status, pending }: { status: ConnectionStatus; pending?: number }) {
  const unsent =
    pending && pending > 0 ? ` · ${pending} unsent ${pending === 1 ? 'change' : 'changes'}` : '';
  return (
    <span className={`badge badge-${status}`} role="status" data-status={status} data-pending={pending ?? 0}>
      <span className="badge-dot" aria-hidden="true" />
      {LABELS[status]}
      {unsent}
    </span>
  );
}
