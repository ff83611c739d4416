// The sidebar: who I am, the connection state, the actions, and the
// conversations sorted by last activity, with a filter.
import { useEffect, useState } from 'preact/hooks';
import type { Id } from '../protocol/types';
import type { ConversationRecord } from '../sync/apply';
import type { SyncState } from '../sync/engine';
import { Avatar } from './Avatar';
import { preview, useCtx } from './Chat';
import { displayName, shortWhen } from './format';
import { useObservable } from './hooks';

let marked = false;

export function conversationTitle(c: ConversationRecord, s: Pick<SyncState, 'users'>): string {
  if (c.kind === 'group') return c.name;
  const peer = c.peer ? s.users[c.peer.id] ?? c.peer : undefined;
  return displayName(peer);
}

export function ConversationList({ openId, onPanel }: { openId: Id | null; onPanel: (p: 'contacts' | 'settings' | 'group') => void }) {
  const { engine, open, signOut } = useCtx();
  // Only what the list shows: loading a page of history or typing elsewhere
  // does not render it again.
  const state = {
    conversations: useObservable(engine.state, (s) => s.conversations),
    users: useObservable(engine.state, (s) => s.users),
    invitations: useObservable(engine.state, (s) => s.invitations),
    settings: useObservable(engine.state, (s) => s.settings),
    me: useObservable(engine.state, (s) => s.me),
    presence: useObservable(engine.state, (s) => s.presence),
    connection: useObservable(engine.state, (s) => s.connection),
  };
  const [filter, setFilter] = useState('');
  const f = filter.trim().toLowerCase();
  const list = state.conversations.filter((c) => {
    if (!f) return true;
    const peer = c.peer ? state.users[c.peer.id] ?? c.peer : undefined;
    return conversationTitle(c, state).toLowerCase().includes(f) || (peer?.username.includes(f) ?? false);
  });
  const invitations = state.invitations.filter((i) => i.from).length;
  useEffect(() => {
    if (list.length > 0 && !marked) {
      marked = true;
      performance.mark('parley:first-list');
    }
  }, [list.length]);
  const now = Date.now();

  return (
    <aside class="sidebar" aria-label="Parley">
      <h1 class="visually-hidden">Parley</h1>
      <header class="sidebar-head">
        <div class="me">
          <Avatar user={state.me} size={36} />
          <span class="me-name">{displayName(state.me)}</span>
        </div>
        <ConnectionBadge state={state.connection} />
        <button type="button" class="quiet sign-out" onClick={signOut}>Sign out</button>
      </header>
      <div class="toolbar">
        <button type="button" onClick={() => onPanel('contacts')}>
          Contacts{invitations > 0 && <span class="badge" aria-label={`${invitations} invitations`}>{invitations}</span>}
        </button>
        <button type="button" onClick={() => onPanel('group')}>New group</button>
        <button type="button" onClick={() => onPanel('settings')}>Settings</button>
      </div>
      <input class="filter" name="filter" type="search" aria-label="Filter conversations" placeholder="Filter conversations"
        value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      <nav aria-label="Conversations" class="conversations" onKeyDown={moveFocus}>
        {list.length === 0 && (
          <p class="hint">{state.conversations.length === 0 ? 'No conversations yet. Invite a contact to start one.' : 'No conversation matches.'}</p>
        )}
        <ul>
          {list.map((c) => {
            const title = conversationTitle(c, state);
            const muted = state.settings?.conversation_mutes.some((m) => m.conversation_id === c.id && m.muted_until > now);
            const mention = c.mention_seq > c.read_seq;
            const peer = c.peer ? state.users[c.peer.id] ?? c.peer : undefined;
            const online = peer ? state.presence[peer.id]?.online : false;
            const last = c.last_message;
            const lastSender = last && c.kind === 'group' && !last.deleted ? `${last.sender_id === state.me.id ? 'You' : displayName(state.users[last.sender_id])}: ` : last && last.sender_id === state.me.id && !last.deleted ? 'You: ' : '';
            return (
              <li key={c.id}>
                <a href={`/c/${c.id}`} class={`conv${c.id === openId ? ' active' : ''}${c.unread_count ? ' unread' : ''}`}
                  aria-current={c.id === openId ? 'page' : undefined}
                  onClick={(e) => { e.preventDefault(); open(c.id); }}>
                  <span class="conv-avatar">
                    {c.kind === 'group' ? <Avatar name={c.name} mediaId={c.avatar_media_id ?? null} id={c.id} size={44} /> : <Avatar user={peer} size={44} />}
                    {online && <span class="dot" aria-hidden="true" />}
                  </span>
                  <span class="conv-main">
                    <span class="conv-top">
                      <span class="conv-title">{title}</span>
                      {/* The dot on the avatar, for screen readers (after the title, which names the entry first). */}
                      {online && <span class="visually-hidden">, online</span>}
                      <span class="visually-hidden">, </span>
                      <span class="conv-time">{shortWhen(c.last_activity)}</span>
                    </span>
                    <span class="conv-bottom">
                      <span class="conv-preview">{last ? lastSender + preview(last) : c.kind === 'group' ? c.topic || 'New group' : 'New conversation'}</span>
                      {/* Read in this order (N unread, mentioned you, muted); shown the other way round. */}
                      {c.unread_count > 0 && <span class="badge"><span class="visually-hidden">, </span>{c.unread_count}<span class="visually-hidden"> unread</span></span>}
                      {mention && <span class="mention-mark"><span aria-hidden="true">@</span><span class="visually-hidden">, mentioned you</span></span>}
                      {muted && <span class="muted-mark"><span aria-hidden="true">🔕</span><span class="visually-hidden">, muted</span></span>}
                    </span>
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
    </aside>
  );
}

/** Arrow keys move between the conversations (Home and End to the ends). */
function moveFocus(e: KeyboardEvent): void {
  if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return;
  const links = Array.from((e.currentTarget as HTMLElement).querySelectorAll<HTMLAnchorElement>('a.conv'));
  if (links.length === 0) return;
  const i = links.indexOf(document.activeElement as HTMLAnchorElement);
  const next = e.key === 'Home' ? 0 : e.key === 'End' ? links.length - 1 : e.key === 'ArrowDown' ? Math.min(links.length - 1, i + 1) : Math.max(0, i - 1);
  e.preventDefault();
  links[next]?.focus();
}

export function ConnectionBadge({ state }: { state: SyncState['connection'] }) {
  const text = state === 'online' ? 'Online' : state === 'connecting' ? 'Connecting…' : 'Offline';
  return (
    <div role="status" aria-label="Connection" class={`connection ${state}`}>
      {text}
    </div>
  );
}
