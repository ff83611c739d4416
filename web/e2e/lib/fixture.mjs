// One server and its users for a test file: `useServer()` starts parleyd
// before the file's tests and stops it after; `e2eTest()` runs a test and, when
// it fails, saves a screenshot of every open page in the artifacts folder so
// that the failure can be seen, not only read.

import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Parleyd, parleydPath, webRootPath } from './server.mjs';
import { artifactsDir, chromiumPath, openBrowser, sendOverWebSocket } from './browser.mjs';
import { directConversation, makeContacts, registerUser } from './api.mjs';
import { message, openConversation, signIn } from './ui.mjs';

/**
 * Starts one parleyd for the calling test file.
 * @returns {{server: Parleyd, browsers: Array<Awaited<ReturnType<typeof openBrowser>>>}}
 *   `server` is set once the `before` hook ran.
 */
export function useServer(options) {
  // What is missing is said once, when the file loads, not once per test.
  parleydPath();
  if (options?.webRoot === undefined) webRootPath();
  chromiumPath();
  const state = { server: null, browsers: [] };
  before(async () => {
    state.server = new Parleyd(options);
    await state.server.start();
  });
  after(async () => {
    await Promise.allSettled(state.browsers.map((b) => b.close()));
    if (state.server) await state.server.dispose();
  });
  return state;
}

/** Opens a browser for a user of `state`'s server; closed with the server. */
export async function browserFor(state, options) {
  const browser = await openBrowser(state.server.baseURL, options);
  state.browsers.push(browser);
  return browser;
}

/**
 * A user registered over REST and signed in through the app in a browser
 * of their own. Returns the REST user (api, token, username, displayName)
 * with `page`, `context` and `consoleErrors` of their browser.
 */
export async function signedInUser(state, prefix, displayName, browserOptions) {
  const user = await registerUser(state.server.baseURL, prefix, displayName);
  const browser = await browserFor(state, browserOptions);
  await signIn(browser.page, user);
  return { ...user, ...browser };
}

/**
 * Alice signed in, with the dialog with her contact Bob open: two messages
 * from him, then one from her, all on screen. Returns Alice (as
 * signedInUser does).
 */
export async function aliceInADialogWithBob(state) {
  const alice = await signedInUser(state, 'alice', 'Alice Martin');
  const bob = await registerUser(state.server.baseURL, 'bob', 'Bob Stone');
  await makeContacts(alice, bob);
  const direct = await directConversation(alice, bob);
  await sendOverWebSocket(alice.context, state.server.baseURL, bob.token, direct.id, ['First from Bob', 'Second from Bob']);
  await sendOverWebSocket(alice.context, state.server.baseURL, alice.token, direct.id, ['From Alice']);
  await openConversation(alice.page, 'Bob Stone');
  await message(alice.page, 'From Alice');
  return alice;
}

/**
 * A test that screenshots every open page of `state` when it fails. The
 * tests of a file are steps of one story: after a failed step the later
 * ones are skipped (they would only time out on what is missing).
 */
export function e2eTest(name, fn, state) {
  test(name, async (t) => {
    if (state.failed) {
      t.skip(`skipped: "${state.failed}" failed`);
      return;
    }
    try {
      await fn(t);
    } catch (error) {
      state.failed = name;
      const dir = artifactsDir();
      const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      let i = 0;
      for (const browser of state.browsers) {
        for (const page of browser.context.pages()) {
          i += 1;
          await page.screenshot({ path: path.join(dir, `failure-${slug}-${i}.png`), fullPage: true }).catch(() => {});
        }
      }
      // The server's own account of the failure (errors, closed sessions).
      if (state.server?.log) writeFileSync(path.join(dir, `failure-${slug}-parleyd.log`), state.server.log);
      throw error;
    }
  });
}
