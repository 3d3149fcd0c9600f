// Text ops end to end: real fun-notes-server binary + Debian's chromium through playwright-core.
// Usage (from web/, after `npx vite build`): node e2e/text.mjs
//
// Two users in one room type into the same note body at the same place at the same time; both
// pages end identical with both sentences intact. Each page shows the other's caret (skipped,
// saying so, only when the server answers a `cursor` frame with `invalid`: a server without
// carets). Undo on one page removes only that user's words, on both pages. A steady typist's
// text reaches the other page while they are still typing (no pause needed).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import WebSocket from 'ws';
import {
  TestServer,
  addNote,
  artifactsDir,
  checkPrerequisites,
  createRoom,
  eventually,
  joinRoomById,
  launchBrowser,
  newUserPage,
  signUp,
  unique,
  waitForTitles,
} from './support.mjs';

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`e2e: ${problem}`);
  process.exit(1);
}

const server = new TestServer();
let browser;
const world = { alice: null, bob: null, names: {}, roomId: '' };

before(async () => {
  await server.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server.dispose();
});

const shot = (page, name) => page.screenshot({ path: path.join(artifactsDir, `text-${name}.png`), fullPage: true });

const tokenOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('fun-notes.session')).token);

const body = (page) => page.locator('ul.notes > li').first().getByLabel('Note body');
const bodyText = (page) => body(page).inputValue();

/** Puts the caret at the end of the shared note's body. */
async function caretAtEnd(page) {
  await body(page).click();
  await page.keyboard.press('Control+End');
}

async function sameBodies(message) {
  let a;
  let b;
  try {
    await eventually(
      async () => {
        a = await bodyText(world.alice);
        b = await bodyText(world.bob);
        return a === b;
      },
      { message, timeout: 15_000 },
    );
  } catch (error) {
    throw new Error(`${error.message}; alice ${JSON.stringify(a)}, bob ${JSON.stringify(b)}`);
  }
  return a;
}

/** Whether the server relays carets: a raw socket joins the room and sends one. A server
 *  without them answers `invalid` (unknown type); one with them answers nothing. */
async function serverHasCarets(token, roomId) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  const frames = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  try {
    ws.send(JSON.stringify({ type: 'hello', token, client: 'e2e/raw' }));
    await eventually(() => frames.find((f) => f.type === 'welcome'), { message: 'welcome' });
    ws.send(JSON.stringify({ type: 'join', room: roomId }));
    await eventually(() => frames.find((f) => f.type === 'presence'), { message: 'the join answer' });
    ws.send(JSON.stringify({ type: 'cursor', room: roomId }));
    ws.send(JSON.stringify({ type: 'ping', t: 'after-cursor' }));
    await eventually(() => frames.find((f) => f.type === 'pong' && f.t === 'after-cursor'), { message: 'pong' });
    return !frames.some((f) => f.type === 'error' && f.code === 'invalid');
  } finally {
    ws.close();
  }
}

test('two users type into the same note body at the same place at once: both sentences intact, pages identical', async () => {
  world.names = { alice: unique('alice'), bob: unique('bob') };
  const alice = await newUserPage(browser, server.url);
  const bob = await newUserPage(browser, server.url);
  world.alice = alice.page;
  world.bob = bob.page;
  await signUp(world.alice, world.names.alice);
  await signUp(world.bob, world.names.bob);
  world.roomId = await createRoom(world.alice, unique('Text room'));
  await addNote(world.alice, 'Shared', 'Start.');
  await joinRoomById(world.bob, world.roomId);
  await waitForTitles(world.bob, ['Shared']);
  await eventually(async () => (await bodyText(world.bob)) === 'Start.', { message: 'the body on bob\u2019s page' });

  await caretAtEnd(world.alice);
  await caretAtEnd(world.bob);
  const aliceWords = ' Alice writes this sentence.';
  const bobWords = ' Bob adds his own words here.';
  await Promise.all([
    world.alice.keyboard.type(aliceWords, { delay: 45 }),
    world.bob.keyboard.type(bobWords, { delay: 45 }),
  ]);
  const text = await sameBodies('both pages to show the same body');
  assert.ok(text.startsWith('Start.'), `the text before stays: ${JSON.stringify(text)}`);
  assert.ok(text.includes(aliceWords), `alice's sentence intact: ${JSON.stringify(text)}`);
  assert.ok(text.includes(bobWords), `bob's sentence intact: ${JSON.stringify(text)}`);
  assert.equal(text.length, 'Start.'.length + aliceWords.length + bobWords.length);
  world.afterTyping = text;
  world.aliceWords = aliceWords;
  world.bobWords = bobWords;
  await shot(world.alice, 'concurrent-alice');
});

