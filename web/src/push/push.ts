// Web Push for this browser (docs/architecture.md "Push"): subscribes with
// the server's VAPID key, registers the subscription with the server, and
// undoes both. The service worker (public/sw.js) shows the pushes.
//
// The server sends a push only while none of the user's devices is
// connected, so this is what reaches someone whose tabs are all closed.
// The server ties the subscription to this session: signing out deletes it
// there, and unsubscribeOnSignOut() ends it in the browser too.

type Token = () => string | null;

const ID_KEY = 'parley.push.subscription-id';

/** True when this browser can receive Web Push (service worker, PushManager, notifications). */
export function pushSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    'serviceWorker' in navigator &&
    typeof window !== 'undefined' &&
    'PushManager' in window &&
    typeof Notification !== 'undefined'
  );
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
  return out;
}

async function api(token: Token, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok && response.status !== 404) {
    let message = `HTTP ${response.status}`;
    try {
      message = ((await response.json()) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(message);
  }
  return response;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  // The app registers the worker at start (main.tsx); wait for it to be ready.
  return navigator.serviceWorker.ready;
}

/** This browser's push subscription, if it has one. */
export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration();
  return reg ? reg.pushManager.getSubscription() : null;
}

/**
 * Asks for permission to notify, subscribes this browser and registers the
 * subscription with the server. Throws with a message for people when
 * permission is refused or the browser's push service cannot be reached.
 */
export async function enablePush(token: Token): Promise<void> {
  if (!pushSupported()) throw new Error('This browser cannot receive push notifications.');
  const permission = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('The browser blocks notifications for this site.');
  const key = (await (await api(token, 'GET', '/api/v1/push/vapid-public-key')).json()) as { public_key: string; enabled: boolean };
  if (!key.enabled) throw new Error('This server does not send push notifications.');
  const reg = await registration();
  let subscription = await reg.pushManager.getSubscription();
  const serverKey = fromBase64url(key.public_key);
  if (subscription) {
    // A subscription made with another server key cannot be used: start again.
    const current = subscription.options.applicationServerKey;
    const same = current && new Uint8Array(current).every((b, i) => b === serverKey[i]) && current.byteLength === serverKey.length;
    if (!same) {
      await subscription.unsubscribe();
      subscription = null;
    }
  }
  if (!subscription) {
    try {
      subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
    } catch (e) {
      throw new Error(`The browser's push service is not available: ${(e as Error).message}`);
    }
  }
  const response = await api(token, 'POST', '/api/v1/push/subscriptions', subscription.toJSON());
  const { subscription: stored } = (await response.json()) as { subscription: { id: number } };
  localStorage.setItem(ID_KEY, String(stored.id));
}

/** Unsubscribes this browser and deletes its subscription on the server. */
export async function disablePush(token: Token): Promise<void> {
  const id = localStorage.getItem(ID_KEY);
  localStorage.removeItem(ID_KEY);
  const subscription = await currentSubscription();
  if (subscription) await subscription.unsubscribe();
  if (id) await api(token, 'DELETE', `/api/v1/push/subscriptions/${encodeURIComponent(id)}`);
}

/** Whether this browser has push on for the signed-in user. */
export async function pushEnabled(): Promise<boolean> {
  return localStorage.getItem(ID_KEY) !== null && (await currentSubscription()) !== null;
}

/**
 * On sign-out: the server already deleted the subscription with the
 * session; end it in the browser, so the next user of this browser starts
 * without it.
 */
export async function unsubscribeOnSignOut(): Promise<void> {
  localStorage.removeItem(ID_KEY);
  try {
    const subscription = await currentSubscription();
    if (subscription) await subscription.unsubscribe();
  } catch {
    // Nothing left to undo that matters: the server side is gone.
  }
}
