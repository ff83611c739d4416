'use strict';
// The baseline for parley-bench: a chat relay as one would first write it on
// Node.js with the `ws` package. It speaks the part of Parley's protocol the
// benchmark scenarios use, with the same request and frame shapes:
//
//   REST  POST /api/v1/accounts, /api/v1/sessions,
//         /api/v1/contacts/invitations, /api/v1/contacts/invitations/:id/accept,
//         /api/v1/conversations/direct, /api/v1/conversations/groups
//   /ws   hello (with resume from a position) -> welcome, replayed events, synced;
//         send -> ack + message.new to every member's connections;
//         typing, read (receipt.read to the members), ping -> pong.
//
// Everything lives in memory and is gone when the process ends: no
// durability, no presence, passwords hashed with one SHA-256 (setup speed,
// not security, is what matters here). It is a plain, reasonable
// implementation, not a deliberately slow one.
//
// usage: node server.js [--listen HOST:PORT]   (prints "listening address=HOST:PORT")

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');

const MAX_BODY_BYTES = 64 * 1024;
const MAX_FRAME_BYTES = 64 * 1024;
const MAX_RESUME_EVENTS = 10000; // per user; beyond, a resuming device is told to resync
const MAX_TEXT_CHARS = 4000;
const HELLO_TIMEOUT_MS = 10000;
const PING_INTERVAL_MS = 15000; // a connection that misses a ping round is dropped
const TYPING_INTERVAL_MS = 2000;

// --- state -----------------------------------------------------------------

let nextId = 1;
let position = 0;
const usersByName = new Map(); // username -> user
const usersById = new Map();
const sessions = new Map(); // token -> { id, user }
const invitations = new Map(); // id -> { id, from, to, createdAt }
const conversations = new Map(); // id -> conversation
const directByKey = new Map();

function newUser(username, password, displayName) {
  const salt = crypto.randomBytes(16).toString('hex');
  const user = {
    id: nextId++,
    username,
    displayName,
    salt,
    hash: hashPassword(salt, password),
    createdAt: Date.now(),
    contacts: new Map(), // user id -> since
    sockets: new Set(),
    log: [], // recent { pos, frame } for resuming devices
    trimmedThrough: 0, // the newest position trimmed from the log
    clientIds: new Map(), // client_id -> message, for idempotent sends
  };
  usersByName.set(username, user);
  usersById.set(user.id, user);
  return user;
}

function hashPassword(salt, password) {
  return crypto.createHash('sha256').update(salt).update(password).digest('hex');
}

function publicUser(user) {
  return { id: user.id, username: user.username, display_name: user.displayName, status_text: '', avatar_media_id: null };
}

function conversationView(c) {
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    topic: '',
    created_by: c.createdBy,
    created_at: c.createdAt,
    last_seq: c.lastSeq,
    members: [...c.members.keys()].map((id) => ({ user: publicUser(usersById.get(id)), role: 'member' })),
  };
}

// An event of the user's stream: numbered, kept for resuming, sent to every
// connected device of each recipient. One serialized frame for all.
function publish(recipients, event) {
  const pos = ++position;
  const frame = JSON.stringify({ type: 'event', position: pos, event });
  for (const user of recipients) {
    user.log.push({ pos, frame });
    if (user.log.length > 2 * MAX_RESUME_EVENTS) {
      const dropped = user.log.splice(0, user.log.length - MAX_RESUME_EVENTS);
      user.trimmedThrough = dropped[dropped.length - 1].pos;
    }
    for (const ws of user.sockets) {
      if (ws.synced) ws.send(frame);
    }
  }
  return pos;
}

