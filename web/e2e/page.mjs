// The page as a new user meets it: the tab names the page and the room, focus lands on each new
// page's heading, room ids have no look-alike characters and Copy gives a link that opens the
// room for someone else, a log-in with a new name offers to sign up with it, a lost network
// shows in seconds and a restarted server is back about a second after it answers.
// Usage (from web/, after `npx vite build`): node e2e/page.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TestServer,
  badge,
  checkPrerequisites,
  createRoom,
  eventually,
  launchBrowser,
  newUserPage,
  signUp,
  unique,
  waitForWorkspace,
} from './support.mjs';

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`e2e: ${problem}`);
  process.exit(1);
}

const server = new TestServer();
let browser;

before(async () => {
  await server.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server.dispose();
});

const focusedHeading = (page) =>
  page.evaluate(() => (document.activeElement?.tagName === 'H1' ? document.activeElement.textContent : null));

const status = (page) => badge(page).getAttribute('data-status');

test('the tab names the page and the room, and focus moves to the new page heading', async () => {
  const { page, context } = await newUserPage(browser, server.url);
  try {
    await page.goto('/login');
    assert.equal(await page.title(), 'Sign in · fun-notes');
    await signUp(page, unique('tina'));
    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await eventually(async () => (await page.title()) === 'Dashboard · fun-notes', { message: 'the dashboard title' });
    assert.equal(await focusedHeading(page), 'Dashboard');
    await page.getByRole('link', { name: 'Rooms', exact: true }).click();
    await eventually(async () => (await page.title()) === 'Rooms · fun-notes', { message: 'the rooms title' });
    assert.equal(await focusedHeading(page), 'Rooms');
    const roomId = await createRoom(page, 'Garden plans');
    await eventually(async () => (await page.title()) === 'Garden plans · fun-notes', { message: 'the room title' });
    assert.equal(await focusedHeading(page), 'Garden plans');
    // An id without look-alike characters (no 0/o, 1/l/i), to read aloud or type by hand.
    assert.match(roomId, /^[2-9a-hjkmnp-z]{14}$/);

    // Copy gives the room's link, and the link opens the room for someone else.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByRole('button', { name: 'Copy room link' }).click();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(link, `${server.url}/r/${roomId}`);
    const other = await newUserPage(browser, server.url);
    try {
      await signUp(other.page, unique('sam'));
      await other.page.goto(link);
      await waitForWorkspace(other.page);
      assert.equal(await other.page.title(), 'Garden plans · fun-notes');
      // A pasted link works in the join field too.
      await other.page.getByRole('link', { name: 'Rooms', exact: true }).click();
      await other.page.getByLabel('Room id', { exact: true }).fill(link);
      await other.page.getByRole('button', { name: 'Join', exact: true }).click();
      await waitForWorkspace(other.page);
      assert.equal(new URL(other.page.url()).pathname, `/r/${roomId}`);
    } finally {
      await other.context.close();
    }
  } finally {
    await context.close();
  }
});

test('logging in with a name nobody has offers to sign up with it, in words', async () => {
  const { page, context } = await newUserPage(browser, server.url);
  try {
    const name = unique('newcomer');
    await page.goto('/login');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByLabel('Password').press('Enter'); // Enter logs in
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.textContent();
    assert.match(text, new RegExp(`No account matches “${name}”`));
    assert.doesNotMatch(text, /username|password must|invalid/i, 'no internal field names');
    await page.getByRole('button', { name: `Sign up as “${name}”` }).click();
    await page.getByTestId('user-name').filter({ hasText: name }).waitFor();
  } finally {
    await context.close();
  }
});

test('a lost network shows within seconds, and a restarted server is back in about a second', async () => {
  const { page, context } = await newUserPage(browser, server.url);
  try {
    await signUp(page, unique('rhea'));
    await createRoom(page, 'Field notes');
    await eventually(async () => (await status(page)) === 'online', { message: 'the badge to be online' });

    // The network goes: the badge says so within 5 s (the browser's offline event, or an
    // unanswered ping), although the socket itself is not closed by the emulation.
    const lost = Date.now();
    await context.setOffline(true);
    await eventually(async () => (await status(page)) === 'offline', {
      timeout: 5_000,
      message: 'the badge to show offline within 5 s',
    });
    console.log(`e2e: offline shown ${Date.now() - lost} ms after the network went`);
    // The Rooms page works offline: it lists the rooms this device knows, and they open.
    await page.getByRole('link', { name: 'Rooms', exact: true }).click();
    const mine = page.getByRole('region', { name: 'Your rooms' });
    await mine.getByText('Offline: the rooms opened on this device').waitFor();
    await mine.getByRole('link', { name: 'Field notes', exact: true }).click();
    await waitForWorkspace(page);
    assert.equal(await page.title(), 'Field notes · fun-notes');
    await context.setOffline(false);
    await eventually(async () => (await status(page)) === 'online', { timeout: 10_000, message: 'back online' });

    // The server restarts: from the moment it answers again, the page is back in about a second.
    await server.stop();
    await eventually(async () => (await status(page)) === 'offline', { message: 'offline while the server is down' });
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a restart that takes a while
    await server.start();
    const up = Date.now();
    await eventually(async () => (await status(page)) === 'online', { timeout: 10_000, message: 'back after the restart' });
    console.log(`e2e: reconnected ${Date.now() - up} ms after the restarted server was ready`);
    await waitForWorkspace(page);
  } finally {
    await context.close();
  }
});
