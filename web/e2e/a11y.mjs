// The workspace from the keyboard and for screen readers: add, edit, move, flag, delete and
// undo with keys alone while another user watches; a list that costs the same Tabs at any
// length; fields named after their notes; others' changes in the accessibility tree; Ctrl+Z
// that undoes only one's own change; axe on every page at desktop and phone widths.
// Usage (from web/, after `npx vite build`): node e2e/a11y.mjs
// FUN_NOTES_SCREENSHOTS=<dir> also saves the screenshots docs/web.md shows.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  addNote,
  assertNoSeriousViolations,
  createRoom,
  eventually,
  joinRoomById,
  newUserPage,
  signUp,
  unique,
  useServerAndBrowser,
  waitForTitles,
  waitForWorkspace,
} from './support.mjs';

const world = useServerAndBrowser({ before, after });
const { server } = world;
const screenshots = process.env.FUN_NOTES_SCREENSHOTS;
const shoot = async (page, name) => {
  if (screenshots) await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
};

const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return {
      label: el?.getAttribute('aria-label') ?? el?.textContent ?? '',
      inList: Boolean(el?.closest('ul.notes')),
      tag: el?.tagName ?? '',
    };
  });

/** Presses `key` until the focused element's label is `label` (at most `max` presses). */
async function pressUntil(page, key, label, max = 30) {
  for (let i = 0; i < max; i += 1) {
    if ((await focused(page)).label === label) return;
    await page.keyboard.press(key);
  }
  assert.fail(`${key} never reached “${label}” (last: “${(await focused(page)).label}”)`);
}

/** Tabs from the current focus until it leaves the note list; the number of presses. */
async function tabsThroughList(page) {
  let presses = 0;
  while ((await focused(page)).inList) {
    await page.keyboard.press('Tab');
    presses += 1;
    assert.ok(presses < 100, 'Tab never left the list');
  }
  return presses;
}

const token = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('fun-notes.session') ?? '{}').token);

