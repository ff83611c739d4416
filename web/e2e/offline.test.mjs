// Offline first: with parleyd killed, a reload still shows the conversations
// and history seen before (service worker + IndexedDB); a message written
// while offline waits, and is delivered exactly once when the server is back;
// so are an edit, a reaction and a deletion made offline, in order;
// a session revoked elsewhere signs the app out.

import assert from 'node:assert/strict';
import { directConversation, history, makeContacts } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import {
  connection,
  conversationEntry,
  message,
  messageAction,
  messages,
  openConversation,
  react,
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

e2eTest('an edit, a reaction and a deletion made offline reach the other person once each, in order', async () => {
  // What Bob's app receives from the server, from now on (every WebSocket
  // the page opens, reconnections included).
  const received = [];
  bob.page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
    const frame = JSON.parse(String(payload));
    if (frame.type === 'event') received.push(frame.event);
  }));
  for (const text of ['To be edited', 'To be reacted to', 'To be deleted']) {
    await send(alice.page, text);
    await message(bob.page, text);
  }
  const byText = Object.fromEntries((await history(bob, direct.id)).map((m) => [m.text, m.id]));
  await state.server.kill();
  await connection(alice.page).filter({ hasNotText: 'Online' }).waitFor();

  // Offline: each shown at once.
  await messageAction(alice.page, 'To be edited', 'Edit');
  const box = alice.page.getByRole('textbox', { name: 'Message' });
  await box.fill('Edited on the train');
  await box.press('Enter');
  await message(alice.page, 'Edited on the train');
  await react(alice.page, 'To be reacted to', 'thumbs up');
  const reacted = await message(alice.page, 'To be reacted to');
  await reacted.getByRole('button', { name: `👍 1, by ${alice.displayName}` }).waitFor();
  await messageAction(alice.page, 'To be deleted', 'Delete');
  await messages(alice.page, 'To be deleted').waitFor({ state: 'detached' });
  await message(bob.page, 'To be edited');

  await state.server.restart();
  await waitForConnection(alice.page, 'Online');
  await waitForConnection(bob.page, 'Online');
  await message(bob.page, 'Edited on the train');
  await (await message(bob.page, 'To be reacted to')).getByRole('button', { name: `👍 1, by ${alice.displayName}` }).waitFor();
  await messages(bob.page, 'To be deleted').waitFor({ state: 'detached' });
  // A later message is the sign that everything before it has arrived.
  await send(alice.page, 'All caught up');
  await message(bob.page, 'All caught up');

  const changes = received
    .filter((e) => ['message.edited', 'reaction.added', 'reaction.removed', 'message.deleted'].includes(e.type))
    .map((e) => [e.type, e.message?.id ?? e.message_id]);
  assert.deepEqual(changes, [
    ['message.edited', byText['To be edited']],
    ['reaction.added', byText['To be reacted to']],
    ['message.deleted', byText['To be deleted']],
  ], 'each change reached Bob once, in the order made');
  const stored = await history(bob, direct.id);
  const find = (id) => stored.find((m) => m.id === id);
  assert.equal(find(byText['To be edited']).text, 'Edited on the train');
  assert.deepEqual(find(byText['To be reacted to']).reactions, [{ emoji: '👍', user_ids: [alice.user.id] }]);
  assert.equal(find(byText['To be deleted']).deleted, true);
  // Nothing is left waiting: a reload of Alice's app sends nothing again.
  await alice.page.reload();
  await openConversation(alice.page, 'Bob Stone');
  await send(alice.page, 'After the reload');
  await message(bob.page, 'After the reload');
  assert.equal(received.filter((e) => e.type !== 'message.new' && !e.type.startsWith('receipt.')).length, 3, JSON.stringify(received.map((e) => e.type)));
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
