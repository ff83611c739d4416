// Measures the web app's budgets (docs/benchmarks.md, "Web app budgets")
// against a real parleyd serving the built app, in Debian's Chromium:
//
//   1. first-screen JavaScript: the gzipped bytes of every script the
//      sign-in screen, and then the conversation list, load (from the
//      browser's network log, as sent on the wire);
//   2. first render of the conversation list from IndexedDB after a
//      navigation (the app's performance marks when it sets them, else the
//      time the list's first entry appears), median of several reloads;
//   3. a conversation of 50,000 stored messages: open it and scroll to the
//      top of what the device holds, with a Chromium trace; the longest
//      frame and the long tasks (> 50 ms) of the page's main thread;
//   4. Lighthouse accessibility and best-practices scores, signed out (the
//      sign-in screen) and signed in (the conversation list).
//
// Nothing here asserts: it measures and writes BENCH_OUT (default
// build/web-budgets/results.json) and a summary on stdout. Run it through
// bench/web/run.sh, which builds what is missing.

import { mkdirSync, writeFileSync, mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';
import { Parleyd } from '../../web/e2e/lib/server.mjs';
import { CHROMIUM_ARGS, chromiumPath, sendOverWebSocket } from '../../web/e2e/lib/browser.mjs';
import { registerUser, makeContacts, directConversation, createGroup, history } from '../../web/e2e/lib/api.mjs';
import { signIn, conversationList, conversationEntry, messageLog } from '../../web/e2e/lib/ui.mjs';

// A trace of a long scroll is hundreds of MB of JSON: more than one string
// may hold, so it is written an event at a time (the Trace Event format).
function writeTrace(file, events) {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, '{"traceEvents":[');
    events.forEach((event, i) => writeSync(fd, (i ? ',\n' : '\n') + JSON.stringify(event)));
    writeSync(fd, ']}\n');
  } finally {
    closeSync(fd);
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.resolve(process.env.BENCH_OUT ?? path.join(here, '..', '..', 'build', 'web-budgets', 'results.json'));
/** Messages in the big conversation. */
const BIG = Number(process.env.BENCH_BIG_MESSAGES ?? 50_000);
/** Wheel steps per trace segment (see segmentedTracer). */
const TRACE_SEGMENT_WHEELS = Number(process.env.BENCH_TRACE_SEGMENT_WHEELS ?? 100);
/** Reloads measured for the first render (the median is reported). */
const RELOADS = Number(process.env.BENCH_RELOADS ?? 11);
/**
 * Which measurements to make besides the first-screen JavaScript (which
 * also signs the profile in): render, scroll, lighthouse (all by default);
 * e.g. BENCH_PARTS=scroll for quick tries at the long scroll.
 */
/**
 * BENCH_ALLOC_PROFILE=1: V8's sampling heap profiler runs during the long
 * scroll, counting objects that garbage collection freed as well, and the
 * results say which functions allocated what per wheel step
 * (`big_alloc`). It slows the page: timings of such a run are not
 * comparable with others.
 */
const ALLOC_PROFILE = process.env.BENCH_ALLOC_PROFILE === '1';
const PARTS = new Set((process.env.BENCH_PARTS ?? 'render,scroll,lighthouse').split(',').map((p) => p.trim()));
const TIMEOUT_MS = 120_000;

const log = (...args) => console.error('[budgets]', ...args);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function launch(userDataDir, viewport = { width: 1280, height: 800 }) {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    baseURL: server.baseURL,
    viewport,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  return context;
}

/** Sums the encoded (on the wire) body sizes of the scripts a step loads. */
function scriptRecorder(page) {
  const scripts = [];
  const onResponse = async (response) => {
    const request = response.request();
    if (request.resourceType() !== 'script') return;
    try {
      const sizes = await request.sizes();
      const headers = await response.allHeaders();
      scripts.push({
        url: new URL(response.url()).pathname,
        status: response.status(),
        encoding: headers['content-encoding'] ?? 'identity',
        bytes: sizes.responseBodySize,
        fromServiceWorker: response.fromServiceWorker(),
      });
    } catch (error) {
      scripts.push({ url: response.url(), error: String(error) });
    }
  };
  page.on('response', onResponse);
  return {
    async stop() {
      page.off('response', onResponse);
      return scripts;
    },
  };
}

/**
 * What the page's WebSocket connections exchange: the frames by type (events
 * by event type), the position the hello resumed from and when `synced`
 * arrived.
 */
function socketRecorder(page) {
  const frames = [];
  page.on('websocket', (ws) => {
    const note = (dir) => (f) => {
      try {
        const j = JSON.parse(f.payload);
        frames.push({ t: Date.now(), dir, type: j.type, event: j.event?.type, position: j.position });
      } catch {
        // Not JSON: not the app's protocol.
      }
    };
    ws.on('framesent', note('sent'));
    ws.on('framereceived', note('received'));
  });
  return {
    /** Times in ms after `from`; `clicked`: when the conversation was clicked. */
    summary(from, clicked) {
      const counts = {};
      for (const f of frames) {
        const k = `${f.dir} ${f.type}${f.event ? ` ${f.event}` : ''}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      const hello = frames.find((f) => f.type === 'hello');
      const synced = frames.find((f) => f.type === 'synced' || f.type === 'resync_required');
      return {
        frames: counts,
        hello_position: hello?.position ?? null,
        synced_position: synced?.position ?? null,
        synced_after_navigation_ms: synced ? synced.t - from : null,
        clicked_after_navigation_ms: clicked - from,
      };
    },
  };
}

// ---------------------------------------------------------------- seeding
mkdirSync(path.dirname(outFile), { recursive: true });
const server = new Parleyd({ config: path.join(here, 'parleyd-budgets.toml') });
await server.start();
log(`parleyd at ${server.baseURL}, data in ${server.dataDir}`);
const results = { date: new Date().toISOString(), machine: { loadavg_start: loadavg() }, big_messages: BIG };
const profiles = [];
const profile = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-budgets-chromium-'));
  profiles.push(dir);
  return dir;
};

try {
  const alice = await registerUser(server.baseURL, 'alice', 'Alice Martin');
  const friends = [];
  const names = ['Bob Stone', 'Carol Diaz', 'Dan Okafor', 'Erin Walsh', 'Femi Adeyemi', 'Grace Liu', 'Hugo Petit', 'Ines Silva'];
  for (const name of names) {
    const friend = await registerUser(server.baseURL, name.split(' ')[0].toLowerCase(), name);
    await makeContacts(alice, friend);
    friends.push(friend);
  }
  const seedContext = await launch(profile());
  // A conversation list of direct chats and groups, each with some history.
  for (const friend of friends) {
    const conversation = await directConversation(alice, friend);
    await sendOverWebSocket(seedContext, server.baseURL, friend.token, conversation.id,
      Array.from({ length: 20 }, (_, i) => `${friend.displayName.split(' ')[0]} says hello, message ${i + 1}`));
  }
  for (let g = 0; g < 4; g += 1) {
    const group = await createGroup(alice, `Team ${g + 1}`, friends.slice(g, g + 4));
    await sendOverWebSocket(seedContext, server.baseURL, friends[g].token, group.id,
      Array.from({ length: 20 }, (_, i) => `Team ${g + 1} update ${i + 1}`));
  }

  // --------------------------------------------- 1. first-screen JS
  log('first-screen JavaScript');
  const userDir = profile();
  let context = await launch(userDir);
  let page = context.pages()[0];
  let recorder = scriptRecorder(page);
  await page.goto('/');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.waitForLoadState('networkidle');
  const signInScripts = await recorder.stop();
  recorder = scriptRecorder(page);
  await signIn(page, alice);
  await conversationEntry(page, 'Team 4').waitFor();
  await page.waitForLoadState('networkidle');
  const afterSignInScripts = await recorder.stop();
  const sum = (list) => list.reduce((total, s) => total + Math.max(0, s.bytes ?? 0), 0);
  results.first_screen_js = {
    sign_in_screen: { gzip_bytes: sum(signInScripts), scripts: signInScripts },
    loaded_after_sign_in: { gzip_bytes: sum(afterSignInScripts), scripts: afterSignInScripts },
    total_gzip_bytes: sum(signInScripts) + sum(afterSignInScripts),
  };
  log(`  ${results.first_screen_js.total_gzip_bytes} bytes`);

  // --------------------------------------------- 2. first render from IndexedDB
  if (PARTS.has('render')) {
  log('first render of the conversation list from IndexedDB');
  // Recorded by the page itself, before any of the app's code runs: the time
  // (since navigation start) at which the list first holds an entry.
  await context.addInitScript(() => {
    const seen = () => {
      const nav = [...document.querySelectorAll('nav')].find((n) => n.getAttribute('aria-label') === 'Conversations');
      return nav && nav.querySelector('a, li, [role="link"], [role="listitem"]');
    };
    const observer = new MutationObserver(() => {
      if (seen()) {
        performance.mark('budget:first-list-item');
        observer.disconnect();
      }
    });
    observer.observe(document, { childList: true, subtree: true });
  });
  const renders = [];
  const appMarks = [];
  for (let i = 0; i < RELOADS; i += 1) {
    await page.reload();
    await conversationEntry(page, 'Team 4').waitFor();
    const timing = await page.evaluate(() => {
      const mark = (name) => performance.getEntriesByName(name).map((e) => e.startTime)[0] ?? null;
      const app = performance.getEntriesByType('mark').filter((m) => !m.name.startsWith('budget:')).map((m) => ({ name: m.name, at: m.startTime }));
      return { firstItem: mark('budget:first-list-item'), app };
    });
    renders.push(timing.firstItem);
    appMarks.push(timing.app);
  }
  results.first_render = {
    reloads: RELOADS,
    first_list_item_ms: { median: median(renders), min: Math.min(...renders), max: Math.max(...renders), all: renders },
    app_marks_last_reload: appMarks.at(-1),
  };
  // With the server gone, the list can only come from IndexedDB.
  await server.kill();
  const offline = [];
  for (let i = 0; i < RELOADS; i += 1) {
    await page.reload();
    await conversationEntry(page, 'Team 4').waitFor();
    offline.push(await page.evaluate(() => performance.getEntriesByName('budget:first-list-item')[0]?.startTime ?? null));
  }
  results.first_render.server_stopped_first_list_item_ms = { median: median(offline), min: Math.min(...offline), max: Math.max(...offline), all: offline };
  await server.restart();
  log(`  median ${results.first_render.first_list_item_ms.median} ms (server stopped: ${results.first_render.server_stopped_first_list_item_ms.median} ms)`);
  }
  await context.close();

  // --------------------------------------------- 3. 50,000 messages
  if (PARTS.has('scroll')) {
  log(`seeding ${BIG} messages`);
  const bob = friends[0];
  const big = await createGroup(alice, 'Archive', [bob]);
  const seedStart = Date.now();
  const items = Array.from({ length: BIG }, (_, i) => `Archive message ${i + 1}: ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}`);
  // Alice's app is open meanwhile, so that her device stores every message
  // as it arrives, like a device that has been in the conversation all along.
  context = await launch(userDir);
  page = context.pages()[0];
  await page.goto('/');
  await conversationEntry(page, 'Team 4').waitFor();
  for (let start = 0; start < BIG; start += 5000) {
    await sendOverWebSocket(seedContext, server.baseURL, bob.token, big.id, items.slice(start, start + 5000), { window: 200 });
  }
  results.big_seed_ms = Date.now() - seedStart;
  const stored = await history(alice, big.id).then((m) => m.length);
  log(`  server holds ${stored} messages (${results.big_seed_ms} ms)`);
  // Wait for the device to hold them all: the app shows the last one.
  await conversationEntry(page, 'Archive').click();
  await messageLog(page).getByRole('article').filter({ hasText: `Archive message ${BIG}:` }).waitFor({ timeout: 600_000 });
  const storedOnDevice = await page.evaluate(async () => {
    const dbs = await indexedDB.databases();
    const name = dbs.map((d) => d.name).find((n) => n?.startsWith('parley-'));
    if (!name) return null;
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const count = await new Promise((resolve, reject) => {
      const request = db.transaction('messages').objectStore('messages').count();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return count;
  });
  results.big_device_messages = storedOnDevice;
  log(`  device stores ${storedOnDevice} messages`);

  // Open it again from a fresh navigation, traced, and scroll to the top.
  // What the app's connection does meanwhile is recorded (the catch-up the
  // server sends after the navigation, and when it ends), since opening
  // must not wait for it.
  const sockets = socketRecorder(page);
  const navigated = Date.now();
  await page.goto('/');
  await conversationEntry(page, 'Team 4').waitFor();
  const cdp = await context.newCDPSession(page);
  const tracer = segmentedTracer(cdp, outFile.replace(/\.json$/, '-trace.json'));
  // The page's own record of long animation frames and long tasks, kept
  // from before the click to the end of the scroll without a break: the
  // trace's segments have gaps (see segmentedTracer), this has none.
  await page.evaluate(() => {
    const seen = { frames: [], tasks: [] };
    globalThis.__budgetLong = seen;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.frames.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, blocking: e.blockingDuration });
    }).observe({ type: 'long-animation-frame' });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.tasks.push({ at: performance.timeOrigin + e.startTime, ms: e.duration });
    }).observe({ type: 'longtask' });
  });
  await tracer.start();
  const openStart = Date.now();
  await conversationEntry(page, 'Archive').click();
  const log50k = messageLog(page);
  await log50k.getByRole('article').filter({ hasText: `Archive message ${BIG}:` }).waitFor();
  results.big_open_ms = Date.now() - openStart;
  results.big_open_connection = sockets.summary(navigated, openStart);
  log(`  open ${results.big_open_ms} ms; connection: ${JSON.stringify(results.big_open_connection)}`);
  // The opening is a segment of its own.
  await quiet(page);
  await tracer.next();
  // The pointer over the middle of the dialog (the log itself may be as
  // tall as all its rows), where a person's wheel scrolls the messages.
  const box = await page.getByRole('main').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const first = log50k.getByRole('article').filter({ hasText: 'Archive message 1: ' });
  if (ALLOC_PROFILE) {
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  results.machine.loadavg_scroll_start = loadavg();
  const scrollStart = Date.now();
  let wheels = 0;
  let paused = 0;
  const frame = () => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
  // Scrolling as a person would (wheel steps, one per frame), until the
  // oldest stored message is on screen; the cap only ends a broken run.
  const SCROLL_CAP_MS = Number(process.env.BENCH_SCROLL_CAP_MS ?? 300_000);
  // At the top: the log scrolled to 0 with the oldest message in it (being
  // in the DOM alone is not enough: the list renders rows ahead of the
  // viewport, and measuring them may still move the view).
  //
  // Checked cheaply at every step: a locator's text and role matching runs
  // in the page, over every row, and its garbage (about 0.3 MB a step,
  // measured with BENCH_ALLOC_PROFILE) was collected by the page's GC as if
  // the app had made it. The scroll position is read through a handle held
  // from the start; the rows are matched only once it is 0.
  const logElement = await log50k.elementHandle();
  const atTop = async () => (await logElement.evaluate((el) => el.scrollTop === 0)) && (await first.count()) > 0;
  while (!(await atTop()) && Date.now() - scrollStart < SCROLL_CAP_MS) {
    await page.mouse.wheel(0, -2000);
    await frame();
    wheels += 1;
    // The scroll pauses while a segment of the trace is collected, and the
    // segment ends only once the page is quiet (what the last steps started
    // is done: pages read, rows added in idle time), so that no frame of
    // the scroll falls between two segments.
    if (wheels % TRACE_SEGMENT_WHEELS === 0) {
      const pause = Date.now();
      await quiet(page);
      await tracer.next();
      paused += Date.now() - pause;
    }
    if (wheels % 100 === 0) {
      const oldest = await log50k.getByRole('article').first().getAttribute('aria-label');
      log(`  ${wheels} wheel steps, ${Date.now() - scrollStart} ms, oldest shown: ${oldest?.slice(0, 60)}`);
    }
  }
  results.machine.loadavg_scroll_end = loadavg();
  if (ALLOC_PROFILE) results.big_alloc = allocationSummary((await cdp.send('HeapProfiler.stopSampling')).profile, wheels);
  results.big_scroll = {
    wheels,
    ms: Date.now() - scrollStart,
    paused_for_trace_ms: paused,
    reached_top: await atTop(),
    oldest_shown: await log50k.getByRole('article').first().getAttribute('aria-label'),
    rows_in_page: await log50k.getByRole('article').count(),
  };
  await quiet(page);
  results.big_trace = await tracer.finish();
  // After the trace: a screenshot is a frame copied out of the compositor,
  // which the trace would count as one of the scroll's (56.9 ms once).
  await page.screenshot({ path: outFile.replace(/\.json$/, '-top.png') });
  // What the page keeps alive at the top, after a full collection: the
  // scroll must not hold on to what it has passed.
  await cdp.send('HeapProfiler.collectGarbage');
  results.big_heap_after_scroll_mb = Math.round((await cdp.send('Runtime.getHeapUsage')).usedSize / 1e5) / 10;
  results.big_page_long = await page.evaluate(() => globalThis.__budgetLong);
  results.big_page_long = pageLongSummary(results.big_page_long, results.big_trace.segment_times);
  log(`  open ${results.big_open_ms} ms, ${wheels} wheel steps, longest frame ${results.big_trace.longest_frame_ms} ms, longest task ${results.big_trace.longest_task_ms} ms`);
  await context.close();
  }

  // --------------------------------------------- 4. Lighthouse
  if (PARTS.has('lighthouse')) {
    log('Lighthouse');
    results.lighthouse = {
      signed_out: await runLighthouse(`${server.baseURL}/`, profile()),
      signed_in: await runLighthouse(`${server.baseURL}/`, userDir),
    };
    log(`  ${JSON.stringify({ out: results.lighthouse.signed_out.scores, in: results.lighthouse.signed_in.scores })}`);
  }
  await seedContext.close();
} finally {
  await server.dispose();
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
}

results.machine.loadavg_end = loadavg();
writeFileSync(outFile, JSON.stringify(results, null, 2));
console.log(summary(results));

/**
 * Waits until the page has nothing left to do: idle periods of a full 50 ms
 * four times in a row (no frame, task or reply between them), and at least
 * 300 ms after the call (the list's scroll state ends 150 ms after the last
 * scroll event).
 */
function quiet(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const start = performance.now();
    let calm = 0;
    const check = (deadline) => {
      calm = deadline.timeRemaining() >= 45 && !deadline.didTimeout ? calm + 1 : 0;
      if (calm >= 4 && performance.now() - start >= 300) resolve();
      else requestIdleCallback(check, { timeout: 1000 });
    };
    requestIdleCallback(check, { timeout: 1000 });
  }));
}

/**
 * What a sampling heap profile says was allocated, per wheel step: in all,
 * and by function (self size: what the function itself allocated, the
 * engine's and the DOM's allocations made on its behalf under names in
 * parentheses), the top 30.
 */
function allocationSummary(profile, wheels) {
  const by = new Map();
  let total = 0;
  const walk = (node) => {
    const f = node.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`.trim();
    by.set(name, (by.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const c of node.children ?? []) walk(c);
  };
  walk(profile.head);
  const perStep = (bytes) => Math.round(bytes / Math.max(1, wheels));
  return {
    bytes_per_wheel_step: perStep(total),
    top: [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([fn, bytes]) => ({ fn, bytes_per_wheel_step: perStep(bytes) })),
  };
}

/**
 * The page's long animation frames and long tasks (all over 50 ms by
 * definition), and how many of them fell outside the trace's segments.
 */
function pageLongSummary(seen, times) {
  const outside = (e) => !times.some((t) => e.at >= t.from && e.at <= t.to);
  const top = (list) => list.map((e) => Math.round(e.ms * 10) / 10).sort((a, b) => b - a).slice(0, 10);
  return {
    long_animation_frames: seen.frames.length,
    long_animation_frames_ms: top(seen.frames),
    long_animation_frames_outside_trace: seen.frames.filter(outside).length,
    // Where those fell: ms after the nearest segment end before them.
    long_animation_frames_outside_trace_at: seen.frames.filter(outside).map((e) => {
      const end = times.filter((t) => t.to <= e.at).at(-1)?.to;
      return { after_segment_end_ms: end === undefined ? null : Math.round(e.at - end), ms: Math.round(e.ms) };
    }),
    long_tasks: seen.tasks.length,
    long_tasks_ms: top(seen.tasks),
    long_tasks_outside_trace: seen.tasks.filter(outside).length,
  };
}

/**
 * Traces a long scroll in segments. Chromium stops recording when its trace
 * buffer is full, which a whole 50,000-message scroll overflows (a single
 * trace kept its first 20 seconds of 110); Node could not hold it either.
 * Each segment is analysed when it ends and dropped; the figures of all of
 * them are combined, and the trace of the segment with the longest frame is
 * written for a look in DevTools.
 */
function segmentedTracer(cdp, file) {
  const segments = [];
  /** When each segment was recording (wall clock, ms): what lies between them was not traced. */
  const times = [];
  let events = [];
  let worst = { longest: -1, file: null };
  cdp.on('Tracing.dataCollected', ({ value }) => { for (const e of value) events.push(e); });
  const start = async () => {
    await cdp.send('Tracing.start', {
      traceConfig: {
        includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'toplevel', 'benchmark', 'cc', 'viz'],
      },
      transferMode: 'ReportEvents',
    });
    times.push({ from: Date.now(), to: null });
  };
  const end = async () => {
    const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    times.at(-1).to = Date.now();
    await cdp.send('Tracing.end');
    await done;
    const analysis = analyseTrace(events);
    segments.push(analysis);
    // The first segment's trace is always kept (it holds the opening), then
    // whichever has the longest frame so far.
    if (segments.length === 1 || (analysis.longest_frame_ms ?? 0) > worst.longest) {
      writeTrace(file, events);
      worst = { longest: analysis.longest_frame_ms ?? 0, segment: segments.length };
    }
    events = [];
  };
  return {
    start,
    async next() {
      await end();
      await start();
    },
    async finish() {
      await end();
      const traced = times.reduce((n, t) => n + (t.to - t.from), 0);
      const span = times.at(-1).to - times[0].from;
      return {
        ...combineTraces(segments),
        segments: segments.length,
        trace_file_segment: worst.segment,
        segment_times: times,
        traced_wall_ms: traced,
        untraced_wall_ms: span - traced,
      };
    },
  };
}

/** The figures of trace segments, combined as if from one trace. */
function combineTraces(segments) {
  const durations = segments.flatMap((s) => s.presented_ms);
  const contents = {};
  for (const s of segments) for (const { name, ms } of s.long_task_contents) contents[name] = (contents[name] ?? 0) + ms;
  const max = (key) => segments.reduce((m, s) => (s[key] == null ? m : Math.max(m ?? 0, s[key])), null);
  const sum = (key) => segments.reduce((n, s) => n + s[key], 0);
  return {
    main_thread_tasks: sum('main_thread_tasks'),
    longest_task_ms: max('longest_task_ms'),
    long_tasks_over_50ms: sum('long_tasks_over_50ms'),
    long_tasks_ms: segments.flatMap((s) => s.long_tasks_ms).sort((a, b) => b - a).slice(0, 20),
    long_task_contents: Object.entries(contents).sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, ms]) => ({ name, ms })),
    frames_presented: durations.length,
    frames_dropped: sum('frames_dropped'),
    longest_frame_ms: max('longest_frame_ms'),
    frames_over_50ms: sum('frames_over_50ms'),
    median_frame_ms: durations.length ? median(durations) : null,
    traced_ms: sum('traced_ms'),
    slow_frames: segments.flatMap((s) => s.slow_frames).sort((a, b) => b.ms - a.ms).slice(0, 12),
    gc: Object.fromEntries(['MinorGC', 'MajorGC'].map((name) => {
      const parts = segments.map((s) => s.gc[name]).filter(Boolean);
      return [name, {
        count: parts.reduce((n, g) => n + g.count, 0),
        ms: Math.round(parts.reduce((n, g) => n + g.ms, 0)),
        longest_ms: Math.round(parts.reduce((m, g) => Math.max(m, g.longest_ms), 0) * 10) / 10,
        freed_mb: Math.round(parts.reduce((n, g) => n + g.freed_bytes, 0) / 1e5) / 10,
        most_live_mb: Math.round(parts.reduce((m, g) => Math.max(m, g.most_live_bytes), 0) / 1e5) / 10,
      }];
    })),
  };
}

