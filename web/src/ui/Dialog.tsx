// The open conversation: header, the virtualised message log, the composer.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Id, Me, Message, PublicUser } from '../protocol/types';
import { deliveryMark, type ConversationRecord } from '../sync/apply';
import type { SyncState } from '../sync/engine';
import type { OutboxItem } from '../sync/store';
import { pendingOps, withPendingOps } from '../sync/pending';
import { Avatar } from './Avatar';
import { lazy, memo } from './components';
import { preview, useCtx } from './Chat';
import { ConnectionBadge, conversationTitle } from './ConversationList';
import { Composer, type ComposerApi } from './Composer';
import { dayKey, dayLabel, displayName, relative, size, time } from './format';
import { useObservable, useTick } from './hooks';
import { download, stickerPath, thumbnailPath, useMediaUrl } from './media';
import { richText } from './text';
import { extendRows, type BuiltRows, type Row } from './rows';
import { VirtualList, type VirtualListHandle } from './VirtualList';

const EmojiPicker = lazy(() => import('./EmojiPicker').then((m) => m.EmojiPicker));
const Viewer = lazy(() => import('./Viewer').then((m) => m.Viewer));
const ConversationInfo = lazy(() => import('./ConversationInfo').then((m) => m.ConversationInfo));

const NO_MESSAGES: Message[] = [];

