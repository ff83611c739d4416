// Pure functions that apply one protocol event to local records.
//
// Every function here is idempotent: applying an event twice, or applying it
// to state that a REST reload already brought past it, leaves the record as
// applying it once would (protocol.md "Catch-up payloads": apply every event
// by id). They never mutate their arguments; they return a new record, or the
// same object when nothing changed, so callers can skip writes.

import type {
  Conversation,
  ConversationSummary,
  Id,
  Member,
  Message,
  PublicUser,
  Role,
} from '../protocol/types';

/** A conversation as the device keeps it: the list entry plus what it learnt. */
export interface ConversationRecord extends Conversation {
  role: Role;
  member_count: number;
  /** The caller's read mark. */
  read_seq: number;
  unread_count: number;
  last_message: Message | null;
  peer?: PublicUser;
  /** Every member, once known (conversation.created, GET /conversations/{id}). */
  members?: Member[];
  /** The newest seq of an unread message mentioning the caller (0: none). */
  mention_seq: number;
  /** Time of the newest message, else creation: the list's sort key. */
  last_activity: number;
}

export function fromSummary(s: ConversationSummary, previous?: ConversationRecord, me?: Id): ConversationRecord {
  const record: ConversationRecord = {
    id: s.id,
    kind: s.kind,
    name: s.name,
    topic: s.topic,
    created_by: s.created_by,
    created_at: s.created_at,
    last_seq: s.last_seq,
    avatar_media_id: s.avatar_media_id ?? null,
    role: s.role,
    member_count: s.member_count,
    read_seq: s.read_seq,
    unread_count: s.unread_count,
    last_message: s.last_message,
    mention_seq: Math.max(
      previous && previous.mention_seq > s.read_seq ? previous.mention_seq : 0,
      // A device that did not see the messages arrive knows of the newest only.
      me !== undefined && s.last_message && s.last_message.seq > s.read_seq && s.last_message.mentions.includes(me) ? s.last_message.seq : 0,
    ),
    last_activity: s.last_message ? s.last_message.created_at : s.created_at,
  };
  if (s.peer) record.peer = s.peer;
  if (previous?.members) record.members = previous.members;
  return record;
}

export function fromCreated(
  c: Conversation & { members: Member[] },
  me: Id,
  previous?: ConversationRecord,
): ConversationRecord {
  if (previous) {
    // Replayed after a REST reload: keep what the device knows (last message,
    // read marks), refresh the fields the event carries.
    return { ...previous, name: c.name, topic: c.topic, members: c.members, member_count: c.members.length };
  }
  const mine = c.members.find((m) => m.user.id === me);
  const record: ConversationRecord = {
    id: c.id,
    kind: c.kind,
    name: c.name,
    topic: c.topic,
    created_by: c.created_by,
    created_at: c.created_at,
    last_seq: c.last_seq,
    avatar_media_id: c.avatar_media_id ?? null,
    role: mine?.role ?? 'member',
    member_count: c.members.length,
    read_seq: mine?.read_seq ?? 0,
    unread_count: 0,
    last_message: null,
    members: c.members,
    mention_seq: 0,
    last_activity: c.created_at,
  };
  const peer = c.kind === 'direct' ? c.members.find((m) => m.user.id !== me) : undefined;
  if (peer) record.peer = peer.user;
  return record;
}

/**
 * A message arriving (message.new, or an ack turned into a message): merges it
 * with what is stored. A stored tombstone stays a tombstone (deletion is
 * final), and a stored edit newer than the incoming copy keeps its text.
 */
export function mergeMessage(stored: Message | undefined, incoming: Message): Message {
  if (!stored) return incoming;
  if (stored.deleted) return stored;
  if (incoming.deleted) return incoming;
  if ((stored.edited_at ?? 0) > (incoming.edited_at ?? 0)) {
    return { ...incoming, text: stored.text, mentions: stored.mentions, edited_at: stored.edited_at };
  }
  return incoming;
}

/** message.edited: the event carries the message after the edit. */
export function applyEdit(stored: Message | undefined, edited: Message): Message {
  if (!stored) return edited;
  if (stored.deleted) return stored;
  if ((stored.edited_at ?? 0) > (edited.edited_at ?? 0)) return stored;
  return { ...stored, text: edited.text, mentions: edited.mentions, edited_at: edited.edited_at };
}

/** message.deleted: the message becomes a tombstone; its seq stays. */
export function applyDelete(stored: Message): Message {
  if (stored.deleted) return stored;
  return {
    ...stored,
    text: '',
    mentions: [],
    reactions: [],
    attachments: [],
    sticker: null,
    edited_at: null,
    deleted: true,
  };
}