/**
 * The longest frame and the long tasks of the page's renderer.
 * Frames: Chromium's PipelineReporter slices (one per frame the compositor
 * produced or dropped, from its begin-frame to presentation), the same the
 * DevTools "Frames" track draws; tasks: the main thread's top-level tasks
 * (RunTask), of which those over 50 ms are "long tasks".
 */
function analyseTrace(events) {
  const mainThreads = new Set();
  for (const e of events) {
    if (e.name === 'thread_name' && e.args?.name === 'CrRendererMain') mainThreads.add(`${e.pid}:${e.tid}`);
  }
  const tasks = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && mainThreads.has(`${e.pid}:${e.tid}`));
  const long = tasks.filter((e) => e.dur > 50_000).map((e) => e.dur / 1000);
  // What the long tasks spent their time in: the events nested in each, by
  // name (inclusive time, so nested names overlap), summed over all of them.
  const inside = {};
  for (const task of tasks.filter((e) => e.dur > 50_000)) {
    for (const e of events) {
      if (e.ph !== 'X' || e.pid !== task.pid || e.tid !== task.tid || e === task) continue;
      if (e.ts < task.ts || e.ts + e.dur > task.ts + task.dur) continue;
      if (/RunTask|ThreadController|ProxyMain|MessageLoop/.test(e.name)) continue;
      inside[e.name] = (inside[e.name] ?? 0) + e.dur / 1000;
    }
  }
  const longTaskContents = Object.entries(inside).sort((a, b) => b[1] - a[1]).slice(0, 12)
    .map(([name, ms]) => ({ name, ms: Math.round(ms) }));
  // Garbage collections on the main thread: how many, how long, and how
  // much they freed (the garbage made, whatever the machine's load).
  const gc = {};
  for (const e of events) {
    if ((e.name !== 'MinorGC' && e.name !== 'MajorGC') || e.ph !== 'X' || !mainThreads.has(`${e.pid}:${e.tid}`)) continue;
    const g = (gc[e.name] ??= { count: 0, ms: 0, longest_ms: 0, freed_bytes: 0, most_live_bytes: 0 });
    g.count += 1;
    g.ms += e.dur / 1000;
    g.longest_ms = Math.max(g.longest_ms, e.dur / 1000);
    g.freed_bytes += Math.max(0, (e.args?.usedHeapSizeBefore ?? 0) - (e.args?.usedHeapSizeAfter ?? 0));
    // What the heap held after a collection: what the page keeps alive.
    g.most_live_bytes = Math.max(g.most_live_bytes, e.args?.usedHeapSizeAfter ?? 0);
  }
  const frames = pairAsync(events.filter((e) => e.name === 'PipelineReporter'), events);
  const presented = frames.filter((f) => f.state === 'STATE_PRESENTED_ALL' || f.state === 'STATE_PRESENTED_PARTIAL');
  const slow = presented.filter((f) => f.dur > 50).sort((a, b) => b.dur - a.dur);
  return {
    main_thread_tasks: tasks.length,
    longest_task_ms: tasks.length ? tasks.reduce((m, e) => Math.max(m, e.dur / 1000), 0) : null,
    long_tasks_over_50ms: long.length,
    long_tasks_ms: long.sort((a, b) => b - a).slice(0, 20),
    long_task_contents: longTaskContents,
    frames_presented: presented.length,
    frames_dropped: frames.filter((f) => f.state === 'STATE_DROPPED').length,
    longest_frame_ms: presented.length ? presented.reduce((m, f) => Math.max(m, f.dur), 0) : null,
    frames_over_50ms: presented.filter((f) => f.dur > 50).length,
    median_frame_ms: presented.length ? median(presented.map((f) => f.dur)) : null,
    presented_ms: presented.map((f) => Math.round(f.dur * 10) / 10),
    traced_ms: tasks.length ? (tasks.reduce((m, e) => Math.max(m, e.ts + e.dur), -Infinity) - tasks.reduce((m, e) => Math.min(m, e.ts), Infinity)) / 1000 : 0,
    slow_frames: slowFrameContents(events, slow.slice(0, 12)),
    gc,
  };
}

