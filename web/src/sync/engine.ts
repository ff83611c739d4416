// The sync engine: keeps the device store in step with the server and
// exposes an observable view of it for the UI. No UI imports.
//
// One code path applies every change, whichever device made it: the UI
// renders the state, never a request's reply. Frames are handled one at a
// time, in arrival order (a promise chain), so that a REST reload after
// `resync_required` finishes before the live events that follow it apply.

import { Limits } from '../protocol/types';
import type {
  Block,
  Contact,
  EventFrame,
  HelloFrame,
  Id,
  Invitation,
  Me,
  Message,
  PresenceEntry,
  PublicUser,
  ServerFrame,
  Settings,
} from '../protocol/types';
import { fromSummary, type ConversationRecord } from './apply';
import { Connection, type ConnectionState, type SocketFactory } from './connection';
import { newClientId } from './ids';
import { Observable } from './observable';
import type { RestClient } from './rest';
import { emptyChanges, type Changes, type OutboxItem, type Store } from './store';
import { opApplied } from './pending';
import { Backoff } from './backoff';

export interface SyncState {
  connection: ConnectionState;
  me: Me;
  /** Sorted by last activity, newest first. */
  conversations: ConversationRecord[];
  contacts: Contact[];
  invitations: Invitation[];
  blocks: Block[];
  settings: Settings | null;
  presence: Record<Id, PresenceEntry>;
  /** conversation id → user id → when the indicator ends (ms). */
  typing: Record<Id, Record<Id, number>>;
  outbox: OutboxItem[];
  /** The loaded part of each opened conversation, ascending by seq. */
  messages: Record<Id, Message[]>;
  /** Whether older messages exist before the loaded part. */
  hasOlder: Record<Id, boolean>;
  /**
   * Whether newer messages exist after the loaded part: the window holds at
   * most WINDOW messages, and scrolling far up drops the newest ones (they
   * stay in the store and are read again when scrolled back to).
   */
  hasNewer: Record<Id, boolean>;
  users: Record<Id, PublicUser>;
}

export interface EngineOptions {
  store: Store;
  rest: RestClient;
  me: Me;
  wsUrl: string;
  socketFactory?: SocketFactory;
  backoff?: Backoff;
  /** New messages from others that arrived live (not during a catch-up). */
  onIncoming?: (messages: Message[]) => void;
  /** The session ended (revoked, expired): the app signs out. */
  onSignedOut?: (reason: string) => void;
}

/**
 * Messages per page from the server, and per page read from the store: a
 * store read's reply is deserialised on the main thread in one go, so its
 * pages are small (the list asks for the next one well ahead of need).
 */
const PAGE = 100;
const LOCAL_PAGE = 100;
/**
 * The most messages of one conversation kept in memory: pages far from the
 * view are dropped, so a long history costs the same as a short one (no
 * array of 50,000 to copy or collect as pages come and go).
 */
export const WINDOW = 1000;
/**
 * Messages that left a window, kept decoded at each end of it (at most this
 * many per end): scrolling back over them takes them from memory instead
 * of reading and decoding them again from IndexedDB, and they are the very
 * objects shown before, so the list knows their rows and heights.
 */
export const SPILL = 300;
/** Outbox pacing: 15 sends every 500 ms (30/s) leaves room for receipts and typing. */
const OUTBOX_CHUNK = 15;
const OUTBOX_CHUNK_MS = 500;
const PERMANENT_SEND_ERRORS = new Set(['validation_failed', 'not_found', 'blocked', 'conflict', 'forbidden']);
/** After an `internal` error the outcome is unknown: the entry is looked at again after this long. */
const OP_RETRY_MS = 2_000;

export class SyncEngine {
  readonly state: Observable<SyncState>;
  private readonly conn: Connection;
  private readonly store: Store;
  private readonly rest: RestClient;
  private chain: Promise<void> = Promise.resolve();
  private queue: ServerFrame[] = [];
  private draining = false;
  private catchingUp = false;
  /** Outbox entries sent on the current connection (each is sent once per connection). */
  private sentOnThisConnection = new Set<string>();
  /** Counts connections: an async step that outlived its connection does nothing. */
  private connection = 0;
  private typingSent = new Map<Id, number>();
  private typingTimers = new Map<Id, ReturnType<typeof setTimeout>>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimeoutMs = 30_000;
  private stopped = false;
  /**
   * Per opened conversation, the messages just above and just below its
   * window (each a contiguous run of seqs adjoining it), kept as they left
   * it: see SPILL. Changes to them apply here as to the window.
   */
  private spill = new Map<Id, { above: Message[]; below: Message[] }>();

  constructor(private readonly opts: EngineOptions) {
    this.store = opts.store;
    this.rest = opts.rest;
    this.state = new Observable<SyncState>({
      connection: 'offline',
      me: opts.me,
      conversations: [],
      contacts: [],
      invitations: [],
      blocks: [],
      settings: null,
      presence: {},
      typing: {},
      outbox: [],
      messages: {},
      hasOlder: {},
      hasNewer: {},
      users: { [opts.me.id]: opts.me },
    });
    const connOpts: ConstructorParameters<typeof Connection>[0] = {
      url: opts.wsUrl,
      hello: () => this.hello(),
      onFrame: (f) => this.enqueue(f),
      onState: (s) => this.onConnectionState(s),
      onAuthLost: (code) => this.opts.onSignedOut?.(code === 4403 ? 'revoked' : 'unauthorized'),
    };
    if (opts.socketFactory) connOpts.socketFactory = opts.socketFactory;
    if (opts.backoff) connOpts.backoff = opts.backoff;
    this.conn = new Connection(connOpts);
  }

