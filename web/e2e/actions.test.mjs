// A message's actions (Reply, React, Edit, Delete) are in the page only for
// the row the pointer is over or the focus is in: a row at rest holds only an
// empty, unnamed place in the Tab order where they come (no toolbar: see
// rows-at-rest.test.mjs). The keyboard still meets every row's buttons, in the same
// order, with the same names, tabbing forwards and backwards.

import assert from 'node:assert/strict';
import { aliceInADialogWithBob, e2eTest, useServer } from './lib/fixture.mjs';
import { message, messageLog } from './lib/ui.mjs';

const state = useServer();
let page;

/** The focused element: its name, and the message row it is in. */
const focused = () => page.evaluate(() => {
  const el = document.activeElement;
  return { name: el?.textContent ?? '', row: el?.closest('article')?.getAttribute('aria-label') ?? null };
});

/** The action buttons in the page, by the row they are in. */
const actionButtons = () => messageLog(page).evaluate((log) =>
  [...log.querySelectorAll('.actions button')].map((b) => `${b.closest('article').getAttribute('aria-label')} / ${b.textContent}`));

e2eTest('the keyboard reaches every row\'s actions, in order, both ways', async () => {
  page = (await aliceInADialogWithBob(state)).page;
  // The pointer away from the rows, in the header.
  const head = await page.getByRole('heading', { name: 'Bob Stone' }).boundingBox();
  await page.mouse.move(head.x + 1, head.y + 1);

  await (await message(page, 'First from Bob')).focus();
  const forwards = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    forwards.push(await focused());
  }
  const bobFirst = 'Bob Stone: First from Bob';
  const bobSecond = 'Bob Stone: Second from Bob';
  const mine = 'Alice Martin: From Alice';
  assert.deepEqual(forwards, [
    { row: bobFirst, name: 'Reply' }, { row: bobFirst, name: 'React' },
    { row: bobSecond, name: 'Reply' }, { row: bobSecond, name: 'React' },
    { row: mine, name: 'Reply' }, { row: mine, name: 'React' }, { row: mine, name: 'Edit' }, { row: mine, name: 'Delete' },
  ]);
  const backwards = [];
  for (let i = 0; i < 7; i++) {
    await page.keyboard.press('Shift+Tab');
    backwards.push(await focused());
  }
  assert.deepEqual(backwards, forwards.slice(0, 7).reverse());
  // A focused button is named as before, inside the toolbar of that name.
  const toolbar = (await message(page, 'First from Bob')).getByRole('toolbar', { name: 'Message actions' });
  assert.equal(await toolbar.getByRole('button', { name: 'Reply', exact: true }).evaluate((b) => b === document.activeElement), true);
}, state);

e2eTest('a row at rest has no action buttons; hover or focus brings them', async () => {
  // Focus out of the rows (the composer), the pointer still in the header.
  await page.getByRole('textbox').first().focus();
  assert.deepEqual(await actionButtons(), []);
  assert.equal(await messageLog(page).locator('.actions:empty').count(), 3, 'each row keeps an empty place in the Tab order for the keyboard');

  const second = await message(page, 'Second from Bob');
  await second.hover();
  await second.getByRole('button', { name: 'React', exact: true }).waitFor();
  assert.deepEqual(await actionButtons(), ['Bob Stone: Second from Bob / Reply', 'Bob Stone: Second from Bob / React']);

  const head = await page.getByRole('heading', { name: 'Bob Stone' }).boundingBox();
  await page.mouse.move(head.x + 1, head.y + 1);
  await page.waitForFunction(() => document.querySelectorAll('.actions button').length === 0);

  // A tap or a click on a row focuses it, which shows its actions.
  const mine = await message(page, 'From Alice');
  await mine.evaluate((a) => a.focus());
  await mine.getByRole('button', { name: 'Delete', exact: true }).waitFor();
  assert.deepEqual(await actionButtons(), ['Alice Martin: From Alice / Reply', 'Alice Martin: From Alice / React',
    'Alice Martin: From Alice / Edit', 'Alice Martin: From Alice / Delete']);
}, state);