/**
 * What the slow frames waited for: each frame's pipeline stages (the
 * PipelineReporter's nested slices: begin-frame to main frame, commit,
 * activation, draw, submit to presentation…), and on every thread of the
 * browser, renderer and GPU processes the complete events that overlapped
 * the frame, by thread and name, clipped to the frame (top-level ones only,
 * so that nested names are not counted twice).
 */
function slowFrameContents(events, slow) {
  const threads = new Map();
  for (const e of events) {
    if (e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args?.name ?? String(e.tid));
  }
  // Top-level complete events per thread: those not inside another one.
  const byThread = new Map();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const key = `${e.pid}:${e.tid}`;
    if (!byThread.has(key)) byThread.set(key, []);
    byThread.get(key).push(e);
  }
  const topLevel = [];
  for (const [key, list] of byThread) {
    list.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    let end = -Infinity;
    for (const e of list) {
      if (e.ts >= end) {
        topLevel.push({ thread: threads.get(key) ?? key, e });
        end = e.ts + e.dur;
      }
    }
  }
  // Nested events that say what a task did (GC, layout, paint, raster, IPC).
  const telling = /GC|Layout|Paint|Raster|Decode|UpdateLayer|Commit|Draw|IndexedDB|mojo|ParseHTML|FunctionCall|EvaluateScript|TimerFire|FireAnimationFrame|EventDispatch|RecalculateStyles|UpdateLayoutTree|PrePaint|Layerize/;
  return slow.map((frame) => {
    const from = frame.ts;
    const to = frame.ts + frame.dur * 1000;
    const busy = {};
    const inner = {};
    for (const { thread, e } of topLevel) {
      const ms = (Math.min(to, e.ts + e.dur) - Math.max(from, e.ts)) / 1000;
      if (ms <= 0.5) continue;
      const name = `${thread} / ${e.name}`;
      busy[name] = (busy[name] ?? 0) + ms;
    }
    for (const e of events) {
      if (e.ph !== 'X' || !e.dur || !telling.test(e.name)) continue;
      const ms = (Math.min(to, e.ts + e.dur) - Math.max(from, e.ts)) / 1000;
      if (ms <= 0.5) continue;
      const name = `${threads.get(`${e.pid}:${e.tid}`) ?? e.tid} / ${e.name}`;
      inner[name] = (inner[name] ?? 0) + ms;
    }
    const top = (o, n) => Object.entries(o).sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));
    return { ms: Math.round(frame.dur * 10) / 10, stages: frame.stages, busy: top(busy, 10), inside: top(inner, 14) };
  });
}

