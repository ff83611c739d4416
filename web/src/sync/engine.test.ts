import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Backoff } from './backoff';
import { SyncEngine } from './engine';
import { RestClient } from './rest';
import { Store } from './store';
import { BOB, CONVERSATION_CREATED, ME, SocketServer, fakeFetch, message } from './testing/fakes';

const WELCOME = {
  type: 'welcome',
  user_id: ME.id,
  session_id: 4,
  presence: [{ user_id: 2, online: true, last_seen_at: 1 }],
  limits: { max_frame_bytes: 65536, frames_per_second: 50, frame_burst: 200, user_frames_per_second: 100, user_frame_burst: 400, max_connections_per_user: 20, idle_timeout_ms: 30000 },
};

const SUMMARY = {
  id: 7, kind: 'direct', name: '', topic: '', created_by: 1, created_at: 500, last_seq: 3, avatar_media_id: null,
  role: 'member', member_count: 2, read_seq: 1, unread_count: 2, last_message: message(3, 3), peer: BOB,
};

function routes(over: Record<string, unknown> = {}) {
  return fakeFetch({
    'GET /api/v1/conversations': { conversations: [SUMMARY] },
    'GET /api/v1/contacts': { contacts: [{ user: BOB, since: 1 }] },
    'GET /api/v1/contacts/invitations': { incoming: [], outgoing: [] },
    'GET /api/v1/blocks': { blocked: [] },
    'GET /api/v1/me/settings': { settings: { last_seen_visibility: 'contacts', notifications_enabled: true, conversation_mutes: [] } },
    'GET /api/v1/conversations/7/messages': (url: URL) => {
      const after = Number(url.searchParams.get('after') ?? 0);
      return { messages: [1, 2, 3].filter((s) => s > after).map((s) => message(s, s)), has_more: false };
    },
    ...over,
  });
}

let store: Store;
let server: SocketServer;
let engine: SyncEngine | null = null;

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory();
  store = await Store.open(ME.id);
  server = new SocketServer();
});

afterEach(() => {
  engine?.stop();
  engine = null;
});

function makeEngine(fetchImpl: typeof fetch, extra: Partial<ConstructorParameters<typeof SyncEngine>[0]> = {}): SyncEngine {
  const rest = new RestClient('tok', '', fetchImpl);
  engine = new SyncEngine({
    store, rest, me: ME, wsUrl: 'ws://parley.test/ws', socketFactory: server.factory,
    backoff: new Backoff(1, 1, () => 0), ...extra,
  });
  return engine;
}

