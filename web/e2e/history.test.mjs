// A long history scrolls upwards as a person scrolls with the mouse wheel,
// down to the first message, keeping the reader's place while older pages
// load; only a window of it is in the page at a time (a virtualised list),
// and only a window of it in memory: scrolling back down reads the newest
// messages again, keeping the reader's place as well.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directConversation, makeContacts, registerUser } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { message, messageLog, openConversation } from './lib/ui.mjs';

const state = useServer();
/** Several pages of history, whatever the app's page size (the server's is 50 to 200). */
const COUNT = 1200;
/** One wheel step, in pixels: a few dozen one-line messages. */
const STEP = 1500;
/** The topmost message on screen after each wheel step (its line number). */
const tops = [];
/** The same, scrolling back down. */
const bottoms = [];

e2eTest(`scrolling up reaches the first of ${COUNT} messages`, async () => {
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
  const topmost = () => log.evaluate((element) => {
    const top = element.getBoundingClientRect().top;
    const row = [...element.querySelectorAll('article')].find((a) => a.getBoundingClientRect().bottom > top + 4);
    return Number(/History line (\d+)\./.exec(row?.getAttribute('aria-label') ?? '')?.[1] ?? NaN);
  });
  // One wheel step per frame, until the first message is shown; 1,200
  // one-line messages are well under 200 steps.
  while ((await first.count()) === 0) {
    assert.ok(tops.length < 200, `the first message is not reached after ${tops.length} wheel steps; topmost: ${tops.at(-1)}`);
    await page.mouse.wheel(0, -STEP);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
    tops.push(await topmost());
  }
  // Virtualised: far fewer rows in the page than messages in the history.
  const rows = await log.getByRole('article').count();
  assert.ok(rows < COUNT / 4, `${rows} message rows in the page`);
  // Only a window of the history is loaded: at the top, the newest
  // messages were dropped (the list's height holds fewer rows, of the
  // height of those shown, than there are messages), and scrolling back
  // down reads them again.
  const { height, row } = await log.evaluate((element) => {
    const shown = [...element.querySelectorAll('.vrow')].map((r) => r.getBoundingClientRect().height);
    return { height: element.scrollHeight, row: shown.reduce((a, b) => a + b, 0) / shown.length };
  });
  assert.ok(height / row < COUNT * 0.9, `the list is ${height} px high, ${Math.round(height / row)} rows of ${row} px: every message is still loaded`);
  const last = log.getByRole('article').filter({ hasText: `History line ${COUNT}.` });
  while ((await last.count()) === 0) {
    assert.ok(bottoms.length < 200, `the last message is not reached after ${bottoms.length} wheel steps; topmost: ${bottoms.at(-1)}`);
    await page.mouse.wheel(0, STEP);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
    bottoms.push(await topmost());
  }
}, state);

test('older messages load above without moving what the reader sees', () => {
  assert.equal(state.failed, undefined, 'the scroll ran');
  // Each step shows messages older than the last, by at most about a
  // screenful more than the step moves (a one-line message is ~50 px).
  const jumps = [];
  let previous = COUNT;
  for (const top of tops) {
    if (!(previous - top <= STEP / 20)) jumps.push(`${previous} → ${top}`);
    previous = top;
  }
  assert.deepEqual(jumps, []);
});

test('newer messages dropped while far up load again below without moving what the reader sees', () => {
  assert.equal(state.failed, undefined, 'the scroll ran');
  assert.ok(bottoms.length > 0);
  const jumps = [];
  let previous = tops.at(-1);
  for (const top of bottoms) {
    if (!(top - previous >= 0 && top - previous <= STEP / 20)) jumps.push(`${previous} → ${top}`);
    previous = top;
  }
  assert.deepEqual(jumps, []);
});
