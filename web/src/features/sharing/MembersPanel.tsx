// Who belongs to the room, with their roles. Everyone in the room sees the list; the owner
// changes roles, removes members and hands the room over; any other member may leave.

import { useCallback, useEffect, useState } from 'react';
import { getRoom, removeMember, setMemberRole, type RoomMember } from '../../sync';
import type { RoomHandle } from '../../sync/api';
import type { PresenceUser, Role } from '../../sync/protocol';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { navigate } from '../router/router';
import { apiErrorText } from './errors';
import { ROLE_NAMES } from './invites';

interface MembersPanelProps {
  id: string;
  token: string;
  me: { id: string; name: string };
  handle: RoomHandle;
  roomName: string;
  /** The user's role here, live from the socket. */
  myRole: Role;
  /** Who is here now: someone new (an accepted invite) refreshes the list. */
  present: PresenceUser[];
}

type Confirm = { kind: 'transfer'; member: RoomMember } | { kind: 'leave' } | null;

export function MembersPanel({ id, token, me, handle, roomName, myRole, present }: MembersPanelProps) {
  const roomId = handle.roomId;
  const [members, setMembers] = useState<RoomMember[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [confirm, setConfirm] = useState<Confirm>(null);
  const isOwner = myRole === 'owner';

  const reload = useCallback(async () => {
    try {
      const details = await getRoom(token, roomId);
      setMembers(details.members);
      setProblem(null);
    } catch (caught) {
      setProblem(apiErrorText(caught));
    }
  }, [token, roomId]);

  // Again whenever the people here or the user's role change (someone accepted an invite, the
  // owner changed a role).
  const presentKey = present.map((user) => user.id).join(',');
  useEffect(() => {
    void reload();
  }, [reload, presentKey, myRole]);

  const act = async (done: string, call: () => Promise<unknown>) => {
    setProblem(null);
    setStatus('');
    try {
      await call();
      setStatus(done);
    } catch (caught) {
      setProblem(apiErrorText(caught));
    }
    await reload();
  };

  const changeRole = (member: RoomMember, role: 'viewer' | 'editor') =>
    void act(`${member.name} is now ${role === 'editor' ? 'an editor' : 'a viewer'}.`, () => setMemberRole(token, roomId, member.id, role));

  const remove = (member: RoomMember) => void act(`${member.name} was removed from the room.`, () => removeMember(token, roomId, member.id));

  const transfer = async (member: RoomMember) => {
    try {
      await setMemberRole(token, roomId, member.id, 'owner');
    } catch (caught) {
      throw new Error(apiErrorText(caught));
    }
    setConfirm(null);
    setStatus(`${member.name} is now the owner; you are an editor.`);
    await reload();
  };

  const leave = async () => {
    try {
      await removeMember(token, roomId, me.id);
    } catch (caught) {
      throw new Error(apiErrorText(caught));
    }
    handle.forget();
    navigate('/', { replace: true });
  };

  const amMember = members?.some((member) => member.id === me.id) ?? false;

  return (
    <section id={id} className="card members-panel" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Members</h2>
      {members === null && !problem && <p className="muted">Loading…</p>}
      {members !== null && members.length === 0 && (
        <p className="muted">You are visiting this public room; its members are listed for members only.</p>
      )}
      {members !== null && members.length > 0 && (
        <ul className="member-list">
          {members.map((member) => {
            const self = member.id === me.id;
            const controls = isOwner && !self && member.role !== 'owner';
            return (
              <li key={member.id} data-member-id={member.id}>
                <span className="member-name">
                  <span className="avatar" aria-hidden="true">
                    {member.name.slice(0, 1).toUpperCase()}
                  </span>
                  <span>
                    {member.name}
                    {self && <span className="muted"> (you)</span>}
                  </span>
                </span>
                {controls ? (
                  <span className="member-controls">
                    <label>
                      <span className="visually-hidden">Role of {member.name}</span>
                      <select
                        value={member.role}
                        onChange={(event) => changeRole(member, event.target.value as 'viewer' | 'editor')}
                      >
                        <option value="viewer">Viewer</option>
                        <option value="editor">Editor</option>
                      </select>
                    </label>
                    <button type="button" className="small" onClick={() => setConfirm({ kind: 'transfer', member })} aria-label={`Make ${member.name} the owner`}>
                      Make owner
                    </button>
                    <button type="button" className="small danger" onClick={() => remove(member)} aria-label={`Remove ${member.name}`}>
                      Remove
                    </button>
                  </span>
                ) : (
                  <span className={`role-tag role-${member.role}`} data-testid="member-role">
                    {ROLE_NAMES[member.role]}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <p className="muted" role="status">
        {status}
      </p>
      {!isOwner && amMember && (
        <div className="actions">
          <button type="button" className="danger" onClick={() => setConfirm({ kind: 'leave' })}>
            Leave room
          </button>
        </div>
      )}
      {confirm?.kind === 'transfer' && (
        <ConfirmDialog
          title={<>Make {confirm.member.name} the owner?</>}
          confirmLabel={`Make ${confirm.member.name} the owner`}
          onConfirm={() => transfer(confirm.member)}
          onCancel={() => setConfirm(null)}
        >
          <p>
            {confirm.member.name} will own “{roomName}” and can remove anyone, you included. You become an editor and
            lose the owner’s controls.
          </p>
        </ConfirmDialog>
      )}
      {confirm?.kind === 'leave' && (
        <ConfirmDialog title={<>Leave “{roomName}”?</>} confirmLabel="Leave room" danger onConfirm={leave} onCancel={() => setConfirm(null)}>
          <p>The room goes from your rooms and this device. To come back you may need a new invite from its owner.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
