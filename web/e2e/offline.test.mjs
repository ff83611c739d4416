// Offline first: with parleyd killed, a reload still shows the conversations
// and history seen before (service worker + IndexedDB); a message written
// while offline waits, and is delivered exactly once when the server is back;
// a session revoked elsewhere signs the app out.

import assert from 'node:assert/strict';
import { directConversation, history, makeContacts } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import {
  connection,
  conversationEntry,
  message,
  messages,
  openConversation,
  send,
  waitForConnection,
} from './lib/ui.mjs';

const state = useServer();
let alice;
let bob;
let direct;

e2eTest('history is seen online first', async () => {
  alice = await signedInUser(state, 'alice', 'Alice Martin');
  bob = await signedInUser(state, 'bob', 'Bob Stone');
  await makeContacts(alice, bob);
  direct = await directConversation(alice, bob);
  await sendOverWebSocket(bob.context, state.server.baseURL, bob.token, direct.id,
    ['First of all, hello', 'The tickets are booked', 'Platform 4 at 8:15']);
  await openConversation(alice.page, 'Bob Stone');
  await message(alice.page, 'Platform 4 at 8:15');
  await openConversation(bob.page, 'Alice Martin');
}, state);

e2eTest('a reload with the server stopped shows the history', async () => {
  await state.server.kill();
  const notOnline = connection(alice.page).filter({ hasNotText: 'Online' });
  await notOnline.waitFor();
  await alice.page.reload();
  // The app shell comes from the service worker, the data from IndexedDB;
  // the indicator says it is not connected (Offline, or Connecting… while
  // it retries).
  await notOnline.waitFor();
  await conversationEntry(alice.page, 'Bob Stone').waitFor();
  await openConversation(alice.page, 'Bob Stone');
  for (const text of ['First of all, hello', 'The tickets are booked', 'Platform 4 at 8:15']) {
    await message(alice.page, text);
  }
  assert.notEqual(await connection(alice.page).innerText(), 'Online');
}, state);

e2eTest('a message written offline is delivered once when the server returns', async () => {
  await send(alice.page, 'Written on the train, offline');
  // It is shown at once, waiting.
  await message(alice.page, 'Written on the train, offline');
  await state.server.restart();
  await waitForConnection(alice.page, 'Online');
  await waitForConnection(bob.page, 'Online');
  await message(bob.page, 'Written on the train, offline');
  // A later message is the sign that everything before it has arrived: if
  // the offline one were sent twice, the copy would be before this one.
  await send(alice.page, 'Back online now');
  await message(bob.page, 'Back online now');
  assert.equal(await messages(bob.page, 'Written on the train, offline').count(), 1);
  assert.equal(await messages(alice.page, 'Written on the train, offline').count(), 1);
  const stored = (await history(bob, direct.id)).filter((m) => m.text === 'Written on the train, offline');
  assert.equal(stored.length, 1, 'the server stored it exactly once');
  // A reload of Bob's app (from its store and the server) still shows one.
  await bob.page.reload();
  await openConversation(bob.page, 'Alice Martin');
  await message(bob.page, 'Back online now');
  assert.equal(await messages(bob.page, 'Written on the train, offline').count(), 1);
}, state);

e2eTest('a session revoked elsewhere signs the app out', async () => {
  const { sessions } = await bob.api.get('/api/v1/sessions');
  const browserSession = sessions.find((s) => !s.current && s.device_name !== 'API client')
    ?? sessions.filter((s) => !s.current).at(-1);
  assert.ok(browserSession, 'the browser has a session of its own');
  await bob.api.delete(`/api/v1/sessions/${browserSession.id}`);
  await bob.page.getByRole('button', { name: 'Sign in' }).waitFor();
  await bob.page.getByLabel('Username').waitFor();
  // The history is gone from the page with the session.
  assert.equal(await bob.page.getByText('Written on the train, offline').count(), 0);
}, state);
