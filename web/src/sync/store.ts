// The device store: everything the app has seen, in IndexedDB, so that the
// app starts and shows history without the server.
//
// One database per signed-in user (`parley-<user id>`), dropped at sign out.
// Events are applied in one transaction together with the resume position
// they lead to (protocol.md "Exact resume": the position is stored with the
// state it describes), so a crash never leaves one without the other.

import { deleteDB, openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type {
  Block,
  Contact,
  Id,
  Invitation,
  KnownEvent,
  Message,
  Settings,
  ServerEvent,
} from '../protocol/types';
import {
  applyDelete,
  applyEdit,
  applyMemberAdded,
  applyMemberGone,
  applyReaction,
  applyReceipt,
  applyRole,
  conversationOnMessage,
  fromCreated,
  mergeMessage,
  type ConversationRecord,
} from './apply';

/** A message waiting to be sent (or acknowledged), in the order it was written. */
export interface OutboxItem {
  client_id: string;
  conversation_id: Id;
  text: string;
  reply_to?: Id;
  attachments?: string[];
  sticker?: Id;
  created_at: number;
  /** Strictly increasing in the order written (two may share a millisecond). */
  order: number;
  /** Set when the server refused it for good (the UI offers to discard it). */
  failed?: string;
  /**
   * A change to an existing message instead of a new one (`text` is then
   * the new text of an edit, else empty): queued, shown and sent like a
   * message, in the same order (docs: web/README.md, "Outbox").
   */
  op?: 'edit' | 'delete' | 'react';
  /** The message an op changes. */
  message_id?: Id;
  /** A reaction's emoji, and whether the op removes it. */
  emoji?: string;
  remove?: boolean;
  /**
   * An op sent on a connection that was lost before its answer: it may or
   * may not have been applied. Looked at again after the next catch-up.
   */
  uncertain?: boolean;
}

/** A resumable upload in progress, kept so that it continues after a reload. */
export interface UploadRecord {
  upload_id: string;
  conversation_id: Id;
  name: string;
  size: number;
  type: string;
  /** The file itself (IndexedDB stores Blobs), to continue after a reload. */
  blob: Blob;
  created_at: number;
}

interface ParleyDB extends DBSchema {
  kv: { key: string; value: unknown };
  conversations: { key: Id; value: ConversationRecord };
  messages: { key: Id; value: Message; indexes: { by_seq: [Id, number]; by_client: string } };
  contacts: { key: Id; value: Contact };
  invitations: { key: Id; value: Invitation };
  blocks: { key: Id; value: Block };
  drafts: { key: Id; value: { conversation_id: Id; text: string } };
  outbox: { key: string; value: OutboxItem; indexes: { by_order: number } };
  uploads: { key: string; value: UploadRecord };
}

type StoreName = 'kv' | 'conversations' | 'messages' | 'contacts' | 'invitations' | 'blocks' | 'drafts' | 'outbox' | 'uploads';
const ALL_STORES: StoreName[] = ['kv', 'conversations', 'messages', 'contacts', 'invitations', 'blocks', 'drafts', 'outbox', 'uploads'];
type Tx = IDBPTransaction<ParleyDB, StoreName[], 'readwrite'>;

/** What an applied batch changed, so that the in-memory view can follow. */
export interface Changes {
  conversations: Set<Id>;
  /** Conversations that are gone for the caller (left, removed). */
  removedConversations: Set<Id>;
  /** Messages written, by conversation. */
  messages: Map<Id, Message[]>;
  /** New messages from others (for notifications), in order. */
  incoming: Message[];
  contacts: boolean;
  invitations: boolean;
  blocks: boolean;
}

export function emptyChanges(): Changes {
  return {
    conversations: new Set(),
    removedConversations: new Set(),
    messages: new Map(),
    incoming: [],
    contacts: false,
    invitations: false,
    blocks: false,
  };
}

export class Store {
  private constructor(private readonly db: IDBPDatabase<ParleyDB>, readonly name: string) {}

  /** Opens (creating or upgrading) the store of one user. */
  static async open(userId: Id): Promise<Store> {
    const name = `parley-${userId}`;
    const db = await openDB<ParleyDB>(name, 1, {
      // Another tab signs out (deletes the database) or upgrades it: let it.
      blocking() {
        db.close();
      },
      upgrade(db) {
        db.createObjectStore('kv');
        db.createObjectStore('conversations', { keyPath: 'id' });
        const messages = db.createObjectStore('messages', { keyPath: 'id' });
        messages.createIndex('by_seq', ['conversation_id', 'seq'], { unique: false });
        messages.createIndex('by_client', 'client_id', { unique: false });
        db.createObjectStore('contacts', { keyPath: 'user.id' });
        db.createObjectStore('invitations', { keyPath: 'id' });
        db.createObjectStore('blocks', { keyPath: 'user.id' });
        db.createObjectStore('drafts', { keyPath: 'conversation_id' });
        const outbox = db.createObjectStore('outbox', { keyPath: 'client_id' });
        outbox.createIndex('by_order', 'order');
        db.createObjectStore('uploads', { keyPath: 'upload_id' });
      },
    });
    return new Store(db, name);
  }

  close(): void {
    this.db.close();
  }

  // -- key/value ------------------------------------------------------------

  async position(): Promise<number | undefined> {
    return (await this.db.get('kv', 'position')) as number | undefined;
  }

  async setPosition(position: number): Promise<void> {
    await this.db.put('kv', position, 'position');
  }

  async getKv<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('kv', key)) as T | undefined;
  }

  async setKv(key: string, value: unknown): Promise<void> {
    await this.db.put('kv', value, key);
  }

  async settings(): Promise<Settings | undefined> {
    return this.getKv<Settings>('settings');
  }

  // -- reads ----------------------------------------------------------------

  async conversations(): Promise<ConversationRecord[]> {
    return this.db.getAll('conversations');
  }

  async conversation(id: Id): Promise<ConversationRecord | undefined> {
    return this.db.get('conversations', id);
  }

  async contacts(): Promise<Contact[]> {
    return this.db.getAll('contacts');
  }

  async invitations(): Promise<Invitation[]> {
    return this.db.getAll('invitations');
  }

  async blocks(): Promise<Block[]> {
    return this.db.getAll('blocks');
  }

  async message(id: Id): Promise<Message | undefined> {
    return this.db.get('messages', id);
  }

  /** Up to `limit` messages with seq below `beforeSeq`, ascending. */
  async messagesBefore(conversation: Id, beforeSeq: number, limit: number): Promise<Message[]> {
    if (beforeSeq < Number.MAX_SAFE_INTEGER) {
      // Seqs have no gaps: one getAll over the seq range is much faster than
      // a cursor step per message. With gaps (history not loaded) it returns
      // fewer, which callers treat as "ask the server".
      const lower = Math.max(0, beforeSeq - limit);
      return this.db.getAllFromIndex('messages', 'by_seq', IDBKeyRange.bound([conversation, lower], [conversation, beforeSeq], false, true));
    }
    const range = IDBKeyRange.bound([conversation, 0], [conversation, beforeSeq], false, true);
    const out: Message[] = [];
    let cursor = await this.db.transaction('messages').store.index('by_seq').openCursor(range, 'prev');
    while (cursor && out.length < limit) {
      out.push(cursor.value);
      cursor = await cursor.continue();
    }
    return out.reverse();
  }

  /** Up to `limit` stored messages after `afterSeq`, ascending (fewer where seqs are missing). */
  async messagesAfter(conversation: Id, afterSeq: number, limit: number): Promise<Message[]> {
    const range = IDBKeyRange.bound([conversation, afterSeq + 1], [conversation, afterSeq + limit]);
    return this.db.getAllFromIndex('messages', 'by_seq', range);
  }

  /** The highest seq stored for a conversation (0 when none). */
  async maxSeq(conversation: Id): Promise<number> {
    const range = IDBKeyRange.bound([conversation, 0], [conversation, Number.MAX_SAFE_INTEGER]);
    const cursor = await this.db.transaction('messages').store.index('by_seq').openCursor(range, 'prev');
    return cursor ? cursor.value.seq : 0;
  }

  async countMessages(conversation: Id): Promise<number> {
    const range = IDBKeyRange.bound([conversation, 0], [conversation, Number.MAX_SAFE_INTEGER]);
    return this.db.countFromIndex('messages', 'by_seq', range);
  }

  // -- drafts, outbox, uploads -----------------------------------------------

  async draft(conversation: Id): Promise<string> {
    return (await this.db.get('drafts', conversation))?.text ?? '';
  }

  async setDraft(conversation: Id, text: string): Promise<void> {
    if (text === '') await this.db.delete('drafts', conversation);
    else await this.db.put('drafts', { conversation_id: conversation, text });
  }

  /** The outbox in the order the messages were written. */
  async outbox(): Promise<OutboxItem[]> {
    return this.db.getAllFromIndex('outbox', 'by_order');
  }

  async addOutbox(item: OutboxItem): Promise<void> {
    await this.db.put('outbox', item);
  }

  async removeOutbox(clientId: string): Promise<void> {
    await this.db.delete('outbox', clientId);
  }

  async uploads(): Promise<UploadRecord[]> {
    return this.db.getAll('uploads');
  }

  async putUpload(u: UploadRecord): Promise<void> {
    await this.db.put('uploads', u);
  }

  async removeUpload(id: string): Promise<void> {
    await this.db.delete('uploads', id);
  }

  // -- writes from REST -------------------------------------------------------

  /** Stores messages loaded over REST (merged with what is stored). */
  async putMessages(messages: Message[]): Promise<Message[]> {
    const tx = this.db.transaction('messages', 'readwrite');
    const out: Message[] = [];
    for (const m of messages) {
      const merged = mergeMessage(await tx.store.get(m.id), m);
      await tx.store.put(merged);
      out.push(merged);
    }
    await tx.done;
    return out;
  }

  async putConversation(c: ConversationRecord): Promise<void> {
    await this.db.put('conversations', c);
  }

  /**
   * Replaces a conversation's record with `f(stored)`, read and written in
   * one transaction: events applied meanwhile (a catch-up runs alongside
   * REST calls) are never overwritten by a record built from an older read.
   * Returns what was stored.
   */
  async updateConversation(id: Id, f: (stored: ConversationRecord | undefined) => ConversationRecord): Promise<ConversationRecord> {
    const tx = this.db.transaction('conversations', 'readwrite');
    const next = f(await tx.store.get(id));
    await tx.store.put(next);
    await tx.done;
    return next;
  }

  /**
   * Replaces the lists a REST reload returns (conversations, contacts,
   * invitations, blocks), keeping the device-only fields of conversations
   * still listed, and stores `position` in the same transaction.
   */
  async replaceLists(
    lists: {
      conversations: ConversationRecord[];
      contacts: Contact[];
      invitations: Invitation[];
      blocks: Block[];
      settings?: Settings;
    },
    position: number | undefined,
  ): Promise<void> {
    const tx = this.db.transaction(['conversations', 'contacts', 'invitations', 'blocks', 'kv'], 'readwrite');
    const convs = tx.objectStore('conversations');
    await convs.clear();
    for (const c of lists.conversations) await convs.put(c);
    const contacts = tx.objectStore('contacts');
    await contacts.clear();
    for (const c of lists.contacts) await contacts.put(c);
    const invs = tx.objectStore('invitations');
    await invs.clear();
    for (const i of lists.invitations) await invs.put(i);
    const blocks = tx.objectStore('blocks');
    await blocks.clear();
    for (const b of lists.blocks) await blocks.put(b);
    if (lists.settings) await tx.objectStore('kv').put(lists.settings, 'settings');
    if (position !== undefined) await tx.objectStore('kv').put(position, 'position');
    await tx.done;
  }

  // -- events ---------------------------------------------------------------

  /**
   * Applies events in order and stores the position of the last one, in one
   * transaction. Unknown event types are skipped (their position still
   * counts). Returns what changed.
   */
  async applyEvents(events: { position: number; event: ServerEvent }[], me: Id): Promise<Changes> {
    const changes = emptyChanges();
    if (events.length === 0) return changes;
    const tx = this.db.transaction(ALL_STORES, 'readwrite') as Tx;
    for (const { event } of events) await applyOne(tx, event as KnownEvent, me, changes);
    const last = events[events.length - 1]!.position;
    const kv = tx.objectStore('kv');
    const stored = (await kv.get('position')) as number | undefined;
    if (stored === undefined || last > stored) await kv.put(last, 'position');
    await tx.done;
    return changes;
  }

  /**
   * Records an acknowledged send as a message right away (the message.new
   * that follows carries the same id and overwrites it) and removes it from
   * the outbox, atomically.
   */
  async applyAck(item: OutboxItem, ack: { message_id: Id; seq: number; position: number; created_at: number }, me: Id): Promise<Changes> {
    const changes = emptyChanges();
    const tx = this.db.transaction(['messages', 'conversations', 'outbox'], 'readwrite');
    const message: Message = {
      id: ack.message_id,
      conversation_id: item.conversation_id,
      seq: ack.seq,
      position: ack.position,
      sender_id: me,
      client_id: item.client_id,
      text: item.text,
      reply_to: item.reply_to ?? null,
      mentions: [],
      reactions: [],
      attachments: [],
      created_at: ack.created_at,
      edited_at: null,
      deleted: false,
      sticker: null,
    };
    const existing = await tx.objectStore('messages').get(ack.message_id);
    const merged = existing ?? message;
    if (!existing) await tx.objectStore('messages').put(message);
    const conv = await tx.objectStore('conversations').get(item.conversation_id);
    if (conv) {
      await tx.objectStore('conversations').put(conversationOnMessage(conv, merged, me, !existing));
      changes.conversations.add(conv.id);
    }
    await tx.objectStore('outbox').delete(item.client_id);
    await tx.done;
    if (!existing) changes.messages.set(item.conversation_id, [merged]);
    return changes;
  }

  /** Deletes the whole database (sign out). */
  static async destroy(userId: Id): Promise<void> {
    await deleteDB(`parley-${userId}`);
  }
}

