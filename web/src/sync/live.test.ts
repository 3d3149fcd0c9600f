// SyncClients against the real server binary: concurrent edits of one room, and edits made
// while the server restarts, end with the state the server reports over HTTP; a member's role
// and access follow the owner's changes live. The project's
// test run names the binary in FUN_NOTES_SERVER_BIN and so always runs these; a bare
// `npx vitest run` without a build skips them.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RejectNotice, RoomHandle } from './api';
import { SyncClient } from './client';
import { acceptInvite, createInvite, createRoom, register, removeMember, setApiBase, setMemberRole } from './http';
import type { Note } from './protocol';
import type { SocketLike } from './socket';

const binary =
  process.env.FUN_NOTES_SERVER_BIN ??
  fileURLToPath(new URL('../../../build/bin/fun-notes-server', import.meta.url));

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Running {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function startServer(dir: string, port = 0): Promise<Running> {
  const portFile = join(dir, `port-${Date.now()}-${Math.random()}`);
  const proc = spawn(
    binary,
    ['--port', String(port), '--port-file', portFile, '--data', join(dir, 'data'), '--host', '127.0.0.1',
      '--log-level', 'warn', '--threads', '1', '--workers', '1'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor(() => existsSync(portFile) && readFileSync(portFile, 'utf8').trim() !== '');
  return { proc, port: Number(readFileSync(portFile, 'utf8').trim()), exited };
}

describe.skipIf(!process.env.FUN_NOTES_SERVER_BIN && !existsSync(binary))('live server', () => {
  let server: Running;
  let dir: string;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fun-notes-web-'));
    server = await startServer(dir);
    base = `127.0.0.1:${server.port}`;
    setApiBase(`http://${base}`);
  }, 20_000);

  afterAll(async () => {
    server?.proc.kill('SIGTERM');
    await server?.exited;
    setApiBase('');
    rmSync(dir, { recursive: true, force: true });
  });

  it('two clients edit one room and converge on the server state', async () => {
    const suffix = Math.floor(Math.random() * 1e6);
    const ann = await register(`ann${suffix}`, 'password-ann');
    const bob = await register(`bob${suffix}`, 'password-bob');
    const info = await createRoom(ann.token, 'Live', 'link');
    const factory = (url: string) => new WebSocket(url) as unknown as SocketLike;
    const clientA = new SyncClient({ url: `ws://${base}/ws`, token: ann.token, userId: null, socketFactory: factory });
    const clientB = new SyncClient({ url: `ws://${base}/ws`, token: bob.token, userId: null, socketFactory: factory });
    const a: RoomHandle = clientA.openRoom(info.id);
    const b: RoomHandle = clientB.openRoom(info.id);
    try {
      await waitFor(() => a.getView().loaded && b.getView().loaded && a.getView().status === 'online');
      const ids = ['one', 'two', 'three', 'four'].map((title) => a.createNote({ title }));
      await waitFor(() => b.getView().notes.length === 4);
      // Concurrent edits of different fields and notes.
      b.moveNote(ids[3] as string, 0);
      a.updateNote(ids[0] as string, { title: 'first!', is_important: true });
      b.deleteNote(ids[1] as string);
      // A moves only once B's move has reached it, so the expected order is deterministic.
      await waitFor(() => a.getView().notes[0]?.id === ids[3]);
      a.moveNote(ids[2] as string, 0);
      const settled = () =>
        [a, b].every((r) => r.getView().pendingCount === 0 && r.getView().status === 'online') &&
        a.getView().seq === b.getView().seq;
      await waitFor(settled);
      await waitFor(() => a.getView().seq >= 8);
      await waitFor(settled);
      const response = await fetch(`http://${base}/api/rooms/${info.id}/notes`, {
        headers: { Authorization: `Bearer ${ann.token}` },
      });
      const state = (await response.json()) as { seq: number; notes: Note[] };
      expect(a.getView().seq).toBe(state.seq);
      expect(a.getView().notes).toEqual(state.notes);
      expect(b.getView().notes).toEqual(state.notes);
      expect(state.notes.map((n) => n.title)).toEqual(['three', 'four', 'first!']);
      // Presence is coalesced (at most 4 a second), so it may trail the ops a little.
      await waitFor(() => b.getView().presence.active_user_count === 2);
      expect(b.getView().presence.users).toHaveLength(2);
    } finally {
      clientA.close();
      clientB.close();
    }
  }, 30_000);

  it('a viewer by invite is read-only, promoted writes at once, removed loses the room', async () => {
    const suffix = Math.floor(Math.random() * 1e6);
    const owner = await register(`own${suffix}`, 'password-own');
    const guest = await register(`gst${suffix}`, 'password-gst');
    const info = await createRoom(owner.token, 'Shared', 'private');
    const invite = await createInvite(owner.token, info.id, { role: 'viewer', expires_in: 3600 });
    expect((await acceptInvite(guest.token, invite.token)).role).toBe('viewer');
    const factory = (url: string) => new WebSocket(url) as unknown as SocketLike;
    const clientA = new SyncClient({ url: `ws://${base}/ws`, token: owner.token, userId: null, socketFactory: factory });
    const clientB = new SyncClient({ url: `ws://${base}/ws`, token: guest.token, userId: null, socketFactory: factory });
    const a = clientA.openRoom(info.id);
    const b = clientB.openRoom(info.id);
    const notices: RejectNotice[] = [];
    b.onReject((n) => notices.push(n));
    try {
      await waitFor(() => a.getView().status === 'online' && b.getView().loaded);
      expect(b.getView().info?.role).toBe('viewer');
      b.createNote({ title: 'refused' });
      expect(notices.map((n) => n.code)).toEqual(['forbidden']);
      expect(b.getView().notes).toEqual([]);

      await setMemberRole(owner.token, info.id, guest.user.id, 'editor');
      await waitFor(() => b.getView().info?.role === 'editor');
      const id = b.createNote({ title: 'from the guest' });
      await waitFor(() => a.getView().notes.some((n) => n.id === id));

      await removeMember(owner.token, info.id, guest.user.id);
      await waitFor(() => b.getView().accessLost !== null);
      expect(b.getView().accessLost?.code).toBe('forbidden');
      expect(b.getView().notes).toEqual([]);
    } finally {
      clientA.close();
      clientB.close();
    }
  }, 30_000);

  it('edits made while the server restarts are sent after the re-join and converge', async () => {
    const suffix = Math.floor(Math.random() * 1e6);
    const ann = await register(`cat${suffix}`, 'password-cat');
    const info = await createRoom(ann.token, 'Restart', 'private');
    const factory = (url: string) => new WebSocket(url) as unknown as SocketLike;
    const clientA = new SyncClient({ url: `ws://${base}/ws`, token: ann.token, userId: null, socketFactory: factory });
    const a = clientA.openRoom(info.id);
    try {
      await waitFor(() => a.getView().status === 'online');
      const first = a.createNote({ title: 'before' });
      await waitFor(() => a.getView().pendingCount === 0);

      server.proc.kill('SIGTERM');
      await server.exited;
      await waitFor(() => a.getView().status === 'offline');
      a.updateNote(first, { title: 'edited offline' });
      const second = a.createNote({ title: 'created offline' });
      expect(a.getView().pendingCount).toBe(2);

      // Same port and data: the token stays valid, the room resumes from what was stored.
      server = await startServer(dir, server.port);
      await waitFor(() => a.getView().pendingCount === 0 && a.getView().status === 'online', 20_000);
      const response = await fetch(`http://${base}/api/rooms/${info.id}/notes`, {
        headers: { Authorization: `Bearer ${ann.token}` },
      });
      const state = (await response.json()) as { seq: number; notes: Note[] };
      expect(state.notes.map((n) => [n.id, n.title])).toEqual([
        [first, 'edited offline'],
        [second, 'created offline'],
      ]);
      expect(a.getView().notes).toEqual(state.notes);
      expect(a.getView().seq).toBe(state.seq);
    } finally {
      clientA.close();
    }
  }, 40_000);
});
