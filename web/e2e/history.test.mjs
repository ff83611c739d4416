// A long history scrolls upwards page by page, as a person scrolls with the
// mouse wheel, down to the first message; only a window of it is in the
// page at a time (the list is virtualised).

import assert from 'node:assert/strict';
import { directConversation, makeContacts } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { message, messageLog, openConversation } from './lib/ui.mjs';
import { registerUser } from './lib/api.mjs';

const state = useServer();
/** Several pages of history, whatever the app's page size (the server's is 50 to 200). */
const COUNT = 450;

e2eTest('scrolling up reaches the first of 450 messages', async () => {
  const alice = await signedInUser(state, 'alice', 'Alice Martin');
  const bob = await registerUser(state.server.baseURL, 'bob', 'Bob Stone');
  await makeContacts(alice, bob);
  const direct = await directConversation(alice, bob);
  await sendOverWebSocket(alice.context, state.server.baseURL, bob.token, direct.id,
    Array.from({ length: COUNT }, (_, i) => `History line ${i + 1}.`));
  const { page } = alice;
  await openConversation(page, 'Bob Stone');
  await message(page, `History line ${COUNT}.`);

  const log = messageLog(page);
  const first = log.getByRole('article').filter({ hasText: 'History line 1.' });
  const box = await page.getByRole('main').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // One wheel step per frame, until the first message is shown. Each step
  // moves up 1,500 px; 450 messages are far less than 400 steps of that.
  let steps = 0;
  while ((await first.count()) === 0) {
    assert.ok(steps < 400, `the first message is not reached after ${steps} wheel steps; oldest shown: ${
      await log.getByRole('article').first().getAttribute('aria-label')}`);
    await page.mouse.wheel(0, -1500);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
    steps += 1;
  }
  await first.waitFor();
  // Virtualised: far fewer rows in the page than messages in the history.
  const rows = await log.getByRole('article').count();
  assert.ok(rows < COUNT / 2, `${rows} message rows in the page`);
}, state);
