// The sync layer's entry point: the client factory, the HTTP helpers and the public types.

import type { SyncClientApi, SyncClientOptions } from './api';
import { SyncClient } from './client';

export function createSyncClient(opts: SyncClientOptions): SyncClientApi {
  return new SyncClient(opts);
}

export type * from './api';
export type * from './protocol';
export {
  ApiError,
  acceptInvite,
  createInvite,
  createRoom,
  deleteRoom,
  getInvite,
  getRoom,
  getTrash,
  listInvites,
  listPublicRooms,
  listRooms,
  login,
  register,
  removeMember,
  revokeInvite,
  setApiBase,
  setMemberRole,
  updateRoom,
} from './http';
export type {
  AuthResult,
  CreatedInvite,
  Invite,
  InvitePreview,
  NewInvite,
  RoomChanges,
  RoomDetails,
  RoomMember,
  Trash,
  TrashedNote,
} from './http';
export type { SocketFactory, SocketLike } from './socket';
export { between, indexForMove, precisionExhausted, spreadIndexes } from './order';
export { clearCache } from './cache';