/**
 * Pairs async begin/end ('b'/'e') trace events into slices (ms). Chromium
 * reuses ids, one frame after the other, so each end closes the oldest open
 * begin of its id.
 */
function pairAsync(events, all = events) {
  const open = new Map();
  const slices = [];
  for (const e of [...events].sort((a, b) => a.ts - b.ts)) {
    const key = `${e.pid}:${e.id2?.local ?? e.id2?.global ?? e.id}`;
    if (e.ph === 'b') {
      if (!open.has(key)) open.set(key, []);
      open.get(key).push(e);
    } else if (e.ph === 'e' && open.get(key)?.length) {
      const b = open.get(key).shift();
      const reporter = b.args?.frame_reporter ?? b.args?.chrome_frame_reporter;
      slices.push({ state: reporter?.state, dur: (e.ts - b.ts) / 1000, ts: b.ts, key, end: e.ts });
    }
  }
  // The stages of the slow frames: async slices of the same id inside them.
  const slow = slices.filter((s) => s.dur > 50);
  if (slow.length) {
    const wanted = new Set(slow.map((s) => s.key));
    const stages = new Map();
    const starts = new Map();
    for (const e of all) {
      if ((e.ph !== 'b' && e.ph !== 'e') || e.name === 'PipelineReporter') continue;
      const key = `${e.pid}:${e.id2?.local ?? e.id2?.global ?? e.id}`;
      if (!wanted.has(key)) continue;
      const k = `${key}|${e.name}`;
      if (e.ph === 'b') {
        if (!starts.has(k)) starts.set(k, []);
        starts.get(k).push(e.ts);
      } else if (starts.get(k)?.length) {
        if (!stages.has(key)) stages.set(key, []);
        stages.get(key).push({ name: e.name, ts: starts.get(k).shift(), end: e.ts });
      }
    }
    for (const s of slow) {
      s.stages = (stages.get(s.key) ?? [])
        .filter((st) => st.ts >= s.ts && st.end <= s.end)
        .map((st) => ({ name: st.name, ms: Math.round((st.end - st.ts) / 100) / 10 }))
        .filter((st) => st.ms >= 1);
    }
  }
  return slices;
}

