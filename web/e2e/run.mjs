// End-to-end suite: real fun-notes-server binary + Debian's chromium through playwright-core.
// Usage (from web/, after `npx vite build`): node e2e/run.mjs
// The scenarios run in order and share the users and the room the first one sets up.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  TestServer,
  addNote,
  artifactsDir,
  assertNoSeriousViolations,
  badge,
  checkPrerequisites,
  createRoom,
  eventually,
  joinRoomById,
  launchBrowser,
  newUserPage,
  noteItem,
  readNotes,
  signUp,
  titlesOf,
  unique,
  waitForTitles,
  settle,
  waitForAnnouncement,
  waitForWorkspace,
} from './support.mjs';

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`e2e: ${problem}`);
  process.exit(1);
}

const server = new TestServer();
let browser;
// Filled by the first scenario, used by the later ones.
const world = { roomId: '', a: null, b: null, c: null, names: {} };

before(async () => {
  await server.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server.dispose();
});

const shot = (page, name) => page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });

test('two users share a link room: join by id, drag & drop, concurrent typing', async () => {
  world.a = await newUserPage(browser, server.url);
  world.b = await newUserPage(browser, server.url);
  const { page: pageA } = world.a;
  const { page: pageB } = world.b;
  world.names = { a: unique('alice'), b: unique('bob'), c: unique('carol') };

  await signUp(pageA, world.names.a);
  await signUp(pageB, world.names.b);

  world.roomId = await createRoom(pageA, 'Trip planning', 'link');
  // The room id is shown and the Copy button puts the room's link on the clipboard.
  await world.a.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await pageA.getByRole('button', { name: 'Copy room link' }).click();
  await pageA.getByRole('button', { name: 'Copy room link' }).filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await pageA.evaluate(() => navigator.clipboard.readText()), `${server.url}/r/${world.roomId}`);
  assert.equal((await pageA.locator('main code.room-id').textContent()).trim(), world.roomId);
  // A new note goes to the top: added last to first, they read first to last.
  await addNote(pageA, 'Water plants', 'Ask the neighbours');
  await addNote(pageA, 'Pack bags', 'Sunscreen and hats');
  await addNote(pageA, 'Book flights', 'Compare prices first');
  await waitForTitles(pageA, ['Book flights', 'Pack bags', 'Water plants']);

  await joinRoomById(pageB, world.roomId);
  await waitForTitles(pageB, ['Book flights', 'Pack bags', 'Water plants'], "A's notes on B's page");
  assert.deepEqual(await readNotes(pageB), await readNotes(pageA));

  // Keyboard drag on B: pick up "Book flights", one down, drop.
  // Each key waits for the screen-reader announcement of the previous one, as a user would
  // listen for it (dnd-kit measures the list asynchronously after the pick-up).
  await pageB.getByRole('button', { name: 'Move note Book flights' }).focus();
  await pageB.keyboard.press('Space');
  await waitForAnnouncement(pageB, /Picked up note Book flights, at position 1 of 3/);
  await settle(pageB);
  await pageB.keyboard.press('ArrowDown');
  await waitForAnnouncement(pageB, /Note Book flights moved to position 2 of 3/);
  await pageB.keyboard.press('Space');
  await waitForAnnouncement(pageB, /Note Book flights dropped at position 2 of 3/);
  const afterKeyboard = ['Pack bags', 'Book flights', 'Water plants'];
  // The dropped order shows at once on B and reaches A.
  await waitForTitles(pageB, afterKeyboard, 'the keyboard drop on B');
  await waitForTitles(pageA, afterKeyboard, "B's keyboard move on A");

  // Record every DOM order B's list goes through (a jump back would show up as the old order
  // after the new one), and count A's move animations.
  await pageB.evaluate(() => {
    const list = document.querySelector('ul.notes');
    const order = () => [...list.querySelectorAll('[data-field="title"]')].map((input) => input.value).join('|');
    window.orderHistory = [order()];
    new MutationObserver(() => window.orderHistory.push(order())).observe(list, { childList: true });
  });
  await pageA.evaluate(() => {
    window.moveAnimations = 0;
    const animate = Element.prototype.animate;
    Element.prototype.animate = function (...args) {
      window.moveAnimations += 1;
      return animate.apply(this, args);
    };
  });

  // Pointer drag on B: "Water plants" by its handle to the top.
  const handle = pageB.getByRole('button', { name: 'Move note Water plants' });
  const target = noteItem(pageB, 'Pack bags');
  const from = await handle.boundingBox();
  const to = await target.boundingBox();
  await pageB.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await pageB.mouse.down();
  // Several steps, so the sensor sees travel beyond its activation distance and over the target.
  await pageB.mouse.move(from.x + from.width / 2, from.y - 10, { steps: 5 });
  await pageB.mouse.move(from.x + from.width / 2, to.y + 5, { steps: 15 });
  await pageB.mouse.up();
  const afterPointer = ['Water plants', 'Pack bags', 'Book flights'];
  await waitForTitles(pageB, afterPointer, 'the pointer drop on B');
  await waitForTitles(pageA, afterPointer, "B's pointer move on A");
  const history = (await pageB.evaluate(() => window.orderHistory)).filter((o, i, all) => o !== all[i - 1]);
  assert.deepEqual(history, [afterKeyboard.join('|'), afterPointer.join('|')], 'the dropped order never jumps back');
  assert.ok((await pageA.evaluate(() => window.moveAnimations)) > 0, "B's move slides into place on A");

  // Both type at once into different notes; both end with the same list.
  // Located by note id: the title-based names change as B types.
  const idOf = (page, title) => noteItem(page, title).getAttribute('data-note-id');
  const fieldA = pageA.locator(`li[data-note-id="${await idOf(pageA, 'Pack bags')}"]`).getByLabel('Note body');
  const fieldB = pageB.locator(`li[data-note-id="${await idOf(pageB, 'Book flights')}"]`).getByLabel('Note title');
  await fieldA.focus();
  await pageA.keyboard.press('Control+End');
  await fieldB.focus();
  await pageB.keyboard.press('End');
  await Promise.all([
    pageA.keyboard.type(', towels and a good book', { delay: 15 }),
    pageB.keyboard.type(' for Friday', { delay: 15 }),
  ]);
  // Every keystroke shows locally at once, before any debounce fires.
  assert.equal(await fieldA.inputValue(), 'Sunscreen and hats, towels and a good book');
  assert.equal(await fieldB.inputValue(), 'Book flights for Friday');
  await Promise.all([pageA.keyboard.press('Tab'), pageB.keyboard.press('Tab')]);

  const expected = [
    { title: 'Water plants', body: 'Ask the neighbours' },
    { title: 'Pack bags', body: 'Sunscreen and hats, towels and a good book' },
    { title: 'Book flights for Friday', body: 'Compare prices first' },
  ];
  for (const page of [pageA, pageB]) {
    await eventually(async () => JSON.stringify(await readNotes(page)) === JSON.stringify(expected), {
      message: 'both pages to show both edits',
    });
  }
  assert.deepEqual(await readNotes(pageA), await readNotes(pageB));

  // A keeps typing in a note while B moves that very note to the bottom: no keystroke is lost
  // and A's caret stays in the field.
  const moving = pageA.locator(`li[data-note-id="${await idOf(pageA, 'Water plants')}"]`).getByLabel('Note body');
  await moving.focus();
  await pageA.keyboard.press('Control+End');
  const typing = pageA.keyboard.type(' on Sunday', { delay: 40 });
  await pageB.getByRole('button', { name: 'Move note Water plants' }).focus();
  await pageB.keyboard.press('Space');
  await waitForAnnouncement(pageB, /Picked up note Water plants, at position 1 of 3/);
  for (const position of [2, 3]) {
    await settle(pageB);
    await pageB.keyboard.press('ArrowDown');
    await waitForAnnouncement(pageB, new RegExp(`Note Water plants moved to position ${position} of 3`));
  }
  await pageB.keyboard.press('Space');
  await typing;
  assert.equal(await moving.inputValue(), 'Ask the neighbours on Sunday');
  assert.equal(await pageA.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Note body: Water plants');
  await pageA.keyboard.press('Tab');
  const final = [
    { title: 'Pack bags', body: 'Sunscreen and hats, towels and a good book' },
    { title: 'Book flights for Friday', body: 'Compare prices first' },
    { title: 'Water plants', body: 'Ask the neighbours on Sunday' },
  ];
  for (const page of [pageA, pageB]) {
    await eventually(async () => JSON.stringify(await readNotes(page)) === JSON.stringify(final), {
      message: 'both pages to show the moved note with the new text',
    });
  }

  await shot(pageA, 'workspace-desktop');
});

