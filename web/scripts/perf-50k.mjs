// A quick look at the long-history path, not a benchmark: stores 50,000
// messages of one conversation in the app's IndexedDB, opens it, scrolls to
// the top of what is stored, and prints the longest animation frames
// (requestAnimationFrame deltas). Needs a running server (BASE, default
// http://127.0.0.1:4173 = `vite preview` proxying to parleyd).
import { chromium } from 'playwright-core';

const BASE = process.env.BASE ?? 'http://127.0.0.1:4173';
const N = Number(process.env.N ?? 50000);
const s = Date.now().toString(36).slice(-5);
const api = async (method, path, body, token) => {
  const res = await fetch(BASE + path, { method, headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return res.status === 204 ? null : res.json();
};
const users = [];
for (const name of [`px${s}`, `py${s}`]) {
  await api('POST', '/api/v1/accounts', { username: name, password: 'correct horse battery', display_name: name });
  users.push(await api('POST', '/api/v1/sessions', { username: name, password: 'correct horse battery' }));
}
const [x, y] = users;
await api('POST', '/api/v1/contacts/invitations', { username: y.user.username }, x.token);
await api('POST', '/api/v1/contacts/invitations', { username: x.user.username }, y.token);
const { conversation } = await api('POST', '/api/v1/conversations/direct', { username: y.user.username }, x.token);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
page.on('pageerror', (e) => console.log('pageerror', e.message));
page.on('console', (m) => console.log('page:', m.text()));
await page.goto(BASE);
await page.getByLabel('Username').fill(x.user.username);
await page.getByLabel('Password').fill('correct horse battery');
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('status', { name: 'Connection' }).getByText('Online').waitFor();
await page.getByRole('link', { name: new RegExp(`^${y.user.username}`) }).waitFor();

const t0 = Date.now();
await page.evaluate(async ({ uid, cid, peer, me, n }) => {
  const db = await new Promise((res, rej) => { const r = indexedDB.open(`parley-${uid}`); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
  const start = Date.now() - n * 60_000;
  const msg = (seq) => ({ id: 1_000_000 + seq, conversation_id: cid, seq, position: seq, sender_id: seq % 3 ? peer : me, client_id: `perf-${seq}`,
    text: seq % 7 === 0 ? `Message ${seq}: a longer one that wraps over a couple of lines to give the list rows of different heights, with a link https://example.org/${seq}` : `Message ${seq}`,
    reply_to: null, mentions: [], reactions: seq % 11 === 0 ? [{ emoji: '👍', user_ids: [peer] }] : [], attachments: [], created_at: start + seq * 60_000, edited_at: null, deleted: false, sticker: null });
  for (let base = 1; base <= n; base += 5000) {
    await new Promise((res, rej) => {
      const tx = db.transaction('messages', 'readwrite');
      for (let seq = base; seq < base + 5000 && seq <= n; seq++) tx.objectStore('messages').put(msg(seq));
      tx.oncomplete = res; tx.onerror = () => rej(tx.error);
    });
  }
  await new Promise((res, rej) => {
    const tx = db.transaction('conversations', 'readwrite');
    const store = tx.objectStore('conversations');
    const get = store.get(cid);
    get.onsuccess = () => store.put({ ...get.result, last_seq: n, read_seq: n, last_message: msg(n), last_activity: start + n * 60_000 });
    tx.oncomplete = res; tx.onerror = () => rej(tx.error);
  });
  db.close();
}, { uid: x.user.id, cid: conversation.id, peer: y.user.id, me: x.user.id, n: N });
console.log(`stored ${N} messages in ${Date.now() - t0} ms`);

await page.reload();
const t1 = Date.now();
await page.getByRole('link', { name: new RegExp(`^${y.user.username}`) }).click();
await page.getByRole('article', { name: new RegExp(`Message ${N}$`) }).waitFor();
console.log(`opened in ${Date.now() - t1} ms`);
const cdp = process.env.PROFILE ? await page.context().newCDPSession(page) : null;
if (cdp) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.start'); }
const result = await page.evaluate(async (n) => {
  const log = document.querySelector('[role=log]');
  const frames = [];
  let last = performance.now();
  let running = true;
  const tick = (t) => { frames.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const started = performance.now();
  let lastLog = started;
  while (performance.now() - started < 120_000) {
    if (performance.now() - lastLog > 5000) { lastLog = performance.now(); console.log('top row', document.querySelector('.vrow article')?.getAttribute('aria-label'), 'scrollTop', log.scrollTop, 'height', log.scrollHeight); }
    log.scrollTop = Math.max(0, log.scrollTop - 4000);
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    if (log.scrollTop === 0 && document.querySelector(`[aria-label$="Message 1"]`)) break;
  }
  running = false;
  const sorted = [...frames].sort((a, b) => b - a);
  return { ms: Math.round(performance.now() - started), frames: frames.length, worst: sorted.slice(0, 8).map(Math.round), reachedTop: !!document.querySelector(`[aria-label$="Message 1"]`), domRows: document.querySelectorAll('.vrow').length };
}, N);
console.log(JSON.stringify(result));
if (cdp) {
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const [id, c] of counts) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + c); }
  const total = profile.samples.length;
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, c]) => `${(100 * c / total).toFixed(1)}% ${k}`).join('\n'));
}
await page.screenshot({ path: '/tmp/parley-shots/50k-top.png' });
await browser.close();