describe('resume', () => {
  it('sends the stored position in hello and applies the catch-up', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    expect(ws.sent[0]).toEqual({ type: 'hello', token: 'tok', position: 40 });
    ws.receive(WELCOME);
    ws.receive({ type: 'event', position: 41, event: { type: 'message.new', conversation_id: 7, message: message(1, 1) } });
    ws.receive({ type: 'synced', position: 45 });
    await e.idle();
    expect(await store.position()).toBe(45);
    expect(e.state.get().connection).toBe('online');
    expect(e.state.get().conversations[0]?.unread_count).toBe(1);
  });

  it('a new device omits position, loads over REST and stores the synced position', async () => {
    const f = routes();
    const e = makeEngine(f);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    expect(ws.sent[0]).toEqual({ type: 'hello', token: 'tok' });
    ws.receive(WELCOME);
    ws.receive({ type: 'synced', position: 90 });
    await e.idle();
    expect(await store.position()).toBe(90);
    expect(e.state.get().conversations.map((c) => c.id)).toEqual([7]);
    expect(e.state.get().contacts.map((c) => c.user.username)).toEqual(['bob']);
  });

  it('resync_required reloads over REST, stores the position, and replayed events change nothing', async () => {
    // The device has seq 1 and an old position.
    await store.applyEvents([
      { position: 10, event: CONVERSATION_CREATED as never },
      { position: 11, event: { type: 'message.new', conversation_id: 7, message: message(1, 1) } as never },
    ], ME.id);
    const f = routes();
    const e = makeEngine(f);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    expect(ws.sent[0]).toMatchObject({ position: 11 });
    ws.receive(WELCOME);
    ws.receive({ type: 'resync_required', position: 200 });
    await e.idle();
    // History after the last seq it had, and the position given.
    expect(f.calls).toContain('GET /api/v1/conversations/7/messages?after=1&limit=200');
    expect(await store.position()).toBe(200);
    const afterReload = { c: await store.conversation(7), m2: await store.message(2), m3: await store.message(3) };
    expect(afterReload.c?.unread_count).toBe(2);
    expect(afterReload.m3?.text).toBe('hello 3');
    // Live events after the position that the REST state already included.
    ws.receive({ type: 'event', position: 201, event: { type: 'message.new', conversation_id: 7, message: message(3, 3) } });
    ws.receive({ type: 'event', position: 202, event: { type: 'message.new', conversation_id: 7, message: message(2, 2) } });
    await e.idle();
    expect({ c: await store.conversation(7), m2: await store.message(2), m3: await store.message(3) }).toEqual(afterReload);
    expect(await store.position()).toBe(202);
    expect(e.state.get().connection).toBe('online');
  });

  it('a reload that fails keeps the old position and reconnects', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    let fail = true;
    const f = routes({
      'GET /api/v1/conversations': () => {
        if (fail) throw new Error('server went away');
        return { conversations: [SUMMARY] };
      },
    });
    const e = makeEngine(f);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive({ type: 'resync_required', position: 300 });
    await e.idle();
    expect(await store.position()).toBe(40);
    expect(e.state.get().connection).not.toBe('online');
    fail = false;
    const ws2 = await server.next(1);
    ws2.open();
    await ws2.waitSent(1);
    expect(ws2.sent[0]).toMatchObject({ position: 40 });
    ws2.receive(WELCOME);
    ws2.receive({ type: 'resync_required', position: 300 });
    await e.idle();
    expect(await store.position()).toBe(300);
    expect(e.state.get().connection).toBe('online');
  });

  it('reconnects after a drop and resumes from the last applied position', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive({ type: 'synced', position: 40 });
    ws.receive({ type: 'event', position: 44, event: { type: 'message.new', conversation_id: 7, message: message(1, 1) } });
    await e.idle();
    ws.drop();
    expect(e.state.get().connection).not.toBe('online');
    const ws2 = await server.next(1);
    ws2.open();
    await ws2.waitSent(1);
    expect(ws2.sent[0]).toEqual({ type: 'hello', token: 'tok', position: 44 });
  });

  it('signs out when the session is revoked (4403) and does not reconnect', async () => {
    let reason = '';
    const e = makeEngine(routes(), { onSignedOut: (r) => { reason = r; } });
    await e.start();
    const ws = await server.next(0);
    ws.open();
    ws.close(4403, 'session revoked');
    expect(reason).toBe('revoked');
    await new Promise((r) => setTimeout(r, 20));
    expect(server.sockets).toHaveLength(1);
  });
});

