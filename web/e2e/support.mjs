// Shared machinery for the end-to-end suite: the real server binary, Debian's chromium, and
// helpers that drive the page the way a user does.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webDir = path.resolve(here, '..');
// FUN_NOTES_WEB_DIST points at another build (default: web/dist).
export const distDir = path.resolve(webDir, process.env.FUN_NOTES_WEB_DIST ?? 'dist');
export const artifactsDir = path.join(here, 'artifacts');

/** Polls `check` until it returns a truthy value (or stops throwing) before a deadline. */
export async function eventually(check, { timeout = 10_000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) {
        return value;
      }
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? `: ${lastError.message ?? lastError}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export function checkPrerequisites() {
  const problems = [];
  if (!existsSync(path.join(distDir, 'index.html'))) {
    problems.push(`no web build at ${distDir}: run "npx vite build" in web/ first`);
  }
  const bin = serverBinary();
  if (!existsSync(bin)) {
    problems.push(`no server binary at ${bin} (set FUN_NOTES_SERVER_BIN)`);
  }
  const browser = chromiumPath();
  if (!existsSync(browser)) {
    problems.push(`no chromium at ${browser} (set CHROMIUM)`);
  }
  return problems;
}

const serverBinary = () =>
  path.resolve(webDir, process.env.FUN_NOTES_SERVER_BIN ?? '../build/bin/fun-notes-server');
const chromiumPath = () => process.env.CHROMIUM || '/usr/bin/chromium';

/** The server binary on a free port with a throwaway data directory. It can be stopped and
 *  started again on the same port and data (the offline scenario's fallback). */
export class TestServer {
  constructor() {
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'fun-notes-e2e-'));
    this.port = 0;
    this.process = null;
    mkdirSync(artifactsDir, { recursive: true });
    this.log = createWriteStream(path.join(artifactsDir, 'server.log'), { flags: 'w' });
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    const portFile = path.join(this.dataDir, `port-${Date.now()}`);
    const child = spawn(
      serverBinary(),
      ['--port', String(this.port), '--port-file', portFile, '--data', path.join(this.dataDir, 'data'), '--web-dir', distDir, '--host', '127.0.0.1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(this.log, { end: false });
    child.stderr.pipe(this.log, { end: false });
    this.process = child;
    // A server that dies while starting fails the start at once instead of at the deadline.
    const died = new Promise((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`server exited early (code ${code}, signal ${signal}), see e2e/artifacts/server.log`)),
      );
    });
    died.catch(() => {});
    await Promise.race([
      died,
      eventually(() => existsSync(portFile) && readFileSync(portFile, 'utf8').trim(), {
        timeout: 15_000,
        message: 'the server port file',
      }),
    ]);
    this.port = Number(readFileSync(portFile, 'utf8').trim());
    await eventually(async () => (await fetch(`${this.url}/readyz`)).ok, {
      timeout: 15_000,
      message: 'the server to be ready',
    });
  }

  async stop() {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
    this.process = null;
  }

  async dispose() {
    await this.stop();
    this.log.end();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (its own storage: one user) with one page. */
export async function newUserPage(browser, baseURL, viewport = { width: 1200, height: 900 }) {
  const context = await browser.newContext({ baseURL, viewport });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.error(`[console] ${message.text()}`);
  });
  return { context, page };
}

export const unique = (prefix) => `${prefix}_${Math.random().toString(36).slice(2, 8)}`;

export async function signUp(page, username, password = 'correct horse battery') {
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByTestId('user-name').filter({ hasText: username }).waitFor();
}

const VISIBILITY_LABELS = {
  link: 'Anyone with the id can join',
  private: 'Private (members only)',
  public: 'Public (listed on every dashboard)',
};

/** Creates a room from the room entry page and opens it; returns its id. */
export async function createRoom(page, name, visibility = 'link') {
  await page.getByRole('link', { name: 'Rooms', exact: true }).click();
  await page.getByLabel('Room name').fill(name);
  await page.getByLabel(VISIBILITY_LABELS[visibility]).check();
  await page.getByRole('button', { name: 'Create room' }).click();
  const roomId = (await page.getByTestId('created-room-id').textContent()).trim();
  // The new room joins the user's list on the same page.
  await page.getByRole('region', { name: 'Your rooms' }).getByRole('link', { name, exact: true }).waitFor();
  await page.getByRole('link', { name: `Open ${name}` }).click();
  await waitForWorkspace(page);
  return roomId;
}

/** Joins a room by typing its id into the join field, as a user would. */
export async function joinRoomById(page, roomId, { expectError = false } = {}) {
  await page.getByRole('link', { name: 'Rooms', exact: true }).click();
  const field = page.getByLabel('Room id', { exact: true });
  await field.fill('');
  await field.pressSequentially(roomId);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  if (!expectError) {
    await waitForWorkspace(page);
  }
}

export const waitForWorkspace = (page) => page.getByRole('button', { name: 'New note' }).waitFor();

/** Adds a note through the UI: New note focuses its title; Tab moves to the body. */
export async function addNote(page, title, body) {
  const before = await page.locator('ul.notes > li').count();
  await page.getByRole('button', { name: 'New note' }).click();
  await eventually(async () => (await page.locator('ul.notes > li').count()) === before + 1, {
    message: 'the new note to show',
  });
  await eventually(() => page.evaluate(() => document.activeElement?.getAttribute('data-field') === 'title'), {
    message: 'the new note title to have focus',
  });
  await page.keyboard.type(title);
  await page.keyboard.press('Tab');
  await page.keyboard.type(body);
  await page.keyboard.press('Tab');
}

/** The notes as rendered, in order. */
export function readNotes(page) {
  return page.$$eval('ul.notes > li', (items) =>
    items.map((item) => ({
      title: item.querySelector('[data-field="title"]').value,
      body: item.querySelector('[data-field="body"]').value,
    })),
  );
}

export const titlesOf = (notes) => notes.map((note) => note.title);

export async function waitForTitles(page, expected, message = 'the note titles') {
  let last;
  try {
    await eventually(
      async () => {
        last = titlesOf(await readNotes(page));
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      { message },
    );
  } catch (error) {
    throw new Error(`${error.message}; expected ${JSON.stringify(expected)}, last seen ${JSON.stringify(last)}`);
  }
}

export const noteItem = (page, title) =>
  page.locator('ul.notes > li').filter({ has: page.getByRole('button', { name: `Move note ${title}`, exact: true }) });

export const badge = (page) => page.locator('.badge');

/** Waits for dnd-kit's live region to announce something matching `pattern`. */
export async function waitForAnnouncement(page, pattern) {
  const region = page.locator('[id^="DndLiveRegion"]');
  await eventually(async () => pattern.test((await region.textContent()) ?? ''), {
    message: `an announcement matching ${pattern}`,
  });
}

/** Lets the page run the timers and frames already queued. dnd-kit's keyboard sensor starts
 *  listening for arrow keys in a zero-delay timer after the pick-up; a timer queued after it
 *  runs after it, so this orders the next key press behind it without guessing a delay. */
export function settle(page) {
  return page.evaluate(
    () => new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => resolve(true)), 0)),
  );
}

/** axe-core on the page as it is: serious or critical violations fail. */
export async function assertNoSeriousViolations(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  for (const violation of results.violations) {
    console.log(`# axe ${label}: ${violation.impact} ${violation.id} (${violation.nodes.length})`);
  }
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const violation of serious) {
    console.error(`[axe ${label}] ${violation.impact} ${violation.id}: ${violation.help}`);
    for (const node of violation.nodes) console.error(`    ${node.target.join(' ')}  ${node.failureSummary ?? ''}`);
  }
  assert.equal(serious.length, 0, `${label}: ${serious.length} serious or critical accessibility violations`);
}

/**
 * The frame of a suite: exits saying why when a prerequisite is missing, starts one server and
 * one browser before the tests and stops them after. `world.browser` is set once started.
 */
export function useServerAndBrowser({ before, after }) {
  const problems = checkPrerequisites();
  if (problems.length > 0) {
    for (const problem of problems) console.error(`e2e: ${problem}`);
    process.exit(1);
  }
  const world = { server: new TestServer(), browser: null };
  before(async () => {
    await world.server.start();
    world.browser = await launchBrowser();
  });
  after(async () => {
    await world.browser?.close();
    await world.server.dispose();
  });
  return world;
}

