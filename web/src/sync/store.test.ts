import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { Store } from './store';
import { CONVERSATION_CREATED, ME, message } from './testing/fakes';
import type { ServerEvent } from '../protocol/types';

let store: Store;

beforeEach(async () => {
  globalThis.indexedDB = new IDBFactory();
  store = await Store.open(ME.id);
});

const ev = (position: number, event: unknown) => ({ position, event: event as ServerEvent });

describe('Store.applyEvents', () => {
  it('stores the position of the last event with the state it applied', async () => {
    await store.applyEvents([ev(10, CONVERSATION_CREATED), ev(11, { type: 'message.new', conversation_id: 7, message: message(1, 1) })], ME.id);
    expect(await store.position()).toBe(11);
    expect((await store.message(1))?.text).toBe('hello 1');
    const c = await store.conversation(7);
    expect(c?.last_seq).toBe(1);
    expect(c?.unread_count).toBe(1);
    expect(c?.peer?.username).toBe('bob');
  });

  it('never moves the position backwards', async () => {
    await store.applyEvents([ev(20, CONVERSATION_CREATED)], ME.id);
    await store.applyEvents([ev(15, CONVERSATION_CREATED)], ME.id);
    expect(await store.position()).toBe(20);
  });

  it('gives the same state when a batch is applied twice', async () => {
    const batch = [
      ev(10, CONVERSATION_CREATED),
      ev(11, { type: 'message.new', conversation_id: 7, message: message(1, 1, { mentions: [ME.id] }) }),
      ev(12, { type: 'message.new', conversation_id: 7, message: message(2, 2) }),
      ev(13, { type: 'reaction.added', conversation_id: 7, message_id: 1, user_id: 2, emoji: '👍' }),
      ev(14, { type: 'message.edited', conversation_id: 7, message: message(2, 2, { text: 'edited', edited_at: 5000 }) }),
      ev(15, { type: 'receipt.read', conversation_id: 7, user_id: 2, seq: 2 }),
    ];
    await store.applyEvents(batch, ME.id);
    const once = { c: await store.conversation(7), m1: await store.message(1), m2: await store.message(2) };
    await store.applyEvents(batch, ME.id);
    const twice = { c: await store.conversation(7), m1: await store.message(1), m2: await store.message(2) };
    expect(twice).toEqual(once);
    expect(once.c?.unread_count).toBe(2);
    expect(once.c?.mention_seq).toBe(1);
    expect(once.m1?.reactions).toEqual([{ emoji: '👍', user_ids: [2] }]);
    expect(once.m2?.text).toBe('edited');
    expect(once.c?.members?.find((m) => m.user.id === 2)?.read_seq).toBe(2);
  });

  it('keeps a tombstone when the original message.new is replayed after it', async () => {
    await store.applyEvents([ev(10, CONVERSATION_CREATED), ev(11, { type: 'message.new', conversation_id: 7, message: message(1, 1) })], ME.id);
    await store.applyEvents([ev(12, { type: 'message.deleted', conversation_id: 7, message_id: 1, seq: 1, by: 2 })], ME.id);
    await store.applyEvents([ev(11, { type: 'message.new', conversation_id: 7, message: message(1, 1) })], ME.id);
    const m = await store.message(1);
    expect(m?.deleted).toBe(true);
    expect(m?.text).toBe('');
    expect((await store.conversation(7))?.unread_count).toBe(0);
  });

  it('counts unread messages again when the read mark moves', async () => {
    const msgs = [1, 2, 3, 4].map((i) => ev(10 + i, { type: 'message.new', conversation_id: 7, message: message(i, i) }));
    await store.applyEvents([ev(10, CONVERSATION_CREATED), ...msgs], ME.id);
    expect((await store.conversation(7))?.unread_count).toBe(4);
    await store.applyEvents([ev(20, { type: 'receipt.read', conversation_id: 7, user_id: ME.id, seq: 2 })], ME.id);
    expect((await store.conversation(7))?.unread_count).toBe(2);
    await store.applyEvents([ev(21, { type: 'receipt.read', conversation_id: 7, user_id: ME.id, seq: 4 })], ME.id);
    expect((await store.conversation(7))?.unread_count).toBe(0);
  });

  it('read marks replayed step by step count what each step covers, not the rest of the history each time', async () => {
    // 3,000 messages from bob, every 7th deleted; then the caller's read
    // mark moves in steps of 100, as a catch-up after an absence replays it.
    const total = 3000;
    const events = [ev(10, CONVERSATION_CREATED)];
    for (let i = 1; i <= total; i++) events.push(ev(10 + i, { type: 'message.new', conversation_id: 7, message: message(i, i) }));
    for (let i = 7; i <= total; i += 7) events.push(ev(10 + total + i, { type: 'message.deleted', conversation_id: 7, message_id: i }));
    await store.applyEvents(events, ME.id);
    const unreadAfter = (seq: number) => {
      let n = 0;
      for (let i = seq + 1; i <= total; i++) if (i % 7 !== 0) n++;
      return n;
    };
    expect((await store.conversation(7))?.unread_count).toBe(unreadAfter(0));
    // Messages the store hands back while the marks apply (values read by
    // getAll or by cursor steps).
    let read = 0;
    const getAll = IDBIndex.prototype.getAll;
    const openCursor = IDBIndex.prototype.openCursor;
    IDBIndex.prototype.getAll = function (this: IDBIndex, ...args: Parameters<IDBIndex['getAll']>) {
      const request = getAll.apply(this, args);
      request.addEventListener('success', () => { read += (request.result as unknown[]).length; });
      return request;
    };
    // A cursor's request succeeds once per step.
    IDBIndex.prototype.openCursor = function (this: IDBIndex, ...args: Parameters<IDBIndex['openCursor']>) {
      const request = openCursor.apply(this, args);
      request.addEventListener('success', () => { if (request.result) read++; });
      return request;
    };
    try {
      let position = 20_000;
      for (let seq = 100; seq < total; seq += 100) {
        await store.applyEvents([ev(position++, { type: 'receipt.read', conversation_id: 7, user_id: ME.id, seq })], ME.id);
        expect((await store.conversation(7))?.unread_count).toBe(unreadAfter(seq));
      }
    } finally {
      IDBIndex.prototype.getAll = getAll;
      IDBIndex.prototype.openCursor = openCursor;
    }
    // Each message is looked at about once in all; counting what follows
    // each mark would read 29 × 1,500 on average.
    expect(read).toBeLessThanOrEqual(total);
  }, 60_000);

  it('drops the pending invitation with a user who became a contact', async () => {
    const bob = { id: 2, username: 'bob', display_name: 'Bob', status_text: '', avatar_media_id: null };
    await store.applyEvents([ev(1, { type: 'contact.invitation_sent', invitation: { id: 5, created_at: 1, to: bob } })], ME.id);
    expect(await store.invitations()).toHaveLength(1);
    await store.applyEvents([ev(2, { type: 'contact.added', contact: { user: bob, since: 2 } })], ME.id);
    expect(await store.invitations()).toHaveLength(0);
    expect((await store.contacts()).map((c) => c.user.username)).toEqual(['bob']);
  });

  it('forgets a conversation the user left and ignores unknown event types', async () => {
    await store.applyEvents([ev(1, CONVERSATION_CREATED), ev(2, { type: 'future.thing', x: 1 }), ev(3, { type: 'member.left', conversation_id: 7, user_id: ME.id, by: ME.id })], ME.id);
    expect(await store.conversation(7)).toBeUndefined();
    expect(await store.position()).toBe(3);
  });
});

describe('Store paging', () => {
  it('returns the page before a seq in ascending order', async () => {
    await store.putMessages(Array.from({ length: 30 }, (_, i) => message(i + 1, i + 1)));
    const page = await store.messagesBefore(7, 21, 5);
    expect(page.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20]);
    expect(await store.maxSeq(7)).toBe(30);
    expect(await store.maxSeq(8)).toBe(0);
  });

  it('keeps drafts per conversation', async () => {
    await store.setDraft(7, 'half a thought');
    expect(await store.draft(7)).toBe('half a thought');
    expect(await store.draft(8)).toBe('');
    await store.setDraft(7, '');
    expect(await store.draft(7)).toBe('');
  });
});

describe('Store.destroy', () => {
  it('deletes the database even while this tab holds it open (sign out)', async () => {
    await store.setDraft(7, 'secret draft');
    await Store.destroy(ME.id);
    const reopened = await Store.open(ME.id);
    expect(await reopened.draft(7)).toBe('');
    reopened.close();
  });
});