/** Lighthouse's accessibility and best-practices audit of `url`. */
async function runLighthouse(url, userDataDir) {
  const chrome = await chromeLauncher.launch({
    chromePath: chromiumPath(),
    userDataDir,
    chromeFlags: ['--headless=new', ...CHROMIUM_ARGS],
  });
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: ['accessibility', 'best-practices'],
      // Keep the signed-in profile's storage: the audit is of what a
      // signed-in person sees.
      disableStorageReset: true,
      formFactor: 'desktop',
      screenEmulation: { mobile: false, width: 1280, height: 800, deviceScaleFactor: 1, disabled: false },
    });
    const { lhr } = result;
    const failing = (category) => lhr.categories[category].auditRefs
      .map((ref) => lhr.audits[ref.id])
      .filter((audit) => audit.score !== null && audit.score < 1 && audit.scoreDisplayMode !== 'informative' && audit.scoreDisplayMode !== 'notApplicable')
      .map((audit) => ({
        id: audit.id,
        title: audit.title,
        score: audit.score,
        // The elements at fault, so that they can be found in the app.
        elements: (audit.details?.items ?? []).slice(0, 10).map((item) => item.node?.snippet ?? item.node?.selector).filter(Boolean),
      }));
    return {
      final_url: lhr.finalDisplayedUrl,
      scores: {
        accessibility: Math.round(lhr.categories.accessibility.score * 100),
        best_practices: Math.round(lhr.categories['best-practices'].score * 100),
      },
      failing: { accessibility: failing('accessibility'), best_practices: failing('best-practices') },
    };
  } finally {
    await chrome.kill();
  }
}

