// Parley's service worker: keeps the app shell (index.html and the hashed
// assets) so that the app starts without the server; the data comes from
// IndexedDB. The API and the WebSocket are never cached. It also shows Web
// Push notifications (src/push/push.ts subscribes; the payload is in
// docs/openapi.yaml, tag Push) and opens the conversation when one is clicked.
//
// The build replaces the asset list below with the files of dist/assets
// (scripts/postbuild.mjs), which also changes this file whenever the app
// changes, so browsers install the new version.
const ASSETS = /*ASSETS*/ [];
const CACHE = 'parley-shell-' + /*VERSION*/ 'dev';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(['/', '/icon.svg', '/manifest.webmanifest', ...ASSETS]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('parley-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/ws' || url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/metrics') return;
  if (req.mode === 'navigate') {
    // The network first (a new version), the cached shell when offline.
    event.respondWith(
      fetch(req)
        .then((res) => {
          if (res.ok) {
            const copy = res.clone();
            caches.open(CACHE).then((c) => c.put('/', copy));
          }
          return res;
        })
        .catch(() => caches.match('/').then((r) => r || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    // Hashed names never change content: the cache first.
    event.respondWith(
      caches.match(req).then(
        (hit) =>
          hit ||
          fetch(req).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              caches.open(CACHE).then((c) => c.put(req, copy));
            }
            return res;
          }),
      ),
    );
    return;
  }
  event.respondWith(fetch(req).catch(() => caches.match(req).then((r) => r || Response.error())));
});

// --- Web Push ---------------------------------------------------------------

/** The notification a push payload makes: who wrote, where, and (if the user allows previews) what. */
function notificationFor(data) {
  const where = data.conversation_name ? ` in ${data.conversation_name}` : '';
  const unread = typeof data.unread === 'number' && data.unread > 1 ? ` (${data.unread} unread)` : '';
  return {
    title: `${data.sender ?? 'Someone'}${where}`,
    options: {
      body: (data.preview ?? 'New message') + unread,
      // One notification per conversation: a newer message replaces it.
      tag: `conversation-${data.conversation_id}`,
      renotify: true,
      icon: '/icon.svg',
      timestamp: data.sent_at,
      data: { conversation_id: data.conversation_id, message_id: data.message_id },
    },
  };
}

/** A visible, focused window of the app showing this conversation (it shows the message itself). */
async function focusedOn(conversationId) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return windows.some(
    (w) => w.visibilityState === 'visible' && w.focused && new URL(w.url).pathname === `/c/${conversationId}`,
  );
}

self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || data.type !== 'message.new' || typeof data.conversation_id !== 'number') return;
  event.waitUntil(
    focusedOn(data.conversation_id).then((focused) => {
      if (focused) return undefined;
      const { title, options } = notificationFor(data);
      return self.registration.showNotification(title, options);
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.conversation_id;
  const url = new URL(typeof id === 'number' ? `/c/${id}` : '/', self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(async (windows) => {
      const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
      if (open) {
        const focused = await open.focus();
        if (new URL(focused.url).href === url) return focused;
        try {
          // Only a window this worker controls can be navigated.
          return await focused.navigate(url);
        } catch {
          return self.clients.openWindow(url);
        }
      }
      return self.clients.openWindow(url);
    }),
  );
});