function touch(changes: Changes, m: Message): void {
  const list = changes.messages.get(m.conversation_id);
  if (list) {
    const i = list.findIndex((x) => x.id === m.id);
    if (i >= 0) list[i] = m;
    else list.push(m);
  } else changes.messages.set(m.conversation_id, [m]);
}

/** Messages read per step when counting unread ones: one request (and reply) per step, not one per message. */
const COUNT_CHUNK = 1000;

/** How many stored messages from others, not deleted, have seqs in (`from`, `to`]. */
async function countUnreadIn(tx: Tx, conversation: Id, from: number, to: number, me: Id): Promise<number> {
  const index = tx.objectStore('messages').index('by_seq');
  let n = 0;
  for (let lo = from; lo < to; lo += COUNT_CHUNK) {
    const hi = Math.min(to, lo + COUNT_CHUNK);
    for (const m of await index.getAll(IDBKeyRange.bound([conversation, lo], [conversation, hi], true, false))) {
      if (m.sender_id !== me && !m.deleted) n++;
    }
  }
  return n;
}

/**
 * The unread count once the caller's read mark moves from `conv.read_seq`
 * to `seq` (another device read up to there). Counted over the shorter of
 * the part just read (taken off the count kept) and the part still unread:
 * a catch-up after a long absence replays read marks that moved step by
 * step through tens of thousands of messages, and counting what follows
 * each of them was a walk over the whole rest of the history every time,
 * in a transaction that every read of the store waited for.
 */
