// What a person does in the web app, found by the accessible names the app
// gives its controls (roles and labels, as a screen reader finds them). The
// names are the contract between the app and these tests: when one changes,
// it changes here and nowhere else.
//
// Every step waits for an element or a state of the page, never for a time.

import { PASSWORD } from './api.mjs';

/** Escapes text for use inside a RegExp. */
export function literal(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The connection indicator (`Online`, `Connecting…` or `Offline`). */
export function connection(page) {
  return page.getByRole('status', { name: 'Connection' });
}

/** Waits until the connection indicator says `state`. */
export async function waitForConnection(page, state) {
  await connection(page).filter({ hasText: state }).waitFor();
}

/** Registers a new account through the sign-in screen and waits until online. */
export async function signUp(page, { username, displayName, password = PASSWORD }) {
  await page.goto('/');
  await page.getByRole('button', { name: 'Register' }).or(page.getByRole('link', { name: 'Register' })).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await waitForConnection(page, 'Online');
}

/** Signs in with an existing account and waits until online. */
export async function signIn(page, { username, password = PASSWORD }) {
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitForConnection(page, 'Online');
}

/** The conversation list. */
export function conversationList(page) {
  return page.getByRole('navigation', { name: 'Conversations' });
}

/** The entry of the conversation titled `title` in the list. */
export function conversationEntry(page, title) {
  const name = new RegExp(`^${literal(title)}`);
  const list = conversationList(page);
  return list.getByRole('link', { name }).or(list.getByRole('button', { name })).first();
}

/** Opens the conversation titled `title` and waits for its heading. */
export async function openConversation(page, title) {
  await conversationEntry(page, title).click();
  await page.getByRole('main').getByRole('heading', { name: title }).waitFor();
}

/** The message log of the open conversation. */
export function messageLog(page) {
  return page.getByRole('log', { name: 'Messages' });
}

/** The message articles whose accessible name or text contains `text`. */
export function messages(page, text) {
  return messageLog(page).getByRole('article').filter({ hasText: text });
}

/** The one message holding `text`, once shown. */
export async function message(page, text) {
  const article = messages(page, text).first();
  await article.waitFor();
  return article;
}

/**
 * Waits until the image `locator` finds is decoded, and returns its natural
 * width; a broken image rejects (HTMLImageElement.decode()).
 */
export async function imageLoaded(locator) {
  await locator.waitFor();
  return locator.evaluate(async (img) => {
    await img.decode();
    return img.naturalWidth;
  });
}

/** Types `text` in the composer and sends it with Enter. */
export async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/**
 * Clicks the per-message action `name` (`Reply`, `React`, `Edit`, `Delete`):
 * the buttons show on hover and focus.
 */
export async function messageAction(page, text, name) {
  const article = await message(page, text);
  await article.hover();
  await article.getByRole('button', { name, exact: true }).click();
}

/** Opens the contacts panel (a dialog named `Contacts`), unless it is open. */
export async function openContacts(page) {
  const panel = page.getByRole('dialog', { name: 'Contacts' });
  if (!(await panel.isVisible())) await page.getByRole('button', { name: 'Contacts' }).click();
  await panel.waitFor();
  return panel;
}

/** Closes the open panel (contacts, settings, new group) with Escape. */
export async function closePanel(page) {
  const panel = page.getByRole('dialog').first();
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
}

/** Invites `username` from the contacts screen. */
export async function invite(page, username) {
  await openContacts(page);
  await page.getByLabel('Invite by username').fill(username);
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
}

/** Accepts the pending invitation from the user shown as `from`. */
export async function acceptInvitation(page, from) {
  await openContacts(page);
  const invitation = page.getByRole('listitem', { name: `Invitation from ${from}` });
  await invitation.getByRole('button', { name: 'Accept' }).click();
  await invitation.waitFor({ state: 'detached' });
}

/** Opens the direct conversation with the contact shown as `name`, from the contacts screen. */
export async function messageContact(page, name) {
  await openContacts(page);
  await page.getByRole('button', { name: `Message ${name}` }).click();
  await page.getByRole('main').getByRole('heading', { name }).waitFor();
}

/** Reacts to the message holding `text` with the emoji the picker names `emojiName`. */
export async function react(page, text, emojiName) {
  await messageAction(page, text, 'React');
  const picker = page.getByRole('dialog', { name: /^React to/ });
  await picker.getByRole('button', { name: emojiName, exact: true }).click();
  await picker.waitFor({ state: 'detached' });
}