  /** Shows what the store holds (no network), then connects. */
  async start(): Promise<void> {
    await this.loadFromStore();
    this.conn.start();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.typingTimers.values()) clearTimeout(t);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.conn.stop();
  }

  retryNow(): void {
    this.conn.retryNow();
  }

  /**
   * Waits until every frame received so far has been applied, and the work
   * they queued after them (tests, UI).
   */
  async idle(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
  }

  /** Runs `step` after everything queued before it (frames, outbox work). */
  private after(step: () => Promise<void>): void {
    this.chain = this.chain.then(step).catch((e) => console.error('parley: outbox step failed', e));
  }

  // -- loading ------------------------------------------------------------------

  private async loadFromStore(): Promise<void> {
    const [conversations, contacts, invitations, blocks, settings, outbox] = await Promise.all([
      this.store.conversations(),
      this.store.contacts(),
      this.store.invitations(),
      this.store.blocks(),
      this.store.settings(),
      this.store.outbox(),
    ]);
    this.state.update((s) =>
      withUsers({
        ...s,
        conversations: sortConversations(conversations),
        contacts,
        invitations,
        blocks,
        settings: settings ?? null,
        outbox,
      }),
    );
  }

  private async hello(): Promise<HelloFrame> {
    const position = await this.store.position();
    const hello: HelloFrame = { type: 'hello' };
    const token = this.rest.getToken();
    if (token) hello.token = token;
    if (position !== undefined) hello.position = position;
    this.catchingUp = true;
    this.connection++;
    this.sentOnThisConnection.clear();
    return hello;
  }

  private onConnectionState(s: ConnectionState): void {
    if (s !== 'online') {
      // An op sent on the lost connection without an answer may or may not
      // have been applied: marked so, and looked at again after the next
      // catch-up (flushOutbox, resolveUncertain), which the chain runs after.
      const lost = this.state.get().outbox.filter((o) => o.op && !o.failed && !o.uncertain && this.sentOnThisConnection.has(o.client_id));
      if (lost.length > 0) {
        this.after(async () => {
          for (const item of lost) {
            const now = this.state.get().outbox.find((o) => o.client_id === item.client_id);
            if (now && !now.uncertain) await this.updateOutbox({ ...now, uncertain: true });
          }
        });
      }
    }
    this.state.update((st) => ({ ...st, connection: s }));
  }

  // -- frames -------------------------------------------------------------------

  private enqueue(frame: ServerFrame): void {
    this.queue.push(frame);
    if (this.draining) return;
    this.draining = true;
    this.chain = this.chain
      .then(() => this.drain())
      .catch((e) => console.error('parley: applying frames failed', e))
      .finally(() => {
        this.draining = false;
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const frame = this.queue[0]!;
      if (frame.type === 'event') {
        // Apply consecutive events in one transaction (a catch-up may bring
        // thousands).
        const batch: EventFrame[] = [];
        while (this.queue.length > 0 && this.queue[0]!.type === 'event' && batch.length < 500) {
          batch.push(this.queue.shift() as EventFrame);
        }
        await this.applyEventBatch(batch);
        continue;
      }
      this.queue.shift();
      await this.handle(frame);
    }
  }

  private async handle(frame: ServerFrame): Promise<void> {
    switch (frame.type) {
      case 'welcome': {
        this.idleTimeoutMs = frame.limits.idle_timeout_ms;
        const presence: Record<Id, PresenceEntry> = {};
        for (const p of frame.presence) presence[p.user_id] = p;
        this.state.update((s) => ({ ...s, presence }));
        return;
      }
      case 'synced': {
        const stored = await this.store.position();
        if (stored === undefined) {
          // A new device: no catch-up; load the state over REST, then resume
          // from here (events after it follow and apply idempotently).
          if (!(await this.tryReload(frame.position))) return;
        } else if (frame.position > stored) {
          await this.store.setPosition(frame.position);
        }
        this.afterSync();
        return;
      }
      case 'resync_required':
        // protocol.md: reload over REST, then store the given position.
        if (!(await this.tryReload(frame.position))) return;
        this.afterSync();
        return;
      case 'ack': {
        const item = this.state.get().outbox.find((o) => o.client_id === frame.client_id);
        if (item) {
          const changes = await this.store.applyAck(item, frame, this.opts.me.id);
          await this.reflect(changes);
          this.state.update((s) => ({ ...s, outbox: s.outbox.filter((o) => o.client_id !== frame.client_id) }));
          this.flushOutbox();
        }
        return;
      }
      case 'ok':
        if (frame.ref?.startsWith('op:')) {
          await this.removeFromOutbox(frame.ref.slice(3));
          this.flushOutbox();
        }
        return;
      case 'pong':
        return;
      case 'error': {
        const ref = frame.ref;
        if (ref?.startsWith('op:')) await this.opRefused(ref.slice(3), frame.code, frame.message);
        if (ref?.startsWith('send:')) {
          const clientId = ref.slice(5);
          if (PERMANENT_SEND_ERRORS.has(frame.code)) {
            const item = this.state.get().outbox.find((o) => o.client_id === clientId);
            if (item) {
              const failed = { ...item, failed: frame.message || frame.code };
              await this.store.addOutbox(failed);
              this.state.update((s) => ({ ...s, outbox: s.outbox.map((o) => (o.client_id === clientId ? failed : o)) }));
            }
          }
          // Otherwise (internal) its outcome is unknown: it is sent again,
          // with the same client id (a duplicate is acknowledged as such),
          // a little later on this connection or on the next one.
          else {
            const connection = this.connection;
            setTimeout(() => {
              if (connection !== this.connection || this.stopped) return;
              this.sentOnThisConnection.delete(clientId);
              if (this.conn.getState() === 'online') this.flushOutbox();
            }, OP_RETRY_MS);
          }
        }
        return;
      }
      case 'typing': {
        const until = Date.now() + frame.expires_in_ms;
        this.state.update((s) => ({
          ...s,
          typing: { ...s.typing, [frame.conversation_id]: { ...(s.typing[frame.conversation_id] ?? {}), [frame.user_id]: until } },
        }));
        setTimeout(() => this.expireTyping(), frame.expires_in_ms + 50);
        return;
      }
      case 'presence':
        this.state.update((s) => ({
          ...s,
          presence: { ...s.presence, [frame.user_id]: { user_id: frame.user_id, online: frame.online, last_seen_at: frame.last_seen_at } },
        }));
        return;
      default:
        return; // A frame type this client does not know: ignored.
    }
  }

  /**
   * A reload that failed (the server went away meanwhile) must not leave the
   * device on a connection whose position it never stored: reconnect, and
   * the next hello starts over from the stored position.
   */
  private async tryReload(position: number): Promise<boolean> {
    try {
      await this.reload(position);
      return true;
    } catch (e) {
      console.warn('parley: reloading over REST failed; reconnecting', e);
      this.queue = [];
      this.conn.reconnect();
      return false;
    }
  }

  private afterSync(): void {
    this.catchingUp = false;
    this.conn.markSynced(this.idleTimeoutMs);
    this.flushOutbox();
    void this.sendDeliveredForAll();
  }

  private async applyEventBatch(batch: EventFrame[]): Promise<void> {
    const changes = await this.store.applyEvents(batch, this.opts.me.id);
    await this.reflect(changes);
    // A message.new from a typing user ends their indicator.
    if (changes.incoming.length > 0) {
      this.state.update((s) => {
        const typing = { ...s.typing };
        for (const m of changes.incoming) {
          const t = typing[m.conversation_id];
          if (t && t[m.sender_id]) {
            const copy = { ...t };
            delete copy[m.sender_id];
            typing[m.conversation_id] = copy;
          }
        }
        return { ...s, typing };
      });
      if (!this.catchingUp) {
        this.opts.onIncoming?.(changes.incoming);
        this.sendDelivered(changes.incoming);
      }
    }
  }

  /** Updates the in-memory view after the store changed. */
  private async reflect(changes: Changes): Promise<void> {
    const convs = new Map(this.state.get().conversations.map((c) => [c.id, c]));
    const toLoad: Id[] = [];
    for (const id of changes.conversations) {
      const c = await this.store.conversation(id);
      if (c) convs.set(id, c);
      else toLoad.push(id);
    }
    for (const id of changes.removedConversations) convs.delete(id);
    const patch: Partial<SyncState> = {};
    if (changes.contacts) patch.contacts = await this.store.contacts();
    if (changes.invitations) patch.invitations = await this.store.invitations();
    if (changes.blocks) patch.blocks = await this.store.blocks();
    this.state.update((s) => {
      const messages = { ...s.messages };
      const hasOlder = { ...s.hasOlder };
      for (const [cid, list] of changes.messages) {
        this.spillChanged(cid, list);
        const loaded = messages[cid];
        if (!loaded) continue;
        // The window is a contiguous run of seqs. Messages older than its
        // first one stay in the store (a catch-up after a long absence
        // brings thousands, behind a window that opened on the server's
        // newest page): scrolling up reads them. Newer messages were
        // dropped from the window: new ones are stored and read with them
        // when the reader scrolls back down, and only changes to loaded
        // messages apply here.
        const start = loaded[0]?.seq ?? 0;
        const end = loaded[loaded.length - 1]?.seq ?? 0;
        const newer = s.hasNewer[cid] ?? false;
        let fits = list;
        if (loaded.length > 0 && list.some((m) => m.seq < start || (newer && m.seq > end))) {
          fits = list.filter((m) => m.seq >= start && (!newer || m.seq <= end));
        }
        let merged = mergeSorted(loaded, fits);
        if (merged.length > WINDOW) {
          // Many new messages at once (a catch-up, a busy group): the window
          // follows the newest, and the oldest leave it, as scrolling down does.
          merged = merged.slice(merged.length - WINDOW);
          hasOlder[cid] = true;
          this.spill.delete(cid);
        }
        messages[cid] = merged;
      }
      for (const id of changes.removedConversations) {
        delete messages[id];
        this.spill.delete(id);
      }
      return withUsers({ ...s, ...patch, conversations: sortConversations([...convs.values()]), messages, hasOlder });
    });
    // Added to a conversation this device does not know: load it.
    for (const id of toLoad) void this.fetchConversation(id).catch(() => undefined);
  }

  /**
   * Loads one conversation over REST (after member.added, or when opened
   * without its member list), merged into the stored record in one
   * transaction (a catch-up may be applying events to it meanwhile).
   */
  async fetchConversation(id: Id): Promise<void> {
    const { conversation } = await this.rest.conversation(id);
    await this.store.updateConversation(id, (prev) => {
      const record: ConversationRecord = {
        id: conversation.id,
        kind: conversation.kind,
        name: conversation.name,
        topic: conversation.topic,
        created_by: conversation.created_by,
        created_at: conversation.created_at,
        last_seq: Math.max(conversation.last_seq, prev?.last_seq ?? 0),
        avatar_media_id: conversation.avatar_media_id ?? null,
        role: conversation.role,
        member_count: conversation.members.length,
        read_seq: Math.max(conversation.read_seq, prev?.read_seq ?? 0),
        unread_count: prev?.unread_count ?? 0,
        last_message: prev?.last_message ?? null,
        members: conversation.members,
        mention_seq: prev?.mention_seq ?? 0,
        last_activity: prev?.last_activity ?? conversation.created_at,
      };
      const peer = conversation.kind === 'direct' ? conversation.members.find((m) => m.user.id !== this.opts.me.id) : undefined;
      if (peer) record.peer = peer.user;
      else if (prev?.peer) record.peer = prev.peer;
      return record;
    });
    const changes = emptyChanges();
    changes.conversations.add(id);
    await this.reflect(changes);
  }

  /**
   * Reloads the state over REST (protocol.md: conversation list, history
   * after the last seq the device has, contacts, invitations, blocks) and
   * stores `position` as the resume point.
   */
  async reload(position: number | undefined): Promise<void> {
    const [convs, contacts, invitations, blocks, settings] = await Promise.all([
      this.rest.conversations(),
      this.rest.contacts(),
      this.rest.invitations(),
      this.rest.blocks(),
      this.rest.settings().catch(() => undefined),
    ]);
    const previous = new Map((await this.store.conversations()).map((c) => [c.id, c]));
    const records = convs.conversations.map((s) => fromSummary(s, previous.get(s.id), this.opts.me.id));
    // History the device misses in conversations it has messages of.
    for (const c of records) {
      const have = await this.store.maxSeq(c.id);
      if (c.last_message) await this.store.putMessages([c.last_message]);
      if (have === 0 || have >= c.last_seq) continue;
      let after = have;
      for (let page = 0; page < 10; page++) {
        const p = await this.rest.messages(c.id, { after, limit: 200 });
        if (p.messages.length === 0) break;
        await this.store.putMessages(p.messages);
        after = p.messages[p.messages.length - 1]!.seq;
        if (!p.has_more) break;
      }
    }
    const lists: Parameters<Store['replaceLists']>[0] = {
      conversations: records,
      contacts: contacts.contacts,
      invitations: [...invitations.incoming, ...invitations.outgoing],
      blocks: blocks.blocked,
    };
    if (settings) lists.settings = settings.settings;
    await this.store.replaceLists(lists, position);
    // Reload the windows of opened conversations from the store.
    this.spill.clear();
    const opened = Object.keys(this.state.get().messages).map(Number);
    const windows: Record<Id, Message[]> = {};
    for (const id of opened) {
      if (!records.some((r) => r.id === id)) continue;
      windows[id] = await this.store.messagesBefore(id, Number.MAX_SAFE_INTEGER, PAGE);
    }
    this.state.update((s) =>
      withUsers({
        ...s,
        conversations: sortConversations(records),
        contacts: contacts.contacts,
        invitations: lists.invitations,
        blocks: blocks.blocked,
        settings: settings?.settings ?? s.settings,
        messages: { ...windows },
        hasNewer: {},
      }),
    );
  }

  // -- history --------------------------------------------------------------------

  /**
   * Loads the newest part of a conversation: from the store, and from the
   * server when the store may be behind it.
   *
   * Online means caught up: the conversation's last seq is the server's, and
   * the server is asked only when the store lacks the newest messages. While
   * connecting or catching up (after a reload or a long absence, a catch-up
   * may bring tens of thousands of events, applied in order before anything
   * else, each batch in a transaction that store reads queue behind), the
   * store's newest may be far behind and its reads slow: the server's newest
   * page is asked for at once, alongside the store, and shown as soon as it
   * arrives, before it is stored and whatever the store answers. Opening
   * never waits for the catch-up.
   */
  async openConversation(id: Id): Promise<void> {
    const state = this.conn.getState();
    const current = state === 'online';
    let remoteShown = false;
    // A window scrolled far up (its newest messages dropped) opens at the newest again.
    const local =
      !this.state.get().messages[id] || this.state.get().hasNewer[id]
        ? this.store.messagesBefore(id, Number.MAX_SAFE_INTEGER, PAGE).then((list) => {
            if (remoteShown) return;
            const tail = contiguousTail(list);
            this.setWindow(id, tail, tail.length > 0 ? tail[0]!.seq > 1 : true);
          })
        : Promise.resolve();
    // Known to be offline: what the store holds is all there is.
    if (state === 'offline') return local;
    if (!current) {
      // The member list (senders' names in a group, mentions, read marks)
      // is not in the conversation list a REST reload stores: asked for
      // alongside the newest page, as when online, not after the catch-up.
      const members = this.withoutMembers(id) ? this.fetchConversation(id).catch(() => undefined) : Promise.resolve();
      const page = await this.rest.messages(id, { limit: PAGE }).catch(() => null);
      if (page) {
        remoteShown = true;
        this.showNewest(id, page.messages, page.has_more);
        // Stored behind the catch-up's transactions; the window has it already.
        void this.store.putMessages(page.messages).catch((e) => console.warn('parley: storing the newest page failed', e));
      }
      await Promise.all([local, members]);
      return;
    }
    await local;
    try {
      if (this.withoutMembers(id)) await this.fetchConversation(id);
      const window = this.state.get().messages[id] ?? [];
      const newest = window.length ? window[window.length - 1]!.seq : 0;
      const lastSeq = this.state.get().conversations.find((c) => c.id === id)?.last_seq ?? 0;
      if (newest < lastSeq || window.length < Math.min(PAGE, lastSeq)) {
        const page = await this.rest.messages(id, { limit: PAGE });
        this.showNewest(id, await this.store.putMessages(page.messages), page.has_more);
      }
    } catch {
      // Offline or refused: what the store holds is shown.
    }
  }

  /** Whether the conversation's member list is not known yet (unknown conversations included). */
  private withoutMembers(id: Id): boolean {
    return !this.state.get().conversations.find((c) => c.id === id)?.members;
  }

  /**
   * Puts the server's newest page in the window: older stored messages
   * separated from it by a gap (missed while away) leave the window;
   * scrolling up reloads them and the gap from the server, in order.
   */
  private showNewest(id: Id, page: Message[], more: boolean): void {
    this.spill.delete(id);
    this.state.update((s) => {
      const loaded = s.hasNewer[id] ? [] : (s.messages[id] ?? []);
      let merged = contiguousTail(mergeSorted(loaded, page));
      if (merged.length > WINDOW) merged = merged.slice(merged.length - WINDOW);
      return {
        ...s,
        messages: { ...s.messages, [id]: merged },
        hasOlder: { ...s.hasOlder, [id]: (merged[0]?.seq ?? 1) > 1 || more },
        hasNewer: { ...s.hasNewer, [id]: false },
      };
    });
  }

  /**
   * Loads up to one page before the oldest loaded message: from the store
   * when it holds them without a gap, else from the server. Returns how
   * many messages were added.
   */
  async loadOlder(id: Id): Promise<number> {
    const window = this.state.get().messages[id] ?? [];
    const oldest = window.length ? window[0]!.seq : Number.MAX_SAFE_INTEGER;
    if (oldest <= 1) {
      this.state.update((s) => ({ ...s, hasOlder: { ...s.hasOlder, [id]: false } }));
      return 0;
    }
    const kept = this.fromSpill(id, 'above', oldest);
    let page = kept ?? (await this.store.messagesBefore(id, oldest, LOCAL_PAGE));
    const contiguous =
      page.length > 0 &&
      page.every((m, i) => i === 0 || m.seq === page[i - 1]!.seq + 1) &&
      page[page.length - 1]!.seq === (oldest === Number.MAX_SAFE_INTEGER ? page[page.length - 1]!.seq : oldest - 1) &&
      (page.length === LOCAL_PAGE || page[0]!.seq === 1);
    if (!contiguous) {
      try {
        const p = await this.rest.messages(id, oldest === Number.MAX_SAFE_INTEGER ? { limit: PAGE } : { before: oldest, limit: PAGE });
        page = await this.store.putMessages(p.messages);
      } catch {
        // Offline: show what the store has.
      }
    }
    const hasOlder = page.length > 0 && page[0]!.seq > 1;
    this.state.update((s) => {
      const loaded = s.messages[id] ?? [];
      // The newest messages beyond WINDOW are left out (they are in the store).
      const { merged, trimmed } = intoWindow(loaded, page, 'oldest');
      if (trimmed) this.toSpill(id, 'below', loaded, merged);
      const hasNewer = trimmed || (s.hasNewer[id] ?? false);
      return {
        ...s,
        messages: { ...s.messages, [id]: merged },
        hasOlder: { ...s.hasOlder, [id]: hasOlder },
        hasNewer: { ...s.hasNewer, [id]: hasNewer },
      };
    });
    return page.length;
  }

  /**
   * Reads up to one page after the newest loaded message, when newer ones
   * were dropped from the window: from the store, else (a gap) from the
   * server. The oldest messages leave the window as it fills. Returns how
   * many messages were added.
   */
  async loadNewer(id: Id): Promise<number> {
    const window = this.state.get().messages[id] ?? [];
    if (!this.state.get().hasNewer[id] || window.length === 0) return 0;
    const newest = window[window.length - 1]!.seq;
    const lastSeq = this.state.get().conversations.find((c) => c.id === id)?.last_seq ?? 0;
    const kept = this.fromSpill(id, 'below', newest);
    // One more than a page: whether the store holds more after it.
    let page = kept ?? (await this.store.messagesAfter(id, newest, LOCAL_PAGE + 1));
    // Only the part that follows on without a gap.
    let n = 0;
    while (n < page.length && page[n]!.seq === newest + n + 1) n++;
    page = page.slice(0, Math.min(n, LOCAL_PAGE));
    // A page kept in memory does not say whether more follow it: the next
    // read does (one that finds nothing ends `hasNewer`).
    let more = n > LOCAL_PAGE || lastSeq > newest + page.length || kept !== undefined;
    if (page.length === 0) {
      if (lastSeq > newest) {
        try {
          const p = await this.rest.messages(id, { after: newest, limit: PAGE });
          page = await this.store.putMessages(p.messages);
          more = p.has_more;
        } catch {
          // Offline: the reader stays where the store ends; scrolling again retries.
          return 0;
        }
      }
    }
    this.state.update((s) => {
      const loaded = s.messages[id] ?? [];
      // The window changed meanwhile (reopened, reloaded): this page no longer follows it.
      if (!s.hasNewer[id] || loaded[loaded.length - 1]?.seq !== newest) return s;
      const { merged, trimmed } = intoWindow(loaded, page, 'newest');
      if (trimmed) this.toSpill(id, 'above', loaded, merged);
      const hasOlder = trimmed || (s.hasOlder[id] ?? true);
      return {
        ...s,
        messages: { ...s.messages, [id]: merged },
        hasOlder: { ...s.hasOlder, [id]: hasOlder },
        hasNewer: { ...s.hasNewer, [id]: more },
      };
    });
    return page.length;
  }

  /**
   * The page adjoining the window at `side` (just before seq `edge` above,
   * just after it below) from the messages kept there, taken out of them;
   * undefined when they do not adjoin it or hold less than a page (and do
   * not reach the first message).
   */
  private fromSpill(id: Id, side: 'above' | 'below', edge: number): Message[] | undefined {
    const kept = this.spill.get(id);
    const run = kept?.[side];
    if (!kept || !run || run.length === 0) return undefined;
    if (side === 'above') {
      if (run[run.length - 1]!.seq !== edge - 1 || (run.length < LOCAL_PAGE && run[0]!.seq !== 1)) {
        kept.above = [];
        return undefined;
      }
      const page = run.slice(Math.max(0, run.length - LOCAL_PAGE));
      kept.above = run.slice(0, run.length - page.length);
      return page;
    }
    if (run[0]!.seq !== edge + 1 || run.length < LOCAL_PAGE) {
      kept.below = [];
      return undefined;
    }
    kept.below = run.slice(LOCAL_PAGE);
    return run.slice(0, LOCAL_PAGE);
  }

  /** Keeps what `loaded` held beyond `merged` (what the window just dropped at `side`), next to what was kept there. */
  private toSpill(id: Id, side: 'above' | 'below', loaded: Message[], merged: Message[]): void {
    if (merged.length === 0) return;
    const kept = this.spill.get(id) ?? { above: [], below: [] };
    this.spill.set(id, kept);
    if (side === 'below') {
      const end = merged[merged.length - 1]!.seq;
      let i = loaded.length;
      while (i > 0 && loaded[i - 1]!.seq > end) i--;
      const dropped = loaded.slice(i);
      const rest = kept.below.length > 0 && dropped.length > 0 && kept.below[0]!.seq === dropped[dropped.length - 1]!.seq + 1 ? kept.below : [];
      kept.below = joinWithin(dropped, rest, SPILL, 'oldest');
    } else {
      const start = merged[0]!.seq;
      let i = 0;
      while (i < loaded.length && loaded[i]!.seq < start) i++;
      const dropped = loaded.slice(0, i);
      const rest = kept.above.length > 0 && dropped.length > 0 && kept.above[kept.above.length - 1]!.seq === dropped[0]!.seq - 1 ? kept.above : [];
      kept.above = joinWithin(rest, dropped, SPILL, 'newest');
    }
  }

  /** Changed messages of a conversation replace those kept beside its window. */
  private spillChanged(id: Id, list: Message[]): void {
    const kept = this.spill.get(id);
    if (!kept) return;
    for (const m of list) {
      for (const run of [kept.above, kept.below]) {
        const i = run.length > 0 ? m.seq - run[0]!.seq : -1;
        if (i >= 0 && i < run.length && run[i]!.id === m.id) run[i] = m;
      }
    }
  }

  private setWindow(id: Id, messages: Message[], hasOlder: boolean): void {
    this.spill.delete(id);
    this.state.update((s) => ({
      ...s,
      messages: { ...s.messages, [id]: messages },
      hasOlder: { ...s.hasOlder, [id]: hasOlder },
      hasNewer: { ...s.hasNewer, [id]: false },
    }));
  }

  // -- writes -----------------------------------------------------------------------

  /**
   * Queues a message in the outbox (stored first, so it survives a reload)
   * and sends it at once when connected. Returns its client id.
   */
  async send(conversation: Id, text: string, extra: { reply_to?: Id; attachments?: string[]; sticker?: Id } = {}): Promise<string> {
    const now = Date.now();
    const last = this.state.get().outbox.reduce((max, o) => Math.max(max, o.order), 0);
    const item: OutboxItem = { client_id: newClientId(), conversation_id: conversation, text, created_at: now, order: Math.max(now, last + 1), ...extra };
    await this.store.addOutbox(item);
    // The message ends the typing indicator on the other side: a typing
    // notice still waiting must not revive it.
    const pendingTyping = this.typingTimers.get(conversation);
    if (pendingTyping) clearTimeout(pendingTyping);
    this.typingTimers.delete(conversation);
    this.state.update((s) => ({ ...s, outbox: [...s.outbox, item] }));
    if (this.conn.getState() === 'online') this.flushOutbox();
    return item.client_id;
  }

  async discardOutbox(clientId: string): Promise<void> {
    await this.removeFromOutbox(clientId);
  }

  private async removeFromOutbox(clientId: string): Promise<void> {
    await this.store.removeOutbox(clientId);
    this.sentOnThisConnection.delete(clientId);
    this.state.update((s) => ({ ...s, outbox: s.outbox.filter((o) => o.client_id !== clientId) }));
  }

  private async updateOutbox(item: OutboxItem): Promise<void> {
    await this.store.addOutbox(item);
    this.state.update((s) => ({ ...s, outbox: s.outbox.map((o) => (o.client_id === item.client_id ? item : o)) }));
  }

  /**
   * Queues a change to an existing message (edit, delete, react) in the
   * outbox, like a message: stored first, shown at once (pending.ts), sent
   * in order when connected, removed on the server's `ok`.
   */
  private async queueOp(m: Pick<Message, 'id' | 'conversation_id'>, op: Pick<OutboxItem, 'op' | 'text' | 'emoji' | 'remove'>): Promise<void> {
    const now = Date.now();
    const last = this.state.get().outbox.reduce((max, o) => Math.max(max, o.order), 0);
    const item: OutboxItem = { client_id: newClientId(), conversation_id: m.conversation_id, message_id: m.id, created_at: now, order: Math.max(now, last + 1), ...op };
    await this.store.addOutbox(item);
    this.state.update((s) => ({ ...s, outbox: [...s.outbox, item] }));
    if (this.conn.getState() === 'online') this.flushOutbox();
  }

  /** The server refused an op: for good (marked failed, shown), or for now (`internal`: outcome unknown). */
  private async opRefused(clientId: string, code: string, message: string): Promise<void> {
    const item = this.state.get().outbox.find((o) => o.client_id === clientId);
    if (!item) return;
    if (PERMANENT_SEND_ERRORS.has(code)) {
      this.sentOnThisConnection.delete(clientId);
      await this.updateOutbox({ ...item, failed: message || code });
      this.flushOutbox();
      return;
    }
    // After `internal` the outcome is unknown: looked at again (and sent
    // again unless the store shows it applied) a little later, on this
    // connection, so that the ops after it do not wait for a reconnect.
    await this.updateOutbox({ ...item, uncertain: true });
    const connection = this.connection;
    setTimeout(() => {
      if (connection !== this.connection || this.stopped) return;
      this.sentOnThisConnection.delete(clientId);
      if (this.conn.getState() === 'online') this.flushOutbox();
    }, OP_RETRY_MS);
  }

  /**
   * Sends what the outbox holds that this connection has not sent yet, in
   * order, paced under the server's frame rate (50/s per session, bursts of
   * 200): a frame over the limit is dropped without a `ref`, so the client
   * could not tell which message to resend.
   *
   * New messages are sent without waiting for each other's acks (their
   * client ids make a resend harmless). An op (edit, delete, react) waits
   * until everything before it is answered, and nothing after it is sent
   * before its own answer: so the server applies them in the order they
   * were made, and at most one op is ever of unknown outcome when a
   * connection drops (see resolveUncertain).
   */
  private flushOutbox(): void {
    if (this.flushTimer) return;
    let sent = 0;
    let waiting = false;
    for (const item of this.state.get().outbox) {
      if (item.failed) continue;
      if (this.sentOnThisConnection.has(item.client_id)) {
        if (item.op) return;
        waiting = true;
        continue;
      }
      if (item.op) {
        if (waiting) return;
        this.sentOnThisConnection.add(item.client_id);
        if (item.uncertain) this.after(() => this.resolveUncertain(item));
        else this.sendOp(item);
        return;
      }
      if (sent === OUTBOX_CHUNK) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = null;
          if (this.conn.getState() === 'online') this.flushOutbox();
        }, OUTBOX_CHUNK_MS);
        return;
      }
      this.sendItem(item);
      waiting = true;
      sent++;
    }
  }

  private sendOp(item: OutboxItem): void {
    const ref = `op:${item.client_id}`;
    const id = item.message_id!;
    let frame: Parameters<Connection['send']>[0];
    if (item.op === 'edit') frame = { type: 'edit', ref, message_id: id, text: item.text };
    else if (item.op === 'delete') frame = { type: 'delete', ref, message_id: id };
    else {
      frame = { type: 'react', ref, message_id: id, emoji: item.emoji ?? '' };
      if (item.remove) frame.remove = true;
    }
    if (!this.conn.send(frame)) this.sentOnThisConnection.delete(item.client_id);
  }

  /**
   * The op of unknown outcome (sent, then the connection dropped or the
   * server failed before answering), after the catch-up: if the stored
   * message already shows its effect it was applied and goes; otherwise
   * it is sent again. Deleting and reacting are idempotent on the server
   * (a repeat is answered `ok` and emits nothing), an edit is not (a
   * repeat emits a second `message.edited`, with the same text): the check
   * keeps the other devices from seeing it twice.
   */
  private async resolveUncertain(item: OutboxItem): Promise<void> {
    const connection = this.connection;
    const stored = item.message_id === undefined ? undefined : await this.store.message(item.message_id);
    if (connection !== this.connection || !this.state.get().outbox.some((o) => o.client_id === item.client_id)) return;
    if (opApplied(item, stored, this.opts.me.id)) {
      await this.removeFromOutbox(item.client_id);
      if (this.conn.getState() === 'online') this.flushOutbox();
      return;
    }
    const { uncertain: _, ...sure } = item;
    await this.updateOutbox(sure);
    if (connection === this.connection) this.sendOp(sure);
  }

  private sendItem(item: OutboxItem): void {
    if (this.sentOnThisConnection.has(item.client_id)) return;
    const frame: Parameters<Connection['send']>[0] = {
      type: 'send',
      ref: `send:${item.client_id}`,
      conversation_id: item.conversation_id,
      client_id: item.client_id,
    };
    if (item.text) frame.text = item.text;
    if (item.reply_to) frame.reply_to = item.reply_to;
    if (item.attachments?.length) frame.attachments = item.attachments;
    if (item.sticker) frame.sticker = item.sticker;
    if (this.conn.send(frame)) this.sentOnThisConnection.add(item.client_id);
  }

  /** Edits one's message: queued in the outbox, shown at once, sent in order (also offline). */
  edit(m: Pick<Message, 'id' | 'conversation_id'>, text: string): Promise<void> {
    return this.queueOp(m, { op: 'edit', text });
  }

  delete(m: Pick<Message, 'id' | 'conversation_id'>): Promise<void> {
    return this.queueOp(m, { op: 'delete', text: '' });
  }

  react(m: Pick<Message, 'id' | 'conversation_id'>, emoji: string, remove = false): Promise<void> {
    const op: Pick<OutboxItem, 'op' | 'text' | 'emoji' | 'remove'> = { op: 'react', text: '', emoji };
    if (remove) op.remove = true;
    return this.queueOp(m, op);
  }

  /** Marks a conversation read up to `seq` (only forward, only when online). */
  markRead(conversation: Id, seq: number): void {
    const c = this.state.get().conversations.find((x) => x.id === conversation);
    if (!c || seq <= c.read_seq || this.conn.getState() !== 'online') return;
    this.conn.send({ type: 'read', conversation_id: conversation, seq });
  }

  private sendDelivered(messages: Message[]): void {
    const top = new Map<Id, number>();
    for (const m of messages) top.set(m.conversation_id, Math.max(top.get(m.conversation_id) ?? 0, m.seq));
    for (const [conversation_id, seq] of top) this.conn.send({ type: 'delivered', conversation_id, seq });
  }

  private async sendDeliveredForAll(): Promise<void> {
    const me = this.opts.me.id;
    for (const c of this.state.get().conversations) {
      if (c.last_message && c.last_message.sender_id !== me && c.last_seq > c.read_seq) {
        const mine = c.members?.find((m) => m.user.id === me);
        if (!mine || mine.delivered_seq < c.last_seq) this.conn.send({ type: 'delivered', conversation_id: c.id, seq: c.last_seq });
      }
    }
  }

  /**
   * Tells the others the user is typing: at most every 3 s (the server
   * forwards at most one per 2 s), and once more at the end of the interval
   * when the user typed during it, so that typing right after sending a
   * message still shows.
   */
  typing(conversation: Id): void {
    const now = Date.now();
    const last = this.typingSent.get(conversation) ?? 0;
    const send = () => {
      if (this.conn.send({ type: 'typing', conversation_id: conversation })) this.typingSent.set(conversation, Date.now());
    };
    if (now - last >= Limits.typingIntervalMs) {
      send();
      return;
    }
    if (this.typingTimers.has(conversation)) return;
    this.typingTimers.set(
      conversation,
      setTimeout(() => {
        this.typingTimers.delete(conversation);
        send();
      }, last + Limits.typingIntervalMs - now),
    );
  }

  private expireTyping(): void {
    const now = Date.now();
    this.state.update((s) => {
      let changed = false;
      const typing: SyncState['typing'] = {};
      for (const [cid, users] of Object.entries(s.typing)) {
        const kept: Record<Id, number> = {};
        for (const [uid, until] of Object.entries(users)) {
          if (until > now) kept[Number(uid)] = until;
          else changed = true;
        }
        typing[Number(cid)] = kept;
      }
      return changed ? { ...s, typing } : s;
    });
  }

  // -- REST-backed changes that the store learns through events ----------------------

  setSettings(settings: Settings): void {
    void this.store.setKv('settings', settings);
    this.state.update((s) => ({ ...s, settings }));
  }

  setMe(me: Me): void {
    this.opts.me = me;
    this.state.update((s) => withUsers({ ...s, me }));
  }

  draft(conversation: Id): Promise<string> {
    return this.store.draft(conversation);
  }

  setDraft(conversation: Id, text: string): Promise<void> {
    return this.store.setDraft(conversation, text);
  }
}

