// sw.js — the dashboard's service worker (registered by components/ServiceWorkerRegistration.tsx,
// scope "/"): keeps the app shell so the installed app opens without a network, and shows
// the alerts the server pushes (Web Push) and opens them on a tap. Plain JavaScript, served
// as a static file from dashboard/public; docs/dashboard.md, "Installable app".
//
// What it caches, and why:
// - pages (navigations): network first, so the owner always gets the newest build when
//   online; the copy is kept and served when the network is gone (the page then says so);
// - /_next/static/*: cache first — Next.js puts a content hash in every name there, so a
//   file never changes (the edge serves them "immutable" too);
// - nothing else. The API (/api/*), the live feed (/ws) and Twilio's webhooks (/webhooks/*)
//   are never intercepted: live data must come from the server or visibly not at all.

// Bump VERSION to drop everything cached by earlier versions (on activate).
const VERSION = 'v1';
const CACHE = `nmc-shell-${VERSION}`;

// The exported pages the app needs offline (dashboard/out/*.html), kept at install.
const SHELL = ['/', '/login', '/signup', '/onboarding', '/conversations', '/leads', '/appointments', '/calls', '/settings', '/status'];
const ICONS = ['/icons/icon-192.png'];
const NEVER = ['/api/', '/ws', '/webhooks/'];
const STATIC_ASSET = /\/_next\/static\/[^"'\s\\)]+/g;

self.addEventListener('install', (event) => {
  event.waitUntil(precacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('nmc-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** Keeps the shell's pages and every /_next/static file they name (scripts, styles). */
async function precacheShell() {
  const cache = await caches.open(CACHE);
  const assets = new Set(ICONS);
  await Promise.all(SHELL.map(async (path) => {
    const res = await fetch(path, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`precache ${path}: ${res.status}`);
    for (const m of (await res.clone().text()).matchAll(STATIC_ASSET)) assets.add(m[0]);
    await cache.put(path, res);
  }));
  await cache.addAll([...assets]);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (NEVER.some((p) => url.pathname.startsWith(p))) return;
  if (req.mode === 'navigate') event.respondWith(page(req, url));
  else if (url.pathname.startsWith('/_next/static/')) event.respondWith(immutable(req));
});

/** A page: the network's answer (kept for later), else the kept copy of that page, else the
 *  root page — the edge, too, answers a client-side route with index.html. */
async function page(req, url) {
  const cache = await caches.open(CACHE);
  const key = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : '/';
  try {
    const res = await fetch(req);
    if (res.ok && !res.redirected) await cache.put(key, res.clone());
    return res;
  } catch (offline) {
    const kept = (await cache.match(key)) ?? (await cache.match('/'));
    if (kept) return kept;
    throw offline;
  }
}

async function immutable(req) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(req);
  if (kept) return kept;
  const res = await fetch(req);
  if (res.ok) await cache.put(req, res.clone());
  return res;
}

// --- Web Push: the payload is JSON {"title", "body", "url", "tag", "kind"} (docs/dashboard.md).

self.addEventListener('push', (event) => {
  const { title, options } = notificationFor(event.data);
  event.waitUntil(self.registration.showNotification(title, options));
});

function notificationFor(data) {
  let p = null;
  try { p = data ? data.json() : null; } catch { /* not JSON: still shown (a push must show something) */ }
  if (!p || typeof p !== 'object') p = {};
  const tag = typeof p.tag === 'string' && p.tag ? p.tag : undefined;
  return {
    title: typeof p.title === 'string' && p.title ? p.title : 'NeverMissCall',
    options: {
      body: typeof p.body === 'string' ? p.body : '',
      tag,
      // A newer alert for the same conversation replaces the last one and still rings.
      renotify: tag !== undefined,
      icon: '/icons/icon-192.png',
      data: { url: dashboardUrl(p.url) },
    },
  };
}

/** Only a page of this dashboard: anything else opens the conversations. */
function dashboardUrl(url) {
  try {
    const u = new URL(typeof url === 'string' ? url : '/conversations', self.location.origin);
    if (u.origin === self.location.origin) return u.href;
  } catch { /* malformed: fall through */ }
  return new URL('/conversations', self.location.origin).href;
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openDashboard(dashboardUrl(event.notification.data && event.notification.data.url)));
});

/** Brings an open dashboard window forward on the alert's page, else opens one there. */
async function openDashboard(url) {
  const [win] = await self.clients.matchAll({ type: 'window' });
  if (!win) return self.clients.openWindow(url);
  await win.focus();
  return win.navigate(url).catch(() => self.clients.openWindow(url));
}