describe('outbox', () => {
  async function online(e: SyncEngine, index: number, position = 40) {
    const ws = await server.next(index);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive({ type: 'synced', position });
    await e.idle();
    return ws;
  }

  it('keeps messages written offline and sends them once, in order, after synced', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const a = await e.send(7, 'first');
    const b = await e.send(7, 'second');
    expect((await store.outbox()).map((o) => o.text)).toEqual(['first', 'second']);
    const ws = await online(e, 0);
    const sends = ws.framesOfType('send');
    expect(sends.map((s) => [s['client_id'], s['text']])).toEqual([[a, 'first'], [b, 'second']]);
    // Nothing is sent twice on the same connection.
    ws.receive({ type: 'pong' });
    await e.idle();
    expect(ws.framesOfType('send')).toHaveLength(2);
  });

  it('an ack removes the entry and shows the message; a lost ack means a resend with the same client id', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const ws = await online(e, 0);
    await e.openConversation(7);
    const a = await e.send(7, 'one');
    const b = await e.send(7, 'two');
    expect(ws.framesOfType('send')).toHaveLength(2);
    ws.receive({ type: 'ack', client_id: a, conversation_id: 7, message_id: 50, seq: 1, position: 41, created_at: 9, duplicate: false, ref: `send:${a}` });
    await e.idle();
    expect((await store.outbox()).map((o) => o.client_id)).toEqual([b]);
    expect(e.state.get().messages[7]?.map((m) => m.text)).toEqual(['one']);
    // The connection drops before b's ack: b is sent again, with its client id.
    ws.drop();
    const ws2 = await online(e, 1, 41);
    expect(ws2.framesOfType('send').map((s) => s['client_id'])).toEqual([b]);
    ws2.receive({ type: 'ack', client_id: b, conversation_id: 7, message_id: 51, seq: 2, position: 42, created_at: 10, duplicate: true, ref: `send:${b}` });
    await e.idle();
    expect(await store.outbox()).toEqual([]);
    expect(e.state.get().conversations[0]?.last_message?.text).toBe('two');
  });

  it('paces a long outbox under the server\'s frame rate, keeping the order', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await e.send(7, `offline ${i}`));
    const ws = await online(e, 0);
    // hello, then the first chunk at once; the rest follows in later chunks.
    expect(ws.framesOfType('send')).toHaveLength(15);
    await ws.waitSent(1 + 40);
    expect(ws.framesOfType('send').map((f) => f['client_id'])).toEqual(ids);
  });

  it('marks an entry refused for good as failed and does not send it again', async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    const e = makeEngine(routes());
    await e.start();
    const ws = await online(e, 0);
    const a = await e.send(7, 'to a blocked user');
    ws.receive({ type: 'error', code: 'blocked', message: 'blocked', ref: `send:${a}` });
    await e.idle();
    expect((await store.outbox())[0]?.failed).toBe('blocked');
    ws.drop();
    const ws2 = await online(e, 1);
    expect(ws2.framesOfType('send')).toHaveLength(0);
  });
});

