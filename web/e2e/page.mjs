// The page as a new user meets it: the tab names the page and the room, focus lands on each new
// page's heading, room ids have no look-alike characters and Copy gives a link that opens the
// room for someone else, a log-in with a new name offers to sign up with it, a lost network
// shows in seconds and a restarted server is back about a second after it answers.
// Usage (from web/, after `npx vite build`): node e2e/page.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addNote,
  badge,
  createRoom,
  eventually,
  joinRoomById,
  newUserPage,
  settle,
  signUp,
  unique,
  useServerAndBrowser,
  waitForTitles,
  waitForWorkspace,
} from './support.mjs';

const world = useServerAndBrowser({ before, after });
const { server } = world;

const focusedHeading = (page) =>
  page.evaluate(() => (document.activeElement?.tagName === 'H1' ? document.activeElement.textContent : null));

const status = (page) => badge(page).getAttribute('data-status');

test('the tab names the page and the room, and focus moves to the new page heading', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
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
    const other = await newUserPage(world.browser, server.url);
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

test('notes fit their content: a long title wraps, a body grows then scrolls, Enter in a title goes to the body', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
  try {
    await signUp(page, unique('uma'));
    await createRoom(page, 'Long notes');
    await page.getByRole('button', { name: 'New note' }).click();
    const note = page.locator('ul.notes > li').first();
    const title = note.getByLabel('Note title');
    const bodyField = note.getByLabel('Note body');
    await title.waitFor();
    const oneLine = (await title.boundingBox()).height;
    const longTitle = 'A title long enough to need more than one line on a desktop page, '.repeat(3).trim();
    await title.fill(longTitle);
    await eventually(async () => (await title.boundingBox()).height > oneLine * 1.5, { message: 'the title to wrap' });
    assert.equal(await title.inputValue(), longTitle); // all of it, on several lines
    // Enter in the title moves on to the body, adding no line break.
    await title.focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-field')), 'body');
    assert.equal(await title.inputValue(), longTitle);

    const emptyBody = (await bodyField.boundingBox()).height;
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const longBody = words.padEnd(2_000, '.');
    await bodyField.fill(longBody);
    const grown = await bodyField.evaluate((el) => ({
      client: el.clientHeight,
      scroll: el.scrollHeight,
      overflow: getComputedStyle(el).overflowY,
      value: el.value,
    }));
    assert.ok(grown.client > emptyBody * 3, `the body grew (${emptyBody} -> ${grown.client} px)`);
    assert.equal(grown.value.length, 2_000);
    // Past the limit it scrolls: every character can be reached.
    assert.ok(grown.scroll <= grown.client || grown.overflow === 'auto', 'the rest is reachable by scrolling');
    await bodyField.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const bottom = await bodyField.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 1);
    assert.ok(bottom, 'the end of the body scrolls into view');
  } finally {
    await context.close();
  }
});

test('a new note starts at the top and reaches others only once it has text; Escape drops an empty one', async () => {
  const a = await newUserPage(world.browser, server.url);
  const b = await newUserPage(world.browser, server.url);
  try {
    await signUp(a.page, unique('nia'));
    await signUp(b.page, unique('otto'));
    const roomId = await createRoom(a.page, 'Shared list');
    await addNote(a.page, 'Older note', 'already here');
    await joinRoomById(b.page, roomId);
    await waitForTitles(b.page, ['Older note']);

    // New note: at the top on this page, nowhere on the other.
    await a.page.getByRole('button', { name: 'New note' }).click();
    await eventually(async () => (await a.page.locator('ul.notes > li').count()) === 2, { message: 'the new note' });
    assert.equal(await a.page.evaluate(() => document.activeElement?.getAttribute('data-field')), 'title');
    await settle(b.page);
    assert.equal(await b.page.locator('ul.notes > li').count(), 1, 'an empty new note is not shared');
    assert.equal(await badge(a.page).getAttribute('data-pending'), '0');
    // Escape drops it; focus returns to New note.
    await a.page.keyboard.press('Escape');
    await eventually(async () => (await a.page.locator('ul.notes > li').count()) === 1, { message: 'the draft dropped' });
    assert.equal(await a.page.evaluate(() => document.activeElement?.textContent), 'New note');

    // Typed into, it is created for everyone, at the top.
    await a.page.getByRole('button', { name: 'New note' }).click();
    await a.page.keyboard.type('Newest first');
    await waitForTitles(b.page, ['Newest first', 'Older note'], 'the new note on the other page, on top');
    await waitForTitles(a.page, ['Newest first', 'Older note']);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('a search finds a note, and a view puts important notes first and folds the done ones away', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
  try {
    await signUp(page, unique('vera'));
    await createRoom(page, 'Errands');
    await addNote(page, 'Post office', 'parcel for Jo');
    await addNote(page, 'Eggs', 'a dozen');
    await addNote(page, 'Milk', 'oat, two litres');
    await waitForTitles(page, ['Milk', 'Eggs', 'Post office']);
    await page.getByRole('button', { name: 'Important: Post office' }).click();
    await page.getByRole('checkbox', { name: 'Done: Eggs' }).check();

    const search = page.getByRole('searchbox', { name: 'Search notes' });
    await search.fill('PARCEL');
    await waitForTitles(page, ['Post office'], 'the note whose body matches');
    await page.getByRole('status').filter({ hasText: '1 of 3 notes match' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /^Move note/ }).count(), 0, 'no moving in a filtered view');
    await search.fill('');
    await waitForTitles(page, ['Milk', 'Eggs', 'Post office'], 'every note again, in the shared order');

    await page.getByRole('combobox', { name: 'Arrange notes' }).selectOption('flags');
    await waitForTitles(page, ['Post office', 'Milk'], 'important first, done folded away');
    await page.getByRole('button', { name: 'Show 1 done note' }).click();
    await waitForTitles(page, ['Post office', 'Milk', 'Eggs']);
    await page.getByRole('combobox', { name: 'Arrange notes' }).selectOption('shared');
    await waitForTitles(page, ['Milk', 'Eggs', 'Post office'], 'the shared order is unchanged');
  } finally {
    await context.close();
  }
});

test('on a phone the header fits one line and every control is a 44 px tap target', async () => {
  const context = await world.browser.newContext({
    baseURL: server.url,
    viewport: { width: 375, height: 740 },
    hasTouch: true,
    isMobile: true,
  });
  const page = await context.newPage();
  try {
    await signUp(page, unique('wynona_long_name'));
    await createRoom(page, 'Phone room');
    await addNote(page, 'On the bus', 'small screen');
    const header = await page.locator('header.app-header').boundingBox();
    const items = await page.$$eval('header.app-header > *:not(.skip-link)', (els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, right: r.right };
      }),
    );
    const firstBottom = Math.min(...items.map((i) => i.bottom));
    assert.ok(items.every((i) => i.top < firstBottom), `one line: ${JSON.stringify(items)}`);
    assert.ok(items.every((i) => i.right <= 375), 'nothing past the screen edge');
    assert.ok(header.height < 70, `header height ${header.height}`);
    const small = await page.$$eval('main button, main select, main input[type="checkbox"], header a:not(.skip-link), header button', (els) =>
      els
        .filter((el) => el.offsetParent !== null)
        .map((el) => {
          const target = el.matches('input[type="checkbox"]') ? el.closest('label') ?? el : el;
          const r = target.getBoundingClientRect();
          return { name: el.getAttribute('aria-label') ?? el.textContent?.trim(), w: r.width, h: r.height };
        })
        .filter((r) => r.w < 44 || r.h < 44),
    );
    assert.deepEqual(small, [], 'tap targets under 44 px');
  } finally {
    await context.close();
  }
});

