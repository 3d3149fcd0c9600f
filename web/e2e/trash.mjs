// The Trash: a deleted note stays on the server, listed for everyone in the room with who
// deleted it and when, and any editor brings it back as it was: from another device, after a
// reload, after a server restart, from the keyboard alone.
// Usage (from web/, after `npx vite build`): node e2e/trash.mjs
// FUN_NOTES_SCREENSHOTS=<dir> also saves the Trash as the docs show it.

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
  readNotes,
  signUp,
  unique,
  useServerAndBrowser,
  waitForTitles,
  waitForWorkspace,
} from './support.mjs';

const world = useServerAndBrowser({ before, after });
const { server } = world;
const screenshots = process.env.FUN_NOTES_SCREENSHOTS;

const trashPanel = (page) => page.getByRole('region', { name: 'Trash' });
const trashTitles = (page) => trashPanel(page).locator('.trash-title').allTextContents();

async function openTrash(page) {
  const button = page.getByRole('button', { name: 'Trash', exact: true });
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  await trashPanel(page).waitFor();
}

async function trashOverHttp(page, roomId) {
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('fun-notes.session') ?? '{}').token);
  assert.ok(token, 'the session token in localStorage');
  const response = await fetch(`${server.url}/api/rooms/${roomId}/trash`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return response.json();
}

test('a note deleted by one user is restored from the Trash by the other after a reload, as it was', async () => {
  const a = await newUserPage(world.browser, server.url);
  const b = await newUserPage(world.browser, server.url);
  try {
    const ann = unique('ann');
    await signUp(a.page, ann);
    await signUp(b.page, unique('ben'));
    const roomId = await createRoom(a.page, 'Trip');
    await addNote(a.page, 'Visa', 'apply online');
    await addNote(a.page, 'Passport', 'renew before March\nphotos: 2');
    await a.page.getByRole('button', { name: 'Important: Passport' }).click();
    await joinRoomById(b.page, roomId);
    await waitForTitles(b.page, ['Passport', 'Visa']);

    await a.page.getByRole('button', { name: 'Delete note Passport' }).click();
    await waitForTitles(b.page, ['Visa'], 'the delete on the other page');
    assert.match(
      (await a.page.getByRole('region', { name: 'Notifications' }).textContent()) ?? '',
      /Deleted “Passport”; it is in the Trash/,
    );

    // The other user, after a reload, finds it in the Trash with who deleted it.
    await b.page.reload();
    await waitForWorkspace(b.page);
    await waitForTitles(b.page, ['Visa']);
    await openTrash(b.page);
    await eventually(async () => JSON.stringify(await trashTitles(b.page)) === '["Passport"]', { message: 'Passport in the Trash' });
    const entry = trashPanel(b.page).locator('li').first();
    assert.match((await entry.textContent()) ?? '', new RegExp(`renew before March photos: 2.*Deleted by ${ann}`));
    await assertNoSeriousViolations(b.page, 'trash (desktop)');
    if (screenshots) await b.page.screenshot({ path: path.join(screenshots, 'trash.png') });

    // The Trash of the first page follows live; Restore on the second page brings it back on both,
    // with its body, its flag and its place.
    await openTrash(a.page);
    await eventually(async () => JSON.stringify(await trashTitles(a.page)) === '["Passport"]', { message: 'the Trash on the first page' });
    await b.page.getByRole('button', { name: 'Restore “Passport”' }).click();
    for (const page of [a.page, b.page]) {
      await waitForTitles(page, ['Passport', 'Visa'], 'the restored note first again');
      const [passport] = await readNotes(page);
      assert.equal(passport.body, 'renew before March\nphotos: 2');
      assert.equal(await page.getByRole('button', { name: 'Important: Passport' }).getAttribute('aria-pressed'), 'true');
      await eventually(async () => (await trashTitles(page)).length === 0, { message: 'the Trash empty again' });
    }
    await trashPanel(b.page).getByText('The Trash is empty.').waitFor();
    const listed = await trashOverHttp(b.page, roomId);
    assert.deepEqual(listed.notes, []);
    assert.equal(listed.retention_days, 30);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('the Trash outlives a server restart and works from the keyboard alone, on a phone too', async () => {
  const { page, context } = await newUserPage(world.browser, server.url);
  try {
    await signUp(page, unique('kim'));
    const roomId = await createRoom(page, 'Keyboard');
    await addNote(page, 'Keep', 'stays');
    await addNote(page, 'Drop', 'goes to the Trash');
    await addNote(page, 'Also drop', 'second');
    await page.getByRole('button', { name: 'Delete note Drop' }).click();
    await page.getByRole('button', { name: 'Delete note Also drop' }).click();
    await waitForTitles(page, ['Keep']);

    // A restart right after the deletes (the write-behind drains at shutdown) loses neither.
    await server.stop();
    await server.start();
    await page.goto(`/r/${roomId}`);
    await waitForWorkspace(page);
    await waitForTitles(page, ['Keep']);
    const listed = await trashOverHttp(page, roomId);
    assert.deepEqual(
      listed.notes.map((n) => n.title),
      ['Also drop', 'Drop'],
    );

    // Keyboard only: focus the Trash button, open it (focus goes to its heading), Tab to the
    // first Restore, Enter; focus stays in the list, on the next entry's Restore.
    await page.getByRole('button', { name: 'Trash', exact: true }).focus();
    await page.keyboard.press('Enter');
    await trashPanel(page).waitFor();
    await eventually(() => page.evaluate(() => document.activeElement?.textContent === 'Trash'), { message: 'focus on the Trash heading' });
    await eventually(async () => (await trashTitles(page)).length === 2, { message: 'two entries' });
    await page.keyboard.press('Tab'); // Close Trash
    await page.keyboard.press('Tab'); // Restore “Also drop”
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Restore “Also drop”');
    await page.keyboard.press('Enter');
    await waitForTitles(page, ['Also drop', 'Keep'], 'the restored note back in its place');
    await eventually(
      () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Restore “Drop”'),
      { message: 'focus on the next Restore' },
    );
    await page.getByRole('status').filter({ hasText: 'Restored “Also drop”.' }).waitFor({ state: 'attached' });

    // On a phone: the panel fits, axe finds nothing; Escape closes it and focus returns to Trash.
    await page.setViewportSize({ width: 375, height: 812 });
    await assertNoSeriousViolations(page, 'trash (phone)');
    if (screenshots) await page.screenshot({ path: path.join(screenshots, 'trash-phone.png') });
    const overflow = await trashPanel(page).evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(overflow <= 1, `the Trash panel overflows a phone by ${overflow} px`);
    await page.keyboard.press('Escape');
    await trashPanel(page).waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Trash');
  } finally {
    await context.close();
  }
});
