// The signed-in session (token + user), kept in localStorage so a reload — even offline —
// keeps the user signed in without any HTTP call.

import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { clearCache } from '../../sync';

export interface Session {
  token: string;
  user: { id: string; name: string };
}

const STORAGE_KEY = 'fun-notes.session';

function readStoredSession(): Session | null {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    if (!raw) {
      return null;
    }
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.token === 'string' && parsed.user && typeof parsed.user.id === 'string') {
      return { token: parsed.token, user: { id: parsed.user.id, name: String(parsed.user.name) } };
    }
  } catch {
    // A corrupt entry is treated as signed out rather than breaking the page.
  }
  return null;
}

interface SessionContextValue {
  session: Session | null;
  /** Why the last session ended when the user did not sign out (an expired token). */
  endedBecause: string | null;
  signIn(session: Session): void;
  /** Ends the session. `reason` (an expired token) is shown on the sign-in page and keeps the
   *  cache; so does `keepCache` (the user chose to keep unsent changes on this device).
   *  Otherwise the user's cache is deleted. */
  signOut(options?: { reason?: string; keepCache?: boolean }): void;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(readStoredSession);
  const [endedBecause, setEndedBecause] = useState<string | null>(null);

  const signIn = useCallback((next: Session) => {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setEndedBecause(null);
    setSession(next);
  }, []);

  const signOut = useCallback(({ reason, keepCache = false }: { reason?: string; keepCache?: boolean } = {}) => {
    const ending = readStoredSession();
    window.localStorage.removeItem(STORAGE_KEY);
    setEndedBecause(reason ?? null);
    setSession(null);
    // Signing out leaves none of the user's notes on this device, unless the user chose to keep
    // changes not sent yet. A session that merely expired keeps them too, so edits made offline
    // are still sent after logging in again. The deletion waits until the closing sync client
    // has released the database.
    if (reason === undefined && !keepCache && ending) {
      void clearCache(ending.user.id);
    }
  }, []);

  const value = useMemo(
    () => ({ session, endedBecause, signIn, signOut }),
    [session, endedBecause, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) {
    throw new Error('useSession outside SessionProvider');
  }
  return value;
}
