// A quick look at attachments, not a test: an 80 MB file uploads with
// progress, continues after a page reload, arrives as a file card; a second
// upload is cancelled. Needs a running server (BASE, default
// http://127.0.0.1:18080 = parleyd --web-root dist).
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';

const BASE = process.env.BASE ?? 'http://127.0.0.1:18080';
const s = Date.now().toString(36).slice(-5);
const api = async (method, path, body, token) => {
  const r = await fetch(BASE + path, { method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return r.status === 204 ? null : r.json();
};
const us = [];
for (const n of [`ux${s}`, `uy${s}`]) {
  await api('POST', '/api/v1/accounts', { username: n, password: 'correct horse battery', display_name: n });
  us.push(await api('POST', '/api/v1/sessions', { username: n, password: 'correct horse battery' }));
}
await api('POST', '/api/v1/contacts/invitations', { username: us[1].user.username }, us[0].token);
await api('POST', '/api/v1/contacts/invitations', { username: us[0].user.username }, us[1].token);
const { conversation } = await api('POST', '/api/v1/conversations/direct', { username: us[1].user.username }, us[0].token);
writeFileSync('/tmp/big.bin', Buffer.alloc(80 * 1024 * 1024, 7));

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const p = await (await browser.newContext()).newPage();
p.on('pageerror', (e) => console.log('pageerror', e.message));
try {
  await p.goto(BASE);
  await p.getByLabel('Username').fill(us[0].user.username);
  await p.getByLabel('Password').fill('correct horse battery');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('status', { name: 'Connection' }).getByText('Online').waitFor();
  await p.goto(`${BASE}/c/${conversation.id}`);
  await p.getByRole('heading', { name: us[1].user.username }).waitFor();
  await p.locator('input[type=file]').setInputFiles('/tmp/big.bin');
  const bar = p.getByRole('progressbar', { name: 'Uploading big.bin' });
  await p.waitForFunction(() => Number(document.querySelector('progress')?.value ?? 0) > 0);
  console.log('progress before reload', await bar.getAttribute('value'));
  await p.reload();
  await p.waitForFunction(() => Number(document.querySelector('progress')?.value ?? 0) > 0);
  console.log('progress after reload', await bar.getAttribute('value'));
  await p.getByRole('button', { name: 'Download big.bin' }).waitFor({ timeout: 120000 });
  console.log('sent after the reload');
  await p.locator('input[type=file]').setInputFiles('/tmp/big.bin');
  await bar.waitFor();
  await p.getByRole('button', { name: 'Cancel upload big.bin' }).click();
  await bar.waitFor({ state: 'detached' });
  console.log('cancelled');
} catch (e) {
  console.log('FAILED', e.message.split('\n')[0]);
  await p.screenshot({ path: '/tmp/parley-shots/upload-failed.png' });
  process.exitCode = 1;
} finally {
  await browser.close();
}