test('a notification with Undo stays while it is hovered or focused', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
  try {
    await signUp(page, unique('xena'));
    await createRoom(page, 'Toasts');
    await addNote(page, 'Keep me', 'or not');
    await page.getByRole('button', { name: 'Delete note Keep me' }).click();
    const toast = page.getByRole('region', { name: 'Notifications' }).locator('.toast').first();
    await toast.waitFor();
    await toast.hover();
    await new Promise((resolve) => setTimeout(resolve, 6_500)); // past the 5 s it would last
    assert.equal(await toast.count(), 1, 'the hovered notification stays');
    // From the keyboard: it is a few Tabs from New note, and stays while focused.
    await page.mouse.move(0, 0);
    await page.getByRole('button', { name: 'New note' }).focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Undo');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal(await toast.count(), 1, 'the focused notification stays');
    await page.keyboard.press('Enter');
    await waitForTitles(page, ['Keep me'], 'the note back after Undo');
  } finally {
    await context.close();
  }
});

test("others' changes carry a fading cue and are told to screen readers, coalesced", async () => {
  const a = await newUserPage(world.browser, server.url);
  const b = await newUserPage(world.browser, server.url);
  try {
    const bob = unique('bob');
    await signUp(a.page, unique('ann'));
    await signUp(b.page, bob);
    const roomId = await createRoom(a.page, 'Who did what');
    await addNote(a.page, 'Tickets', 'two adults');
    await joinRoomById(b.page, roomId);
    await waitForTitles(b.page, ['Tickets']);
    await eventually(async () => (await a.page.getByTestId('presence-count').textContent()) === '2', {
      message: 'both in the room',
    });

    const said = a.page.getByTestId('remote-changes');
    assert.equal(await said.getAttribute('aria-live'), 'polite');
    // Bob adds a note, typing its title: one sentence, not one per keystroke.
    await addNote(b.page, 'Snacks', 'crisps');
    await eventually(async () => (await said.textContent()).includes(`${bob} added “Snacks”.`), {
      message: 'the addition told, with the title as typed',
    });
    assert.ok(!(await said.textContent()).includes('edited “Snacks”'), 'the typing folded into the addition');
    assert.match(await said.ariaSnapshot(), new RegExp(`${bob} added “Snacks”`), 'in the accessibility tree');
    // The note itself carries a cue that goes away.
    const cue = a.page.locator('li', { has: a.page.getByLabel('Note title') }).getByTestId('remote-cue').first();
    await cue.waitFor();
    assert.match(await cue.textContent(), new RegExp(`${bob} (added|edited) this`));
    await cue.waitFor({ state: 'detached', timeout: 8_000 });

    // A toggle and a delete.
    await b.page.getByRole('checkbox', { name: 'Done: Tickets' }).check();
    await eventually(async () => (await said.textContent()).includes(`${bob} marked “Tickets” done.`), {
      message: 'the toggle told',
    });
    await b.page.getByRole('button', { name: 'Delete note Snacks' }).click();
    await eventually(async () => (await said.textContent()).includes(`${bob} deleted “Snacks”.`), {
      message: 'the delete told',
    });
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('logging in with a name nobody has offers to sign up with it, in words', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
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
  const { page, context } = await newUserPage(world.browser, server.url);
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
