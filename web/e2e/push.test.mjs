// Web Push in the browser: the settings toggle subscribes this browser and
// registers the subscription with parleyd (and undoes both); the service
// worker shows a pushed message as a notification that collapses per
// conversation, and none for the conversation a focused window shows.
//
// Headless Chromium has no push service to reach (its pushManager.subscribe
// ends the browser), so two things stand in for the vendor's push service,
// which lies outside the machine by nature: PushManager's subscribe and
// getSubscription hand out a subscription with keys made here, and pushes
// reach the service worker through the DevTools protocol
// (ServiceWorker.deliverPushMessage). The app's push module, the service
// worker and parleyd's validation and storage are the real ones; parleyd's
// own delivery is tested in tests/integration/push_test.cpp. Headless
// Chromium without a notification daemon drops shown notifications from
// getNotifications() at random under load, so the worker's calls to
// showNotification are recorded (and passed through) and those are checked.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { directConversation, makeContacts, registerUser } from './lib/api.mjs';
import { artifactsDir } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { closePanel } from './lib/ui.mjs';

const state = useServer();
let alice;
let bob;
let direct;
let cdp;
let registrationId;
const endpoint = 'https://push.parley.test/send/e2e-alice';

/** A subscription's keys, as a browser would make them. */
function subscriberKeys() {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: crypto.randomBytes(16).toString('base64url') };
}

/** Replaces PushManager's subscribe and getSubscription in every page of `context` (see the top). */
async function standInPushService(context, keys) {
  await context.addInitScript(({ endpoint: url, keys: k }) => {
    const STATE = 'test.push.key';
    const make = (key) => ({
      endpoint: url,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: Uint8Array.from(atob(key), (c) => c.charCodeAt(0)).buffer },
      toJSON: () => ({ endpoint: url, expirationTime: null, keys: k }),
      unsubscribe: async () => {
        localStorage.removeItem(STATE);
        localStorage.setItem('test.push.unsubscribed', String(Number(localStorage.getItem('test.push.unsubscribed') ?? 0) + 1));
        return true;
      },
    });
    PushManager.prototype.subscribe = async function subscribe(options) {
      if (!options?.userVisibleOnly || !options.applicationServerKey) throw new DOMException('bad options', 'NotAllowedError');
      const key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
      localStorage.setItem(STATE, key);
      return make(key);
    };
    PushManager.prototype.getSubscription = async function getSubscription() {
      const key = localStorage.getItem(STATE);
      return key ? make(key) : null;
    };
  }, { endpoint, keys });
}

async function pushSubscriptions(user) {
  return (await user.api.get('/api/v1/push/subscriptions')).subscriptions;
}

async function openSettings(page) {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  return page.getByRole('dialog');
}

/** Delivers `payload` to alice's service worker as a push message. */
async function deliver(payload) {
  await cdp.send('ServiceWorker.deliverPushMessage', {
    origin: state.server.baseURL,
    registrationId,
    data: JSON.stringify(payload),
  });
}

/** The service worker, with its showNotification calls recorded (and passed on) in `self.shownForTest`. */
async function recordNotifications(context) {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  await worker.evaluate(() => {
    if (self.shownForTest) return;
    self.shownForTest = [];
    const show = self.registration.showNotification.bind(self.registration);
    self.registration.showNotification = (title, options) => {
      self.shownForTest.push({ title, body: options.body, tag: options.tag, data: options.data });
      return show(title, options);
    };
  });
  return worker;
}

/**
 * The notifications the worker showed, once there are `count` of them.
 * Polled: the worker handles a push in its own time and tells no page.
 */