// --- REST ------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'payload_too_large', 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size === 0) return resolve({});
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        resolve(value);
      } catch (e) {
        reject(new ApiError(400, 'malformed_request', 'body is not a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function authenticate(req) {
  const header = req.headers.authorization || '';
  const match = /^bearer (.+)$/i.exec(header);
  const session = match && sessions.get(match[1]);
  if (!session) throw new ApiError(401, 'unauthorized', 'a valid session token is required');
  return session.user;
}

function userNamed(name) {
  const user = typeof name === 'string' && usersByName.get(name.toLowerCase());
  if (!user) throw new ApiError(404, 'not_found', 'no such user');
  return user;
}

function requireString(body, field) {
  if (typeof body[field] !== 'string') throw new ApiError(422, 'validation_failed', `${field}: is required`);
  return body[field];
}

function makeContacts(a, b) {
  const now = Date.now();
  a.contacts.set(b.id, now);
  b.contacts.set(a.id, now);
  publish([a], { type: 'contact.added', contact: { user: publicUser(b), since: now } });
  publish([b], { type: 'contact.added', contact: { user: publicUser(a), since: now } });
  return now;
}

function newConversation(kind, name, creator, members) {
  const c = { id: nextId++, kind, name, createdBy: creator.id, createdAt: Date.now(), lastSeq: 0, members: new Map() };
  for (const user of members) c.members.set(user.id, { user, readSeq: 0 });
  conversations.set(c.id, c);
  return c;
}

const routes = {
  'POST /api/v1/accounts': async (req, body) => {
    const username = requireString(body, 'username').toLowerCase();
    const password = requireString(body, 'password');
    const displayName = requireString(body, 'display_name');
    if (!/^[a-z][a-z0-9_.]{2,31}$/.test(username)) throw new ApiError(422, 'validation_failed', 'username: invalid');
    if (password.length < 8) throw new ApiError(422, 'validation_failed', 'password: too short');
    if (usersByName.has(username)) throw new ApiError(409, 'username_taken', 'username is taken');
    const user = newUser(username, password, displayName);
    return [201, { user: { ...publicUser(user), created_at: user.createdAt } }];
  },

  'POST /api/v1/sessions': async (req, body) => {
    const user = usersByName.get(requireString(body, 'username').toLowerCase());
    const password = requireString(body, 'password');
    if (!user || hashPassword(user.salt, password) !== user.hash) {
      throw new ApiError(401, 'invalid_credentials', 'wrong username or password');
    }
    const token = crypto.randomBytes(32).toString('base64url');
    const session = { id: nextId++, user, deviceName: body.device_name || 'unknown device', createdAt: Date.now() };
    sessions.set(token, session);
    return [201, {
      token,
      session: { id: session.id, device_name: session.deviceName, created_at: session.createdAt, current: true },
      user: { ...publicUser(user), created_at: user.createdAt },
    }];
  },

  'POST /api/v1/contacts/invitations': async (req, body) => {
    const me = authenticate(req);
    const target = userNamed(requireString(body, 'username'));
    if (target === me) throw new ApiError(422, 'validation_failed', 'username: cannot invite yourself');
    if (me.contacts.has(target.id)) throw new ApiError(409, 'already_contacts', 'already contacts');
    for (const invitation of invitations.values()) {
      if (invitation.from === target && invitation.to === me) {
        invitations.delete(invitation.id); // they invited us first: this accepts
        const since = makeContacts(me, target);
        return [200, { state: 'accepted', contact: { user: publicUser(target), since } }];
      }
      if (invitation.from === me && invitation.to === target) {
        throw new ApiError(409, 'invitation_exists', 'invitation already sent');
      }
    }
    const invitation = { id: nextId++, from: me, to: target, createdAt: Date.now() };
    invitations.set(invitation.id, invitation);
    const view = { id: invitation.id, created_at: invitation.createdAt };
    publish([target], { type: 'contact.invitation_received', invitation: { ...view, from: publicUser(me) } });
    publish([me], { type: 'contact.invitation_sent', invitation: { ...view, to: publicUser(target) } });
    return [201, { state: 'pending', invitation: { ...view, to: publicUser(target) } }];
  },

  'POST /api/v1/contacts/invitations/:id/accept': async (req, body, id) => {
    const me = authenticate(req);
    const invitation = invitations.get(id);
    if (!invitation || invitation.to !== me) throw new ApiError(404, 'not_found', 'no such invitation');
    invitations.delete(id);
    const since = makeContacts(invitation.from, me);
    return [200, { contact: { user: publicUser(invitation.from), since } }];
  },

  'POST /api/v1/conversations/direct': async (req, body) => {
    const me = authenticate(req);
    const other = userNamed(requireString(body, 'username'));
    if (other === me) throw new ApiError(422, 'validation_failed', 'username: cannot be yourself');
    if (!me.contacts.has(other.id)) throw new ApiError(403, 'forbidden', 'direct conversations are between contacts');
    const key = `${Math.min(me.id, other.id)}:${Math.max(me.id, other.id)}`;
    const existing = directByKey.get(key);
    if (existing) return [200, { conversation: conversationView(existing) }];
    const c = newConversation('direct', '', me, [me, other]);
    directByKey.set(key, c);
    return [201, { conversation: conversationView(c) }];
  },

  'POST /api/v1/conversations/groups': async (req, body) => {
    const me = authenticate(req);
    const name = requireString(body, 'name');
    const names = Array.isArray(body.members) ? body.members : [];
    const members = [me];
    for (const username of names) {
      const user = userNamed(username);
      if (user === me || members.includes(user)) continue;
      if (!me.contacts.has(user.id)) {
        throw new ApiError(422, 'validation_failed', `members: ${user.username} is not one of your contacts`);
      }
      members.push(user);
    }
    const c = newConversation('group', name, me, members);
    return [201, { conversation: conversationView(c) }];
  },
};

async function handleRequest(req, res) {
  try {
    const path = req.url.split('?')[0];
    let handler = routes[`${req.method} ${path}`];
    let id;
    const accept = /^\/api\/v1\/contacts\/invitations\/(\d+)\/accept$/.exec(path);
    if (!handler && accept && req.method === 'POST') {
      handler = routes['POST /api/v1/contacts/invitations/:id/accept'];
      id = Number(accept[1]);
    }
    if (!handler) throw new ApiError(404, 'not_found', 'no such route');
    const body = await readJson(req);
    const [status, reply] = await handler(req, body, id);
    send(res, status, reply);
  } catch (e) {
    if (e instanceof ApiError) {
      send(res, e.status, { error: { code: e.code, message: e.message } });
    } else {
      console.error('request failed:', e);
      send(res, 500, { error: { code: 'internal', message: 'internal error' } });
    }
  }
}

// --- WebSocket -------------------------------------------------------------

function frameError(ws, code, message, ref) {
  const frame = { type: 'error', code, message };
  if (ref !== undefined) frame.ref = ref;
  ws.send(JSON.stringify(frame));
}

function hello(ws, frame) {
  const session = typeof frame.token === 'string' && sessions.get(frame.token);
  if (frame.type !== 'hello' || !session) {
    ws.close(4401, 'hello: a valid token is required');
    return;
  }
  const user = session.user;
  ws.user = user;
  ws.sessionId = session.id;
  ws.send(JSON.stringify({
    type: 'welcome',
    user_id: user.id,
    session_id: session.id,
    presence: [],
    limits: { max_frame_bytes: MAX_FRAME_BYTES, idle_timeout_ms: 2 * PING_INTERVAL_MS },
  }));
  user.sockets.add(ws);
  const from = frame.position;
  if (Number.isInteger(from)) {
    const log = user.log;
    // The log holds everything after `from` unless entries after it were
    // trimmed. (Positions are global, so a gap before the log's first entry
    // only means the user had no events then.)
    if (from > position || from < user.trimmedThrough) {
      ws.send(JSON.stringify({ type: 'resync_required', position }));
    } else {
      let i = log.length;
      while (i > 0 && log[i - 1].pos > from) i--;
      for (; i < log.length; i++) ws.send(log[i].frame);
      ws.send(JSON.stringify({ type: 'synced', position }));
    }
  } else {
    ws.send(JSON.stringify({ type: 'synced', position }));
  }
  ws.synced = true;
}

function member(conversationId, user) {
  const c = conversations.get(conversationId);
  if (!c || !c.members.has(user.id)) throw new ApiError(404, 'not_found', 'no such conversation');
  return c;
}

function handleSend(ws, frame) {
  const user = ws.user;
  const clientId = frame.client_id;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 64) {
    throw new ApiError(422, 'validation_failed', 'client_id: must be 1 to 64 characters');
  }
  if (typeof frame.text !== 'string' || frame.text.length === 0 || frame.text.length > MAX_TEXT_CHARS) {
    throw new ApiError(422, 'validation_failed', 'text: must be 1 to 4000 characters');
  }
  let message = user.clientIds.get(clientId);
  const duplicate = message !== undefined;
  if (!duplicate) {
    const c = member(frame.conversation_id, user);
    const seq = ++c.lastSeq;
    message = {
      id: nextId++,
      conversation_id: c.id,
      seq,
      position: position + 1,
      sender_id: user.id,
      client_id: clientId,
      text: frame.text,
      reply_to: null,
      mentions: [],
      reactions: [],
      created_at: Date.now(),
      edited_at: null,
      deleted: false,
    };
    user.clientIds.set(clientId, message);
    c.members.get(user.id).readSeq = seq;
    const recipients = [];
    for (const m of c.members.values()) recipients.push(m.user);
    publish(recipients, { type: 'message.new', conversation_id: c.id, message });
  }
  const ack = {
    type: 'ack',
    client_id: clientId,
    conversation_id: message.conversation_id,
    message_id: message.id,
    seq: message.seq,
    position: message.position,
    created_at: message.created_at,
    duplicate,
  };
  if (frame.ref !== undefined) ack.ref = frame.ref;
  ws.send(JSON.stringify(ack));
}

function handleTyping(ws, frame) {
  const c = member(frame.conversation_id, ws.user);
  const now = Date.now();
  const last = ws.lastTyping.get(c.id) || 0;
  if (now - last < TYPING_INTERVAL_MS) return;
  ws.lastTyping.set(c.id, now);
  const text = JSON.stringify({ type: 'typing', conversation_id: c.id, user_id: ws.user.id, expires_in_ms: 6000 });
  for (const m of c.members.values()) {
    if (m.user === ws.user) continue;
    for (const other of m.user.sockets) if (other.synced) other.send(text);
  }
}

function handleRead(ws, frame) {
  const c = member(frame.conversation_id, ws.user);
  if (!Number.isInteger(frame.seq) || frame.seq <= 0) throw new ApiError(422, 'validation_failed', 'seq: must be positive');
  const m = c.members.get(ws.user.id);
  const seq = Math.min(frame.seq, c.lastSeq);
  if (seq > m.readSeq) {
    m.readSeq = seq;
    const recipients = [];
    for (const each of c.members.values()) recipients.push(each.user);
    publish(recipients, { type: 'receipt.read', conversation_id: c.id, user_id: ws.user.id, seq });
  }
  const ok = { type: 'ok' };
  if (frame.ref !== undefined) ok.ref = frame.ref;
  ws.send(JSON.stringify(ok));
}

function handleFrame(ws, data, isBinary) {
  if (isBinary) {
    ws.close(1003, 'binary frames are not supported');
    return;
  }
  let frame;
  try {
    frame = JSON.parse(data.toString('utf8'));
  } catch (e) {
    frameError(ws, 'malformed_request', 'frame is not valid JSON');
    return;
  }
  if (frame === null || typeof frame !== 'object') {
    frameError(ws, 'validation_failed', 'frame must be a JSON object');
    return;
  }
  if (!ws.user) {
    clearTimeout(ws.helloTimer);
    hello(ws, frame);
    return;
  }
  try {
    switch (frame.type) {
      case 'send': handleSend(ws, frame); break;
      case 'typing': handleTyping(ws, frame); break;
      case 'read': handleRead(ws, frame); break;
      case 'ping': ws.send(JSON.stringify(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref })); break;
      default: throw new ApiError(422, 'validation_failed', `type: unknown frame type '${frame.type}'`);
    }
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    frameError(ws, e.code, e.message, frame.ref);
  }
}

