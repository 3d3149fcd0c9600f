// Sharing end to end: real fun-notes-server binary + Debian's chromium through playwright-core.
// Usage (from web/, after `npx vite build`): node e2e/sharing.mjs
//
// 1. invites and roles in a private room: a non-member is refused, a viewer's invite gives a
//    read-only page (and the server refuses the viewer's op sent around the page), the owner's
//    promotion lets them write at once, removal shows them out; signed-out invite, used-up and
//    revoked invites, an edit made offline by a member demoted meanwhile refused and rolled
//    back, ownership handed over, the room deleted under a member's page;
// 2. a stranger's open dashboard: a public room appears live, a private one never does, a room
//    made public appears and made private goes again, and a visitor's page loses it;
// 3. hostile text (markup, SQL) in a room name, a note and a username is shown as text; a
//    member leaves that room.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import {
  TestServer,
  addNote,
  artifactsDir,
  assertNoSeriousViolations,
  badge,
  checkPrerequisites,
  createRoom,
  distDir,
  eventually,
  launchBrowser,
  newUserPage,
  readNotes,
  signUp,
  titlesOf,
  unique,
  waitForTitles,
  waitForWorkspace,
} from './support.mjs';

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`e2e: ${problem}`);
  process.exit(1);
}

const server = new TestServer();
let browser;
const world = { alice: null, bob: null, names: {}, roomId: '', viewerLink: '' };

before(async () => {
  await server.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server.dispose();
});

const shot = (page, name) => page.screenshot({ path: path.join(artifactsDir, `sharing-${name}.png`), fullPage: true });

const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('fun-notes.session')).token);

