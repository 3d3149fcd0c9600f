// The header's Sign out. With changes not yet sent it asks first, in a modal dialog: keep them
// on this device until the next sign-in sends them, discard them, or stay signed in.

import { useEffect, useId, useRef, useState } from 'react';
import { useSyncClient } from '../client/client';
import { navigate } from '../router/router';
import { useSession } from './session';
import { describeRoom, describeUnsent, planSignOut, waitWhileSyncing, type SignOutPlan } from './signOut';

// Online, the last edits are usually acknowledged within moments; waiting this long at most
// spares the question about changes that were about to arrive.
const SYNC_WAIT_MS = 3000;

type Ask = Extract<SignOutPlan, { kind: 'ask' }>;

export function SignOutButton() {
  const client = useSyncClient();
  const { signOut } = useSession();
  const [plan, setPlan] = useState<Ask | null>(null);
  const checking = useRef(false);
  const button = useRef<HTMLButtonElement>(null);

  const finish = (keep: boolean) => {
    // Keeping: the client drops the rooms with nothing unsent once its last writes are done.
    if (keep) client.close({ cache: 'keep-unsent' });
    signOut({ keepCache: keep });
    navigate('/login', { replace: true });
  };

  const start = async () => {
    if (checking.current) return;
    checking.current = true;
    try {
      await waitWhileSyncing(client, SYNC_WAIT_MS);
      const next = planSignOut(await client.unsentChanges());
      if (next.kind === 'sign-out') finish(false);
      else setPlan(next);
    } finally {
      checking.current = false;
    }
  };

  // Back to Sign out once the dialog has gone (while it is open the page behind it is inert).
  const restoreFocus = useRef(false);
  useEffect(() => {
    if (plan === null && restoreFocus.current) {
      restoreFocus.current = false;
      button.current?.focus();
    }
  }, [plan]);

  const cancel = () => {
    restoreFocus.current = true;
    setPlan(null);
  };

  return (
    <>
      <button ref={button} type="button" className="small" onClick={() => void start()}>
        Sign out
      </button>
      {plan && <UnsentChangesDialog plan={plan} onKeep={() => finish(true)} onDiscard={() => finish(false)} onCancel={cancel} />}
    </>
  );
}

interface DialogProps {
  plan: Ask;
  onKeep(): void;
  onDiscard(): void;
  onCancel(): void;
}

function UnsentChangesDialog({ plan, onKeep, onDiscard, onCancel }: DialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const keep = useRef<HTMLButtonElement>(null);
  const them = plan.total === 1 ? 'it' : 'them';
  const titleId = useId();
  const textId = useId();

  // A modal <dialog> keeps focus inside and makes the page behind it inert; Escape fires
  // `cancel`. The first choice is the one that loses nothing.
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) {
      if (typeof element.showModal === 'function') element.showModal();
      else element.setAttribute('open', '');
    }
    keep.current?.focus();
    return () => {
      if (element?.open) element.close();
    };
  }, []);

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={textId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>Sign out with unsent changes?</h2>
      <div id={textId}>
        <p>{describeUnsent(plan)}</p>
        {plan.rooms.length > 1 && (
          <ul>
            {plan.rooms.map((room) => (
              <li key={room.roomId}>{describeRoom(room)}</li>
            ))}
          </ul>
        )}
        <p>
          {plan.total === 1
            ? 'You can keep it on this device: it is sent the next time you sign in here. Until then anyone using this device could find it. Or discard it: it is lost for good.'
            : 'You can keep them on this device: they are sent the next time you sign in here. Until then anyone using this device could find them. Or discard them: they are lost for good.'}
        </p>
      </div>
      <div className="dialog-actions">
        <button ref={keep} type="button" className="primary" onClick={onKeep}>
          Keep {them} on this device and sign out
        </button>
        <button type="button" className="danger" onClick={onDiscard}>
          Discard {them} and sign out
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