async function notifications(worker, count) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const list = await worker.evaluate(() => self.shownForTest);
    if (list.length >= count) return list;
    if (Date.now() > deadline) throw new Error(`expected ${count} notifications, have ${JSON.stringify(list)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

e2eTest('the settings toggle subscribes this browser and registers it with parleyd', async () => {
  alice = await signedInUser(state, 'alice', 'Alice Martin');
  bob = await registerUser(state.server.baseURL, 'bob', 'Bob Stone');
  await makeContacts(alice, bob);
  direct = await directConversation(alice, bob);
  await alice.context.grantPermissions(['notifications'], { origin: state.server.baseURL });
  await standInPushService(alice.context, subscriberKeys());
  await alice.page.reload();
  await alice.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  const settings = await openSettings(alice.page);
  const toggle = settings.getByRole('checkbox', { name: 'Notify me when Parley is closed' });
  await toggle.click();
  await settings.getByText('Notifications will arrive while Parley is closed.').waitFor();
  const stored = await pushSubscriptions(alice);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].endpoint, endpoint);
  assert.equal(stored[0].current_session, false, "registered by the browser's session, not the API client's");
  await alice.page.screenshot({ path: path.join(artifactsDir(), 'push-settings.png') });

  await toggle.click();
  await settings.getByText('Notifications while Parley is closed are off.').waitFor();
  assert.deepEqual(await pushSubscriptions(alice), []);
  assert.equal(await alice.page.evaluate(() => localStorage.getItem('test.push.unsubscribed')), '1');

  await toggle.click();
  await settings.getByText('Notifications will arrive while Parley is closed.').waitFor();
  assert.equal((await pushSubscriptions(alice)).length, 1);
  // Kept on after a reload: the toggle reads the browser's subscription.
  await alice.page.reload();
  const again = await openSettings(alice.page);
  await assertChecked(again.getByRole('checkbox', { name: 'Notify me when Parley is closed' }));
  await closePanel(alice.page);
}, state);

async function assertChecked(locator) {
  await locator.waitFor();
  await alice.page.waitForFunction((el) => el.checked && !el.disabled, await locator.elementHandle());
}

e2eTest('a push is shown by the service worker, one notification per conversation', async () => {
  cdp = await alice.context.newCDPSession(alice.page);
  const registrations = new Promise((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => {
      const live = event.registrations.filter((r) => !r.isDeleted);
      if (live.length) resolve(live);
    });
  });
  await cdp.send('ServiceWorker.enable');
  registrationId = (await registrations)[0].registrationId;

  await alice.page.goto('/');
  // The worker is running and controls the page before the first push.
  await alice.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  const worker = await recordNotifications(alice.context);
  await deliver({ type: 'message.new', conversation_id: direct.id, message_id: 1, seq: 1, sender: 'Bob Stone', preview: 'Dinner at 8?', unread: 1, sent_at: Date.now() });
  let shown = await notifications(worker, 1);
  assert.deepEqual(shown.map((n) => [n.title, n.body, n.tag]), [['Bob Stone', 'Dinner at 8?', `conversation-${direct.id}`]]);
  assert.equal(shown[0].data.conversation_id, direct.id);

  await deliver({ type: 'message.new', conversation_id: direct.id, message_id: 2, seq: 2, sender: 'Bob Stone', unread: 2, sent_at: Date.now() });
  shown = await notifications(worker, 2);
  assert.deepEqual(shown[1], { title: 'Bob Stone', body: 'New message (2 unread)', tag: `conversation-${direct.id}`, data: { conversation_id: direct.id, message_id: 2 } },
    'no preview; the same tag, so it replaces the first');

  await deliver({ type: 'message.new', conversation_id: 999999, message_id: 3, seq: 1, sender: 'Carol Reed', conversation_name: 'Climbing', preview: 'Saturday?', unread: 1, sent_at: Date.now() });
  shown = await notifications(worker, 3);
  assert.deepEqual([shown[2].title, shown[2].body, shown[2].tag], ['Carol Reed in Climbing', 'Saturday?', 'conversation-999999']);
}, state);

e2eTest('no notification for the conversation a focused window shows', async () => {
  await alice.page.goto(`/c/${direct.id}`);
  await alice.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await alice.page.bringToFront();
  assert.equal(await alice.page.evaluate(() => document.visibilityState === 'visible' && document.hasFocus()), true);
  const worker = await recordNotifications(alice.context);
  const before = (await worker.evaluate(() => self.shownForTest)).length;
  await deliver({ type: 'message.new', conversation_id: direct.id, message_id: 4, seq: 3, sender: 'Bob Stone', preview: 'Seen already', unread: 1, sent_at: Date.now() });
  // Pushes are handled in order: once the next one is shown, the first was decided.
  await deliver({ type: 'message.new', conversation_id: 999998, message_id: 5, seq: 1, sender: 'Dan Cole', preview: 'Elsewhere', unread: 1, sent_at: Date.now() });
  const shown = await notifications(worker, before + 1);
  assert.deepEqual(shown.slice(before).map((n) => n.body), ['Elsewhere']);
}, state);

e2eTest('signing out ends the subscription in the browser and on the server', async () => {
  await alice.page.goto('/');
  await alice.page.getByRole('button', { name: 'Sign out' }).click();
  await alice.page.waitForFunction(() => localStorage.getItem('test.push.key') === null);
  assert.equal(await alice.page.evaluate(() => localStorage.getItem('parley.push.subscription-id')), null);
  // The browser's session is gone, and its subscription with it.
  assert.deepEqual(await pushSubscriptions(alice), []);
}, state);
