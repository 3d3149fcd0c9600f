// Sign up / log in: one form, two submit buttons, so a new user and a returning one take the
// same path.

import { useState, type FormEvent } from 'react';
import { ApiError, login, register } from '../../sync';
import { useSession } from '../session/session';
import { usePageHeading } from '../../components/usePageHeading';

function describeError(error: unknown, mode: 'login' | 'register', username: string): string {
  if (error instanceof ApiError) {
    if (error.status === 0) {
      return 'The server cannot be reached. Check your connection and try again.';
    }
    if (mode === 'login' && error.status === 401) {
      // The same answer whether the name exists or not, so nobody can probe for accounts.
      return `No account matches “${username}” with that password.`;
    }
    if (mode === 'register' && error.status === 409) {
      return `The name “${username}” is taken. Pick another one, or log in if it is yours.`;
    }
    if (error.status === 429) {
      return 'Too many attempts in a short time. Wait a minute, then try again.';
    }
    if (error.status === 400) {
      // The server names its fields; say it in terms of what was typed.
      if (/username/i.test(error.message)) {
        return `“${username}” cannot be a name here: use 3 to 32 letters, digits, dots, dashes or underscores.`;
      }
      if (/password/i.test(error.message)) {
        return 'That password is too short or too long: use 8 to 256 characters.';
      }
    }
    return 'The server refused this. Check what you typed and try again.';
  }
  return 'Something went wrong. Please try again.';
}

/** `invited`: the page opened an invite link; after signing in it shows the invite. */
export function AuthPage({ invited = false }: { invited?: boolean }) {
  const { signIn, endedBecause } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  // A log-in that matched no account: offer to make one with the name typed (Enter logs in).
  const [offerSignUp, setOfferSignUp] = useState(false);
  const [busy, setBusy] = useState(false);
  usePageHeading('Sign in', { focus: false });

  const attempt = async (mode: 'login' | 'register') => {
    setBusy(true);
    setError(null);
    setOfferSignUp(false);
    try {
      const result = mode === 'register' ? await register(username, password) : await login(username, password);
      signIn({ token: result.token, user: { id: result.user.id, name: result.user.name } });
      // The shell sends /login on to the room entry; any other path (a shared room link) stays.
    } catch (caught) {
      setError(describeError(caught, mode, username));
      setOfferSignUp(mode === 'login' && caught instanceof ApiError && caught.status === 401);
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const submitter = (event.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    void attempt(submitter?.value === 'register' ? 'register' : 'login');
  };

  return (
    <main id="main" className="page page-narrow">
      <h1>Welcome to fun-notes</h1>
      <p className="lead">Shared notes that update live for everyone in the room.</p>
      {endedBecause && (
        <p className="notice" role="status">
          {endedBecause}
        </p>
      )}
      {invited && (
        <p className="notice" role="status" data-testid="invite-sign-in">
          You have an invitation to a room. Log in or sign up first; the invitation opens right after.
        </p>
      )}
      <form className="card form" onSubmit={submit} aria-labelledby="auth-heading">
        <h2 id="auth-heading">Sign up or log in</h2>
        <label className="field">
          <span>Username</span>
          <input
            name="username"
            autoComplete="username"
            required
            minLength={3}
            maxLength={32}
            pattern="[A-Za-z0-9_.\-]+"
            title="3 to 32 letters, digits, dots, dashes or underscores"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            minLength={8}
            maxLength={256}
            aria-describedby="password-hint"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
          <small className="hint" id="password-hint">
            At least 8 characters.
          </small>
        </label>
        {error && (
          <div className="error" role="alert">
            <p>{error}</p>
            {offerSignUp && (
              <p>
                New here?{' '}
                <button type="button" className="link-button" disabled={busy} onClick={() => void attempt('register')}>
                  Sign up as “{username}”
                </button>
              </p>
            )}
          </div>
        )}
        <div className="actions">
          <button type="submit" name="mode" value="login" className="primary" disabled={busy}>
            Log in
          </button>
          <button type="submit" name="mode" value="register" disabled={busy}>
            Sign up
          </button>
        </div>
      </form>
    </main>
  );
}
