// The owner's Share dialog: invite links (role, expiry, most uses) with Copy, the open invites
// with Revoke, who may open the room (private / link / public, and whether visitors may edit),
// rename, and delete with a confirmation.

import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  createInvite,
  deleteRoom,
  getRoom,
  listInvites,
  revokeInvite,
  updateRoom,
  type CreatedInvite,
  type Invite,
} from '../../sync';
import type { RoomHandle } from '../../sync/api';
import type { PublicRole, RoomInfo, Visibility } from '../../sync/protocol';
import { CopyButton } from '../../components/CopyButton';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Modal } from '../../components/Modal';
import { navigate } from '../router/router';
import { apiErrorText } from './errors';
import {
  DEFAULT_EXPIRY_SECONDS,
  EXPIRY_OPTIONS,
  MAX_INVITE_USES,
  describeInvite,
  inviteLink,
  parseMaxUses,
} from './invites';

interface ShareDialogProps {
  token: string;
  handle: RoomHandle;
  info: RoomInfo;
  onClose(): void;
}

export function ShareDialog({ token, handle, info, onClose }: ShareDialogProps) {
  const roomId = handle.roomId;
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [publicRole, setPublicRole] = useState<PublicRole | null>(info.public_role ?? null);

  // The snapshot does not say what visitors of a public room may do; the room object does.
  useEffect(() => {
    let cancelled = false;
    getRoom(token, roomId).then(
      (details) => {
        if (cancelled) return;
        setPublicRole(details.room.public_role ?? 'viewer');
        handle.mergeInfo(details.room);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [token, roomId, handle]);

  const remove = async () => {
    try {
      await deleteRoom(token, roomId);
    } catch (caught) {
      throw new Error(apiErrorText(caught));
    }
    // Gone for everyone: this device's copy goes too, and there is nothing left to show here.
    handle.forget();
    navigate('/', { replace: true });
  };

  return (
    <Modal title={<>Share “{info.name}”</>} onClose={onClose} className="dialog-wide share-dialog">
      <InviteSection token={token} roomId={roomId} />
      <AccessSection
        token={token}
        handle={handle}
        visibility={info.visibility}
        publicRole={publicRole}
        onSaved={(room) => setPublicRole(room.public_role ?? publicRole)}
      />
      <RenameSection token={token} handle={handle} name={info.name} />
      <section className="dialog-section" aria-labelledby="share-delete-heading">
        <h3 id="share-delete-heading">Delete room</h3>
        <p className="muted">Deletes the room and all its notes for everyone. This cannot be undone.</p>
        <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
          Delete room…
        </button>
      </section>
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {confirmDelete && (
        <ConfirmDialog
          title={<>Delete “{info.name}”?</>}
          confirmLabel="Delete room for everyone"
          danger
          onConfirm={remove}
          onCancel={() => setConfirmDelete(false)}
        >
          <p>The room and its notes are deleted for every member, and its invite links stop working.</p>
        </ConfirmDialog>
      )}
    </Modal>
  );
}

function InviteSection({ token, roomId }: { token: string; roomId: string }) {
  const [role, setRole] = useState<'viewer' | 'editor'>('viewer');
  const [expiry, setExpiry] = useState<string>(String(DEFAULT_EXPIRY_SECONDS));
  const [maxUses, setMaxUses] = useState('');
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const usesId = useId();
  const usesErrorId = useId();
  const linkField = useRef<HTMLInputElement>(null);
  const [usesProblem, setUsesProblem] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setInvites(await listInvites(token, roomId));
      setListError(null);
    } catch (caught) {
      setListError(apiErrorText(caught));
    }
  }, [token, roomId]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const uses = parseMaxUses(maxUses);
    if (!uses.ok) {
      setUsesProblem(uses.message);
      return;
    }
    setUsesProblem(null);
    setBusy(true);
    setError(null);
    try {
      const seconds = expiry === 'never' ? null : Number(expiry);
      const answer = await createInvite(token, roomId, { role, expires_in: seconds, max_uses: uses.value });
      setCreated(answer);
      await reload();
    } catch (caught) {
      setError(apiErrorText(caught));
    } finally {
      setBusy(false);
    }
  };

  // The new link gets focus (selected), so it can be copied at once, by keyboard too.
  useEffect(() => {
    if (created) linkField.current?.select();
  }, [created]);

  const revoke = async (invite: Invite) => {
    setError(null);
    try {
      await revokeInvite(token, roomId, invite.token);
      if (created?.token === invite.token) setCreated(null);
      setAnnouncement('The invite link was revoked.');
      await reload();
    } catch (caught) {
      setError(apiErrorText(caught));
    }
  };

  const link = created ? inviteLink(window.location.origin, created.url) : '';
  const now = Date.now();

  return (
    <section className="dialog-section" aria-labelledby="share-invite-heading">
      <h3 id="share-invite-heading">Invite people</h3>
      <form className="form" onSubmit={create}>
        <fieldset className="field">
          <legend>They join as</legend>
          <label className="choice">
            <input type="radio" name="invite-role" value="viewer" checked={role === 'viewer'} onChange={() => setRole('viewer')} />
            Viewer (can read)
          </label>
          <label className="choice">
            <input type="radio" name="invite-role" value="editor" checked={role === 'editor'} onChange={() => setRole('editor')} />
            Editor (can read and write)
          </label>
        </fieldset>
        <div className="field-row">
          <label className="field">
            <span>Link works for</span>
            <select name="invite-expiry" value={expiry} onChange={(event) => setExpiry(event.target.value)}>
              {EXPIRY_OPTIONS.map((option) => (
                <option key={option.label} value={option.seconds === null ? 'never' : String(option.seconds)}>
                  {option.label}
                </option>
              ))}
            </select>
          </label>
          <div className="field">
            <label htmlFor={usesId}>
              <span className="label-text">Most uses</span> <span className="hint">(optional)</span>
            </label>
            <input
              id={usesId}
              name="invite-max-uses"
              type="number"
              inputMode="numeric"
              min={1}
              max={MAX_INVITE_USES}
              step={1}
              placeholder="No limit"
              value={maxUses}
              aria-invalid={usesProblem ? true : undefined}
              aria-describedby={usesProblem ? usesErrorId : undefined}
              onChange={(event) => setMaxUses(event.target.value)}
            />
          </div>
        </div>
        {usesProblem && (
          <p id={usesErrorId} className="error" role="alert">
            {usesProblem}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create invite link
          </button>
        </div>
      </form>
      {created && (
        <div className="created" role="status">
          <label className="field">
            <span>
              Invite link for {created.invite.role === 'editor' ? 'editors' : 'viewers'}
            </span>
            <input ref={linkField} readOnly value={link} data-testid="invite-link" className="link-field" onFocus={(event) => event.target.select()} />
          </label>
          <p className="room-id-line">
            <CopyButton text={link} label="Copy invite link" />
            <span className="muted">Anyone signed in who opens it joins as {created.invite.role === 'editor' ? 'an editor' : 'a viewer'}.</span>
          </p>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <h4 className="small-heading">Open invites</h4>
      {listError && <p className="muted">{listError}</p>}
      {invites && invites.length === 0 && <p className="muted">No open invites.</p>}
      {invites && invites.length > 0 && (
        <ul className="invite-list" aria-label="Open invites">
          {invites.map((invite) => {
            const text = describeInvite(invite, now);
            return (
              <li key={invite.token} data-invite-token={invite.token}>
                <span>{text}</span>
                <button type="button" className="small danger" aria-label={`Revoke invite: ${text}`} onClick={() => void revoke(invite)}>
                  Revoke
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <p className="visually-hidden" aria-live="polite">
        {announcement}
      </p>
    </section>
  );
}

const VISIBILITY_CHOICES: { value: Visibility; label: string; hint: string }[] = [
  { value: 'private', label: 'Private', hint: 'only members: people you invite' },
  { value: 'link', label: 'Anyone with the id', hint: 'whoever signs in with the room id or link joins as an editor' },
  { value: 'public', label: 'Public', hint: 'listed on every dashboard; anyone signed in can open it' },
];

interface AccessSectionProps {
  token: string;
  handle: RoomHandle;
  visibility: Visibility;
  publicRole: PublicRole | null;
  onSaved(room: RoomInfo): void;
}

function AccessSection({ token, handle, visibility, publicRole, onSaved }: AccessSectionProps) {
  const [choice, setChoice] = useState<Visibility>(visibility);
  const [visitorsEdit, setVisitorsEdit] = useState(publicRole === 'editor');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  // The room's own setting once it is known (it loads after the dialog opens).
  useEffect(() => setVisitorsEdit(publicRole === 'editor'), [publicRole]);
  useEffect(() => setChoice(visibility), [visibility]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const changes = choice === 'public' ? { visibility: choice, public_role: visitorsEdit ? 'editor' : 'viewer' } as const : { visibility: choice };
      const room = await updateRoom(token, handle.roomId, changes);
      handle.mergeInfo(room);
      onSaved(room);
      setMessage({ text: 'Saved.', error: false });
    } catch (caught) {
      setMessage({ text: apiErrorText(caught), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="dialog-section" aria-labelledby="share-access-heading">
      <h3 id="share-access-heading">Who can open this room</h3>
      <form className="form" onSubmit={save}>
        <fieldset className="field">
          <legend className="visually-hidden">Who can open this room</legend>
          {VISIBILITY_CHOICES.map((option) => (
            <label key={option.value} className="choice">
              <input
                type="radio"
                name="room-visibility"
                value={option.value}
                checked={choice === option.value}
                onChange={() => setChoice(option.value)}
              />
              <span>
                {option.label} <span className="muted">— {option.hint}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {choice === 'public' && (
          <label className="choice">
            <input type="checkbox" checked={visitorsEdit} onChange={(event) => setVisitorsEdit(event.target.checked)} />
            Visitors may edit (otherwise they can only read)
          </label>
        )}
        <div className="actions">
          <button type="submit" disabled={busy}>
            Save access
          </button>
          {message && (
            <span className={message.error ? 'error' : 'muted'} role={message.error ? 'alert' : 'status'}>
              {message.text}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}

function RenameSection({ token, handle, name }: { token: string; handle: RoomHandle; name: string }) {
  const [value, setValue] = useState(name);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);

  const rename = async (event: FormEvent) => {
    event.preventDefault();
    const next = value.trim();
    if (!next) return;
    setBusy(true);
    setMessage(null);
    try {
      const room = await updateRoom(token, handle.roomId, { name: next });
      handle.mergeInfo(room);
      setMessage({ text: 'Renamed.', error: false });
    } catch (caught) {
      setMessage({ text: apiErrorText(caught), error: true });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="dialog-section" aria-labelledby="share-rename-heading">
      <h3 id="share-rename-heading">Rename</h3>
      <form className="form form-inline" onSubmit={rename}>
        <label className="field">
          <span>New room name</span>
          <input name="new-room-name" required maxLength={200} value={value} onChange={(event) => setValue(event.target.value)} />
        </label>
        <div className="actions">
          <button type="submit" disabled={busy}>
            Rename
          </button>
          {message && (
            <span className={message.error ? 'error' : 'muted'} role={message.error ? 'alert' : 'status'}>
              {message.text}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}
