// The room kept above the loaded rows of a long history (so that loading
// older pages moves nothing on screen) is capped; when pages have been
// loaded into all of it, the list renews it: the rows and the scroll
// position move together, once. That move must not move what the reader
// sees. With the default cap (100,000 px) it takes thousands of messages
// to get there, so this test sets a small cap (`parley.list.room` in
// localStorage, read by the list when the app loads) and walks through
// several renewals of it on the way to the first of 1,200 messages,
// checking the reader's place at every wheel step.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directConversation, makeContacts, registerUser } from './lib/api.mjs';
import { sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { conversationEntry, message, messageLog, openConversation } from './lib/ui.mjs';

const state = useServer();
const COUNT = 1200;
/** One wheel step, in pixels: a few dozen one-line messages. */
const STEP = 1500;
/** The room above, in pixels: about two pages of one-line messages. */
const ROOM = 6000;
/** After each wheel step: the topmost message on screen (its line number) and the scroll position. */
const steps = [];

e2eTest(`scrolling up through ${COUNT} messages renews the room above without moving the reader`, async () => {
  const alice = await signedInUser(state, 'alice', 'Alice Martin');
  const bob = await registerUser(state.server.baseURL, 'bob', 'Bob Stone');
  await makeContacts(alice, bob);
  const direct = await directConversation(alice, bob);
  const { page } = alice;
  await page.evaluate((room) => localStorage.setItem('parley.list.room', String(room)), ROOM);
  await page.reload();
  await conversationEntry(page, 'Bob Stone').waitFor();
  await sendOverWebSocket(alice.context, state.server.baseURL, bob.token, direct.id,
    Array.from({ length: COUNT }, (_, i) => `Room line ${i + 1}.`));
  await openConversation(page, 'Bob Stone');
  await message(page, `Room line ${COUNT}.`);

  const log = messageLog(page);
  const first = log.getByRole('article').filter({ hasText: 'Room line 1.' });
  const box = await page.getByRole('main').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const where = () => log.evaluate((element) => {
    const top = element.getBoundingClientRect().top;
    const row = [...element.querySelectorAll('article')].find((a) => a.getBoundingClientRect().bottom > top + 4);
    return {
      top: Number(/Room line (\d+)\./.exec(row?.getAttribute('aria-label') ?? '')?.[1] ?? NaN),
      scroll: element.scrollTop,
    };
  });
  while ((await first.count()) === 0) {
    assert.ok(steps.length < 200, `the first message is not reached after ${steps.length} wheel steps; topmost: ${steps.at(-1)?.top}`);
    await page.mouse.wheel(0, -STEP);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
    steps.push(await where());
  }
}, state);

test('the room above was renewed on the way up', () => {
  assert.equal(state.failed, undefined, 'the scroll ran');
  // Scrolling up lowers the scroll position, except where the room was
  // renewed: the rows moved down, and the scroll position with them.
  const renewals = steps.filter((s, i) => i > 0 && s.scroll > steps[i - 1].scroll);
  assert.ok(renewals.length >= 1, `no renewal of the room in ${steps.length} wheel steps`);
});

test('each wheel step, renewals included, shows older messages without a jump', () => {
  assert.equal(state.failed, undefined, 'the scroll ran');
  // Each step shows messages older than (or, against the top, the same as)
  // the last, by at most about a screenful more than the step moves (a
  // one-line message is ~50 px).
  const jumps = [];
  let previous = COUNT;
  for (const { top } of steps) {
    if (!(top <= previous && previous - top <= STEP / 20)) jumps.push(`${previous} → ${top}`);
    previous = top;
  }
  assert.deepEqual(jumps, []);
});
