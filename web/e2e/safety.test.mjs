// Bad input in messages is shown as text: HTML and script never become
// elements, `javascript:` links are not links, while ordinary links are made
// clickable safely. The app is served with its strict Content-Security-Policy
// and runs without a single violation of it.

import assert from 'node:assert/strict';
import { directConversation, makeContacts } from './lib/api.mjs';
import { cspViolations, sendOverWebSocket } from './lib/browser.mjs';
import { e2eTest, signedInUser, useServer } from './lib/fixture.mjs';
import { message, openConversation } from './lib/ui.mjs';

const state = useServer();
let alice;
let bob;

const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '<b>bold?</b> <a href="javascript:window.__pwned=5">click</a>',
  '"><svg onload=window.__pwned=3>',
];

e2eTest('the app is served with its Content-Security-Policy', async () => {
  alice = await signedInUser(state, 'alice', 'Alice Martin');
  bob = await signedInUser(state, 'bob', 'Bob Stone');
  const response = await fetch(`${state.server.baseURL}/`);
  const csp = response.headers.get('content-security-policy');
  assert.ok(csp, 'index.html has a Content-Security-Policy header');
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  // No inline script or style in the page itself.
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline <script>');
  assert.doesNotMatch(html, /<style/i, 'no <style> element');
  assert.doesNotMatch(html, /\sstyle="/i, 'no style attribute');
}, state);

e2eTest('HTML and script in a message are shown as text', async () => {
  await makeContacts(alice, bob);
  const direct = await directConversation(alice, bob);
  await sendOverWebSocket(bob.context, state.server.baseURL, bob.token, direct.id, HOSTILE);
  await openConversation(alice.page, 'Bob Stone');
  const log = alice.page.getByRole('log', { name: 'Messages' });
  for (const text of HOSTILE) {
    const article = await message(alice.page, text);
    // The exact characters are on screen...
    assert.ok((await article.innerText()).includes(text), `shown as typed: ${text}`);
  }
  // ...and none of them became an element or ran.
  for (const selector of ['script', 'svg', 'img[onerror]', 'img[src="x"]', 'b', 'a[href^="javascript:" i]']) {
    assert.equal(await log.locator(selector).count(), 0, `no ${selector} element`);
  }
  assert.equal(await alice.page.evaluate(() => window.__pwned), undefined);
}, state);

e2eTest('a javascript: link is not clickable; an https link is, safely', async () => {
  await bob.page.goto('/');
  await openConversation(bob.page, 'Alice Martin');
  const box = bob.page.getByRole('textbox', { name: 'Message' });
  await box.fill('javascript:window.__pwned=4 and javascript:alert(1)');
  await box.press('Enter');
  await box.fill('Map: https://example.org/trail?day=1');
  await box.press('Enter');
  const hostile = await message(alice.page, 'javascript:window.__pwned=4');
  assert.equal(await hostile.getByRole('link').count(), 0, 'no link made of javascript:');
  assert.equal(await hostile.locator('a[href^="javascript:" i]').count(), 0);
  await hostile.getByText('javascript:window.__pwned=4', { exact: false }).click();
  assert.equal(await alice.page.evaluate(() => window.__pwned), undefined);

  const safe = await message(alice.page, 'Map: https://example.org/trail?day=1');
  const link = safe.getByRole('link', { name: /example\.org/ });
  assert.equal(await link.getAttribute('href'), 'https://example.org/trail?day=1');
  const rel = (await link.getAttribute('rel')) ?? '';
  assert.match(rel, /noopener/);
  assert.match(rel, /noreferrer/);
}, state);

e2eTest('no Content-Security-Policy violation was reported', async () => {
  assert.deepEqual(cspViolations(alice.consoleErrors), []);
  assert.deepEqual(cspViolations(bob.consoleErrors), []);
  // The check can fail: an inline style element is refused, and reported.
  const reported = alice.page.waitForEvent('console', (m) => /Content Security Policy/i.test(m.text()));
  await alice.page.evaluate(() => {
    const style = document.createElement('style');
    style.textContent = 'body { outline: 1px solid red; }';
    document.head.append(style);
  });
  await reported;
  assert.equal(cspViolations(alice.consoleErrors).length, 1);
}, state);
