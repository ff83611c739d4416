// A group of three: a mention, an image and a file sent and shown (thumbnail,
// download), a sticker, and the in-app popup for a message that arrives in
// another conversation than the open one.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createGroup, directConversation, history, makeContacts, registerUser } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { imageLoaded, message, messageLog, openConversation } from './lib/ui.mjs';

const state = useServer();
let alice;
let carol;
let bob;
let group;
let direct;

/** A PNG drawn by the browser: a real image for the server to thumbnail. */
async function drawPng(page, width, height) {
  const dataUrl = await page.evaluate(({ width, height }) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    const gradient = g.createLinearGradient(0, 0, width, height);
    gradient.addColorStop(0, '#2a6fdb');
    gradient.addColorStop(1, '#f2b134');
    g.fillStyle = gradient;
    g.fillRect(0, 0, width, height);
    g.fillStyle = '#ffffff';
    g.beginPath();
    g.arc(width / 3, height / 2, height / 4, 0, Math.PI * 2);
    g.fill();
    return canvas.toDataURL('image/png');
  }, { width, height });
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

e2eTest('a group of three, seeded over the API, shows in the app', async () => {
  bob = await registerUser(state.server.baseURL, 'bob', 'Bob Stone');
  alice = await signedInUser(state, 'alice', 'Alice Martin');
  carol = await signedInUser(state, 'carol', 'Carol Diaz');
  await makeContacts(alice, bob);
  await makeContacts(alice, carol);
  group = await createGroup(alice, 'Weekend hike', [bob, carol]);
  direct = await directConversation(alice, bob);
  await openConversation(alice.page, 'Weekend hike');
  await openConversation(carol.page, 'Weekend hike');
}, state);

e2eTest('a mention is completed from the members and names the member', async () => {
  const box = carol.page.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('@Ali');
  const suggestions = carol.page.getByRole('listbox', { name: 'Mention a member' });
  await suggestions.getByRole('option', { name: /Alice Martin/ }).waitFor();
  await box.press('Enter');
  await suggestions.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), `@${alice.username} `);
  await box.pressSequentially('are you bringing the map?');
  await box.press('Enter');
  await message(alice.page, 'are you bringing the map?');
  const stored = await history(alice, group.id);
  const mention = stored.find((m) => m.text.includes('are you bringing the map?'));
  assert.deepEqual(mention.mentions, [alice.user.id]);
}, state);

e2eTest('an image is sent, shown as a thumbnail and opens full size', async () => {
  const png = await drawPng(alice.page, 640, 400);
  await alice.page.locator('input[type=file]').setInputFiles({ name: 'trail-map.png', mimeType: 'image/png', buffer: png });
  // Carol sees it as an image named by its file name, loaded (not broken).
  const image = messageLog(carol.page).getByAltText('trail-map.png', { exact: true });
  // In the dialog it is a thumbnail (the medium size fits in 320×320)...
  const thumbnailWidth = await imageLoaded(image);
  assert.ok(thumbnailWidth <= 320, `thumbnail ${thumbnailWidth} px wide`);
  // ...and it opens larger in the viewer, which Escape closes.
  await messageLog(carol.page).getByRole('button', { name: 'Open trail-map.png' }).click();
  const viewer = carol.page.getByRole('dialog', { name: 'trail-map.png' });
  const full = viewer.getByAltText('trail-map.png');
  assert.ok((await imageLoaded(full)) > 320, 'the viewer shows the large size');
  await carol.page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  const stored = (await history(carol, group.id)).at(-1);
  assert.equal(stored.attachments[0].name, 'trail-map.png');
  assert.equal(stored.attachments[0].width, 640);
}, state);

e2eTest('a file is sent as a card and downloads with its content', async () => {
  const content = Buffer.from('Day 1: station to the lake, 14 km.\nDay 2: lake to the summit, 9 km.\n');
  await alice.page.locator('input[type=file]').setInputFiles({ name: 'itinerary.txt', mimeType: 'text/plain', buffer: content });
  const button = messageLog(carol.page).getByRole('button', { name: 'Download itinerary.txt' });
  await button.waitFor();
  const [download] = await Promise.all([carol.page.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), 'itinerary.txt');
  assert.deepEqual(readFileSync(await download.path()), content);
}, state);

e2eTest('a sticker is sent from the picker and shown', async () => {
  await alice.api.request('PUT', '/api/v1/me/sticker-packs/parley-default');
  await alice.page.getByRole('button', { name: 'Stickers' }).click();
  const picker = alice.page.getByRole('dialog', { name: 'Stickers' });
  await picker.getByRole('button', { name: 'Sticker 👍' }).click();
  // Carol sees the sticker's image, loaded.
  const sticker = messageLog(carol.page).getByRole('article', { name: `${alice.displayName}: Sticker 👍` });
  const image = sticker.getByAltText('Sticker 👍');
  await image.waitFor();
  await imageLoaded(image);
  const stored = (await history(carol, group.id)).at(-1);
  assert.equal(stored.sticker?.emoji, '👍');
  assert.equal(stored.sender_id, alice.user.id);
}, state);

e2eTest('a message in another conversation pops up and opens it', async () => {
  // Alice has the group open; Bob writes to her directly.
  await sendOverWebSocket(alice.context, state.server.baseURL, bob.token, direct.id, ['Did you book the train?']);
  const popup = alice.page.getByRole('alert', { name: 'New message' });
  await popup.filter({ hasText: 'Did you book the train?' }).waitFor();
  await popup.getByRole('button', { name: /Did you book the train\?/ }).click();
  await alice.page.getByRole('main').getByRole('heading', { name: 'Bob Stone' }).waitFor();
  await message(alice.page, 'Did you book the train?');
}, state);