test("a member's dashboard shows the room's user count change live", async () => {
  world.c = await newUserPage(browser, server.url);
  const { page: pageC } = world.c;
  await signUp(pageC, world.names.c);
  // Joining a link room once by id makes carol a member, so the room is on her dashboard.
  await joinRoomById(pageC, world.roomId);
  await pageC.getByRole('link', { name: 'Dashboard' }).click();

  const row = pageC.locator(`tr[data-room-id="${world.roomId}"]`);
  const users = row.locator('[data-col="active_user_count"]');
  const count = async () => Number((await users.textContent()).trim());
  await eventually(async () => (await count()) === 2, { message: 'the dashboard to count A and B' });

  // B leaves the room: the count drops without a reload.
  const { page: pageB } = world.b;
  await pageB.getByRole('link', { name: 'Rooms', exact: true }).click();
  await eventually(async () => (await count()) === 1, { message: 'the count to drop to 1' });
  // B comes back: it rises again.
  await pageB.goBack();
  await waitForWorkspace(pageB);
  await eventually(async () => (await count()) === 2, { message: 'the count to rise to 2' });
  assert.equal((await row.locator('[data-col="total_notes"]').textContent()).trim(), '3');

  // The most active rooms come first; a header button sorts by its column and says so in
  // aria-sort.
  const header = pageC.getByRole('columnheader', { name: 'Active users' });
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  await header.getByRole('button').click();
  assert.equal(await header.getAttribute('aria-sort'), 'ascending');
  await header.getByRole('button').click();
  assert.equal(await header.getAttribute('aria-sort'), 'descending');
  const byName = pageC.getByRole('columnheader', { name: 'Room' });
  await byName.getByRole('button').click();
  assert.equal(await byName.getAttribute('aria-sort'), 'ascending');

  await shot(pageC, 'dashboard-desktop');
  await pageC.setViewportSize({ width: 375, height: 740 });
  await shot(pageC, 'dashboard-phone');
  await pageC.setViewportSize({ width: 1200, height: 900 });
});

