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
/**
 * Several pages of history, whatever the app's page size (the server's is
 * 50 to 200), and more rows than the room the list keeps above its loaded
 * rows (MAX_PAD in VirtualList.tsx, 100,000 px: about 2,000 one-line
 * messages), so that scrolling up uses that room up and the list moves its
 * rows and the view together once on the way.
 */
const COUNT = 3000;
/** One wheel step, in pixels: a few dozen one-line messages. */
const STEP = 1500;
/** The topmost message on screen after each wheel step (its line number). */
const tops = [];
/** The same, scrolling back down. */
const bottoms = [];
/** The log's scrollTop after each wheel step up. */
const scrollTops = [];

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
  // One wheel step per frame, until the first message is shown; 3,000
  // one-line messages are well under 400 steps.
  while ((await first.count()) === 0) {
    assert.ok(tops.length < 400, `the first message is not reached after ${tops.length} wheel steps; topmost: ${tops.at(-1)}`);
    await page.mouse.wheel(0, -STEP);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
    tops.push(await topmost());
    scrollTops.push(await log.evaluate((element) => element.scrollTop));
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
    assert.ok(bottoms.length < 400, `the last message is not reached after ${bottoms.length} wheel steps; topmost: ${bottoms.at(-1)}`);
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

test('the room kept above the loaded rows runs out once on the way up, and nothing on screen moves then', () => {
  assert.equal(state.failed, undefined, 'the scroll ran');
  // Scrolling up lowers scrollTop; a step that raised it by more than a
  // step is the list moving its rows and the view together (the room
  // above ran out, or the first message arrived). The step before the
  // last is excluded: reaching the first message removes the room left.
  const rebases = [];
  for (let i = 1; i < scrollTops.length - 2; i++) {
    if (scrollTops[i] - scrollTops[i - 1] > STEP) rebases.push(`step ${i}: ${scrollTops[i - 1]} → ${scrollTops[i]}`);
  }
  assert.ok(rebases.length >= 1, `no rebase while scrolling up through ${COUNT} messages; scrollTops ${scrollTops.slice(0, 8).join(', ')}…`);
  // …and the topmost message around it moved on by at most a step, as the
  // test above checks for every step.
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