async function api(token, method, urlPath, body) {
  const response = await fetch(`${server.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** A protocol client straight on the socket (no page, no Origin): what a forced op meets. */
async function rawSocket(token) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  const frames = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = (predicate, message) =>
    eventually(() => frames.find(predicate), { message: `a frame: ${message}` });
  ws.send(JSON.stringify({ type: 'hello', token, client: 'e2e/raw' }));
  await next((f) => f.type === 'welcome', 'welcome');
  return { ws, frames, next, send: (frame) => ws.send(JSON.stringify(frame)), close: () => ws.close() };
}

/** The room ids this page's IndexedDB cache holds a state for. */
const cachedRoomIds = (page) =>
  page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.startsWith('fun-notes-'));
    const ids = [];
    for (const name of names) {
      const db = await new Promise((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      if (db.objectStoreNames.contains('rooms')) {
        const keys = await new Promise((resolve, reject) => {
          const request = db.transaction('rooms').objectStore('rooms').getAllKeys();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        ids.push(...keys);
      }
      db.close();
    }
    return ids;
  });

const shareDialog = (page) => page.getByRole('dialog', { name: /^Share/ });

async function openShare(page) {
  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const dialog = shareDialog(page);
  await dialog.waitFor();
  return dialog;
}

/** Creates an invite link in the open Share dialog; returns the full link it shows. */
async function createInvite(dialog, { role = 'viewer', expiry = '1 day', maxUses = '' } = {}) {
  await dialog.getByLabel(role === 'viewer' ? 'Viewer (can read)' : 'Editor (can read and write)').check();
  await dialog.getByLabel('Link works for').selectOption({ label: expiry });
  await dialog.getByLabel('Most uses').fill(maxUses);
  const before = await dialog.getByTestId('invite-link').inputValue().catch(() => '');
  await dialog.getByRole('button', { name: 'Create invite link' }).click();
  return eventually(
    async () => {
      const link = await dialog.getByTestId('invite-link').inputValue();
      return link && link !== before ? link : null;
    },
    { message: 'the new invite link' },
  );
}

async function closeDialog(page, dialog) {
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
}

const viewOnly = (page) => page.getByTestId('view-only');
const roleLine = (page) => page.getByTestId('role-line');

async function openMembers(page) {
  const toggle = page.getByRole('button', { name: 'Members', exact: true });
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  const panel = page.getByRole('region', { name: 'Members' });
  await panel.waitFor();
  return panel;
}

test('a private room shared by invite: refused before, read-only as viewer, promoted live, removed live', async () => {
  world.alice = await newUserPage(browser, server.url);
  world.bob = await newUserPage(browser, server.url);
  const { page: alice } = world.alice;
  const { page: bob } = world.bob;
  world.names = { alice: unique('alice'), bob: unique('bob') };
  await signUp(alice, world.names.alice);
  await signUp(bob, world.names.bob);

  world.roomId = await createRoom(alice, 'Secret plans', 'private');
  const roomId = world.roomId;
  await addNote(alice, 'Agenda', 'Only for members');
  await waitForTitles(alice, ['Agenda']);
  assert.equal(await roleLine(alice).getAttribute('data-role'), 'owner');

  // The Share dialog: a viewer invite for a day, shown in full with a working Copy button.
  await world.alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const dialog = await openShare(alice);
  await assertNoSeriousViolations(alice, 'share dialog');
  world.viewerLink = await createInvite(dialog, { role: 'viewer', expiry: '1 day' });
  assert.match(world.viewerLink, new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/invite/[^/]+$`));
  await dialog.getByRole('button', { name: 'Copy invite link' }).click();
  await dialog.getByRole('button', { name: 'Copy invite link' }).filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await alice.evaluate(() => navigator.clipboard.readText()), world.viewerLink);
  const invites = dialog.getByRole('list', { name: 'Open invites' }).getByRole('listitem');
  await eventually(async () => (await invites.count()) === 1, { message: 'one open invite' });
  assert.match(await invites.first().textContent(), /^Viewer · expires .+ · 0 uses, no limit/);
  await shot(alice, 'share-dialog');
  await alice.setViewportSize({ width: 375, height: 740 });
  await shot(alice, 'share-dialog-phone');
  await alice.setViewportSize({ width: 1200, height: 900 });
  // Escape closes it and gives focus back to Share.
  await closeDialog(alice, dialog);
  assert.equal(await alice.evaluate(() => document.activeElement?.textContent), 'Share');

  // Before accepting, bob's page cannot enter: the server refuses the join.
  await bob.goto(`/r/${roomId}`);
  await bob.getByRole('alert').filter({ hasText: 'This room is private' }).waitFor();
  assert.equal(await bob.getByRole('button', { name: 'New note' }).count(), 0);

  // Through the link: what it gives, Accept, and the room opens read-only.
  await bob.goto(world.viewerLink);
  await bob.getByTestId('invite-room-name').filter({ hasText: 'Secret plans' }).waitFor();
  assert.equal(await bob.getByTestId('invite-role').textContent(), 'viewer');
  await assertNoSeriousViolations(bob, 'invite page');
  await shot(bob, 'invite-page');
  await bob.getByRole('button', { name: 'Accept invite' }).click();
  await bob.waitForURL(`**/r/${roomId}`);
  await viewOnly(bob).waitFor();
  await waitForTitles(bob, ['Agenda'], "the room's notes on the viewer's page");
  assert.equal(await roleLine(bob).getAttribute('data-role'), 'viewer');
  assert.equal(await bob.getByRole('button', { name: 'New note' }).count(), 0);
  assert.equal(await bob.getByRole('button', { name: /^Move note/ }).count(), 0);
  assert.equal(await bob.getByRole('button', { name: /^Delete note/ }).count(), 0);
  assert.equal(await bob.getByRole('button', { name: /^Important:/ }).count(), 0);
  assert.equal(await bob.getByRole('checkbox', { name: /^Done:/ }).count(), 0);
  assert.equal(await bob.getByLabel('Note title').getAttribute('readonly'), '');
  assert.equal(await bob.getByLabel('Note body').getAttribute('readonly'), '');
  await assertNoSeriousViolations(bob, 'read-only workspace');
  await shot(bob, 'view-only');

  // An op forced past the page, straight on a socket with bob's token: refused `forbidden`.
  const raw = await rawSocket(await tokenOf(bob));
  raw.send({ type: 'join', room: roomId });
  const snapshot = await raw.next((f) => f.type === 'snapshot' && f.room === roomId, 'the snapshot');
  assert.equal(snapshot.room_info.role, 'viewer');
  raw.send({
    type: 'op',
    room: roomId,
    cid: 'forced-1',
    op: { kind: 'create', note: { id: 'forced', title: 'Forced', body: '', is_important: false, is_completed: false, current_index: 99 } },
  });
  const reject = await raw.next((f) => f.type === 'reject' && f.cid === 'forced-1', "the forced op's answer");
  assert.equal(reject.code, 'forbidden');
  assert.ok(!raw.frames.some((f) => f.type === 'op' && f.cid === 'forced-1'), 'the forced op was not applied');
  raw.close();

  // The owner promotes bob in the Members panel; bob's page can write at once, no reload.
  await bob.evaluate(() => {
    window.sameDocument = true;
  });
  const members = await openMembers(alice);
  await members.getByRole('listitem').filter({ hasText: world.names.bob }).waitFor();
  await assertNoSeriousViolations(alice, 'members panel');
  await shot(alice, 'members-panel');
  await members.getByLabel(`Role of ${world.names.bob}`).selectOption('editor');
  await members.getByRole('status').filter({ hasText: `${world.names.bob} is now an editor.` }).waitFor();
  await waitForWorkspace(bob);
  assert.equal(await viewOnly(bob).count(), 0);
  assert.equal(await roleLine(bob).getAttribute('data-role'), 'editor');
  await addNote(bob, 'From bob', 'written right after the promotion');
  await waitForTitles(alice, ['From bob', 'Agenda'], "bob's note on the owner's page");
  assert.ok(await bob.evaluate(() => window.sameDocument === true), 'no reload on the promotion');

  // Everyone in the room sees the members; only the owner gets the controls.
  const bobsMembers = await openMembers(bob);
  await bobsMembers.getByRole('listitem').filter({ hasText: world.names.alice }).waitFor();
  assert.equal(await bobsMembers.getByRole('combobox').count(), 0);
  assert.equal(await bobsMembers.getByRole('button', { name: /^Remove/ }).count(), 0);
  await bobsMembers.getByRole('button', { name: 'Leave room' }).waitFor();
  assert.equal(await bob.getByRole('button', { name: 'Share', exact: true }).count(), 0);

  // The owner removes bob: his page says so, stops showing the notes and drops its copy.
  assert.ok((await cachedRoomIds(bob)).includes(roomId), "bob's device holds the room before");
  await members.getByRole('button', { name: `Remove ${world.names.bob}` }).click();
  await bob.getByTestId('access-lost').filter({ hasText: 'You were removed from this room' }).waitFor();
  assert.equal(await bob.locator('ul.notes > li').count(), 0);
  assert.equal(await bob.getByRole('button', { name: 'New note' }).count(), 0);
  await eventually(async () => !(await cachedRoomIds(bob)).includes(roomId), { message: "bob's copy of the room to go" });
  assert.ok(await bob.evaluate(() => window.sameDocument === true), 'no reload on the removal');
  await shot(bob, 'removed');
  // And the server agrees: the room is not his any more.
  assert.equal((await api(await tokenOf(bob), 'GET', `/api/rooms/${roomId}`)).status, 403);
});

