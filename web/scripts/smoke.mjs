// A quick look at the app, not a test suite: drives two users through
// registration, invitation and a chat in headless Chromium against a running
// server (BASE, default http://127.0.0.1:4173 = `vite preview` proxying to
// parleyd), and saves screenshots to OUT (default /tmp/parley-shots).
//   node scripts/smoke.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';
import { execFileSync, spawn } from 'node:child_process';

/** A w×h PNG of horizontal colour bands (no image library needed). */
function png(w, h) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (y * 255) / h; raw[o + 1] = 120; raw[o + 2] = (x * 255) / w;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

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
  await page.setViewportSize({ width: 1200, height: 800 });
  await page.getByRole('link', { name: /^Bob Marley/ }).click();

  // A third user, a group with a mention.
  const carol = `carol${suffix}`;
  const c = await user(carol, 'Carol King');
  await a.getByRole('button', { name: 'Contacts' }).click();
  await a.getByLabel('Invite by username').fill(carol);
  await a.getByRole('button', { name: 'Invite', exact: true }).click();
  await a.getByText(`Invitation sent to ${carol}`).waitFor();
  await a.keyboard.press('Escape');
  await c.getByRole('button', { name: 'Contacts' }).click();
  await c.getByRole('button', { name: 'Accept' }).click();
  await c.keyboard.press('Escape');
  await a.getByRole('button', { name: 'New group' }).click();
  await a.getByLabel('Group name').fill('Book club');
  await a.getByLabel('Topic').fill('One book a month');
  await a.getByRole('checkbox', { name: /Bob Marley/ }).check();
  await a.getByRole('checkbox', { name: /Carol King/ }).check();
  await a.getByRole('button', { name: 'Create group' }).click();
  await a.getByRole('heading', { name: 'Book club' }).waitFor();
  const box = a.getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('Welcome @car');
  await a.getByRole('option', { name: /Carol King/ }).waitFor();
  await a.keyboard.press('Enter');
  await box.pressSequentially('pick the first book');
  await a.keyboard.press('Enter');
  await c.getByRole('link', { name: /^Book club.*1 unread.*mentioned you/ }).waitFor();
  // Typing on right after a completion keeps the order of the keys.
  await a.getByRole('article', { name: `Alice Liddell: Welcome @${carol} pick the first book` }).waitFor();
  await shot(c, '07-mention-list');

  // An image and a file.
  writeFileSync('/tmp/sunset.png', png(640, 400));
  writeFileSync('/tmp/notes.txt', 'Chapter one: the beginning.\n'.repeat(50));
  await a.locator('input[type=file]').setInputFiles(['/tmp/sunset.png']);
  await b.getByRole('link', { name: /^Book club/ }).click();
  await b.getByRole('img', { name: 'sunset.png' }).waitFor();
  await a.locator('input[type=file]').setInputFiles(['/tmp/notes.txt']);
  await b.getByRole('button', { name: 'Download notes.txt' }).waitFor();
  // A sticker.
  await a.getByRole('button', { name: 'Stickers' }).click();
  await a.getByRole('dialog', { name: 'Stickers' }).getByRole('button').first().click();
  await b.getByRole('img', { name: /^Sticker/ }).first().waitFor();
  // Reply, edit, delete.
  const first = b.getByRole('article').filter({ hasText: 'pick the first book' });
  await first.waitFor({ timeout: 10000 }).catch(async () => {
    console.log('articles in Bob\'s log:', await b.getByRole('log').getByRole('article').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))));
    console.log('rows:', await b.locator('.vrow').evaluateAll((els) => els.map((e) => `${e.dataset.key}@${e.style.transform}`)));
    console.log('scroll:', await b.getByRole('log').evaluate((e) => [e.scrollTop, e.scrollHeight, e.clientHeight]));
  });
  await first.hover();
  await first.getByRole('button', { name: 'Reply' }).click();
  await b.getByRole('textbox', { name: 'Message' }).fill('Dune!');
  await b.keyboard.press('Enter');
  await a.getByRole('article').filter({ hasText: 'Dune!' }).waitFor();
  const mine = a.getByRole('article', { name: /^Alice Liddell: Welcome/ });
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit' }).click();
  await box.fill('Welcome! pick the first two books');
  await a.keyboard.press('Enter');
  await b.getByText('pick the first two books').first().waitFor();
  await b.getByRole('textbox', { name: 'Message' }).fill('oops wrong chat');
  await b.keyboard.press('Enter');
  const oops = b.getByRole('article').filter({ hasText: 'oops wrong chat' });
  await oops.hover();
  await oops.getByRole('button', { name: 'Delete' }).click();
  await a.getByRole('article', { name: /Message deleted/ }).waitFor();
  await shot(a, '08-group');
  await shot(b, '08-group-bob');
  await b.emulateMedia({ colorScheme: 'dark' });
  await shot(b, '09-group-dark');
  await b.setViewportSize({ width: 390, height: 800 });
  await shot(b, '10-phone-dark');
  await b.setViewportSize({ width: 1200, height: 800 });
  await b.emulateMedia({ colorScheme: 'light' });

  // Offline: the server stops; a reload shows history; a message waits.
  if (process.env.PARLEYD_PID) {
    process.kill(Number(process.env.PARLEYD_PID), 'SIGTERM');
    await a.getByRole('status', { name: 'Connection' }).getByText(/Offline|Connecting…/).waitFor();
    await a.reload();
    await a.getByRole('article').filter({ hasText: 'Dune!' }).waitFor();
    await a.getByRole('textbox', { name: 'Message' }).fill('written offline');
    await a.keyboard.press('Enter');
    await shot(a, '11-offline');
    const server = spawn(process.env.PARLEYD_BIN, process.env.PARLEYD_ARGS.split(' '), { stdio: 'ignore', detached: true });
    console.log('parleyd restarted, pid', server.pid);
    writeFileSync('/tmp/parleyd.pid', String(server.pid));
    server.unref();
    await b.getByRole('article').filter({ hasText: 'written offline' }).waitFor({ timeout: 60000 });
    await a.getByRole('status', { name: 'Connection' }).getByText('Online').waitFor();
    const n = await b.getByRole('article').filter({ hasText: 'written offline' }).count();
    if (n !== 1) throw new Error(`offline message shown ${n} times`);
  }

  // A revoked session is signed out.
  const b2ctx = await browser.newContext();
  const b2 = await b2ctx.newPage();
  await b2.goto(BASE);
  await b2.getByLabel('Username').fill(bob);
  await b2.getByLabel('Password').fill('correct horse battery');
  await b2.getByRole('button', { name: 'Sign in' }).click();
  await b2.getByRole('navigation', { name: 'Conversations' }).waitFor();
  await b.getByRole('button', { name: 'Settings' }).click();
  await b.getByRole('button', { name: /^Revoke/ }).first().waitFor();
  await shot(b, '12-settings');
  await b.getByRole('button', { name: /^Revoke/ }).first().click();
  await b2.getByRole('button', { name: 'Sign in' }).waitFor();
  await shot(b2, '13-revoked');
  console.log('ok');
} catch (e) {
  console.error('FAILED', e);
  for (const [i, pg] of browser.contexts().flatMap((c) => c.pages()).entries()) await pg.screenshot({ path: `${OUT}/failed-${i}.png` }).catch(() => undefined);
  process.exitCode = 1;
} finally {
  if (errors.length) console.log('console:', errors.join('\n'));
  await browser.close();
}