test('offline: edits survive a reload without the server and reach others on reconnect', async () => {
  try {
    await offlineScenario();
  } finally {
    // Later scenarios need the server whatever happened here.
    if (!server.process) await server.start();
    await world.a.context.setOffline(false);
  }
});

async function offlineScenario() {
  const { page: pageA, context: contextA } = world.a;
  const { page: pageB } = world.b;
  // The service worker must control the page before going offline, or a reload has no shell.
  await pageA.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await pageA.reload();
  await waitForWorkspace(pageA);
  await eventually(() => pageA.evaluate(() => Boolean(navigator.serviceWorker.controller)), {
    message: 'the service worker to control the page',
  });
  await eventually(async () => (await badge(pageA).getAttribute('data-status')) === 'online', {
    message: "A's badge to be online",
  });

  // Chromium's offline emulation blocks new connections but leaves an open WebSocket alone, so
  // the server goes away too (SIGTERM): A's socket drops and A cannot reconnect while offline.
  await contextA.setOffline(true);
  await server.stop();
  await eventually(async () => (await badge(pageA).getAttribute('data-status')) === 'offline', {
    message: "A's badge to show offline",
  });

  await addNote(pageA, 'Offline idea', 'Written on the train');
  const title = noteItem(pageA, 'Water plants').getByLabel('Note title');
  await title.focus();
  await pageA.keyboard.press('End');
  await pageA.keyboard.type(' twice');
  await pageA.keyboard.press('Tab');
  const expected = ['Offline idea', 'Pack bags', 'Book flights for Friday', 'Water plants twice'];
  await waitForTitles(pageA, expected);
  await eventually(async () => Number(await badge(pageA).getAttribute('data-pending')) > 0, {
    message: 'unsent changes to be counted',
  });

  await pageA.reload();
  await waitForWorkspace(pageA);
  await waitForTitles(pageA, expected, 'the offline edits after a reload');
  assert.equal(await badge(pageA).getAttribute('data-status'), 'offline');
  await eventually(async () => /unsent change/.test(await badge(pageA).textContent()), {
    message: 'the badge to count unsent changes after the reload',
  });
  await shot(pageA, 'workspace-offline');

  // The server comes back on the same port and data; B reconnects, A is still offline.
  await server.start();
  await eventually(async () => (await badge(pageB).getAttribute('data-status')) === 'online', {
    timeout: 20_000,
    message: 'B to reconnect',
  });
  assert.ok(!titlesOf(await readNotes(pageB)).includes('Offline idea'), 'B has the offline note before A is back');

  await contextA.setOffline(false);
  await eventually(async () => (await badge(pageA).getAttribute('data-status')) === 'online', {
    timeout: 20_000,
    message: 'A to reconnect',
  });
  assert.equal(await badge(pageA).getAttribute('data-pending'), '0');
  await waitForTitles(pageB, expected, "A's offline edits on B");
  const bodies = (await readNotes(pageB)).map((note) => note.body);
  assert.equal(bodies[0], 'Written on the train');
  assert.deepEqual(await readNotes(pageB), await readNotes(pageA));
  // Both are present again once A is back.
  await eventually(async () => (await pageB.getByTestId('presence-count').textContent()) === '2', {
    message: "B's presence list to count A again",
  });
}