export function Dialog({ id }: { id: Id }) {
  const { engine, open } = useCtx();
  const state = useObservable(engine.state, (s) => s);
  const conv = state.conversations.find((c) => c.id === id);
  const messages = state.messages[id] ?? NO_MESSAGES;
  const outbox = state.outbox;
  const [atBottom, setAtBottom] = useState(true);
  const [viewer, setViewer] = useState<{ id: string; name: string } | null>(null);
  const [reactTo, setReactTo] = useState<Message | null>(null);
  const [info, setInfo] = useState(false);
  const [dragging, setDragging] = useState(false);
  const list = useRef<VirtualListHandle | null>(null);
  const composer = useRef<ComposerApi | null>(null);
  const loadingOlder = useRef(false);
  const loadingNewer = useRef(false);
  useTick(60_000);

  useEffect(() => {
    void engine.openConversation(id);
  }, [id]);

  // Read marks: the newest message is read when the log is at the bottom
  // and the page is visible.
  const lastSeq = conv?.last_seq ?? 0;
  useEffect(() => {
    const mark = () => {
      if (atBottom && document.visibilityState === 'visible' && lastSeq > 0) engine.markRead(id, lastSeq);
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [id, lastSeq, atBottom, state.connection]);

  const built = useRef<BuiltRows | null>(null);
  const rows = useMemo(() => {
    const msgRows = extendRows(built.current, messages);
    built.current = { messages, rows: msgRows };
    return withOutbox(msgRows, messages, outbox, id);
  }, [messages, outbox, id]);
  // Edits, deletions and reactions not yet applied by the server: shown
  // over the stored messages at once; refused ones are said so.
  const ops = useMemo(() => pendingOps(outbox, id), [outbox, id]);
  const refused = useMemo(() => {
    const byMessage = new Map<Id, OutboxItem[]>();
    for (const o of outbox) {
      if (o.op && o.failed && o.conversation_id === id && o.message_id !== undefined) byMessage.set(o.message_id, [...(byMessage.get(o.message_id) ?? []), o]);
    }
    return byMessage;
  }, [outbox, id]);

  const onNearTop = useCallback(() => {
    if (loadingOlder.current || state.hasOlder[id] === false) return;
    loadingOlder.current = true;
    void engine.loadOlder(id).finally(() => {
      loadingOlder.current = false;
    });
  }, [id, state.hasOlder[id]]);

  const hasNewer = state.hasNewer[id] ?? false;
  // How many messages are older than the loaded ones (seqs have no gaps):
  // the list keeps room for them, so that loading them moves nothing.
  const above = state.hasOlder[id] === false ? 0 : Math.max(0, (messages[0]?.seq ?? 1) - 1);
  // Pending and refused changes are drawn over a message without changing
  // its row: its height may change all the same.
  const remeasure = useMemo(() => ({}), [ops, refused]);
  const onNearBottom = useCallback(() => {
    if (loadingNewer.current || !hasNewer) return;
    loadingNewer.current = true;
    void engine.loadNewer(id).finally(() => {
      loadingNewer.current = false;
    });
  }, [id, hasNewer]);
  const toNewest = async () => {
    // The newest messages were dropped from the window: read them again first.
    if (hasNewer) await engine.openConversation(id);
    list.current?.scrollToBottom();
  };

  const jumpTo = async (messageId: Id) => {
    for (let i = 0; i < 100; i++) {
      if (list.current?.scrollToKey(`m${messageId}`)) {
        const el = document.getElementById(`msg-${messageId}`);
        el?.classList.add('flash');
        setTimeout(() => el?.classList.remove('flash'), 1500);
        el?.focus();
        return;
      }
      if ((await engine.loadOlder(id)) === 0) return;
      await new Promise((r) => requestAnimationFrame(() => r(null)));
    }
  };

  // What the rows do, as one object that never changes, so that a row whose
  // message did not change is not rendered again (MessageView is memo).
  const jump = useRef(jumpTo);
  jump.current = jumpTo;
  const actions = useMemo<RowActions>(() => ({
    reply: (m) => composer.current?.reply(m),
    edit: (m) => composer.current?.edit(m),
    react: (m) => setReactTo(m),
    jump: (messageId) => void jump.current(messageId),
    view: (a) => setViewer(a),
  }), []);
  const members = conv?.members;
  const memberNames = useMemo(() => new Set((members ?? []).map((m) => m.user.username)), [members]);
  const replied = useReplied(messages);
  const me = state.me;
  const users = state.users;
  // How a row is drawn, the same function while nothing it draws with
  // changes: the list keeps the rows it rendered (their vnodes, their
  // positioned elements) only while it is given the same function, so a
  // function made at every render of the dialog (a page of history loaded,
  // a scroll position reported) re-created every row shown.
  const renderRow = useCallback((r: Row) =>
    r.kind === 'day' ? (
      <DaySeparator label={r.label} />
    ) : r.kind === 'msg' ? (
      <MessageView m={withPendingOps(r.m, ops.get(r.m.id), me.id)} first={r.first} conv={conv!} me={me} users={users}
        replied={r.m.reply_to ? replied.get(r.m.reply_to) : undefined} memberNames={memberNames}
        pending={ops.has(r.m.id)} refused={refused.get(r.m.id)} actions={actions} />
    ) : (
      <PendingView item={r.item} me={me} />
    ), [ops, refused, conv, me, users, memberNames, replied, actions]);

  if (!conv) return <main class="dialog" aria-label="Conversation" />;
  const title = conversationTitle(conv, state);
  const typing = Object.entries(state.typing[id] ?? {})
    .filter(([, until]) => until > Date.now())
    .map(([uid]) => displayName(state.users[Number(uid)]));

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    for (const f of Array.from(e.dataTransfer?.files ?? [])) void composer.current?.attach(f);
  };

  return (
    <main class={`dialog${dragging ? ' dragging' : ''}`} aria-labelledby="dialog-title"
      onDragOver={(e) => { if (e.dataTransfer?.types.includes('Files')) { e.preventDefault(); setDragging(true); } }}
      onDragLeave={(e) => { if (e.currentTarget === e.target) setDragging(false); }}
      onDrop={onDrop}>
      <header class="dialog-head">
        <button type="button" class="icon back" aria-label="Back to conversations" onClick={() => open(null)}>‹</button>
        {conv.kind === 'group' ? <Avatar name={conv.name} mediaId={conv.avatar_media_id ?? null} id={conv.id} size={40} /> : <Avatar user={conv.peer ? state.users[conv.peer.id] ?? conv.peer : undefined} size={40} />}
        <div class="dialog-title">
          <h2 id="dialog-title">{title}</h2>
          <p class="subtitle">{subtitle(conv, state)}</p>
        </div>
        {/* On a phone the sidebar (and its badge) is hidden while a dialog is open. */}
        <span class="phone-only"><ConnectionBadge state={state.connection} /></span>
        <button type="button" class="icon info" aria-label="Conversation info" onClick={() => setInfo(true)}>i</button>
      </header>
      <VirtualList
        items={rows}
        itemKey={(r) => r.key}
        label="Messages"
        above={above}
        onNearTop={onNearTop}
        moreBelow={hasNewer}
        remeasure={remeasure}
        onNearBottom={onNearBottom}
        onAtBottom={setAtBottom}
        handle={(h) => { list.current = h; }}
        render={renderRow}
      />
      {rows.length === 0 && state.hasOlder[id] === false && <p class="no-messages">No messages yet: say hello!</p>}
      {!atBottom && (
        <button type="button" class="to-bottom" aria-label="Jump to the newest message" onClick={() => void toNewest()}>↓</button>
      )}
      <div class="typing" aria-live="polite">{typing.length > 0 ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : ''}</div>
      <Composer key={id} conv={conv} state={state} api={(a) => { composer.current = a; }} onSent={() => void toNewest()} />
      {reactTo && (
        <EmojiPicker label={`React to ${displayName(state.users[reactTo.sender_id])}'s message`} onClose={() => setReactTo(null)}
          onPick={(emoji) => {
            const shown = withPendingOps(reactTo, ops.get(reactTo.id), state.me.id);
            const mine = shown.reactions.find((r) => r.emoji === emoji)?.user_ids.includes(state.me.id) ?? false;
            void engine.react(reactTo, emoji, mine);
            setReactTo(null);
          }} />
      )}
      {viewer && <Viewer media={viewer} onClose={() => setViewer(null)} />}
      {info && <ConversationInfo conv={conv} onClose={() => setInfo(false)} />}
    </main>
  );
}

function withOutbox(rows: Row[], messages: Message[], outbox: OutboxItem[], id: Id): Row[] {
  const waiting = outbox.filter((item) => item.conversation_id === id && !item.op);
  if (waiting.length === 0) return rows;
  const acked = new Set(messages.slice(-200).map((m) => m.client_id));
  const out = rows.slice();
  for (const item of waiting) if (!acked.has(item.client_id)) out.push({ kind: 'out', key: `o${item.client_id}`, item });
  return out;
}

const NO_REPLIED = new Map<Id, Message>();

/**
 * The loaded messages that loaded messages reply to, by id: the same map
 * while they are the same (a page of history without replies into it
 * changes nothing), so that rows are not drawn again for every page.
 */
function useReplied(messages: Message[]): Map<Id, Message> {
  const last = useRef(NO_REPLIED);
  return useMemo(() => {
    let wanted: Set<Id> | null = null;
    for (const m of messages) if (m.reply_to) (wanted ??= new Set()).add(m.reply_to);
    let next = NO_REPLIED;
    if (wanted) {
      next = new Map();
      for (const m of messages) if (wanted.has(m.id)) next.set(m.id, m);
    }
    const prev = last.current;
    if (next.size === prev.size && [...next].every(([id, m]) => prev.get(id) === m)) return prev;
    last.current = next;
    return next;
  }, [messages]);
}

function subtitle(c: ConversationRecord, s: SyncState): string {
  if (c.kind === 'group') return [`${c.member_count} members`, c.topic].filter(Boolean).join(' · ');
  if (!c.peer) return '';
  const p = s.presence[c.peer.id];
  if (!p) return `@${c.peer.username}`;
  if (p.online) return 'online';
  return p.last_seen_at ? `last seen ${relative(p.last_seen_at)}` : `@${c.peer.username}`;
}

/**
 * Whether the last Tab went backwards (Shift+Tab): an empty toolbar reached
 * so hands the focus to its last button. Not from the focus event's
 * `relatedTarget`: the row it comes from has often removed its toolbar,
 * that button with it, by then.
 */
let tabbedBackwards = false;
if (typeof document !== 'undefined') {
  document.addEventListener('keydown', (e) => { if (e.key === 'Tab') tabbedBackwards = e.shiftKey; }, true);
}

/** Why a row's actions toolbar is shown (bits of MessageView's `active`). */
const HOVER = 1;
const FOCUS = 2;

interface RowActions {
  reply: (m: Message) => void;
  edit: (m: Message) => void;
  react: (m: Message) => void;
  jump: (id: Id) => void;
  view: (a: { id: string; name: string }) => void;
}

/**
 * One message. Memo: its props are the message and what it is drawn with,
 * each the same object until it changes, so rows that did not change are
 * skipped when the list renders again (older pages loading, new messages).
 */
const MessageView = memo(function MessageView({ m, first, conv, me: meUser, users, replied, memberNames, pending, refused, actions }: {
  m: Message; first: boolean; conv: ConversationRecord; me: Me; users: Record<Id, PublicUser>;
  /** The message it replies to, when loaded. */
  replied: Message | undefined;
  memberNames: Set<string>;
  /** Changes of this message wait in the outbox (shown already). */
  pending: boolean;
  /** Changes of this message the server refused. */
  refused: OutboxItem[] | undefined;
  actions: RowActions;
}) {
  const { engine } = useCtx();
  const me = meUser.id;
  const own = m.sender_id === me;
  const sender = users[m.sender_id];
  const name = own ? displayName(meUser) : displayName(sender);
  const group = conv.kind === 'group';
  const canDelete = own || (group && (conv.role === 'owner' || conv.role === 'admin'));
  const mark = pending ? 'pending' : own ? deliveryMark(conv, m, me) : null;
  const described = m.deleted ? 'Message deleted' : m.sticker ? `Sticker ${m.sticker.emoji}` : [m.text, ...m.attachments.map((a) => a.name)].filter(Boolean).join(' ');
  const mentioned = m.mentions.includes(me);
  // The actions toolbar is rendered only while the row is hovered or has
  // focus within it (a tap on a phone focuses the row): rendered for every
  // row, it was about half of each row's elements, and of the garbage a
  // scroll makes. Otherwise an empty element (no role, no name) stands in
  // its place in the Tab order; focused, it fills and hands the focus on to
  // its first button, or to its last when reached backwards (Shift+Tab), so
  // the keyboard meets the same buttons in the same order as when they were
  // always there.
  const [active, setActive] = useState(0);
  const entry = useRef<'first' | 'last' | null>(null);
  const shown = active !== 0;
  const enterFocus = (b: HTMLButtonElement | null) => {
    if (b && entry.current) {
      entry.current = null;
      b.focus();
    }
  };
  // Built only when shown: a row at rest makes none of them.
  let buttons = null;
  if (shown) {
    const count = 2 + (own && !m.sticker ? 1 : 0) + (canDelete ? 1 : 0);
    const to = entry.current === 'first' ? 0 : entry.current === 'last' ? count - 1 : -1;
    const ref = (i: number) => (i === to ? enterFocus : undefined);
    buttons = [
      <button type="button" key="reply" ref={ref(0)} onClick={() => actions.reply(m)} title="Reply">Reply</button>,
      <button type="button" key="react" ref={ref(1)} onClick={() => actions.react(m)} title="React">React</button>,
      own && !m.sticker && <button type="button" key="edit" ref={ref(2)} onClick={() => actions.edit(m)} title="Edit">Edit</button>,
      canDelete && <button type="button" key="delete" ref={ref(count - 1)} onClick={() => void engine.delete(m)} title="Delete">Delete</button>,
    ];
  }

  return (
    <article id={`msg-${m.id}`} tabIndex={-1} class={`msg ${own ? 'own' : 'other'}${first ? ' first' : ''}${group && !own ? ' grouped' : ''}${mentioned ? ' mentioned' : ''}`}
      aria-label={`${name}: ${described}`}
      onMouseEnter={() => setActive((a) => a | HOVER)}
      onMouseLeave={() => setActive((a) => a & ~HOVER)}
      onFocusIn={(e) => {
        const t = e.target as HTMLElement;
        if (t.classList.contains('actions') && t.childElementCount === 0) {
          entry.current = tabbedBackwards ? 'last' : 'first';
        }
        setActive((a) => a | FOCUS);
      }}
      onFocusOut={(e) => {
        const to = e.relatedTarget as Node | null;
        // No next element and the focus still here: the window lost focus,
        // and the button must still be there when it comes back.
        const row = e.currentTarget;
        if (to ? !row.contains(to) : !row.contains(document.activeElement)) setActive((a) => a & ~FOCUS);
      }}>
      {/* Only a run's first message has the avatar; the others keep its
          room with a padding (no empty element in every row). */}
      {group && !own && first && <span class="msg-avatar"><Avatar user={sender} size={32} /></span>}
      <div class={`bubble${m.deleted ? ' deleted' : ''}${m.sticker ? ' sticker' : ''}`}>
        {group && !own && first && <div class={`sender hue-text-${(m.sender_id * 47) % 8}`}>{name}</div>}
        {m.reply_to && !m.deleted && (
          <button type="button" class="quote" onClick={() => actions.jump(m.reply_to!)} aria-label={`Show the original message${replied ? ` from ${displayName(users[replied.sender_id])}` : ''}`}>
            <strong>{replied ? displayName(users[replied.sender_id]) : 'Reply'}</strong>
            <span>{replied ? preview(replied) : 'Earlier message'}</span>
          </button>
        )}
        {m.deleted && <p class="text"><em>Message deleted</em></p>}
        {m.sticker && <StickerImage id={m.sticker.id} emoji={m.sticker.emoji} width={m.sticker.width} height={m.sticker.height} />}
        {m.attachments.map((a) =>
          a.content_type.startsWith('image/') && a.width ? (
            <ImageAttachment key={a.id} id={a.id} name={a.name} width={a.width} height={a.height ?? a.width} onView={() => actions.view({ id: a.id, name: a.name })} />
          ) : (
            <div class="file-card" key={a.id}>
              <span class="file-icon" aria-hidden="true">📄</span>
              <span class="file-meta"><span class="file-name">{a.name}</span><span class="file-size">{size(a.size)}</span></span>
              <button type="button" onClick={() => void download(a.id, a.name)} aria-label={`Download ${a.name}`}>Download</button>
            </div>
          ),
        )}
        {m.text && !m.deleted && <p class="text">{richText(m.text, group ? memberNames : undefined)}</p>}
        <div class="meta">
          {m.edited_at && !m.deleted && <span class="edited">edited</span>}
          <time dateTime={new Date(m.created_at).toISOString()}>{time(m.created_at)}</time>
          {mark && <Mark mark={mark} />}
        </div>
        {m.reactions.length > 0 && (
          <div class="reactions">
            {m.reactions.map((r) => {
              const mine = r.user_ids.includes(me);
              const who = r.user_ids.map((u) => displayName(users[u])).join(', ');
              return (
                <button type="button" key={r.emoji} class={`reaction${mine ? ' mine' : ''}`} aria-pressed={mine} title={who}
                  aria-label={`${r.emoji} ${r.user_ids.length}, by ${who}`}
                  onClick={() => void engine.react(m, r.emoji, mine)}>
                  {r.emoji} {r.user_ids.length}
                </button>
              );
            })}
          </div>
        )}
        {refused?.map((o) => (
          <p class="refused error-text" key={o.client_id}>
            {o.op === 'edit' ? 'Edit' : o.op === 'delete' ? 'Deletion' : 'Reaction'} not applied: {o.failed}{' '}
            <button type="button" class="link" onClick={() => void engine.discardOutbox(o.client_id)}>Dismiss</button>
          </p>
        ))}
        {/* Last in the bubble, as it was last in the row: the same Tab order. */}
        {/* A toolbar only while it has buttons. At rest, an empty element
            with no role and no name keeps the row's place in the Tab order:
            a screen reader reading line by line meets nothing there, where
            it met an empty "Message actions" toolbar on every row. The same
            element either way, so that the focus it hands on is not lost
            when it fills. */}
        {!m.deleted && (shown ? (
          <div class="actions" role="toolbar" aria-label="Message actions">
            {buttons}
          </div>
        ) : (
          <div class="actions" tabIndex={0} />
        ))}
      </div>
    </article>
  );
});

/** A component, as every row's content is (see VirtualList's RowBox). */
function DaySeparator({ label }: { label: string }) {
  return <div class="day" role="separator"><span>{label}</span></div>;
}

function Mark({ mark }: { mark: string }) {
  const label = mark === 'read' ? 'Read' : mark === 'delivered' ? 'Delivered' : mark === 'pending' ? 'Sending' : 'Sent';
  const glyph = mark === 'read' || mark === 'delivered' ? '✓✓' : mark === 'pending' ? '🕓' : '✓';
  return <span class={`mark ${mark}`} role="img" aria-label={label} title={label}>{glyph}</span>;
}

function PendingView({ item, me }: { item: OutboxItem; me: Me }) {
  const { engine } = useCtx();
  return (
    <article class="msg own first pending" aria-label={`${displayName(me)}: ${item.text || 'attachment'}`}>
      <div class="bubble">
        {item.text && <p class="text">{richText(item.text)}</p>}
        {!item.text && item.sticker && <p class="text">Sticker</p>}
        {!item.text && item.attachments?.length && <p class="text">📎 Attachment</p>}
        <div class="meta">
          <time>{time(item.created_at)}</time>
          {item.failed ? <span class="error-text">Not sent: {item.failed}</span> : <Mark mark="pending" />}
        </div>
        {item.failed && <button type="button" class="link" onClick={() => void engine.discardOutbox(item.client_id)}>Discard</button>}
      </div>
    </article>
  );
}

function ImageAttachment({ id, name, width, height, onView }: { id: string; name: string; width: number; height: number; onView: () => void }) {
  const url = useMediaUrl(thumbnailPath(id, 'medium'));
  const scale = Math.min(1, 320 / width, 320 / height);
  const box = { width: `${Math.round(width * scale)}px`, height: `${Math.round(height * scale)}px` };
  return (
    <button type="button" class="image" onClick={onView} aria-label={`Open ${name}`} style={box}>
      {url ? <img src={url} alt={name} style={box} /> : <span class="image-loading" role="img" aria-label={name} style={box} />}
    </button>
  );
}

export function StickerImage({ id, emoji, width, height }: { id: number; emoji: string; width: number; height: number }) {
  const url = useMediaUrl(stickerPath(id));
  const scale = Math.min(1, 160 / width, 160 / height);
  const box = { width: `${Math.round(width * scale)}px`, height: `${Math.round(height * scale)}px` };
  return url ? <img class="sticker-img" src={url} alt={`Sticker ${emoji}`} style={box} /> : <span class="sticker-img" role="img" aria-label={`Sticker ${emoji}`} style={box}>{emoji}</span>;
}