test('invites: signed out first, used up, revoked; demoted while away; ownership handed over; the room deleted under a page', async () => {
  const { page: alice } = world.alice;
  const roomId = world.roomId;
  const dialog = await openShare(alice);
  const editorLink = await createInvite(dialog, { role: 'editor', expiry: '1 hour', maxUses: '1' });
  await dialog.getByRole('list', { name: 'Open invites' }).getByRole('listitem').filter({ hasText: /^Editor · expires .+ · 0 of 1 use/ }).waitFor();
  await closeDialog(alice, dialog);

  // Signed out: the invite link asks to sign in first, then shows the invite.
  const carol = await newUserPage(browser, server.url);
  const carolName = unique('carol');
  await carol.page.goto(editorLink);
  await carol.page.getByTestId('invite-sign-in').waitFor();
  await carol.page.getByLabel('Username').fill(carolName);
  await carol.page.getByLabel('Password').fill('correct horse battery');
  await carol.page.getByRole('button', { name: 'Sign up' }).click();
  await carol.page.getByTestId('invite-room-name').filter({ hasText: 'Secret plans' }).waitFor();
  assert.equal(await carol.page.getByTestId('invite-role').textContent(), 'editor');
  await carol.page.getByRole('button', { name: 'Accept invite' }).click();
  await waitForWorkspace(carol.page);
  await waitForTitles(carol.page, ['From bob', 'Agenda']);
  assert.equal(await roleLine(carol.page).getAttribute('data-role'), 'editor');

  // Used up (max uses 1): the next person gets the server's reason, and is not let in.
  const dave = await newUserPage(browser, server.url);
  await signUp(dave.page, unique('dave'));
  const daveToken = await tokenOf(dave.page);
  const inviteToken = editorLink.split('/invite/')[1];
  await dave.page.goto(editorLink);
  const problem = dave.page.getByTestId('invite-problem');
  const accept = dave.page.getByRole('button', { name: 'Accept invite' });
  await problem.or(accept).waitFor();
  const preview = await api(daveToken, 'GET', `/api/invites/${inviteToken}`);
  console.log(`# used-up invite: GET /api/invites/{token} -> ${preview.status} ${JSON.stringify(preview.body)}`);
  let usedUpText;
  let serverSays;
  if (await problem.isVisible()) {
    usedUpText = (await problem.textContent()).trim();
    serverSays = preview;
  } else {
    // A server that tells only when the invite is accepted: the page says it then.
    await accept.click();
    const refusal = dave.page.getByRole('alert');
    await refusal.waitFor();
    usedUpText = (await refusal.textContent()).trim();
    serverSays = await api(daveToken, 'POST', `/api/invites/${inviteToken}/accept`);
    console.log(`# used-up invite: POST /api/invites/{token}/accept -> ${serverSays.status} ${JSON.stringify(serverSays.body)}`);
    assert.equal(new URL(dave.page.url()).pathname, `/invite/${inviteToken}`, 'the page stays on the invite');
  }
  assert.equal(serverSays.status, 403);
  assert.equal(usedUpText, serverSays.body.error.message, "the page shows the server's message");
  assert.equal((await api(daveToken, 'GET', `/api/rooms/${roomId}`)).status, 403, 'the used-up invite let nobody in');

  // Revoked: the viewer link bob used stops working.
  const again = await openShare(alice);
  const viewerItem = again.getByRole('list', { name: 'Open invites' }).getByRole('listitem').filter({ hasText: /^Viewer/ });
  await viewerItem.getByRole('button', { name: /^Revoke invite/ }).click();
  await viewerItem.waitFor({ state: 'detached' });
  await closeDialog(alice, again);
  await dave.page.goto(world.viewerLink);
  const revoked = dave.page.getByTestId('invite-problem');
  await revoked.waitFor();
  const revokedAnswer = await api(daveToken, 'GET', `/api/invites/${world.viewerLink.split('/invite/')[1]}`);
  console.log(`# revoked invite: GET /api/invites/{token} -> ${revokedAnswer.status} ${JSON.stringify(revokedAnswer.body)}`);
  assert.equal(revokedAnswer.status, 404);
  assert.equal((await revoked.textContent()).trim(), revokedAnswer.body.error.message);
  await dave.context.close();

  // Demoted while away: the edit carol made offline reaches the server after the demotion and is
  // refused; her page rolls it back, says why, and turns read-only (a resume carries no role).
  // Chromium's offline emulation leaves an open WebSocket alone, so the server goes away too.
  // "Agenda", the second note (bob's, added later, is above it).
  const carolTitle = carol.page.locator('ul.notes > li').nth(1).getByLabel('Note title');
  await carol.context.setOffline(true);
  try {
    await server.stop();
    await eventually(async () => (await badge(carol.page).getAttribute('data-status')) === 'offline', {
      message: "carol's page to be offline",
    });
    await carolTitle.focus();
    await carol.page.keyboard.press('End');
    await carol.page.keyboard.type(' (carol was here)');
    await carol.page.keyboard.press('Tab');
    await eventually(async () => (await badge(carol.page).getAttribute('data-pending')) === '1', { message: 'one unsent change' });
    await server.start();
    await eventually(async () => (await badge(alice).getAttribute('data-status')) === 'online', {
      timeout: 20_000,
      message: "alice's page to reconnect",
    });
    const panel = await openMembers(alice);
    await panel.getByLabel(`Role of ${carolName}`).selectOption('viewer');
    await panel.getByRole('status').filter({ hasText: `${carolName} is now a viewer.` }).waitFor();
  } finally {
    if (!server.process) await server.start();
    await carol.context.setOffline(false);
  }
  await carol.page
    .getByRole('region', { name: 'Notifications' })
    .filter({ hasText: 'A change was not saved: you can only read this room.' })
    .waitFor({ timeout: 20_000 });
  await eventually(async () => (await carolTitle.inputValue()) === 'Agenda', { message: 'the refused edit to be rolled back' });
  await viewOnly(carol.page).waitFor();
  assert.equal(await badge(carol.page).getAttribute('data-pending'), '0');
  await waitForTitles(alice, ['From bob', 'Agenda'], 'nothing of the refused edit on the owner page');

  // Ownership to carol, confirmed: both pages switch without a reload.
  const members = await openMembers(alice);
  await members.getByRole('button', { name: `Make ${carolName} the owner` }).click();
  const confirm = alice.getByRole('dialog', { name: `Make ${carolName} the owner?` });
  await confirm.waitFor();
  // Focus starts on the choice that changes nothing.
  assert.equal(await alice.evaluate(() => document.activeElement?.textContent), 'Cancel');
  await confirm.getByRole('button', { name: `Make ${carolName} the owner` }).click();
  await confirm.waitFor({ state: 'detached' });
  await eventually(async () => (await roleLine(alice).getAttribute('data-role')) === 'editor', { message: 'alice to be an editor' });
  await eventually(async () => (await roleLine(carol.page).getAttribute('data-role')) === 'owner', { message: 'carol to be the owner' });
  assert.equal(await alice.getByRole('button', { name: 'Share', exact: true }).count(), 0);

  // Carol deletes the room (confirmed); alice's open page says it is gone.
  const carolsDialog = await openShare(carol.page);
  await carolsDialog.getByRole('button', { name: 'Delete room…' }).click();
  const sure = carol.page.getByRole('dialog', { name: 'Delete “Secret plans”?' });
  await sure.waitFor();
  await sure.getByRole('button', { name: 'Delete room for everyone' }).click();
  await carol.page.waitForURL((url) => url.pathname === '/');
  await alice.getByTestId('access-lost').filter({ hasText: 'This room was deleted' }).waitFor();
  await eventually(async () => !(await cachedRoomIds(alice)).includes(roomId), { message: "alice's copy of the room to go" });
  assert.equal((await api(await tokenOf(alice), 'GET', `/api/rooms/${roomId}`)).status, 404);
  await carol.context.close();
});