test('delete with Undo, toggles, a refused change, private and unknown rooms', async () => {
  const { page: pageA } = world.a;
  const { page: pageB } = world.b;
  const before = titlesOf(await readNotes(pageA));
  await pageA.getByRole('button', { name: 'Delete note Pack bags' }).click();
  const without = before.filter((title) => title !== 'Pack bags');
  await waitForTitles(pageA, without, 'the deleted note to go');
  // Keyboard focus lands on the next note instead of the top of the page.
  assert.equal(
    await pageA.evaluate(() => document.activeElement?.getAttribute('aria-label')),
    `Move note ${before[before.indexOf('Pack bags') + 1]}`,
  );
  await waitForTitles(pageB, without, 'the delete on B');
  await pageA.getByRole('region', { name: 'Notifications' }).getByRole('button', { name: 'Undo' }).click();
  await waitForTitles(pageA, before, 'the undo on A');
  await waitForTitles(pageB, before, 'the undo on B');
  assert.deepEqual(await readNotes(pageB), await readNotes(pageA));

  // Toggles reach the other page too.
  await pageA.getByRole('button', { name: 'Important: Pack bags' }).click();
  await eventually(
    async () => (await pageB.getByRole('button', { name: 'Important: Pack bags' }).getAttribute('aria-pressed')) === 'true',
    { message: 'the important flag on B' },
  );
  await pageB.getByRole('checkbox', { name: 'Done: Pack bags' }).check();
  await eventually(() => pageA.getByRole('checkbox', { name: 'Done: Pack bags' }).isChecked(), {
    message: 'the done flag on A',
  });

  // A title over the server's limit (600 Cyrillic letters: 1,200 UTF-8 bytes of 1,024) is
  // stopped at the field: the message says so in words, the text stays in the field after it
  // loses focus, and nothing reaches the other page.
  const packId = await noteItem(pageA, 'Pack bags').getAttribute('data-note-id');
  const titleOf = (page) => page.locator(`li[data-note-id="${packId}"]`).getByLabel('Note title');
  const cyrillic = 'Я'.repeat(600);
  await titleOf(pageA).focus();
  await pageA.keyboard.press('Control+A');
  await pageA.keyboard.insertText(cyrillic);
  const tooLong = pageA.locator(`li[data-note-id="${packId}"] [data-field="title"] + .field-error`);
  await tooLong.filter({ hasText: 'This title is too long: 1,200 of 1,024 bytes — shorten it by 88 characters' }).waitFor();
  assert.doesNotMatch(await tooLong.textContent(), /max_title|title_bytes|op\./);
  await pageA.keyboard.press('Tab');
  assert.equal(await titleOf(pageA).inputValue(), cyrillic, 'the typed title stays in the field');
  assert.equal(await titleOf(pageA).getAttribute('aria-invalid'), 'true');
  assert.ok(await tooLong.isVisible(), 'the message stays while the text is too long');
  // A's ops reach B in order: once a later toggle has arrived, an update of the title sent
  // before it would have arrived too.
  await pageA.getByRole('button', { name: 'Important: Book flights for Friday' }).click();
  await eventually(
    async () => (await pageB.getByRole('button', { name: 'Important: Book flights for Friday' }).getAttribute('aria-pressed')) === 'true',
    { message: 'the later toggle on B' },
  );
  assert.equal(await titleOf(pageB).inputValue(), 'Pack bags', 'nothing over the limit reached B');
  assert.equal(await titleOf(pageA).inputValue(), cyrillic, 'the text is still there after B answered');
  // Shortened to exactly 1,024 bytes it is saved, and the message goes.
  await titleOf(pageA).fill('Я'.repeat(512));
  await tooLong.waitFor({ state: 'hidden' });
  await pageA.keyboard.press('Tab');
  await eventually(async () => (await titleOf(pageB).inputValue()) === 'Я'.repeat(512), { message: 'the 1,024-byte title on B' });
  await titleOf(pageA).fill('Pack bags');
  await pageA.keyboard.press('Tab');
  await waitForTitles(pageB, before, 'the title restored on B');
  await pageA.getByRole('button', { name: 'Important: Book flights for Friday' }).click();

  // A private room: another user who has the id is told it is private.
  const privateId = await createRoom(pageA, 'Diary', 'private');
  const { page: pageC } = world.c;
  await joinRoomById(pageC, privateId, { expectError: true });
  await pageC.getByRole('alert').filter({ hasText: 'This room is private' }).waitFor();
  await joinRoomById(pageA, world.roomId);

  // Room entry with an id that does not exist.
  await pageC.getByRole('link', { name: 'Rooms', exact: true }).click();
  await pageC.getByLabel('Room id', { exact: true }).fill('no-such-room');
  await pageC.getByRole('button', { name: 'Join', exact: true }).click();
  await pageC.getByRole('alert').filter({ hasText: 'There is no room with the id' }).waitFor();
});

