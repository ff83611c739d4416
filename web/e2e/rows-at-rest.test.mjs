// What a screen reader meets in the message log at rest: the messages, and
// no empty "Message actions" toolbar on every row. The accessibility tree
// is Chromium's own (the DevTools protocol's `Accessibility` domain), the
// one screen readers are given.

import assert from 'node:assert/strict';
import { aliceInADialogWithBob, e2eTest, useServer } from './lib/fixture.mjs';
import { message, messageLog } from './lib/ui.mjs';

const state = useServer();
let page;
let cdp;

/** Roles that group other controls: one without children is an empty group. */
const GROUPS = new Set(['toolbar', 'group', 'region', 'menu', 'menubar', 'list']);

/**
 * The message log's accessibility subtree, as `{ role, name, children }`
 * nodes (ignored nodes skipped, their children lifted up).
 */
async function logTree() {
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const build = (n) => {
    const children = (n.childIds ?? []).flatMap((id) => {
      const c = byId.get(id);
      if (!c) return [];
      const built = build(c);
      return c.ignored ? built.children : [built];
    });
    return { role: n.role?.value ?? '', name: n.name?.value ?? '', children };
  };
  const log = nodes.find((n) => !n.ignored && n.role?.value === 'log' && n.name?.value === 'Messages');
  assert.ok(log, 'the message log is in the accessibility tree');
  return build(log);
}

function flatten(node, out = []) {
  out.push(node);
  for (const c of node.children) flatten(c, out);
  return out;
}

/** What the tree holds that a reader would meet as an empty group, or as a toolbar. */
function offending(tree) {
  return flatten(tree)
    .filter((n) => n.role === 'toolbar' || (GROUPS.has(n.role) && n.children.length === 0) || (n.role === 'generic' && n.name !== '' && n.children.length === 0))
    .map((n) => `${n.role} "${n.name}"`);
}

e2eTest('a row at rest has no toolbar and no empty labelled group', async () => {
  const alice = await aliceInADialogWithBob(state);
  page = alice.page;
  cdp = await alice.context.newCDPSession(page);
  await cdp.send('Accessibility.enable');
  // Nothing hovered, nothing focused in the log.
  const head = await page.getByRole('heading', { name: 'Bob Stone' }).boundingBox();
  await page.mouse.move(head.x + 1, head.y + 1);
  await page.getByRole('textbox').first().focus();
  await page.waitForFunction(() => document.querySelectorAll('.actions button').length === 0);

  assert.equal(await messageLog(page).locator('[role=toolbar]').count(), 0, 'no toolbar element in the log');
  const tree = await logTree();
  const rows = flatten(tree).filter((n) => n.role === 'article').map((n) => n.name);
  assert.deepEqual(rows, ['Bob Stone: First from Bob', 'Bob Stone: Second from Bob', 'Alice Martin: From Alice']);
  assert.deepEqual(offending(tree), []);
}, state);

e2eTest('a hovered row has its labelled toolbar, with its buttons', async () => {
  await (await message(page, 'Second from Bob')).hover();
  await page.getByRole('toolbar', { name: 'Message actions' }).getByRole('button', { name: 'React', exact: true }).waitFor();
  const toolbars = flatten(await logTree()).filter((n) => n.role === 'toolbar');
  assert.deepEqual(toolbars.map((t) => [t.name, t.children.map((c) => `${c.role} ${c.name}`)]),
    [['Message actions', ['button Reply', 'button React']]]);
}, state);