// --- main ------------------------------------------------------------------

function main() {
  let listen = '127.0.0.1:8080';
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--listen' && i + 1 < args.length) listen = args[++i];
    else {
      console.error(`usage: node server.js [--listen HOST:PORT]`);
      process.exit(2);
    }
  }
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon);
  const port = Number(listen.slice(colon + 1));

  const server = http.createServer(handleRequest);
  server.keepAliveTimeout = 60000;
  const wss = new WebSocketServer({ server, path: '/ws', maxPayload: MAX_FRAME_BYTES });
  wss.on('connection', (ws) => {
    ws.alive = true;
    ws.synced = false;
    ws.lastTyping = new Map();
    ws.helloTimer = setTimeout(() => ws.close(4408, 'no hello in time'), HELLO_TIMEOUT_MS);
    ws.on('pong', () => { ws.alive = true; });
    ws.on('message', (data, isBinary) => {
      ws.alive = true;
      handleFrame(ws, data, isBinary);
    });
    ws.on('close', () => {
      clearTimeout(ws.helloTimer);
      if (ws.user) ws.user.sockets.delete(ws);
    });
    ws.on('error', () => {}); // 'close' follows
  });
  // The usual ws heartbeat: a connection silent for a whole round is dead.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!ws.alive) {
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }, PING_INTERVAL_MS);
  wss.on('close', () => clearInterval(heartbeat));

  server.listen(port, host, () => {
    const address = server.address();
    console.error(`listening address=${address.address}:${address.port} node=${process.version}`);
  });
  const stop = () => {
    for (const ws of wss.clients) ws.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
