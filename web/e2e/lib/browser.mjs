// Debian's Chromium, driven headless by playwright-core. Each user gets a
// browser of their own with a fresh user-data-dir, so IndexedDB, the service
// worker and the HTTP cache are real and persist across reloads, exactly as
// for a person (and nothing leaks between users).

import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { webDir } from './server.mjs';

/** The browser: `CHROMIUM`, else Debian's package. */
export function chromiumPath() {
  const p = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(p)) {
    throw new Error(`Chromium not found at ${p}: install Debian's chromium package (scripts/install-deps.sh) or set CHROMIUM`);
  }
  return p;
}

/**
 * Generous waits: a 2-core CI machine runs parleyd, up to three Chromiums and
 * the test at once. Every wait is for an element or event; this is only how
 * long before it counts as a failure.
 */
export const TIMEOUT_MS = 20_000;

/** Where screenshots and failure traces go: `E2E_ARTIFACTS`, else build/e2e-artifacts/. */
export function artifactsDir() {
  const dir = path.resolve(process.env.E2E_ARTIFACTS ?? path.join(webDir, '..', 'build', 'e2e-artifacts'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Flags for Chromium in a container without a display or a GPU. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  // Hidden or occluded pages of a headless browser must not be throttled:
  // two users' pages run side by side and both must react at once.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/**
 * One user's browser.
 * @param {string} baseURL the server's origin
 * @param {{viewport?: {width: number, height: number}, colorScheme?: 'light'|'dark', isMobile?: boolean}} [options]
 * @returns {Promise<{context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, consoleErrors: string[], close: () => Promise<void>}>}
 */
export async function openBrowser(baseURL, options = {}) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'parley-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    baseURL,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? 'light',
    isMobile: options.isMobile ?? false,
    hasTouch: options.isMobile ?? false,
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS * 2);
  // Errors the page reports: CSP violations and uncaught exceptions.
  const consoleErrors = [];
  const watch = (page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    consoleErrors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Console errors that are Content-Security-Policy violations. */
export function cspViolations(consoleErrors) {
  return consoleErrors.filter((text) => /Content Security Policy/i.test(text));
}

/**
 * Sends messages as `user` over the WebSocket protocol (docs/protocol.md),
 * from a blank page of the server's origin in `context`, and waits for every
 * ack. Node 20 has no WebSocket; the browser's is the real client anyway.
 * At most `window` sends are unacknowledged at a time, so that seeding many
 * messages streams instead of queueing them all in the socket.
 * @param {Array<string | {text?: string, sticker?: number, attachments?: string[], reply_to?: number}>} items
 * @returns {Promise<object[]>} the acks, in order
 */
export async function sendOverWebSocket(context, baseURL, token, conversationId, items, { window = 100 } = {}) {
  const page = await context.newPage();
  try {
    await page.goto(`${baseURL}/healthz`);
    return await page.evaluate(
      ({ token, conversationId, items, window }) =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
          const acks = new Array(items.length);
          const run = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
          let sent = 0;
          let acked = 0;
          const pump = () => {
            while (sent < items.length && sent - acked < window) {
              const item = items[sent];
              const body = typeof item === 'string' ? { text: item } : item;
              socket.send(JSON.stringify({
                type: 'send', conversation_id: conversationId, client_id: `seed-${run}-${sent}`, ref: String(sent), ...body,
              }));
              sent += 1;
            }
          };
          socket.onerror = () => reject(new Error('WebSocket error'));
          socket.onclose = (event) => reject(new Error(`WebSocket closed ${event.code} ${event.reason}`));
          socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', token }));
          socket.onmessage = (event) => {
            const frame = JSON.parse(event.data);
            if (frame.type === 'synced') {
              pump();
            } else if (frame.type === 'ack') {
              acks[Number(frame.ref)] = frame;
              acked += 1;
              if (acked === items.length) {
                socket.onclose = null;
                socket.close();
                resolve(acks);
              } else {
                pump();
              }
            } else if (frame.type === 'error') {
              reject(new Error(`send refused: ${frame.code} ${frame.message}`));
            }
          };
        }),
      { token, conversationId, items, window },
    );
  } finally {
    await page.close();
  }
}