test('keyboard only: add, edit, move, flag, delete and undo, seen by the other user; the list is a few Tabs long whatever its length', async () => {
  const a = await newUserPage(world.browser, server.url);
  const b = await newUserPage(world.browser, server.url);
  try {
    const ben = unique('ben');
    await signUp(a.page, unique('ann'));
    await signUp(b.page, ben);
    const roomId = await createRoom(a.page, 'Keyboard');
    await joinRoomById(b.page, roomId);
    const { page } = a;

    // From the page's heading (where focus lands), Tab to New note; Enter; title, Enter, body.
    await page.getByRole('heading', { level: 1 }).focus();
    await pressUntil(page, 'Tab', 'New note');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Milk');
    await page.keyboard.press('Enter');
    await page.keyboard.type('2 litres');
    // Escape leaves the field for the note's move button.
    await page.keyboard.press('Escape');
    assert.equal((await focused(page)).label, 'Move note Milk');
    await pressUntil(page, 'Shift+Tab', 'New note');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Eggs');
    await page.keyboard.press('Enter');
    await page.keyboard.type('a dozen');
    await page.keyboard.press('Escape');
    await waitForTitles(b.page, ['Eggs', 'Milk'], 'both notes on the other page');

    // Alt+ArrowDown moves the note one place; the arrows go to the same control of a neighbour.
    await page.keyboard.press('Alt+ArrowDown');
    await waitForTitles(b.page, ['Milk', 'Eggs'], 'the keyboard move on the other page');
    assert.equal((await focused(page)).label, 'Move note Eggs');
    await page.keyboard.press('ArrowUp');
    assert.equal((await focused(page)).label, 'Move note Milk');

    // The list costs the same number of Tabs with 2 notes as with 6.
    const shortList = await tabsThroughList(page);
    for (const title of ['Bread', 'Jam', 'Tea', 'Salt']) await addNote(b.page, title, '');
    await waitForTitles(page, ['Salt', 'Tea', 'Jam', 'Bread', 'Milk', 'Eggs'], 'the other user’s notes');
    await page.getByRole('button', { name: 'Move note Milk' }).focus();
    const longList = await tabsThroughList(page);
    assert.equal(longList, shortList, `Tabs through the list: ${shortList} with 2 notes, ${longList} with 6`);
    assert.ok(shortList <= 7, `${shortList} Tabs through one note`);

    // Flag, delete and undo the delete, from the keyboard.
    await page.getByRole('button', { name: 'Move note Milk' }).focus();
    await pressUntil(page, 'Tab', 'Important: Milk', 5);
    await page.keyboard.press('Space');
    await eventually(async () => (await b.page.getByRole('button', { name: 'Important: Milk' }).getAttribute('aria-pressed')) === 'true', {
      message: 'Milk important on the other page',
    });
    await pressUntil(page, 'Tab', 'Delete note Milk', 5);
    await page.keyboard.press('Enter');
    await waitForTitles(b.page, ['Salt', 'Tea', 'Jam', 'Bread', 'Eggs'], 'the delete on the other page');
    assert.equal((await focused(page)).label, 'Move note Eggs', 'focus stays in the list after a delete');
    await page.keyboard.press('Control+z');
    await waitForTitles(b.page, ['Salt', 'Tea', 'Jam', 'Bread', 'Milk', 'Eggs'], 'the undone delete on the other page');

    // Screen readers: every field is named after its note, each note is a heading, and the
    // other user's changes are told in the polite live region (the accessibility tree).
    await page.getByRole('textbox', { name: 'Note title: Bread' }).waitFor();
    await page.getByRole('textbox', { name: 'Note body: Eggs' }).waitFor();
    await page.getByRole('heading', { name: 'Milk', level: 2 }).waitFor();
    await b.page.getByRole('button', { name: 'Delete note Tea' }).click();
    const region = page.getByTestId('remote-changes');
    await eventually(async () => (await region.ariaSnapshot()).includes(`${ben} deleted “Tea”`), { message: 'the delete told' });
    assert.equal(await region.getAttribute('aria-live'), 'polite');
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test("Ctrl+Z in the note list undoes one's own change only", async () => {
  const a = await newUserPage(world.browser, server.url);
  const b = await newUserPage(world.browser, server.url);
  try {
    await signUp(a.page, unique('una'));
    await signUp(b.page, unique('vic'));
    const roomId = await createRoom(a.page, 'Undo');
    await addNote(a.page, 'Rent', 'on the 1st');
    await addNote(a.page, 'Gas', 'meter');
    await joinRoomById(b.page, roomId);
    await waitForTitles(b.page, ['Gas', 'Rent']);
    // A flags Rent with focus on the button (not in a field); B then renames Gas.
    await a.page.getByRole('button', { name: 'Important: Rent' }).click();
    await eventually(async () => (await b.page.getByRole('button', { name: 'Important: Rent' }).getAttribute('aria-pressed')) === 'true', {
      message: 'the flag on the other page',
    });
    const gas = b.page.getByRole('textbox', { name: 'Note title: Gas' });
    await gas.click();
    await b.page.keyboard.press('End');
    await b.page.keyboard.type(' bill');
    await waitForTitles(a.page, ['Gas bill', 'Rent'], 'the other user’s edit');
    await a.page.getByRole('button', { name: 'Important: Rent' }).focus();
    await a.page.keyboard.press('Control+z');
    for (const page of [a.page, b.page]) {
      await eventually(async () => (await page.getByRole('button', { name: 'Important: Rent' }).getAttribute('aria-pressed')) === 'false', {
        message: 'the flag undone',
      });
      await waitForTitles(page, ['Gas bill', 'Rent'], 'the other user’s edit kept');
    }
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('axe finds nothing serious on any page, desktop and phone', async () => {
  const owner = await newUserPage(world.browser, server.url);
  const guest = await newUserPage(world.browser, server.url);
  try {
    const { page } = owner;
    const widths = [
      { name: 'desktop', size: { width: 1200, height: 900 } },
      { name: 'phone', size: { width: 375, height: 812 } },
    ];
    const everyWidth = async (p, label, shot) => {
      for (const { name, size } of widths) {
        await p.setViewportSize(size);
        await assertNoSeriousViolations(p, `${label} (${name})`);
        if (shot) await shoot(p, name === 'desktop' ? shot : `${shot}-phone`);
      }
      await p.setViewportSize(widths[0].size);
    };

    await guest.page.goto('/login');
    await guest.page.getByRole('button', { name: 'Sign up' }).waitFor();
    await everyWidth(guest.page, 'sign-in');

    await signUp(page, unique('olga'));
    const roomId = await createRoom(page, 'Weekend');
    await addNote(page, 'Market', 'tomatoes, basil, bread');
    await addNote(page, 'Hike', 'leave at 8; water, snacks');
    await page.getByRole('button', { name: 'Important: Hike' }).click();
    await signUp(guest.page, unique('pia'));
    await joinRoomById(guest.page, roomId);
    await waitForTitles(page, ['Hike', 'Market']);
    await guest.page.getByRole('textbox', { name: 'Note body: Market' }).click();
    await everyWidth(page, 'workspace', 'workspace');
    await page.getByRole('textbox', { name: 'Note title: Market' }).click();
    await everyWidth(page, 'workspace with a note in edit');
    await page.locator('.shortcuts summary').click();
    await everyWidth(page, 'keyboard shortcuts');

    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByRole('dialog', { name: /^Share/ }).waitFor();
    await everyWidth(page, 'share dialog', 'share-dialog');
    // Renaming from the dialog: the heading and the tab title follow.
    await page.getByLabel('New room name').fill('Weekend away');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Renamed.' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Weekend away', level: 1 }).waitFor();
    await eventually(async () => (await page.title()) === 'Weekend away · fun-notes', { message: 'the renamed tab title' });
    await page.getByRole('button', { name: 'Members', exact: true }).click();
    await page.getByRole('region', { name: 'Members' }).waitFor();
    await everyWidth(page, 'members panel');

    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.locator(`tr[data-room-id="${roomId}"]`).filter({ hasText: 'Weekend away' }).waitFor();
    await everyWidth(page, 'dashboard');
    await page.getByRole('link', { name: 'Rooms', exact: true }).click();
    await page.getByRole('heading', { name: 'Rooms', level: 1 }).waitFor();
    await everyWidth(page, 'rooms');

    const response = await fetch(`${server.url}/api/rooms/${roomId}/invites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(page)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    assert.equal(response.status, 201);
    const { url } = await response.json();
    await guest.page.goto(url);
    await guest.page.getByRole('heading', { level: 2 }).first().waitFor();
    await everyWidth(guest.page, 'invite page');
    await guest.page.goto(`/r/${roomId}`);
    await waitForWorkspace(guest.page);
  } finally {
    await owner.context.close();
    await guest.context.close();
  }
});

test('a viewer reaches every note from the keyboard: the arrows go between the read-only fields', async () => {
  const owner = await newUserPage(world.browser, server.url);
  const viewer = await newUserPage(world.browser, server.url);
  try {
    await signUp(owner.page, unique('opal'));
    const roomId = await createRoom(owner.page, 'Read only', 'private');
    await addNote(owner.page, 'Third', 'three');
    await addNote(owner.page, 'Second', 'two');
    await addNote(owner.page, 'First', 'one');
    const response = await fetch(`${server.url}/api/rooms/${roomId}/invites`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(owner.page)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    assert.equal(response.status, 201);
    await signUp(viewer.page, unique('vera'));
    await viewer.page.goto((await response.json()).url);
    await viewer.page.getByRole('button', { name: 'Accept invite' }).click();
    const { page } = viewer;
    await page.getByTestId('view-only').waitFor();
    await waitForTitles(page, ['First', 'Second', 'Third']);

    // Tab into the list (the first note's title), ↓ to the others, End, Home; Tab to the body.
    await pressUntil(page, 'Tab', 'Note title: First');
    await page.keyboard.press('ArrowDown');
    assert.equal((await focused(page)).label, 'Note title: Second');
    await page.keyboard.press('End');
    assert.equal((await focused(page)).label, 'Note title: Third');
    await page.keyboard.press('Tab');
    assert.equal((await focused(page)).label, 'Note body: Third');
    await page.keyboard.press('ArrowUp');
    assert.equal((await focused(page)).label, 'Note body: Second');
    await page.keyboard.press('Home');
    assert.equal((await focused(page)).label, 'Note body: First');
    // The note's two fields, then out of the list.
    await page.keyboard.press('Shift+Tab');
    assert.equal(await tabsThroughList(page), 2);
    await assertNoSeriousViolations(page, 'read-only workspace, keyboard in the list');
  } finally {
    await owner.context.close();
    await viewer.context.close();
  }
});
