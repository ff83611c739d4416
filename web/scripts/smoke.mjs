// A quick look at the app, not a test suite: drives two users through
// registration, invitation and a chat in headless Chromium against a running
// server (BASE, default http://127.0.0.1:4173 = `vite preview` proxying to
// parleyd), and saves screenshots to OUT (default /tmp/parley-shots).
//   node scripts/smoke.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const BASE = process.env.BASE ?? 'http://127.0.0.1:4173';
const OUT = process.env.OUT ?? '/tmp/parley-shots';
mkdirSync(OUT, { recursive: true });
const suffix = Date.now().toString(36).slice(-5);
const alice = `alice${suffix}`;
const bob = `bob${suffix}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
});
const errors = [];
async function user(name, display, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...options });
  const page = await context.newPage();
  if (process.env.WS_DEBUG) page.on('websocket', (ws) => { ws.on('framesent', (f) => console.log(name, '>', String(f.payload).slice(0, 150))); ws.on('framereceived', (f) => console.log(name, '<', String(f.payload).slice(0, 150))); });
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${name}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
  await page.goto(BASE);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Display name').fill(display);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
  await page.getByRole('status', { name: 'Connection' }).getByText('Online').waitFor();
  return page;
}
const shot = (page, name) => page.screenshot({ path: `${OUT}/${name}.png` });

try {
  const a = await user(alice, 'Alice Liddell');
  const b = await user(bob, 'Bob Marley');
  await shot(a, '01-empty');
  await a.getByRole('button', { name: 'Contacts' }).click();
  await a.getByLabel('Invite by username').fill(bob);
  await a.getByRole('button', { name: 'Invite', exact: true }).click();
  await a.getByText(`Invitation sent to ${bob}`).waitFor();
  await shot(a, '02-contacts-invited');
  await a.keyboard.press('Escape');
  await b.getByRole('button', { name: 'Contacts' }).click();
  await b.getByRole('button', { name: 'Accept' }).click();
  await b.getByRole('button', { name: 'Message Alice Liddell' }).click();
  await b.getByRole('textbox', { name: 'Message' }).fill('Hi Alice! Look at https://example.org/page, nice');
  await b.keyboard.press('Enter');
  await a.getByRole('alert', { name: 'New message' }).waitFor();
  await shot(a, '03-popup');
  await a.getByRole('alert', { name: 'New message' }).getByRole('button').first().click();
  await a.getByRole('log', { name: 'Messages' }).getByRole('article').first().waitFor();
  await a.getByRole('textbox', { name: 'Message' }).fill('Hello Bob');
  await a.keyboard.press('Enter');
  await b.getByRole('textbox', { name: 'Message' }).pressSequentially('typing something');
  await a.getByText('Bob Marley is typing…').waitFor();
  await a.getByRole('img', { name: 'Read' }).first().waitFor({ timeout: 10000 });
  const art = b.getByRole('article').filter({ hasText: 'Hello Bob' });
  await art.hover();
  await art.getByRole('button', { name: 'React' }).click();
  await b.getByRole('button', { name: 'thumbs up' }).click();
  await a.getByRole('button', { name: /👍 1/ }).waitFor();
  await shot(a, '04-dialog');
  await shot(b, '04-dialog-bob');
  const page = a;
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, '05-phone-dialog');
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await shot(page, '06-phone-list');
  console.log('ok');
} catch (e) {
  console.error('FAILED', e);
  process.exitCode = 1;
} finally {
  if (errors.length) console.log('console:', errors.join('\n'));
  await browser.close();
}