describe('outbox: edits, deletions and reactions', () => {
  const mine = (id: number) => message(id, id, { sender_id: ME.id, client_id: `mine${id}` });

  async function withMessages() {
    await store.applyEvents(
      [
        { position: 40, event: CONVERSATION_CREATED as never },
        ...[1, 2, 3].map((id) => ({ position: 40 + id, event: { type: 'message.new', conversation_id: 7, message: mine(id) } as never })),
      ],
      ME.id,
    );
  }

  async function online(e: SyncEngine, index: number, position = 43, catchUp: unknown[] = []) {
    const ws = await server.next(index);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    for (const frame of catchUp) ws.receive(frame);
    ws.receive({ type: 'synced', position });
    await e.idle();
    return ws;
  }

  /** Frames other than hello, ping and receipts: what the outbox sent. */
  const writes = (ws: { sent: Record<string, unknown>[] }) => ws.sent.filter((f) => ['send', 'edit', 'delete', 'react'].includes(f['type'] as string));
  const answer = async (e: SyncEngine, ws: { receive: (f: unknown) => void }, frame: Record<string, unknown>) => {
    ws.receive({ type: 'ok', ref: frame['ref'] });
    await e.idle();
  };

  it('keeps them offline in the store, shows them at once, and sends them in order, each after the previous answer', async () => {
    await withMessages();
    const e = makeEngine(routes());
    await e.start();
    await e.edit(mine(1), 'edited offline');
    await e.react(mine(2), '👍');
    await e.delete(mine(3));
    // Stored (a reload keeps them), in the order made.
    expect((await store.outbox()).map((o) => [o.op, o.message_id, o.text, o.emoji ?? null])).toEqual([
      ['edit', 1, 'edited offline', null],
      ['react', 2, '', '👍'],
      ['delete', 3, '', null],
    ]);
    expect(e.state.get().outbox).toHaveLength(3);
    const ws = await online(e, 0);
    // One at a time: the next goes after the server's answer to the previous.
    expect(writes(ws)).toEqual([{ type: 'edit', ref: expect.stringMatching(/^op:/), message_id: 1, text: 'edited offline' }]);
    await answer(e, ws, writes(ws)[0]!);
    expect(writes(ws)[1]).toEqual({ type: 'react', ref: expect.stringMatching(/^op:/), message_id: 2, emoji: '👍' });
    expect(writes(ws)).toHaveLength(2);
    await answer(e, ws, writes(ws)[1]!);
    expect(writes(ws)[2]).toEqual({ type: 'delete', ref: expect.stringMatching(/^op:/), message_id: 3 });
    await answer(e, ws, writes(ws)[2]!);
    expect(await store.outbox()).toEqual([]);
    expect(e.state.get().outbox).toEqual([]);
    // Nothing is sent again, on this connection or the next.
    ws.receive({ type: 'pong' });
    await e.idle();
    expect(writes(ws)).toHaveLength(3);
    ws.drop();
    const ws2 = await online(e, 1);
    expect(writes(ws2)).toEqual([]);
  });

  it('keeps the order with messages: an op waits for the acks of messages before it, and messages after it wait for its answer', async () => {
    await withMessages();
    const e = makeEngine(routes());
    await e.start();
    const a = await e.send(7, 'before');
    await e.edit(mine(1), 'between');
    const b = await e.send(7, 'after');
    const ws = await online(e, 0);
    expect(writes(ws).map((f) => f['type'])).toEqual(['send']);
    ws.receive({ type: 'ack', client_id: a, conversation_id: 7, message_id: 60, seq: 4, position: 44, created_at: 9, duplicate: false, ref: `send:${a}` });
    await e.idle();
    expect(writes(ws).map((f) => f['type'])).toEqual(['send', 'edit']);
    await answer(e, ws, writes(ws)[1]!);
    expect(writes(ws).map((f) => [f['type'], f['client_id'] ?? null])).toEqual([['send', a], ['edit', null], ['send', b]]);
  });

  it('an edit of unknown outcome that the catch-up shows applied is not sent again', async () => {
    await withMessages();
    const e = makeEngine(routes());
    await e.start();
    const ws = await online(e, 0);
    await e.edit(mine(1), 'once only');
    await e.react(mine(2), '👍');
    expect(writes(ws).map((f) => f['type'])).toEqual(['edit']);
    // Lost before the answer: the server may have applied it.
    ws.drop();
    await e.idle();
    // It did: the catch-up brings its message.edited.
    const ws2 = await online(e, 1, 44, [
      { type: 'event', position: 44, event: { type: 'message.edited', conversation_id: 7, message: { ...mine(1), text: 'once only', edited_at: 2000 } } },
    ]);
    // The edit is done (not repeated); the reaction after it goes.
    expect(writes(ws2).map((f) => f['type'])).toEqual(['react']);
    expect((await store.outbox()).map((o) => o.op)).toEqual(['react']);
    expect((await store.message(1))?.text).toBe('once only');
  });

  it('an edit of unknown outcome that was not applied is sent again, once', async () => {
    await withMessages();
    const e = makeEngine(routes());
    await e.start();
    const ws = await online(e, 0);
    await e.edit(mine(1), 'lost with the connection');
    expect(writes(ws)).toHaveLength(1);
    ws.drop();
    await e.idle();
    expect((await store.outbox())[0]?.uncertain).toBe(true);
    const ws2 = await online(e, 1);
    expect(writes(ws2)).toEqual([{ type: 'edit', ref: expect.stringMatching(/^op:/), message_id: 1, text: 'lost with the connection' }]);
    await answer(e, ws2, writes(ws2)[0]!);
    expect(await store.outbox()).toEqual([]);
  });

  it('an op refused for good is marked failed and not sent again; the ops after it go on', async () => {
    await withMessages();
    const e = makeEngine(routes());
    await e.start();
    const ws = await online(e, 0);
    await e.react(mine(1), '👍');
    await e.edit(mine(2), 'still fine');
    ws.receive({ type: 'error', code: 'conflict', message: 'the message was deleted', ref: writes(ws)[0]!['ref'] });
    await e.idle();
    expect((await store.outbox())[0]).toMatchObject({ op: 'react', failed: 'the message was deleted' });
    expect(writes(ws).map((f) => f['type'])).toEqual(['react', 'edit']);
    await answer(e, ws, writes(ws)[1]!);
    ws.drop();
    const ws2 = await online(e, 1);
    expect(writes(ws2)).toEqual([]);
    // Dismissed by the user: gone.
    await e.discardOutbox((await store.outbox())[0]!.client_id);
    expect(await store.outbox()).toEqual([]);
  });
});