/** reaction.added / reaction.removed, keyed by (emoji, user). */
export function applyReaction(stored: Message, emoji: string, user: Id, add: boolean): Message {
  if (stored.deleted) return stored;
  const existing = stored.reactions.find((r) => r.emoji === emoji);
  if (add) {
    if (existing?.user_ids.includes(user)) return stored;
    const reactions = existing
      ? stored.reactions.map((r) => (r.emoji === emoji ? { emoji, user_ids: [...r.user_ids, user] } : r))
      : [...stored.reactions, { emoji, user_ids: [user] }].sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0));
    return { ...stored, reactions };
  }
  if (!existing?.user_ids.includes(user)) return stored;
  const reactions = stored.reactions
    .map((r) => (r.emoji === emoji ? { emoji, user_ids: r.user_ids.filter((u) => u !== user) } : r))
    .filter((r) => r.user_ids.length > 0);
  return { ...stored, reactions };
}

/**
 * A new message in a conversation: moves the list entry. `isNew` tells whether
 * the message was not stored before (only then may it count as unread), so a
 * replayed message.new counts nothing twice.
 */
export function conversationOnMessage(
  c: ConversationRecord,
  m: Message,
  me: Id,
  isNew: boolean,
): ConversationRecord {
  const next = { ...c };
  if (!c.last_message || m.seq >= c.last_message.seq) {
    next.last_message = m;
    next.last_activity = Math.max(c.last_activity, m.created_at);
  }
  if (m.seq > c.last_seq) next.last_seq = m.seq;
  if (m.sender_id === me) {
    // Sending moves the sender's read mark to the message (protocol.md send).
    if (m.seq > next.read_seq) {
      next.read_seq = m.seq;
      next.unread_count = 0;
    }
  } else if (isNew && !m.deleted && m.seq > c.read_seq) {
    next.unread_count = c.unread_count + 1;
    if (m.mentions.includes(me) && m.seq > next.mention_seq) next.mention_seq = m.seq;
  }
  return next;
}

/** A member's mark moved; for the caller's own read mark, also the unread count. */
export function applyReceipt(
  c: ConversationRecord,
  user: Id,
  seq: number,
  kind: 'read' | 'delivered',
  me: Id,
  unreadAfter?: (readSeq: number) => number,
): ConversationRecord {
  let next = c;
  if (c.members) {
    let changed = false;
    const members = c.members.map((m) => {
      if (m.user.id !== user) return m;
      const read = kind === 'read' ? Math.max(m.read_seq, seq) : m.read_seq;
      const delivered = Math.max(m.delivered_seq, seq, read);
      if (read === m.read_seq && delivered === m.delivered_seq) return m;
      changed = true;
      return { ...m, read_seq: read, delivered_seq: delivered };
    });
    if (changed) next = { ...next, members };
  }
  if (user === me && kind === 'read' && seq > c.read_seq) {
    next = { ...next, read_seq: seq };
    next.unread_count = seq >= next.last_seq ? 0 : unreadAfter ? unreadAfter(seq) : Math.min(c.unread_count, next.last_seq - seq);
  }
  return next;
}

export function applyMemberAdded(c: ConversationRecord, member: Member): ConversationRecord {
  if (!c.members) return { ...c, member_count: c.member_count + 1 };
  if (c.members.some((m) => m.user.id === member.user.id)) return c;
  const members = [...c.members, member];
  return { ...c, members, member_count: members.length };
}

export function applyMemberGone(c: ConversationRecord, user: Id): ConversationRecord {
  if (!c.members) return { ...c, member_count: Math.max(1, c.member_count - 1) };
  if (!c.members.some((m) => m.user.id === user)) return c;
  const members = c.members.filter((m) => m.user.id !== user);
  return { ...c, members, member_count: members.length };
}

export function applyRole(c: ConversationRecord, user: Id, role: Role, me: Id): ConversationRecord {
  let next = c;
  if (c.members) next = { ...c, members: c.members.map((m) => (m.user.id === user ? { ...m, role } : m)) };
  if (user === me) next = { ...next, role };
  return next;
}

/** The delivery mark of one of the caller's own messages, for the ticks. */
export type DeliveryMark = 'pending' | 'sent' | 'delivered' | 'read';

export function deliveryMark(c: ConversationRecord | undefined, m: Message, me: Id): DeliveryMark {
  const others = c?.members?.filter((x) => x.user.id !== me) ?? [];
  if (others.length === 0) return 'sent';
  if (others.every((x) => x.read_seq >= m.seq)) return 'read';
  if (others.every((x) => x.delivered_seq >= m.seq)) return 'delivered';
  return 'sent';
}
