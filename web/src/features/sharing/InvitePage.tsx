// /invite/<token>: what the invite gives (room and role) and Accept, which makes the user a
// member and opens the room. An invite that expired, was used up or revoked says so in the
// server's words. Signed out, the sign-in page shows here instead and comes back to it.

import { useEffect, useState } from 'react';
import { acceptInvite, getInvite, type InvitePreview } from '../../sync';
import { useSession } from '../session/session';
import { Link, navigate, roomPath } from '../router/router';
import { apiErrorText } from './errors';
import { expiryText, roleAbility } from './invites';

export function InvitePage({ token }: { token: string }) {
  const { session } = useSession();
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [acceptError, setAcceptError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!session) return;
    let cancelled = false;
    setPreview(null);
    setProblem(null);
    getInvite(session.token, token).then(
      (answer) => {
        if (!cancelled) setPreview(answer);
      },
      (caught: unknown) => {
        if (!cancelled) setProblem(apiErrorText(caught));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [session, token]);

  useEffect(() => {
    document.title = 'Invitation · fun-notes';
    return () => {
      document.title = 'fun-notes';
    };
  }, []);

  const accept = async () => {
    if (!session) return;
    setBusy(true);
    setAcceptError(null);
    try {
      const room = await acceptInvite(session.token, token);
      navigate(roomPath(room.id), { replace: true });
    } catch (caught) {
      setAcceptError(apiErrorText(caught));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="page page-narrow">
      <h1>Invitation</h1>
      {!preview && !problem && (
        <p className="muted" role="status">
          Loading the invite…
        </p>
      )}
      {problem && (
        <div className="card join-error" role="alert">
          <h2>This invite cannot be used</h2>
          <p data-testid="invite-problem">{problem}</p>
          <Link className="button" href="/">
            Back to rooms
          </Link>
        </div>
      )}
      {preview && (
        <section className="card invite-card" aria-labelledby="invite-heading">
          <h2 id="invite-heading">
            Join “<span data-testid="invite-room-name">{preview.room.name}</span>”
          </h2>
          <p>
            You are invited as {preview.role === 'editor' ? 'an ' : 'a '}
            <strong data-testid="invite-role">{preview.role}</strong>: you {roleAbility(preview.role)}.
          </p>
          <p className="muted">This invite {expiryText(preview.expires_at, Date.now())}.</p>
          {acceptError && (
            <p className="error" role="alert">
              {acceptError}
            </p>
          )}
          <div className="actions">
            <button type="button" className="primary" onClick={() => void accept()} disabled={busy}>
              Accept invite
            </button>
            <Link className="button" href="/">
              Not now
            </Link>
          </div>
        </section>
      )}
    </main>
  );
}
