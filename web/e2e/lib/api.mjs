// REST helpers for the browser tests: register users and seed data straight
// through parleyd's API (docs/openapi.yaml), and read back what the server
// stored. Every call that fails throws with the status and the error body.

/** The password every test user gets (long enough for the registration rules). */
export const PASSWORD = 'correct horse battery staple';

let counter = 0;
/**
 * A username unique within this process and across runs on one server: the
 * tests of one file share a server, so two users must never collide.
 */
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}${process.pid % 1000}${counter}`;
}

export class Api {
  /** @param {string} baseURL  http://127.0.0.1:PORT */
  constructor(baseURL, token = null) {
    this.baseURL = baseURL;
    this.token = token;
  }

  /** Sends one request; returns the parsed JSON body (or null for 204). */
  async request(method, path, body, { expect } = {}) {
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload;
    if (body instanceof Uint8Array) {
      headers['content-type'] = 'application/octet-stream';
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(this.baseURL + path, { method, headers, body: payload });
    const text = await response.text();
    const ok = expect === undefined ? response.ok : response.status === expect;
    if (!ok) {
      throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    }
    return text ? JSON.parse(text) : null;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body ?? {}); }
  delete(path) { return this.request('DELETE', path); }
}

/**
 * Registers an account and logs it in.
 * @returns {Promise<{api: Api, user: object, session: object, token: string, username: string, displayName: string}>}
 */
export async function registerUser(baseURL, prefix, displayName) {
  const username = uniqueName(prefix);
  const name = displayName ?? prefix[0].toUpperCase() + prefix.slice(1);
  const anonymous = new Api(baseURL);
  await anonymous.post('/api/v1/accounts', { username, password: PASSWORD, display_name: name });
  const login = await anonymous.post('/api/v1/sessions', { username, password: PASSWORD, device_name: 'API client' });
  return {
    api: new Api(baseURL, login.token),
    user: login.user,
    session: login.session,
    token: login.token,
    username,
    displayName: name,
  };
}

/** Makes two registered users contacts (an invitation sent and accepted). */
export async function makeContacts(a, b) {
  await a.api.post('/api/v1/contacts/invitations', { username: b.username });
  const { incoming } = await b.api.get('/api/v1/contacts/invitations');
  const invitation = incoming.find((i) => i.from.username === a.username);
  if (!invitation) throw new Error(`${b.username} has no invitation from ${a.username}`);
  await b.api.post(`/api/v1/contacts/invitations/${invitation.id}/accept`);
}

/** The direct conversation between a and b (created if needed). */
export async function directConversation(a, b) {
  const { conversation } = await a.api.post('/api/v1/conversations/direct', { username: b.username });
  return conversation;
}

/** A group owned by `owner` with the given members (contacts of the owner). */
export async function createGroup(owner, name, members) {
  const { conversation } = await owner.api.post('/api/v1/conversations/groups', {
    name,
    members: members.map((m) => m.username),
  });
  return conversation;
}

/** Every message of a conversation as the server stores it, oldest first. */
export async function history(user, conversationId) {
  const all = [];
  let after = 0;
  for (;;) {
    const page = await user.api.get(`/api/v1/conversations/${conversationId}/messages?after=${after}&limit=200`);
    all.push(...page.messages);
    if (!page.has_more || page.messages.length === 0) return all;
    after = page.messages[page.messages.length - 1].seq;
  }
}

/** Uploads bytes as a media file; returns the Media object. */
export async function upload(user, name, bytes) {
  const { media } = await user.api.request('POST', `/api/v1/media?name=${encodeURIComponent(name)}`, bytes);
  return media;
}
