import { describe, expect, it } from 'vitest';
import { opApplied, pendingOps, withPendingOps } from './pending';
import type { OutboxItem } from './store';
import { ME, message } from './testing/fakes';

let order = 0;
function op(over: Partial<OutboxItem>): OutboxItem {
  order += 1;
  return { client_id: `op${order}`, conversation_id: 7, text: '', created_at: 5000 + order, order, message_id: 1, ...over };
}

describe('pending ops', () => {
  it('groups the waiting ops of a conversation by message, in order, without sends or refused ones', () => {
    const a = op({ op: 'edit', text: 'x' });
    const b = op({ op: 'react', emoji: '👍' });
    const c = op({ op: 'delete', message_id: 2 });
    const outbox = [
      a,
      { client_id: 'send1', conversation_id: 7, text: 'new', created_at: 1, order: 0 },
      op({ op: 'edit', text: 'refused', failed: 'conflict' }),
      op({ op: 'edit', text: 'elsewhere', conversation_id: 8 }),
      b,
      c,
    ];
    const byMessage = pendingOps(outbox, 7);
    expect([...byMessage.keys()]).toEqual([1, 2]);
    expect(byMessage.get(1)).toEqual([a, b]);
    expect(byMessage.get(2)).toEqual([c]);
  });

  it('shows a message as the server will make it: edits, own reactions, deletion last', () => {
    const m = message(1, 1, { sender_id: ME.id, reactions: [{ emoji: '🎉', user_ids: [2] }] });
    expect(withPendingOps(m, undefined, ME.id)).toBe(m);
    const edited = withPendingOps(m, [op({ op: 'edit', text: 'first' }), op({ op: 'edit', text: 'second' })], ME.id);
    expect(edited.text).toBe('second');
    expect(edited.edited_at).not.toBeNull();
    const reacted = withPendingOps(m, [op({ op: 'react', emoji: '👍' }), op({ op: 'react', emoji: '🎉' }), op({ op: 'react', emoji: '👍', remove: true })], ME.id);
    expect(reacted.reactions).toEqual([{ emoji: '🎉', user_ids: [2, ME.id] }]);
    // Adding twice is one reaction; removing one the user does not have changes nothing.
    expect(withPendingOps(m, [op({ op: 'react', emoji: '🎉' }), op({ op: 'react', emoji: '🎉' })], ME.id).reactions).toEqual([{ emoji: '🎉', user_ids: [2, ME.id] }]);
    expect(withPendingOps(m, [op({ op: 'react', emoji: '👍', remove: true })], ME.id).reactions).toEqual(m.reactions);
    const deleted = withPendingOps(m, [op({ op: 'edit', text: 'gone soon' }), op({ op: 'delete' }), op({ op: 'edit', text: 'too late' }), op({ op: 'react', emoji: '👍' })], ME.id);
    expect(deleted).toMatchObject({ deleted: true, text: '', reactions: [], edited_at: null });
    // The stored message itself is not changed.
    expect(m.text).toBe('hello 1');
  });

  it('tells whether the stored message already shows an op of unknown outcome', () => {
    const m = message(1, 1, { sender_id: ME.id });
    const edit = op({ op: 'edit', text: 'changed' });
    expect(opApplied(edit, m, ME.id)).toBe(false);
    expect(opApplied(edit, { ...m, text: 'changed', edited_at: 9 }, ME.id)).toBe(true);
    // Same text but never edited: the edit did not happen.
    expect(opApplied(op({ op: 'edit', text: 'hello 1' }), m, ME.id)).toBe(false);
    expect(opApplied(op({ op: 'delete' }), m, ME.id)).toBe(false);
    expect(opApplied(op({ op: 'delete' }), { ...m, deleted: true }, ME.id)).toBe(true);
    const thumbs = op({ op: 'react', emoji: '👍' });
    expect(opApplied(thumbs, m, ME.id)).toBe(false);
    expect(opApplied(thumbs, { ...m, reactions: [{ emoji: '👍', user_ids: [2] }] }, ME.id)).toBe(false);
    expect(opApplied(thumbs, { ...m, reactions: [{ emoji: '👍', user_ids: [ME.id] }] }, ME.id)).toBe(true);
    expect(opApplied(op({ op: 'react', emoji: '👍', remove: true }), m, ME.id)).toBe(true);
    // A message this device does not hold: unknown, so sent again.
    expect(opApplied(edit, undefined, ME.id)).toBe(false);
  });
});
