// Two people chatting in two browsers: registration through the app, a
// contact invitation sent and accepted (each then sees the other online at
// once), messages both ways, typing, read
// marks, a reaction, a reply, an edit and a deletion, each seen by the other.

import assert from 'node:assert/strict';
import { Api, PASSWORD, history, uniqueName } from './lib/api.mjs';
import { browserFor, e2eTest, useServer } from './lib/fixture.mjs';
import {
  acceptInvitation,
  closePanel,
  conversationEntry,
  conversationList,
  invite,
  message,
  messageAction,
  messageContact,
  messageLog,
  messages,
  openConversation,
  react,
  send,
  signUp,
} from './lib/ui.mjs';

const state = useServer();
const alice = { username: uniqueName('alice'), displayName: 'Alice Martin' };
const bob = { username: uniqueName('bob'), displayName: 'Bob Stone' };

e2eTest('two people register through the app', async () => {
  Object.assign(alice, await browserFor(state));
  Object.assign(bob, await browserFor(state));
  await Promise.all([signUp(alice.page, alice), signUp(bob.page, bob)]);
  // The accounts exist on the server, with the display names given.
  const login = await new Api(state.server.baseURL).post('/api/v1/sessions', { username: bob.username, password: PASSWORD });
  assert.equal(login.user.display_name, bob.displayName);
  bob.api = new Api(state.server.baseURL, login.token);
}, state);

e2eTest('an invitation sent by username is accepted and opens a conversation', async () => {
  await invite(alice.page, bob.username);
  await alice.page.getByRole('listitem', { name: `Invitation to ${bob.displayName}` }).waitFor();
  await closePanel(alice.page);
  await acceptInvitation(bob.page, alice.displayName);
  // Bob writes to his new contact; the conversation shows up in Alice's list.
  await messageContact(bob.page, alice.displayName);
  await conversationEntry(alice.page, bob.displayName).waitFor();
  // Each sees the new contact online at once, without a reconnect or a
  // reload (both were connected before they became contacts): the dot on
  // the entry, read out after the name, and the dialog's subtitle.
  await conversationList(alice.page).getByRole('link', { name: new RegExp(`^${bob.displayName}\\s*, online`) }).waitFor();
  await bob.page.getByRole('main').locator('.subtitle').getByText('online', { exact: true }).waitFor();
  await openConversation(alice.page, bob.displayName);
  await alice.page.getByRole('main').locator('.subtitle').getByText('online', { exact: true }).waitFor();
}, state);

e2eTest('messages go both ways, with typing and read marks', async () => {
  await send(alice.page, 'Hello Bob, lunch at noon?');
  await message(bob.page, 'Hello Bob, lunch at noon?');

  // Bob types: Alice is told, before anything is sent.
  await bob.page.getByRole('textbox', { name: 'Message' }).pressSequentially('Sure');
  await alice.page.getByText(`${bob.displayName} is typing…`).waitFor();
  await bob.page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await message(alice.page, 'Sure');

  // Bob has the conversation open, so Alice's message is marked read.
  const mine = await message(alice.page, 'Hello Bob, lunch at noon?');
  await mine.getByRole('img', { name: 'Read', exact: true }).waitFor();

  // The server stored both, once each, in order.
  const conversations = await bob.api.get('/api/v1/conversations');
  const direct = conversations.conversations.find((c) => c.kind === 'direct');
  const stored = (await history({ api: bob.api }, direct.id)).map((m) => m.text);
  assert.deepEqual(stored, ['Hello Bob, lunch at noon?', 'Sure']);
  alice.conversationId = direct.id;
}, state);

e2eTest('a reaction is shown to both', async () => {
  await react(bob.page, 'Hello Bob, lunch at noon?', 'thumbs up');
  const onAlice = await message(alice.page, 'Hello Bob, lunch at noon?');
  await onAlice.getByRole('button', { name: `👍 1, by ${bob.displayName}` }).waitFor();
  const onBob = await message(bob.page, 'Hello Bob, lunch at noon?');
  await onBob.getByRole('button', { name: `👍 1, by ${bob.displayName}` }).waitFor();
}, state);

e2eTest('a reply quotes the message it answers', async () => {
  await messageAction(alice.page, 'Sure', 'Reply');
  await send(alice.page, 'Great, see you there');
  const reply = await message(bob.page, 'Great, see you there');
  // The reply carries a quote of Bob's message.
  assert.match(await reply.innerText(), /Sure/);
  const stored = await history({ api: bob.api }, alice.conversationId);
  const original = stored.find((m) => m.text === 'Sure');
  assert.equal(stored.find((m) => m.text === 'Great, see you there').reply_to, original.id);
}, state);

e2eTest('an edit replaces the text for both', async () => {
  await messageAction(alice.page, 'Great, see you there', 'Edit');
  const box = alice.page.getByRole('textbox', { name: 'Message' });
  await box.fill('Great, see you at the station');
  await box.press('Enter');
  const edited = await message(bob.page, 'Great, see you at the station');
  await messages(bob.page, 'Great, see you there').waitFor({ state: 'detached' });
  assert.match(await edited.innerText(), /edited/);
  const stored = await history({ api: bob.api }, alice.conversationId);
  assert.ok(stored.find((m) => m.text === 'Great, see you at the station')?.edited_at, 'the server has the edit');
}, state);

e2eTest('a deleted message disappears for both', async () => {
  await send(alice.page, 'Oops, wrong chat');
  await message(bob.page, 'Oops, wrong chat');
  await messageAction(alice.page, 'Oops, wrong chat', 'Delete');
  await messages(bob.page, 'Oops, wrong chat').waitFor({ state: 'detached' });
  await messages(alice.page, 'Oops, wrong chat').waitFor({ state: 'detached' });
  await messageLog(bob.page).getByRole('article', { name: /Message deleted/ }).waitFor();
  const stored = await history({ api: bob.api }, alice.conversationId);
  const tombstone = stored.at(-1);
  assert.equal(tombstone.deleted, true);
  assert.equal(tombstone.text, '');
  // The rest of the conversation is still there.
  await message(bob.page, 'Great, see you at the station');
  assert.ok(await messageLog(bob.page).getByRole('article').count() >= 3);
}, state);