function sortConversations(list: ConversationRecord[]): ConversationRecord[] {
  return [...list].sort((a, b) => b.last_activity - a.last_activity || b.id - a.id);
}

/** Merges `add` into the ascending-by-seq list `base` (replacing by id). */
export function mergeSorted(base: Message[], add: Message[]): Message[] {
  if (add.length === 0) return base;
  if (base.length === 0) return [...add].sort((a, b) => a.seq - b.seq);
  // Fast paths (a page of older messages, or new ones at the end): no
  // re-sort of a loaded history that may hold tens of thousands.
  // Pages read from the store or the server come ascending: no copy to sort.
  const sortedAdd = add.length > 1 && !ascending(add) ? [...add].sort((a, b) => a.seq - b.seq) : add;
  if (sortedAdd[sortedAdd.length - 1]!.seq < base[0]!.seq) return [...sortedAdd, ...base];
  if (sortedAdd[0]!.seq > base[base.length - 1]!.seq) return [...base, ...sortedAdd];
  if (add.length <= 4) {
    // A few changed messages (an edit, a reaction): replace them in place.
    const out = base.slice();
    let inPlace = true;
    for (const m of add) {
      const i = findSeq(out, m.seq);
      if (i >= 0 && out[i]!.id === m.id) out[i] = m;
      else inPlace = false;
    }
    if (inPlace) return out;
  }
  const byId = new Map(base.map((m) => [m.id, m]));
  for (const m of add) byId.set(m.id, m);
  // Fast path: appending newer messages to the end keeps the order.
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function ascending(list: Message[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.seq <= list[i - 1]!.seq) return false;
  return true;
}

/** Whether `older` (ascending, not empty) ends before `newer` (ascending, not empty) starts. */
function precedes(older: Message[], newer: Message[]): boolean {
  return older.length > 0 && newer.length > 0 && ascending(older) && ascending(newer) && older[older.length - 1]!.seq < newer[0]!.seq;
}

/**
 * `older` followed by `newer`, at most `limit` of them, keeping the oldest
 * or the newest: one array (no concatenation copied again to be cut).
 */
export function joinWithin(older: Message[], newer: Message[], limit: number, keep: 'oldest' | 'newest'): Message[] {
  const total = older.length + newer.length;
  const n = Math.min(total, limit);
  const out = new Array<Message>(n);
  const skip = keep === 'newest' ? total - n : 0;
  for (let i = 0; i < n; i++) {
    const j = i + skip;
    out[i] = j < older.length ? older[j]! : newer[j - older.length]!;
  }
  return out;
}

/**
 * `page` merged into the window `loaded`, at most WINDOW messages, keeping
 * the oldest (a page read above) or the newest (a page read below);
 * `trimmed` when some were left out. A page just beyond the window's end,
 * the common case, is joined in one array.
 */
function intoWindow(loaded: Message[], page: Message[], keep: 'oldest' | 'newest'): { merged: Message[]; trimmed: boolean } {
  const [older, newer] = keep === 'oldest' ? [page, loaded] : [loaded, page];
  if (precedes(older, newer)) {
    const merged = joinWithin(older, newer, WINDOW, keep);
    return { merged, trimmed: merged.length < page.length + loaded.length };
  }
  const merged = mergeSorted(loaded, page);
  if (merged.length <= WINDOW) return { merged, trimmed: false };
  return { merged: keep === 'oldest' ? merged.slice(0, WINDOW) : merged.slice(merged.length - WINDOW), trimmed: true };
}

/** The part of an ascending list after its last gap in seqs (all of it when there is none). */
export function contiguousTail(list: Message[]): Message[] {
  for (let i = list.length - 1; i > 0; i--) {
    if (list[i]!.seq !== list[i - 1]!.seq + 1) return list.slice(i);
  }
  return list;
}

/** Index of the message with `seq` in an ascending list, or -1. */
function findSeq(list: Message[], seq: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid]!.seq;
    if (v === seq) return mid;
    if (v < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function withUsers(s: SyncState): SyncState {
  const users: Record<Id, PublicUser> = { ...s.users, [s.me.id]: s.me };
  for (const c of s.contacts) users[c.user.id] = c.user;
  for (const b of s.blocks) users[b.user.id] = b.user;
  for (const i of s.invitations) {
    const u = i.from ?? i.to;
    if (u) users[u.id] = u;
  }
  for (const c of s.conversations) {
    if (c.peer) users[c.peer.id] = c.peer;
    for (const m of c.members ?? []) users[m.user.id] = m.user;
  }
  return { ...s, users };
}

export { newClientId };
