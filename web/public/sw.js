// fun-notes service worker: keeps the app shell so a reload works while the server is
// unreachable. Navigations: network first, cached index.html as the fallback. Hashed build
// assets (/assets/*): cache first, since a hash names one content forever. /api and /ws are
// never intercepted: their answers must be live, and offline data comes from IndexedDB.

const CACHE = 'fun-notes-shell-v1';
const SHELL_URL = '/index.html';

// Caches index.html and every asset it references, so the first visit is enough to work offline
// (the page's own asset requests on that visit happen before this worker controls it).
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const response = await fetch(SHELL_URL, { cache: 'no-cache' });
  if (!response.ok) {
    return;
  }
  const html = await response.clone().text();
  await cache.put(SHELL_URL, response);
  const assets = new Set();
  for (const match of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
    assets.add(match[1]);
  }
  await Promise.all(
    [...assets].map(async (url) => {
      if (!(await cache.match(url))) {
        await cache.add(url);
      }
    }),
  );
  // Assets of earlier builds are no longer referenced: drop them so the cache does not grow.
  for (const request of await cache.keys()) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/assets/') && !assets.has(pathname)) {
      await cache.delete(request);
    }
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key !== CACHE) {
          await caches.delete(key);
        }
      }
      await self.clients.claim();
    })(),
  );
});

async function networkFirstNavigation(event) {
  try {
    const response = await fetch(event.request);
    if (response.ok) {
      // Every path is served index.html, so the latest one is what an offline reload shows;
      // re-reading it (with its assets) keeps the cached copy current after a deploy.
      event.waitUntil(cacheShell().catch(() => {}));
    }
    return response;
  } catch (error) {
    const cached = await caches.match(SHELL_URL);
    if (cached) {
      return cached;
    }
    throw error;
  }
}

async function cacheFirstAsset(request) {
  const cached = await caches.match(request);
  if (cached) {
    return cached;
  }
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.startsWith('/api/') || url.pathname === '/ws' || url.pathname === '/sw.js') {
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(networkFirstNavigation(event));
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirstAsset(request));
  }
});
