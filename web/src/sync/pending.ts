// Changes to existing messages (edit, delete, react) waiting in the outbox:
// how a message looks with them applied (shown at once, before the server
// has them), and whether one whose outcome is unknown was applied. Pure
// functions, no I/O.

import type { Id, Message } from '../protocol/types';
import type { OutboxItem } from './store';

/** The ops of `outbox` that still wait to be applied, by message id, in order. */
export function pendingOps(outbox: OutboxItem[], conversation: Id): Map<Id, OutboxItem[]> {
  const byMessage = new Map<Id, OutboxItem[]>();
  for (const item of outbox) {
    if (!item.op || item.failed || item.conversation_id !== conversation || item.message_id === undefined) continue;
    const list = byMessage.get(item.message_id);
    if (list) list.push(item);
    else byMessage.set(item.message_id, [item]);
  }
  return byMessage;
}

/**
 * `m` as it will be once `ops` (its pending ops, in order) are applied by
 * the server, following its rules (docs/protocol.md): an edit replaces the
 * text; a deletion leaves a tombstone; a reaction adds or removes the
 * user's own; nothing changes a deleted message.
 */
export function withPendingOps(m: Message, ops: OutboxItem[] | undefined, me: Id): Message {
  if (!ops || ops.length === 0) return m;
  let out = m;
  for (const op of ops) {
    if (out.deleted) break;
    if (op.op === 'edit') {
      out = { ...out, text: op.text, edited_at: op.created_at };
    } else if (op.op === 'delete') {
      out = { ...out, text: '', mentions: [], reactions: [], attachments: [], sticker: null, edited_at: null, deleted: true };
    } else if (op.op === 'react' && op.emoji) {
      out = { ...out, reactions: react(out.reactions, op.emoji, me, op.remove === true) };
    }
  }
  return out;
}

function react(reactions: Message['reactions'], emoji: string, me: Id, remove: boolean): Message['reactions'] {
  const existing = reactions.find((r) => r.emoji === emoji);
  const has = existing?.user_ids.includes(me) ?? false;
  if (remove) {
    if (!has) return reactions;
    return reactions
      .map((r) => (r.emoji === emoji ? { ...r, user_ids: r.user_ids.filter((u) => u !== me) } : r))
      .filter((r) => r.user_ids.length > 0);
  }
  if (has) return reactions;
  if (existing) return reactions.map((r) => (r.emoji === emoji ? { ...r, user_ids: [...r.user_ids, me] } : r));
  return [...reactions, { emoji, user_ids: [me] }];
}

/**
 * Whether the stored message (the server's view after a catch-up) already
 * shows the effect of `op`. Used only for the one op whose outcome is
 * unknown (ops are sent one at a time, each after the previous answer, so
 * everything before it was confirmed and nothing after it was sent): then
 * "already shows it" means "it was applied", and sending it again would
 * only repeat it (an edit would emit a second `message.edited`).
 */
export function opApplied(op: OutboxItem, stored: Message | undefined, me: Id): boolean {
  if (!stored) return false;
  switch (op.op) {
    case 'edit':
      return stored.deleted || (stored.edited_at !== null && stored.text === op.text);
    case 'delete':
      return stored.deleted;
    case 'react': {
      if (stored.deleted) return true;
      const has = stored.reactions.some((r) => r.emoji === op.emoji && r.user_ids.includes(me));
      return op.remove ? !has : has;
    }
    default:
      return false;
  }
}