test('signing out offline warns about the unsent change; kept, it reaches the server at the next sign-in', async () => {
  const name = unique('erin');
  const password = 'correct horse battery';
  const { context, page } = await newUserPage(browser, server.url);
  await signUp(page, name, password);
  const roomId = await createRoom(page, 'Offline notes', 'private');
  await addNote(page, 'Draft', 'first version');
  await eventually(async () => (await badge(page).getAttribute('data-status')) === 'online' && (await badge(page).getAttribute('data-pending')) === '0', {
    message: 'the note to be acknowledged',
  });
  // The service worker serves the page after the network is gone.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await waitForWorkspace(page);
  await eventually(() => page.evaluate(() => Boolean(navigator.serviceWorker.controller)), {
    message: 'the service worker to control the page',
  });

  // Before going offline, everything is acknowledged and the device's copy says so (a queued op
  // the cache still holds would be sent again after the reload, and counted until then).
  await eventually(async () => (await badge(page).getAttribute('data-pending')) === '0', { message: 'nothing pending' });
  const cachedQueue = () =>
    page.evaluate(async () => {
      const name = (await indexedDB.databases()).map((d) => d.name).find((n) => n?.startsWith('fun-notes-'));
      const db = await new Promise((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const count = await new Promise((resolve, reject) => {
        const request = db.transaction('pending').objectStore('pending').count();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      db.close();
      return count;
    });
  await eventually(async () => (await cachedQueue()) === 0, { message: 'the cached queue to be empty' });

  // Offline emulation leaves an open WebSocket alone; a reload while offline starts without one.
  await context.setOffline(true);
  await page.reload();
  await waitForWorkspace(page);
  assert.equal(await badge(page).getAttribute('data-status'), 'offline');
  await noteItem(page, 'Draft').getByLabel('Note title').focus();
  await page.keyboard.press('End');
  await page.keyboard.type(', edited offline');
  await page.keyboard.press('Tab');
  await eventually(async () => (await badge(page).getAttribute('data-pending')) === '1', { message: 'one unsent change' });

  // Sign out: a dialog names the change and the room; focus is on the choice that loses nothing.
  const signOutButton = page.getByRole('button', { name: 'Sign out' });
  const dialog = page.getByRole('dialog', { name: 'Sign out with unsent changes?' });
  await signOutButton.click();
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /1 change in “Offline notes” has not reached the server yet\./);
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Keep it on this device and sign out');
  await assertNoSeriousViolations(page, 'sign-out dialog');
  await shot(page, 'sign-out-dialog');
  // Escape cancels: still signed in, focus back on Sign out.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Sign out');
  await page.getByTestId('user-name').filter({ hasText: name }).waitFor();

  await signOutButton.click();
  await dialog.getByRole('button', { name: 'Keep it on this device and sign out' }).click();
  await page.getByRole('heading', { name: 'Sign up or log in' }).waitFor();
  const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(databases.some((n) => n?.startsWith('fun-notes-')), 'the unsent change is kept on this device');

  // Back online, the same user signs in: the change goes out without opening the room.
  await context.setOffline(false);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('user-name').filter({ hasText: name }).waitFor();
  const loginResponse = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password }),
  });
  assert.equal(loginResponse.status, 200);
  const { token } = await loginResponse.json();
  const storedTitles = async () => {
    const response = await fetch(`${server.url}/api/rooms/${roomId}/notes`, { headers: { authorization: `Bearer ${token}` } });
    return (await response.json()).notes.map((n) => n.title);
  };
  await eventually(async () => JSON.stringify(await storedTitles()) === JSON.stringify(['Draft, edited offline']), {
    timeout: 20_000,
    message: 'the kept change to reach the server',
  });
  await context.close();
});