test('each page shows the other user\u2019s caret, with the name, and says who is editing', async (t) => {
  const token = await tokenOf(world.alice);
  if (!(await serverHasCarets(token, world.roomId))) {
    t.skip('the server answers `cursor` with `invalid`: this build has no carets (docs/protocol.md, "Carets")');
    return;
  }
  // Both fields still have focus from typing; a key press moves each caret and sends it.
  await world.alice.keyboard.press('ArrowLeft');
  await world.bob.keyboard.press('ArrowLeft');
  for (const [page, other] of [
    [world.alice, world.names.bob],
    [world.bob, world.names.alice],
  ]) {
    await eventually(
      async () => (await page.locator(`.remote-caret[data-user="${other}"]`).count()) === 1,
      { message: `${other}'s caret on the other page` },
    );
    await eventually(
      async () => ((await page.getByTestId('editing-list').textContent()) ?? '').includes(`${other} is editing this note`),
      { message: `"${other} is editing this note"` },
    );
  }
  // The caret sits in the body's layer (not the title's), where Bob's is after five more
  // presses (the text is ASCII: UTF-16 offsets are code points).
  assert.equal(await world.alice.locator(`.caret-layer-body .remote-caret[data-user="${world.names.bob}"]`).count(), 1);
  for (let i = 0; i < 5; i++) await world.bob.keyboard.press('ArrowLeft');
  const text = await bodyText(world.alice);
  const bobCaret = await body(world.bob).evaluate((el) => el.selectionStart);
  const before = (page, name) =>
    page.evaluate((user) => {
      const mark = document.querySelector(`.caret-layer-body .remote-caret[data-user="${user}"]`);
      if (!mark) return null;
      const range = document.createRange();
      range.setStart(mark.closest('.caret-layer'), 0);
      range.setEndBefore(mark);
      return range.toString();
    }, name);
  let seen;
  await eventually(async () => (seen = await before(world.alice, world.names.bob)) === text.slice(0, bobCaret), {
    message: `bob's caret at ${bobCaret} on alice's page (text ${JSON.stringify(text)}, before the caret ${JSON.stringify(seen)})`,
  });
  await shot(world.alice, 'carets-alice');
});

test('undo on one page removes only that user\u2019s words, on both pages', async () => {
  await body(world.alice).focus();
  const expected = world.afterTyping.replace(world.aliceWords, '');
  // Typing with no pause over a second is one step; a step more at most if the machine stalled.
  for (let i = 0; i < 4; i++) {
    await world.alice.keyboard.press('Control+z');
    const now = await sameBodies('both pages to agree after an undo');
    assert.ok(now.includes(world.bobWords), `bob's words stay: ${JSON.stringify(now)}`);
    assert.ok(now.startsWith('Start.'), `the text before stays: ${JSON.stringify(now)}`);
    if (now === expected) break;
  }
  assert.equal(await bodyText(world.alice), expected);
  assert.equal(await bodyText(world.bob), expected);
  // Redo brings them back.
  await world.alice.keyboard.press('Control+Shift+z');
  await eventually(async () => (await bodyText(world.bob)).includes(world.aliceWords) || (await bodyText(world.bob)).length > expected.length, {
    message: 'redo to reach bob',
  });
  await sameBodies('both pages to agree after a redo');
});

test('a steady typist\u2019s text reaches the other page while they are still typing', async () => {
  await caretAtEnd(world.alice);
  const start = await bodyText(world.bob);
  const typed = ' 0123456789 steady typing reaches the others at once, 60 chars.'.slice(0, 60);
  assert.equal(typed.length, 60);
  let typing = true;
  const samples = [];
  const sampler = (async () => {
    while (typing) {
      samples.push(await bodyText(world.bob));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  await world.alice.keyboard.type(typed, { delay: 80 });
  typing = false;
  await sampler;
  const during = samples
    .filter((s) => s.startsWith(start))
    .map((s) => s.slice(start.length))
    .filter((s) => s.length > 0 && s.length < typed.length && typed.startsWith(s));
  assert.ok(
    during.length >= 3,
    `bob's page showed growing prefixes while alice typed (${during.length} of ${samples.length} samples: ${JSON.stringify(during.slice(0, 5))})`,
  );
  const longest = Math.max(...during.map((s) => s.length));
  assert.ok(longest >= 40, `bob's page kept up: ${longest} of 60 characters before she finished`);
  const end = await sameBodies('both pages to end the same');
  assert.equal(end, start + typed);
});
