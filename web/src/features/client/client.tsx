// One SyncClient per signed-in session, shared through a React context, and the hooks that
// read its immutable views with useSyncExternalStore.

import {
  createContext,
  useContext,
  useCallback,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { createSyncClient } from '../../sync';
import type {
  ConnectionStatus,
  DashboardView,
  EditLimits,
  RoomHandle,
  RoomView,
  SyncClientApi,
} from '../../sync/api';
import { useSession, type Session } from '../session/session';

const SyncClientContext = createContext<SyncClientApi | null>(null);

export function SyncClientProvider({ session, children }: { session: Session; children: ReactNode }) {
  const [client, setClient] = useState<SyncClientApi | null>(null);
  const { signOut } = useSession();
  const { token } = session;
  const userId = session.user.id;

  // Created in an effect (not during render) so StrictMode's mount/unmount/mount closes the
  // first socket instead of leaking it.
  useEffect(() => {
    const created = createSyncClient({ token, userId });
    setClient(created);
    return () => {
      created.close();
      setClient(null);
    };
  }, [token, userId]);

  // A refused token (expired, or the server's secret changed) cannot recover by retrying:
  // back to the sign-in page with the reason.
  useEffect(() => {
    if (!client?.onAuthError) {
      return;
    }
    const expire = () => signOut({ reason: 'Your session has expired. Please log in again.' });
    if (client.authError) {
      expire();
      return;
    }
    return client.onAuthError(expire);
  }, [client, signOut]);

  if (!client) {
    return null;
  }
  return <SyncClientContext.Provider value={client}>{children}</SyncClientContext.Provider>;
}

export function useSyncClient(): SyncClientApi {
  const client = useContext(SyncClientContext);
  if (!client) {
    throw new Error('useSyncClient outside SyncClientProvider');
  }
  return client;
}

export function useConnectionStatus(): ConnectionStatus {
  const client = useSyncClient();
  const subscribe = useCallback(
    (listener: () => void) => client.subscribeStatus(listener),
    [client],
  );
  const getSnapshot = useCallback(() => client.status, [client]);
  return useSyncExternalStore(subscribe, getSnapshot);
}

/** The server's size limits for note fields; changes when a welcome advertises others. */
export function useEditLimits(): EditLimits {
  const client = useSyncClient();
  const subscribe = useCallback((listener: () => void) => client.subscribeLimits(listener), [client]);
  const getSnapshot = useCallback(() => client.limits, [client]);
  return useSyncExternalStore(subscribe, getSnapshot);
}

const noopSubscribe = () => () => {};
const getNull = () => null;

/** Opens the room while the calling component is mounted; leaves it on unmount. */
export function useRoom(roomId: string): { handle: RoomHandle | null; view: RoomView | null } {
  const client = useSyncClient();
  const [handle, setHandle] = useState<RoomHandle | null>(null);

  useEffect(() => {
    const opened = client.openRoom(roomId);
    setHandle(opened);
    return () => {
      opened.close();
      setHandle(null);
    };
  }, [client, roomId]);

  // A handle left over from the previous room id must not be shown for the new one.
  const current = handle && handle.roomId === roomId ? handle : null;
  // Stable callbacks: a new subscribe function each render would resubscribe every render.
  const subscribe = useMemo(
    () => (current ? (listener: () => void) => current.subscribe(listener) : noopSubscribe),
    [current],
  );
  const getSnapshot = useMemo(() => (current ? () => current.getView() : getNull), [current]);
  const view = useSyncExternalStore<RoomView | null>(subscribe, getSnapshot);
  return { handle: current, view };
}

type RoomsWatch = ReturnType<SyncClientApi['watchRooms']>;

/** Watches the dashboard (rooms with live counts) while mounted. */
export function useDashboard(): DashboardView | null {
  const client = useSyncClient();
  const [watch, setWatch] = useState<RoomsWatch | null>(null);

  useEffect(() => {
    const opened = client.watchRooms();
    setWatch(opened);
    return () => {
      opened.close();
      setWatch(null);
    };
  }, [client]);

  const subscribe = useMemo(
    () => (watch ? (listener: () => void) => watch.subscribe(listener) : noopSubscribe),
    [watch],
  );
  const getSnapshot = useMemo(() => (watch ? () => watch.getView() : getNull), [watch]);
  return useSyncExternalStore<DashboardView | null>(subscribe, getSnapshot);
}