describe('Backoff', () => {
  it('grows exponentially up to the cap, with jitter, and resets', () => {
    const b = new Backoff(100, 1000, () => 0.999);
    const delays = Array.from({ length: 6 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
    b.reset();
    expect(b.next()).toBe(99);
    const low = new Backoff(100, 1000, () => 0);
    expect(low.next()).toBe(10);
  });
});

describe('mergeSorted', () => {
  const seqs = (l: { seq: number }[]) => l.map((m) => m.seq);
  it('prepends older pages, appends newer messages and replaces changed ones in place', async () => {
    const { mergeSorted } = await import('./engine');
    const base = [message(5, 5), message(6, 6)];
    expect(seqs(mergeSorted(base, [message(4, 4), message(3, 3)]))).toEqual([3, 4, 5, 6]);
    expect(seqs(mergeSorted(base, [message(7, 7)]))).toEqual([5, 6, 7]);
    const edited = mergeSorted(base, [message(6, 6, { text: 'new' })]);
    expect(edited.map((m) => m.text)).toEqual(['hello 5', 'new']);
    expect(seqs(mergeSorted(base, [message(8, 8), message(1, 1), message(6, 6)]))).toEqual([1, 5, 6, 8]);
    expect(mergeSorted(base, [])).toBe(base);
  });
});

describe('history windows', () => {
  it('open with the newest messages without a gap; scrolling up fills the gap from the server', async () => {
    // The store has seqs 1-3 and 8-10 (4-7 were missed); the server has 1-10.
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    await store.putMessages([1, 2, 3, 8, 9, 10].map((n) => message(n, n)));
    const all = Array.from({ length: 10 }, (_, i) => message(i + 1, i + 1));
    const f = routes({
      'GET /api/v1/conversations/7/messages': (url: URL) => {
        const before = Number(url.searchParams.get('before') ?? 11);
        const page = all.filter((m) => m.seq < before).slice(-100);
        return { messages: page, has_more: (page[0]?.seq ?? 1) > 1 };
      },
    });
    // Not connected (offline): opening shows what the store holds.
    const e = makeEngine(f);
    await e.openConversation(7);
    expect(e.state.get().messages[7]?.map((m) => m.seq)).toEqual([8, 9, 10]);
    await e.loadOlder(7);
    expect(e.state.get().messages[7]?.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(f.calls).toContain('GET /api/v1/conversations/7/messages?before=8&limit=100');
  });
});

describe('bounded history window', () => {
  it('keeps at most WINDOW messages: scrolling up drops the newest, scrolling back down reads them again from the store', async () => {
    const { WINDOW } = await import('./engine');
    const total = 2 * WINDOW + 500;
    await store.putMessages(Array.from({ length: total }, (_, i) => message(i + 1, i + 1)));
    // Not started (offline): everything comes from the store.
    const e = makeEngine(routes());
    await e.openConversation(7);
    const seqs = () => e.state.get().messages[7]!.map((m) => m.seq);
    expect(seqs()[0]).toBe(total - 99);
    let steps = 0;
    while (e.state.get().hasOlder[7] !== false && steps++ < 100) {
      await e.loadOlder(7);
      expect(seqs().length).toBeLessThanOrEqual(WINDOW);
    }
    // At the first message: the window is the oldest WINDOW, contiguous.
    expect(seqs()).toEqual(Array.from({ length: WINDOW }, (_, i) => i + 1));
    expect(e.state.get().hasNewer[7]).toBe(true);
    steps = 0;
    while (e.state.get().hasNewer[7] && steps++ < 100) {
      expect(await e.loadNewer(7)).toBeGreaterThan(0);
      expect(seqs().length).toBeLessThanOrEqual(WINDOW);
    }
    expect(seqs()).toEqual(Array.from({ length: WINDOW }, (_, i) => total - WINDOW + i + 1));
    expect(e.state.get().hasOlder[7]).toBe(true);
    expect(await e.loadNewer(7)).toBe(0);
  }, 30_000);

  it('reopening a window scrolled far up shows the newest messages again', async () => {
    const { WINDOW } = await import('./engine');
    const total = WINDOW + 300;
    await store.putMessages(Array.from({ length: total }, (_, i) => message(i + 1, i + 1)));
    const e = makeEngine(routes());
    await e.openConversation(7);
    for (let i = 0; i < WINDOW / 100 + 2; i++) await e.loadOlder(7);
    expect(e.state.get().hasNewer[7]).toBe(true);
    await e.openConversation(7);
    const list = e.state.get().messages[7]!;
    expect(list[list.length - 1]!.seq).toBe(total);
    expect(e.state.get().hasNewer[7]).toBe(false);
  }, 30_000);
});

describe('messages kept beside the window', () => {
  it('scrolling back over pages the window dropped takes them from memory, the same objects, with changes made meanwhile', async () => {
    const { WINDOW } = await import('./engine');
    const total = WINDOW + 500;
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    await store.putMessages(Array.from({ length: total }, (_, i) => message(i + 1, i + 1)));
    const e = makeEngine(routes());
    await e.openConversation(7);
    const shown = new Map<number, unknown>();
    const remember = () => { for (const m of e.state.get().messages[7]!) shown.set(m.seq, m); };
    remember();
    // Up two pages past a full window: the newest 200 leave it.
    for (let i = 0; i < WINDOW / 100 + 1; i++) {
      await e.loadOlder(7);
      remember();
    }
    expect(e.state.get().hasNewer[7]).toBe(true);
    const end = e.state.get().messages[7]!.at(-1)!.seq;
    // Meanwhile one of the dropped messages is edited (another device).
    const edited = { ...message(end + 5, end + 5), text: 'edited', edited_at: 5000 };
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive({ type: 'event', position: 41, event: { type: 'message.edited', conversation_id: 7, message: edited } });
    ws.receive({ type: 'synced', position: 41 });
    await e.idle();
    // Back down: the store is not read for them.
    const reads = { after: 0 };
    const messagesAfter = store.messagesAfter.bind(store);
    store.messagesAfter = (...args) => { reads.after++; return messagesAfter(...args); };
    expect(await e.loadNewer(7)).toBe(100);
    expect(reads.after).toBe(0);
    const window = e.state.get().messages[7]!;
    expect(window.map((m) => m.seq)).toEqual(Array.from({ length: WINDOW }, (_, i) => end - WINDOW + 101 + i));
    for (const m of window) {
      if (m.seq === end + 5) expect(m.text).toBe('edited');
      else expect(m).toBe(shown.get(m.seq));
    }
    // The window's oldest page went above it in turn, and comes back the same way.
    const reads2 = { before: 0 };
    const messagesBefore = store.messagesBefore.bind(store);
    store.messagesBefore = (...args) => { reads2.before++; return messagesBefore(...args); };
    expect(await e.loadOlder(7)).toBe(100);
    expect(reads2.before).toBe(0);
    for (const m of e.state.get().messages[7]!) if (m.seq !== end + 5) expect(m).toBe(shown.get(m.seq));
  }, 30_000);
});

describe('bounded history window, live', () => {
  it('a message arriving while the newest are out of the window is stored, and shown once scrolled back down', async () => {
    const { WINDOW } = await import('./engine');
    const total = WINDOW + 300;
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    await store.putMessages(Array.from({ length: total }, (_, i) => message(i + 1, i + 1)));
    const e = makeEngine(routes());
    await e.openConversation(7);
    for (let i = 0; i < WINDOW / 100 + 2; i++) await e.loadOlder(7);
    const before = e.state.get().messages[7]!;
    expect(e.state.get().hasNewer[7]).toBe(true);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive({ type: 'event', position: 41, event: { type: 'message.new', conversation_id: 7, message: message(total + 1, total + 1) } });
    ws.receive({ type: 'synced', position: 41 });
    await e.idle();
    expect(e.state.get().messages[7]!.map((m) => m.seq)).toEqual(before.map((m) => m.seq));
    expect((await store.messagesAfter(7, total, 10)).map((m) => m.seq)).toEqual([total + 1]);
    for (let i = 0; i < 20 && e.state.get().hasNewer[7]; i++) await e.loadNewer(7);
    const after = e.state.get().messages[7]!;
    expect(after[after.length - 1]!.seq).toBe(total + 1);
    expect(after.length).toBeLessThanOrEqual(WINDOW);
  }, 30_000);
});

describe('opening a conversation during a catch-up', () => {
  // The device was away: it stores seqs 1-300 and an old position; the
  // server has 5,000 messages since, which the catch-up brings as events,
  // applied in order before `synced`.
  const SERVER_TOTAL = 5000;
  const serverMessages = Array.from({ length: SERVER_TOTAL }, (_, i) => message(i + 1, i + 1));
  const catchUpRoutes = () =>
    routes({
      'GET /api/v1/conversations/7/messages': (url: URL) => {
        const before = Number(url.searchParams.get('before') ?? SERVER_TOTAL + 1);
        const limit = Number(url.searchParams.get('limit') ?? 100);
        const page = serverMessages.filter((m) => m.seq < before).slice(-limit);
        return { messages: page, has_more: (page[0]?.seq ?? 1) > 1 };
      },
    });
  const catchUp = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ({
      type: 'event', position: 41 + from + i, event: { type: 'message.new', conversation_id: 7, message: serverMessages[from + i - 1] },
    }));

  beforeEach(async () => {
    await store.applyEvents([{ position: 40, event: CONVERSATION_CREATED as never }], ME.id);
    await store.putMessages(serverMessages.slice(0, 300));
  }, 30_000);

  // An engine connected and one event into the catch-up, not synced yet:
  // the device's newest stored message is far behind.
  const engineMidCatchUp = async (f: typeof fetch) => {
    const e = makeEngine(f);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    ws.receive(catchUp(301, 310)[0]);
    await e.idle();
    expect(e.state.get().connection).toBe('connecting');
    return e;
  };

  it('shows the server\'s newest page before the catch-up has ended', async () => {
    const f = catchUpRoutes();
    const e = await engineMidCatchUp(f);
    await e.openConversation(7);
    const shown = e.state.get().messages[7]!.map((m) => m.seq);
    expect(shown.at(-1)).toBe(SERVER_TOTAL);
    expect(shown.length).toBeLessThanOrEqual(100);
    expect(f.calls).toContain('GET /api/v1/conversations/7/messages?limit=100');
    expect(e.state.get().hasOlder[7]).toBe(true);
  }, 30_000);

  it('fetches the member list, which a conversation known from a reload lacks, before the catch-up has ended', async () => {
    // A REST reload stores the conversation list, whose summaries carry no members.
    const { members: _, ...summaryOnly } = (await store.conversation(7))!;
    await store.putConversation(summaryOnly);
    const detail = { ...CONVERSATION_CREATED.conversation, last_seq: SERVER_TOTAL, role: 'member', read_seq: 0 };
    const f = catchUpRoutes();
    const withDetail = fakeFetch({ 'GET /api/v1/conversations/7': { conversation: detail } });
    const both = Object.assign(
      (input: RequestInfo | URL, init?: RequestInit) =>
        new URL(String(input), 'http://parley.test').pathname === '/api/v1/conversations/7' ? withDetail(input, init) : f(input, init),
      { calls: f.calls },
    ) as typeof fetch;
    const e = await engineMidCatchUp(both);
    expect(e.state.get().conversations.find((c) => c.id === 7)?.members).toBeUndefined();
    await e.openConversation(7);
    expect(withDetail.calls).toEqual(['GET /api/v1/conversations/7']);
    const conv = e.state.get().conversations.find((c) => c.id === 7)!;
    expect(conv.members?.map((m) => m.user.id)).toEqual([ME.id, BOB.id]);
    expect(e.state.get().users[BOB.id]?.username).toBe('bob');
    // Stored too, and what the catch-up applied meanwhile is kept.
    const stored = (await store.conversation(7))!;
    expect(stored.members?.length).toBe(2);
    expect(stored.last_seq).toBe(SERVER_TOTAL);
    expect(stored.last_message?.seq).toBe(301);
    expect(e.state.get().connection).toBe('connecting');
  }, 30_000);

  it('the catch-up\'s older messages go to the store, not into the window', async () => {
    const { WINDOW } = await import('./engine');
    const e = makeEngine(catchUpRoutes());
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    await e.idle();
    await e.openConversation(7);
    const opened = e.state.get().messages[7]!.map((m) => m.seq);
    for (const frame of catchUp(301, SERVER_TOTAL)) ws.receive(frame);
    ws.receive({ type: 'synced', position: 41 + SERVER_TOTAL });
    await e.idle();
    // The window still holds the newest page only, contiguous.
    const seqs = e.state.get().messages[7]!.map((m) => m.seq);
    expect(seqs).toEqual(opened);
    expect(seqs.length).toBeLessThanOrEqual(WINDOW);
    expect((await store.messagesBefore(7, 2000, 5)).map((m) => m.seq)).toEqual([1995, 1996, 1997, 1998, 1999]);
    // Scrolling up reads the caught-up messages from the store.
    await e.loadOlder(7);
    expect(e.state.get().messages[7]![0]!.seq).toBe(opened[0]! - 100);
  }, 30_000);

  it('a window opened offline follows a long catch-up at its end, holding at most WINDOW messages', async () => {
    const { WINDOW } = await import('./engine');
    const e = makeEngine(catchUpRoutes());
    // Opened before connecting (from the store only).
    await e.openConversation(7);
    expect(e.state.get().messages[7]!.at(-1)!.seq).toBe(300);
    await e.start();
    const ws = await server.next(0);
    ws.open();
    await ws.waitSent(1);
    ws.receive(WELCOME);
    for (const frame of catchUp(301, 2800)) ws.receive(frame);
    ws.receive({ type: 'synced', position: 41 + 2800 });
    await e.idle();
    const seqs = e.state.get().messages[7]!.map((m) => m.seq);
    expect(seqs.length).toBe(WINDOW);
    expect(seqs).toEqual(Array.from({ length: WINDOW }, (_, i) => 2800 - WINDOW + i + 1));
    expect(e.state.get().hasOlder[7]).toBe(true);
  }, 30_000);
});
