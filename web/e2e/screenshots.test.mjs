// Screenshots of the main screens, desktop (1280×800) and phone (390×844),
// light and dark, saved in the artifacts folder (E2E_ARTIFACTS, default
// build/e2e-artifacts/screens/) for people to look at. A screen that does
// not show up fails the test; what the pictures show is for the eye.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  createGroup,
  directConversation,
  makeContacts,
  registerUser,
  upload,
} from './lib/api.mjs';
import { artifactsDir, cspViolations, sendOverWebSocket } from './lib/browser.mjs';
import { browserFor, e2eTest, useServer } from './lib/fixture.mjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closePanel, conversationEntry, imageLoaded, message, openContacts, openConversation, signIn } from './lib/ui.mjs';

const state = useServer();
const dir = path.join(artifactsDir(), 'screens');
mkdirSync(dir, { recursive: true });
let alice;
let seeder;
/** Screens with controls cut off at the right edge, as "screen-variant: names". */
const overflows = [];

const VARIANTS = [
  { name: 'desktop-light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'desktop-dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
  { name: 'phone-light', viewport: { width: 390, height: 844 }, colorScheme: 'light', isMobile: true },
  { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark', isMobile: true },
];

e2eTest('seed a lived-in account', async () => {
  const base = state.server.baseURL;
  alice = await registerUser(base, 'alice', 'Alice Martin');
  const people = {};
  for (const name of ['Bob Stone', 'Carol Diaz', 'Dan Okafor', 'Erin Walsh']) {
    people[name] = await registerUser(base, name.split(' ')[0].toLowerCase(), name);
    await makeContacts(alice, people[name]);
  }
  seeder = await browserFor(state);
  const say = (who, conversation, items) => sendOverWebSocket(seeder.context, base, who.token, conversation.id, items);

  const hike = await createGroup(alice, 'Weekend hike', [people['Bob Stone'], people['Carol Diaz'], people['Dan Okafor']]);
  await say(people['Carol Diaz'], hike, ['Who is in for Saturday?', 'Forecast says sunny, 22°C']);
  await say(alice, hike, ['Count me in! I will bring the map 🗺️']);
  await say(people['Dan Okafor'], hike, [`@${alice.username} can you book the 8:15 train?`]);

  const bobChat = await directConversation(alice, people['Bob Stone']);
  await say(people['Bob Stone'], bobChat, ['Hey! Are we still on for lunch?']);
  const [lunch] = await say(alice, bobChat, ['Yes, 12:30 at the usual place']);
  await say(people['Bob Stone'], bobChat, [{ text: 'Perfect, see you there', reply_to: lunch.message_id }]);
  const png = await seeder.page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 800;
    canvas.height = 500;
    const g = canvas.getContext('2d');
    const sky = g.createLinearGradient(0, 0, 0, 500);
    sky.addColorStop(0, '#7ec8f2');
    sky.addColorStop(1, '#f4e3b5');
    g.fillStyle = sky;
    g.fillRect(0, 0, 800, 500);
    g.fillStyle = '#3f7d4e';
    g.beginPath();
    g.moveTo(0, 500); g.lineTo(250, 180); g.lineTo(420, 380); g.lineTo(600, 140); g.lineTo(800, 500);
    g.fill();
    return canvas.toDataURL('image/png');
  });
  const photo = await upload(people['Bob Stone'], 'mountains.png', Buffer.from(png.split(',')[1], 'base64'));
  await say(people['Bob Stone'], bobChat, [{ text: 'The view from last time', attachments: [photo.id] }]);

  const carolChat = await directConversation(alice, people['Carol Diaz']);
  await say(people['Carol Diaz'], carolChat, ['Thanks for the recipe!']);
  const danChat = await directConversation(alice, people['Dan Okafor']);
  await say(alice, danChat, ['Sent you the slides']);
  // An invitation waiting, for the contacts screen.
  const frank = await registerUser(base, 'frank', 'Frank Moreau');
  await frank.api.post('/api/v1/contacts/invitations', { username: alice.username });
}, state);

for (const variant of VARIANTS) {
  e2eTest(`main screens, ${variant.name}`, async () => {
    const browser = await browserFor(state, variant);
    const { page } = browser;
    const shot = async (screen, { pointer = false } = {}) => {
      // The pointer away from the messages, whose actions show on hover
      // (unless the pointer is what the screen shows).
      if (!pointer) await page.mouse.move(variant.viewport.width / 2, 70);
      await page.screenshot({ path: path.join(dir, `${screen}-${variant.name}.png`), animations: 'disabled' });
      // Controls and text past the screen's right edge. A phone browser
      // widens the layout to fit content that is too wide and shows only
      // the screen's width of it, so each element is measured against the
      // screen, not the layout.
      const cut = await page.evaluate((width) => [...document.querySelectorAll('button, a, input, select, textarea, time, [role="status"], h1, h2, h3')]
        .filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < window.innerHeight && r.right > width + 1;
        })
        .map((e) => (e.getAttribute('aria-label') || e.textContent || e.tagName).trim().slice(0, 30)), variant.viewport.width);
      if (cut.length > 0) overflows.push(`${screen}-${variant.name}: ${cut.join(' | ')}`);
    };

    await page.goto('/');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot('sign-in');

    await signIn(page, alice);
    await conversationEntry(page, 'Weekend hike').waitFor();
    await shot('conversations');

    await openConversation(page, 'Bob Stone');
    await message(page, 'The view from last time');
    const image = page.getByAltText('mountains.png', { exact: true });
    await imageLoaded(image);
    await shot('dialog');
    // A message's actions: on a row under the pointer (a tap on a phone),
    // and on a row reached with the keyboard.
    const mine = await message(page, 'Yes, 12:30 at the usual place');
    if (variant.isMobile) await mine.click();
    else await mine.hover();
    await mine.getByRole('button', { name: 'Edit', exact: true }).waitFor();
    await shot('dialog-row-actions', { pointer: true });
    await page.mouse.move(variant.viewport.width / 2, 70);
    const hey = await message(page, 'Hey! Are we still on for lunch?');
    await hey.evaluate((a) => a.focus());
    await page.keyboard.press('Tab');
    await hey.getByRole('button', { name: 'Reply', exact: true }).waitFor();
    await shot('dialog-keyboard-actions');

    await page.goto('/');
    await openConversation(page, 'Weekend hike');
    await message(page, 'can you book the 8:15 train?');
    await shot('group');
    // A phone shows the list or the dialog, not both: go back to the list.
    if (variant.isMobile) await page.getByRole('button', { name: 'Back to conversations' }).click();

    await openContacts(page);
    await page.getByRole('listitem', { name: 'Invitation from Frank Moreau' }).waitFor();
    await shot('contacts');
    await closePanel(page);

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog', { name: /Settings/ }).waitFor();
    await shot('settings');
    await closePanel(page);

    assert.deepEqual(cspViolations(browser.consoleErrors), []);
    await browser.close();
    state.browsers.splice(state.browsers.indexOf(browser), 1);
  }, state);
}

test('every screen fits the width of the window', () => {
  assert.equal(state.failed, undefined, 'every screen was shown');
  assert.deepEqual(overflows, []);
});
