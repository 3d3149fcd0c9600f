// The app shell: session, one sync client per signed-in session, header navigation, pages.

import { useEffect } from 'react';
import { SessionProvider, useSession, type Session } from './features/session/session';
import { SyncClientProvider } from './features/client/client';
import { Link, navigate, parseRoute, usePath, type Route } from './features/router/router';
import { SignOutButton } from './features/session/SignOutButton';
import { AuthPage } from './features/auth/AuthPage';
import { RoomEntry } from './features/rooms/RoomEntry';
import { Dashboard } from './features/dashboard/Dashboard';
import { Workspace } from './features/workspace/Workspace';
import { InvitePage } from './features/sharing/InvitePage';

// Signed in, the header sits inside the SyncClientProvider: Sign out asks the client about
// changes not sent yet.
function Header({ session, route }: { session: Session | null; route: Route }) {
  const current = (page: Route['page']) => (route.page === page ? 'page' : undefined);
  return (
    <header className="app-header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand">
        fun-notes
      </Link>
      {session && (
        <>
          <nav aria-label="Main">
            <Link href="/" aria-current={current('rooms')}>
              Rooms
            </Link>
            <Link href="/dashboard" aria-current={current('dashboard')}>
              Dashboard
            </Link>
          </nav>
          <div className="account">
            <span className="user-name" data-testid="user-name">
              {session.user.name}
            </span>
            <SignOutButton />
          </div>
        </>
      )}
    </header>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'dashboard':
      return <Dashboard />;
    case 'workspace':
      // Keyed by room, so switching rooms starts from a clean workspace state.
      return <Workspace key={route.roomId} roomId={route.roomId} />;
    case 'invite':
      return <InvitePage key={route.token} token={route.token} />;
    default:
      return <RoomEntry />;
  }
}

function Shell() {
  const { session } = useSession();
  const path = usePath();
  const route = parseRoute(path);

  // A signed-in user has nothing to do on /login; a link to a room or an invite survives
  // signing in: the sign-in page shows at that path, which stays.
  useEffect(() => {
    if (session && route.page === 'auth') {
      navigate('/', { replace: true });
    }
  }, [session, route.page]);

  return (
    <>
      {session ? (
        <SyncClientProvider session={session}>
          <Header session={session} route={route} />
          <Page route={route} />
        </SyncClientProvider>
      ) : (
        <>
          <Header session={null} route={route} />
          <AuthPage invited={route.page === 'invite'} />
        </>
      )}
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}