test('a token the server refuses sends the user to sign in again, saying why', async () => {
  const { context, page } = await newUserPage(browser, server.url);
  await signUp(page, unique('dave'));
  // A token signed with another secret, as after a secret rotation.
  await page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem('fun-notes.session'));
    const [header, payload] = session.token.split('.');
    localStorage.setItem('fun-notes.session', JSON.stringify({ ...session, token: `${header}.${payload}.forged` }));
  });
  await page.reload();
  await page.getByRole('status').filter({ hasText: 'Your session has expired' }).waitFor();
  await page.getByRole('heading', { name: 'Sign up or log in' }).waitFor();
  await context.close();
});

test('phone-width workspace screenshot', async () => {
  const { page: pageB } = world.b;
  await pageB.setViewportSize({ width: 375, height: 812 });
  await shot(pageB, 'workspace-phone');
  await pageB.setViewportSize({ width: 1200, height: 900 });
});

test('accessibility: no serious or critical axe violations', async () => {
  const guest = await newUserPage(browser, server.url);
  await guest.page.goto('/login');
  await guest.page.getByRole('button', { name: 'Sign up' }).waitFor();
  await assertNoSeriousViolations(guest.page, 'login');
  await shot(guest.page, 'login');
  await guest.context.close();

  const { page: pageC } = world.c;
  await pageC.getByRole('link', { name: 'Rooms', exact: true }).click();
  await pageC.getByRole('heading', { name: 'Your rooms' }).waitFor();
  await assertNoSeriousViolations(pageC, 'room entry');
  await shot(pageC, 'room-entry');

  await pageC.getByRole('link', { name: 'Dashboard' }).click();
  await pageC.locator(`tr[data-room-id="${world.roomId}"]`).waitFor();
  await assertNoSeriousViolations(pageC, 'dashboard');

  const { page: pageA } = world.a;
  await waitForTitles(pageA, titlesOf(await readNotes(world.b.page)));
  await assertNoSeriousViolations(pageA, 'workspace');

  // Signing out forgets the session and the notes cached on this device: a reload shows the
  // sign-in page, and the user's IndexedDB database is gone.
  const cachedDatabases = () =>
    pageC.evaluate(async () => (await indexedDB.databases()).map((d) => d.name).filter((n) => n?.startsWith('fun-notes-')));
  assert.ok((await cachedDatabases()).length > 0, 'the room was never cached');
  await pageC.getByRole('button', { name: 'Sign out' }).click();
  await pageC.getByRole('heading', { name: 'Sign up or log in' }).waitFor();
  await eventually(async () => (await cachedDatabases()).length === 0, { message: 'the cache to be deleted on sign-out' });
  await pageC.reload();
  await pageC.getByRole('heading', { name: 'Sign up or log in' }).waitFor();
});