function summary(r) {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const lines = [
    `first-screen JS (gzip): ${kb(r.first_screen_js.total_gzip_bytes)} ` +
      `(sign-in screen ${kb(r.first_screen_js.sign_in_screen.gzip_bytes)}, then ${kb(r.first_screen_js.loaded_after_sign_in.gzip_bytes)})  [budget 150 KiB]`,
  ];
  if (r.first_render) {
    lines.push(`first list entry after navigation: median ${r.first_render.first_list_item_ms.median?.toFixed(0)} ms ` +
      `(server stopped: ${r.first_render.server_stopped_first_list_item_ms.median?.toFixed(0)} ms)  [budget 300 ms]`);
  }
  if (r.big_trace) {
    lines.push(`${r.big_messages} messages: device holds ${r.big_device_messages}, open ${r.big_open_ms} ms, ` +
      `scroll to top ${r.big_scroll.reached_top ? 'reached' : 'NOT reached'} in ${r.big_scroll.wheels} wheel steps; ` +
      `${r.big_trace.frames_presented} frames, longest ${r.big_trace.longest_frame_ms?.toFixed(1)} ms (median ${r.big_trace.median_frame_ms?.toFixed(1)} ms, ${r.big_trace.frames_over_50ms} over 50 ms, ${r.big_trace.frames_dropped} dropped); ` +
      `longest task ${r.big_trace.longest_task_ms?.toFixed(1)} ms, ${r.big_trace.long_tasks_over_50ms} tasks > 50 ms; traced ${((r.big_trace.traced_wall_ms ?? 0) / 1000).toFixed(0)} s in ${r.big_trace.segments} segments, ${((r.big_trace.untraced_wall_ms ?? 0) / 1000).toFixed(0)} s between them (the scroll paused, the page quiet)  [budget: no frame > 50 ms]`);
    const gc = r.big_trace.gc;
    if (gc) {
      lines.push(`  garbage collection on the main thread: ${gc.MinorGC.count} minor (${gc.MinorGC.ms} ms, longest ${gc.MinorGC.longest_ms} ms, ${gc.MinorGC.freed_mb} MB freed), ` +
        `${gc.MajorGC.count} major (${gc.MajorGC.ms} ms, longest ${gc.MajorGC.longest_ms} ms, ${gc.MajorGC.freed_mb} MB freed, at most ${gc.MajorGC.most_live_mb} MB live after one); ` +
        `${((gc.MinorGC.freed_mb + gc.MajorGC.freed_mb) / Math.max(1, r.big_scroll.wheels)).toFixed(2)} MB per wheel step`);
    }
    if (r.big_page_long) {
      const l = r.big_page_long;
      lines.push(`  the page's own record, open to top without a break: ${l.long_animation_frames} long animation frames (> 50 ms main-thread frames; ${l.long_animation_frames_outside_trace} outside the trace) [${l.long_animation_frames_ms.join(', ')}], ` +
        `${l.long_tasks} long tasks (${l.long_tasks_outside_trace} outside the trace) [${l.long_tasks_ms.join(', ')}]`);
    }
  }
  if (r.lighthouse) {
    lines.push(`Lighthouse signed out: accessibility ${r.lighthouse.signed_out.scores.accessibility}, best practices ${r.lighthouse.signed_out.scores.best_practices}; ` +
      `signed in: ${r.lighthouse.signed_in.scores.accessibility}, ${r.lighthouse.signed_in.scores.best_practices}  [budget ≥ 95]`);
  }
  lines.push(`load average at the end: ${r.machine.loadavg_end?.map((x) => x.toFixed(2)).join(' ')}`);
  return lines.join('\n');
}
