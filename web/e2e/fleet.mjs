// The page in distributed mode: deploy/fleet.sh starts PostgreSQL, a 3-master Redis Cluster,
// two fun-notes-servers and HAProxy; two users work in one room from pages served by different
// servers, and a third user's dashboard, reached through HAProxy, follows them live. Then an
// embedded instance is migrated into the fleet's PostgreSQL and its users find everything there.

import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  addNote,
  checkPrerequisites,
  createRoom,
  distDir,
  eventually,
  joinRoomById,
  launchBrowser,
  newUserPage,
  readNotes,
  settle,
  signUp,
  TestServer,
  unique,
  waitForAnnouncement,
  waitForTitles,
  webDir,
} from './support.mjs';

const run = promisify(execFile);
const fleetScript = path.resolve(webDir, '../deploy/fleet.sh');

const problems = checkPrerequisites();
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}

/** A loopback port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const fleetRoot = mkdtempSync(path.join(tmpdir(), 'fun-notes-e2e-fleet-'));
// PostgreSQL runs as the postgres user when the tests run as root: it must reach its data dir.
chmodSync(fleetRoot, 0o755);
const fleetDir = path.join(fleetRoot, 'fleet');
let env;
let browser;
const serverUrl = (i) => `http://127.0.0.1:${readFileSync(path.join(fleetDir, `server${i}`, 'port'), 'utf8').trim()}`;
let haproxyUrl;

before(async () => {
  const port = await freePort();
  haproxyUrl = `http://127.0.0.1:${port}`;
  env = {
    ...process.env,
    FLEET_DIR: fleetDir,
    FLEET_PORT: String(port),
    FLEET_SERVER_ARGS: `--web-dir ${distDir}`,
    FUN_NOTES_SERVER_BIN: path.resolve(webDir, process.env.FUN_NOTES_SERVER_BIN ?? '../build/bin/fun-notes-server'),
  };
  await run('bash', [fleetScript, 'start', '2'], { env, timeout: 120_000 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (env) {
    await run('bash', [fleetScript, 'stop'], { env, timeout: 60_000 }).catch((error) => {
      console.error(`fleet stop failed: ${error.message}`);
    });
  }
  rmSync(fleetRoot, { recursive: true, force: true });
});

test('two users on two servers of a fleet share a room; a dashboard behind HAProxy follows', async () => {
  // A's page comes from server 1, B's from server 2: every op crosses Redis between them.
  const a = await newUserPage(browser, serverUrl(1));
  const b = await newUserPage(browser, serverUrl(2));
  await signUp(a.page, unique('alice'));
  await signUp(b.page, unique('bob'));

  const roomId = await createRoom(a.page, 'Fleet room', 'link');
  await addNote(a.page, 'Seen by another', 'through Redis');
  await addNote(a.page, 'Served by one', 'from server 1'); // new notes go to the top
  await joinRoomById(b.page, roomId);
  await waitForTitles(b.page, ['Served by one', 'Seen by another'], "A's notes on B's page (other server)");

  // A third member watches the dashboard through HAProxy.
  const c = await newUserPage(browser, haproxyUrl);
  await signUp(c.page, unique('carol'));
  await joinRoomById(c.page, roomId);
  await c.page.getByRole('link', { name: 'Dashboard' }).click();
  const row = c.page.locator(`tr[data-room-id="${roomId}"]`);
  const usersCell = row.locator('td').nth(0);
  // A and B are in the room (carol left it for the dashboard).
  await eventually(async () => (await usersCell.textContent()).trim() === '2', { message: 'the dashboard to count 2 users' });

  // B moves a note by keyboard; A, on the other server, sees the new order.
  await b.page.getByRole('button', { name: 'Move note Seen by another' }).focus();
  await b.page.keyboard.press('Space');
  await waitForAnnouncement(b.page, /Picked up note Seen by another/);
  await settle(b.page);
  await b.page.keyboard.press('ArrowUp');
  await waitForAnnouncement(b.page, /moved to position 1 of 2/);
  await b.page.keyboard.press('Space');
  await waitForAnnouncement(b.page, /dropped at position 1 of 2/);
  const moved = ['Seen by another', 'Served by one'];
  await waitForTitles(b.page, moved, 'the drop on B');
  await waitForTitles(a.page, moved, "B's move on A (other server)");

  // Both type at once into different notes; both pages end identical.
  const typeInto = async (page, title, text) => {
    const body = page.locator('ul.notes > li').filter({ has: page.getByRole('button', { name: `Move note ${title}`, exact: true }) }).locator('[data-field="body"]');
    await body.click();
    await page.keyboard.press('End');
    await page.keyboard.type(text);
    await page.keyboard.press('Tab');
  };
  await Promise.all([
    typeInto(a.page, 'Served by one', ' and typed on server 1'),
    typeInto(b.page, 'Seen by another', ' and typed on server 2'),
  ]);
  const expected = [
    { title: 'Seen by another', body: 'through Redis and typed on server 2' },
    { title: 'Served by one', body: 'from server 1 and typed on server 1' },
  ];
  for (const [page, who] of [[a.page, 'A'], [b.page, 'B']]) {
    await eventually(async () => JSON.stringify(await readNotes(page)) === JSON.stringify(expected), {
      message: `both edits on ${who}'s page`,
    });
  }

  // B leaves the room: the dashboard behind HAProxy shows it without a reload.
  await b.page.getByRole('link', { name: 'Rooms', exact: true }).click();
  await eventually(async () => (await usersCell.textContent()).trim() === '1', { message: 'the dashboard to count 1 user' });

  // What the servers persisted: a fresh page through HAProxy shows the same notes.
  const d = await newUserPage(browser, haproxyUrl);
  await signUp(d.page, unique('dave'));
  await joinRoomById(d.page, roomId);
  await eventually(async () => JSON.stringify(await readNotes(d.page)) === JSON.stringify(expected), {
    message: 'the notes on a fresh page through HAProxy',
  });
  for (const user of [a, b, c, d]) await user.context.close();
});

test('an embedded instance migrated into the fleet shows the same rooms, notes and members', async () => {
  // Two people use an embedded server.
  const embedded = new TestServer();
  try {
    await embedded.start();
    const names = { alice: unique('alice'), bob: unique('bob') };
    const a = await newUserPage(browser, embedded.url);
    const b = await newUserPage(browser, embedded.url);
    await signUp(a.page, names.alice);
    await signUp(b.page, names.bob);
    const roomId = await createRoom(a.page, 'Before the move', 'link');
    await addNote(a.page, 'Grüße ✓', 'a second note');
    await addNote(a.page, 'Kept in SQLite', 'then in PostgreSQL'); // new notes go to the top
    await joinRoomById(b.page, roomId);
    await waitForTitles(b.page, ['Kept in SQLite', 'Grüße ✓'], "alice's notes on bob's page");
    const before = await readNotes(a.page);
    await a.context.close();
    await b.context.close();
    await embedded.stop();

    // The operator moves it into the fleet's PostgreSQL; a second run changes nothing.
    const postgresUrl = readFileSync(path.join(fleetDir, 'postgres.url'), 'utf8').trim();
    const migrate = ['migrate', '--to-postgres', postgresUrl, '--data', path.join(embedded.dataDir, 'data')];
    await run(env.FUN_NOTES_SERVER_BIN, migrate, { timeout: 120_000 });
    await run(env.FUN_NOTES_SERVER_BIN, migrate, { timeout: 120_000 });

    // Through HAProxy, both sign in with their old passwords and find the room as it was.
    const signIn = async (page, username) => {
      await page.goto('/login');
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill('correct horse battery');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByTestId('user-name').filter({ hasText: username }).waitFor();
    };
    for (const [who, username] of Object.entries(names)) {
      const user = await newUserPage(browser, haproxyUrl);
      await signIn(user.page, username);
      // A member of the room (bob joined it by link): it is on his dashboard, with its notes.
      await user.page.getByRole('link', { name: 'Dashboard' }).click();
      const row = user.page.locator(`tr[data-room-id="${roomId}"]`);
      await row.waitFor();
      await eventually(async () => (await row.textContent()).includes('Before the move'), {
        message: `the migrated room on ${who}'s dashboard`,
      });
      await joinRoomById(user.page, roomId);
      await eventually(async () => JSON.stringify(await readNotes(user.page)) === JSON.stringify(before), {
        message: `the migrated notes on ${who}'s page`,
      });
      await user.context.close();
    }
  } finally {
    await embedded.dispose();
  }
});