test("a stranger's open dashboard: public rooms appear live, private ones never", async () => {
  const { page: alice } = world.alice;
  const frank = await newUserPage(browser, server.url);
  await signUp(frank.page, unique('frank'));
  await frank.page.getByRole('link', { name: 'Dashboard' }).click();
  await frank.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const rows = frank.page.locator('tbody tr');
  const rowNamed = (name) => rows.filter({ has: frank.page.getByRole('link', { name, exact: true }) });
  const seen = new Set();
  // Every room name the dashboard ever shows, so a private room that flashes by is caught too.
  await frank.page.exposeFunction('dashboardSaw', (names) => names.forEach((n) => seen.add(n)));
  await frank.page.evaluate(() => {
    const report = () => window.dashboardSaw([...document.querySelectorAll('tbody th a')].map((a) => a.textContent));
    new MutationObserver(report).observe(document.body, { childList: true, subtree: true, characterData: true });
    report();
  });

  // Created while the stranger watches: a private room (changed after the public one, so its
  // counts would have gone out by the time the public room's do) and a public one.
  const diaryId = await createRoom(alice, 'Alice diary', 'private');
  const toggledId = await createRoom(alice, 'Alice toggled', 'private');
  await createRoom(alice, 'Alice public', 'public');
  const publicId = new URL(alice.url()).pathname.split('/').pop();
  await alice.goto(`/r/${diaryId}`);
  await waitForWorkspace(alice);
  await addNote(alice, 'Private thought', 'not for the dashboard');
  await alice.goto(`/r/${publicId}`);
  await waitForWorkspace(alice);
  await addNote(alice, 'Hello world', 'anyone may read this');
  const publicRow = rowNamed('Alice public');
  await publicRow.waitFor();
  await publicRow.getByTestId('public-badge').waitFor();
  await eventually(async () => (await publicRow.locator('[data-col="total_notes"]').textContent()).trim() === '1', {
    message: 'the public room note count to follow',
  });
  assert.equal(await rowNamed('Alice diary').count(), 0);
  assert.equal(await rowNamed('Alice toggled').count(), 0);
  await assertNoSeriousViolations(frank.page, 'dashboard with a public room');
  await shot(frank.page, 'dashboard-public');

  // Made public from the Share dialog: it appears; made private again: it goes.
  await alice.goto(`/r/${toggledId}`);
  await waitForWorkspace(alice);
  let dialog = await openShare(alice);
  await dialog.getByLabel(/^Public/).check();
  await dialog.getByRole('button', { name: 'Save access' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await closeDialog(alice, dialog);
  const madePublic = rowNamed('Alice toggled');
  await madePublic.waitFor();
  await madePublic.getByTestId('public-badge').waitFor();
  dialog = await openShare(alice);
  await dialog.getByLabel(/^Private/).check();
  await dialog.getByRole('button', { name: 'Save access' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await closeDialog(alice, dialog);
  await madePublic.waitFor({ state: 'detached' });

  // A visitor of the public room reads it; made private, the visitor's page loses it.
  await publicRow.getByRole('link', { name: 'Alice public' }).click();
  await viewOnly(frank.page).waitFor();
  await waitForTitles(frank.page, ['Hello world']);
  assert.equal(new URL(frank.page.url()).pathname, `/r/${publicId}`);
  await alice.goto(`/r/${publicId}`);
  await waitForWorkspace(alice);
  dialog = await openShare(alice);
  await dialog.getByLabel(/^Private/).check();
  await dialog.getByRole('button', { name: 'Save access' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await closeDialog(alice, dialog);
  await frank.page.getByTestId('access-lost').filter({ hasText: 'This room is no longer public' }).waitFor();
  await frank.page.getByRole('link', { name: 'Dashboard' }).click();
  await frank.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await eventually(async () => (await rowNamed('Alice public').count()) === 0, { message: 'the room made private to leave the dashboard' });
  assert.ok(!seen.has('Alice diary'), 'a private room of another user never showed');
  assert.ok(seen.has('Alice toggled'), 'the room showed while it was public');
  await frank.context.close();
});

test('markup and SQL in a room name, a note and a username are shown as text', async () => {
  const img = '<img src=x onerror=alert(1)>';
  const sql = "'; DROP TABLE notes; --";
  const roomName = `${img} ${sql}`;
  const dialogs = [];
  const pages = [world.alice.page, world.bob.page];
  const record = (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  };
  for (const page of pages) page.on('dialog', record);
  const { page: alice } = world.alice;
  const { page: bob } = world.bob;

  // The page ships no inline script (the server's Content-Security-Policy allows none).
  assert.doesNotMatch(readFileSync(path.join(distDir, 'index.html'), 'utf8'), /<script(?![^>]*\bsrc=)[^>]*>/);
  const response = await fetch(`${server.url}/`);
  assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);

  // A username like that is refused by the server, and the page shows the refusal as text.
  const guest = await newUserPage(browser, server.url);
  guest.page.on('dialog', record);
  await guest.page.goto('/login');
  await guest.page.evaluate(() => {
    document.querySelector('form').noValidate = true;
  });
  await guest.page.getByLabel('Username').fill(img);
  await guest.page.getByLabel('Password').fill(sql);
  await guest.page.getByRole('button', { name: 'Sign up' }).click();
  await guest.page.getByRole('alert').waitFor();
  assert.equal(await guest.page.locator('img').count(), 0);
  const direct = await fetch(`${server.url}/api/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `${img}${sql}`, password: 'correct horse battery' }),
  });
  assert.equal(direct.status, 400);
  await guest.context.close();

  // A public room with that name and a note with that title and body, seen by another user.
  const roomId = await createRoom(alice, roomName, 'public');
  await addNote(alice, img, sql);
  await waitForTitles(alice, [img]);
  assert.equal(await alice.getByRole('heading', { level: 1 }).textContent(), roomName);
  assert.equal(await alice.title(), `${roomName} · fun-notes`);
  const dialog = await openShare(alice);
  assert.equal(await dialog.getByRole('heading', { level: 2 }).textContent(), `Share “${roomName}”`);
  const link = await createInvite(dialog, { role: 'editor', expiry: 'Never' });
  await closeDialog(alice, dialog);

  await bob.goto('/dashboard');
  await bob.getByRole('link', { name: roomName, exact: true }).waitFor();
  await bob.goto(link);
  assert.equal(await bob.getByTestId('invite-room-name').textContent(), roomName);
  await bob.getByRole('button', { name: 'Accept invite' }).click();
  await waitForWorkspace(bob);
  await waitForTitles(bob, [img], 'the note title on the other page');
  assert.deepEqual(await readNotes(bob), [{ title: img, body: sql }]);
  assert.equal(await bob.getByRole('heading', { level: 1 }).textContent(), roomName);
  const members = await openMembers(bob);
  await members.getByRole('listitem').filter({ hasText: world.names.alice }).waitFor();
  await bob.getByRole('link', { name: 'Rooms', exact: true }).click();
  const yourRooms = bob.getByRole('region', { name: 'Your rooms' });
  await yourRooms.getByRole('link', { name: roomName, exact: true }).waitFor();

  // Bob leaves (confirmed): the room goes from his rooms and from this device.
  await yourRooms.getByRole('link', { name: roomName, exact: true }).click();
  await waitForWorkspace(bob);
  assert.ok((await cachedRoomIds(bob)).includes(roomId));
  await (await openMembers(bob)).getByRole('button', { name: 'Leave room' }).click();
  const leave = bob.getByRole('dialog', { name: `Leave “${roomName}”?` });
  await leave.waitFor();
  await leave.getByRole('button', { name: 'Leave room' }).click();
  await bob.waitForURL((url) => url.pathname === '/');
  await yourRooms.getByRole('heading', { name: 'Your rooms' }).waitFor();
  await eventually(async () => (await yourRooms.getByRole('listitem').count()) > 0 || (await yourRooms.textContent()).includes('No rooms yet'), {
    message: 'the room list to load',
  });
  assert.equal(await yourRooms.getByRole('link', { name: roomName, exact: true }).count(), 0);
  await eventually(async () => !(await cachedRoomIds(bob)).includes(roomId), { message: "bob's copy of the room he left to go" });
  assert.equal((await api(await tokenOf(bob), 'GET', `/api/rooms/${roomId}`)).body.members.length, 0, 'bob is no member');

  for (const page of [alice, bob]) {
    assert.equal(await page.locator('img').count(), 0, 'no element was injected');
  }
  assert.deepEqual(dialogs, [], 'no dialog fired');
  // The server kept the text as it was given.
  const stored = await api(await tokenOf(alice), 'GET', `/api/rooms/${roomId}/notes`);
  assert.deepEqual(stored.body.notes.map((n) => [n.title, n.body]), [[img, sql]]);
  assert.equal((await api(await tokenOf(alice), 'GET', `/api/rooms/${roomId}`)).body.room.name, roomName);
  assert.ok(titlesOf(await readNotes(alice)).includes(img));
});