async function unreadAfterRead(tx: Tx, conv: ConversationRecord, seq: number, me: Id): Promise<number> {
  const justRead = seq - conv.read_seq;
  const left = conv.last_seq - seq;
  if (justRead < left) {
    const read = await countUnreadIn(tx, conv.id, conv.read_seq, seq, me);
    return Math.min(left, Math.max(0, conv.unread_count - read));
  }
  return countUnreadIn(tx, conv.id, seq, conv.last_seq, me);
}

async function applyOne(tx: Tx, e: KnownEvent, me: Id, changes: Changes): Promise<void> {
  const convs = tx.objectStore('conversations');
  const msgs = tx.objectStore('messages');
  switch (e.type) {
    case 'message.new': {
      const stored = await msgs.get(e.message.id);
      const merged = mergeMessage(stored, e.message);
      if (merged !== stored) await msgs.put(merged);
      touch(changes, merged);
      const conv = await convs.get(e.conversation_id);
      if (conv) {
        const next = conversationOnMessage(conv, merged, me, !stored);
        if (next !== conv) {
          await convs.put(next);
          changes.conversations.add(conv.id);
        }
      }
      if (!stored && merged.sender_id !== me && !merged.deleted) changes.incoming.push(merged);
      // A message written by this device on another connection: drop its
      // outbox entry (the ack may have been lost with the connection).
      if (merged.sender_id === me) await tx.objectStore('outbox').delete(merged.client_id);
      return;
    }
    case 'message.edited': {
      const stored = await msgs.get(e.message.id);
      const next = applyEdit(stored, e.message);
      if (next !== stored) {
        await msgs.put(next);
        touch(changes, next);
        const conv = await convs.get(e.conversation_id);
        if (conv?.last_message?.id === next.id) {
          await convs.put({ ...conv, last_message: next });
          changes.conversations.add(conv.id);
        }
      }
      return;
    }
    case 'message.deleted': {
      const stored = await msgs.get(e.message_id);
      if (!stored || stored.deleted) return;
      const next = applyDelete(stored);
      await msgs.put(next);
      touch(changes, next);
      const conv = await convs.get(e.conversation_id);
      if (conv) {
        let c = conv;
        if (c.last_message?.id === next.id) c = { ...c, last_message: next };
        if (next.sender_id !== me && next.seq > c.read_seq) c = { ...c, unread_count: Math.max(0, c.unread_count - 1) };
        if (c !== conv) {
          await convs.put(c);
          changes.conversations.add(c.id);
        }
      }
      return;
    }
    case 'reaction.added':
    case 'reaction.removed': {
      const stored = await msgs.get(e.message_id);
      if (!stored) return;
      const next = applyReaction(stored, e.emoji, e.user_id, e.type === 'reaction.added');
      if (next !== stored) {
        await msgs.put(next);
        touch(changes, next);
      }
      return;
    }
    case 'receipt.read':
    case 'receipt.delivered': {
      const conv = await convs.get(e.conversation_id);
      if (!conv) return;
      const kind = e.type === 'receipt.read' ? 'read' : 'delivered';
      let unread: number | undefined;
      if (e.user_id === me && kind === 'read' && e.seq > conv.read_seq && e.seq < conv.last_seq) {
        unread = await unreadAfterRead(tx, conv, e.seq, me);
      }
      const next = applyReceipt(conv, e.user_id, e.seq, kind, me, unread === undefined ? undefined : () => unread!);
      if (next !== conv) {
        await convs.put(next);
        changes.conversations.add(conv.id);
      }
      return;
    }
    case 'conversation.created': {
      const prev = await convs.get(e.conversation.id);
      await convs.put(fromCreated(e.conversation, me, prev));
      changes.conversations.add(e.conversation.id);
      return;
    }
    case 'conversation.updated': {
      const conv = await convs.get(e.conversation_id);
      if (!conv) return;
      await convs.put({ ...conv, name: e.name, topic: e.topic, avatar_media_id: e.avatar_media_id });
      changes.conversations.add(conv.id);
      return;
    }
    case 'member.added': {
      const conv = await convs.get(e.conversation_id);
      if (!conv) {
        // The caller was added: the engine loads the conversation over REST.
        if (e.member.user.id === me) changes.conversations.add(e.conversation_id);
        return;
      }
      await convs.put(applyMemberAdded(conv, e.member));
      changes.conversations.add(conv.id);
      return;
    }
    case 'member.removed':
    case 'member.left': {
      if (e.user_id === me) {
        await convs.delete(e.conversation_id);
        changes.removedConversations.add(e.conversation_id);
        return;
      }
      const conv = await convs.get(e.conversation_id);
      if (!conv) return;
      await convs.put(applyMemberGone(conv, e.user_id));
      changes.conversations.add(conv.id);
      return;
    }
    case 'member.role_changed': {
      const conv = await convs.get(e.conversation_id);
      if (!conv) return;
      await convs.put(applyRole(conv, e.user_id, e.role, me));
      changes.conversations.add(conv.id);
      return;
    }
    case 'contact.invitation_received':
    case 'contact.invitation_sent':
      await tx.objectStore('invitations').put(e.invitation);
      changes.invitations = true;
      return;
    case 'contact.invitation_removed':
      await tx.objectStore('invitations').delete(e.invitation_id);
      changes.invitations = true;
      return;
    case 'contact.added': {
      await tx.objectStore('contacts').put(e.contact);
      // An accepted invitation produces contact.added only: drop the pending
      // invitation with that user (protocol.md, contact events).
      const invs = tx.objectStore('invitations');
      for (const inv of await invs.getAll()) {
        if (inv.from?.id === e.contact.user.id || inv.to?.id === e.contact.user.id) await invs.delete(inv.id);
      }
      changes.contacts = true;
      changes.invitations = true;
      return;
    }
    case 'contact.removed':
      await tx.objectStore('contacts').delete(e.user_id);
      changes.contacts = true;
      return;
    case 'block.added':
      await tx.objectStore('blocks').put({ user: e.user, since: Date.now() });
      changes.blocks = true;
      return;
    case 'block.removed':
      await tx.objectStore('blocks').delete(e.user_id);
      changes.blocks = true;
      return;
    default:
      // An event type this client does not know: ignored (protocol.md).
      return;
  }
}
