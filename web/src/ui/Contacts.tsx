// Contacts: invite by username, pending invitations (accept, decline,
// cancel), contacts with presence and last seen, block and unblock.
import { useState } from 'preact/hooks';
import type { PublicUser } from '../protocol/types';
import { ApiError } from '../sync/rest';
import { Avatar } from './Avatar';
import { useCtx } from './Chat';
import { displayName, relative } from './format';
import { useObservable, useTick } from './hooks';
import { Panel } from './Panel';

export function Contacts({ onClose }: { onClose: () => void }) {
  const { engine, rest, open } = useCtx();
  const s = useObservable(engine.state, (x) => x);
  const [username, setUsername] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useTick(30_000);

  const act = async (f: () => Promise<unknown>, ok?: string) => {
    setMessage(null);
    try {
      await f();
      if (ok) setMessage({ ok: true, text: ok });
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  const invite = (e: Event) => {
    e.preventDefault();
    const name = username.trim();
    if (!name) return;
    void act(async () => {
      const r = await rest.invite(name);
      setUsername('');
      setMessage({ ok: true, text: r.state === 'accepted' ? `You and ${name} are now contacts.` : `Invitation sent to ${name}.` });
    });
  };

  const chat = (u: PublicUser) =>
    act(async () => {
      const { conversation } = await rest.openDirect(u.username);
      await engine.fetchConversation(conversation.id);
      open(conversation.id);
      onClose();
    });

  const incoming = s.invitations.filter((i) => i.from);
  const outgoing = s.invitations.filter((i) => i.to);
  const contacts = [...s.contacts].sort((a, b) => displayName(a.user).localeCompare(displayName(b.user)));

  return (
    <Panel title="Contacts" onClose={onClose}>
      <form class="row" onSubmit={invite}>
        <input name="invite" autoComplete="off" aria-label="Invite by username" placeholder="Invite by username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} maxLength={32} />
        <button type="submit" class="primary">Invite</button>
      </form>
      {message && <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}

      {incoming.length > 0 && (
        <section aria-labelledby="inv-in">
          <h3 id="inv-in">Invitations for you</h3>
          <ul class="people">
            {incoming.map((i) => (
              <li key={i.id} aria-label={`Invitation from ${displayName(i.from)}`}>
                <Avatar user={i.from} size={36} />
                <span class="person"><strong>{displayName(i.from)}</strong><span>@{i.from!.username}</span></span>
                <button type="button" class="primary" onClick={() => void act(() => rest.acceptInvitation(i.id))}>Accept</button>
                <button type="button" onClick={() => void act(() => rest.declineInvitation(i.id))}>Decline</button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {outgoing.length > 0 && (
        <section aria-labelledby="inv-out">
          <h3 id="inv-out">Invitations you sent</h3>
          <ul class="people">
            {outgoing.map((i) => (
              <li key={i.id} aria-label={`Invitation to ${displayName(i.to)}`}>
                <Avatar user={i.to} size={36} />
                <span class="person"><strong>{displayName(i.to)}</strong><span>@{i.to!.username} · waiting</span></span>
                <button type="button" onClick={() => void act(() => rest.cancelInvitation(i.id))}>Cancel</button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="contacts-h">
        <h3 id="contacts-h">Your contacts</h3>
        {contacts.length === 0 && <p class="hint">No contacts yet: invite someone by their username.</p>}
        <ul class="people">
          {contacts.map((c) => {
            const p = s.presence[c.user.id];
            const seen = p?.online ? 'online' : p?.last_seen_at ? `last seen ${relative(p.last_seen_at)}` : `@${c.user.username}`;
            return (
              <li key={c.user.id} aria-label={displayName(c.user)}>
                <span class="conv-avatar"><Avatar user={c.user} size={36} />{p?.online && <span class="dot" aria-hidden="true" />}</span>
                <span class="person"><strong>{displayName(c.user)}</strong><span>{c.user.status_text || seen}{c.user.status_text ? ` · ${seen}` : ''}</span></span>
                <button type="button" class="primary" onClick={() => void chat(c.user)} aria-label={`Message ${displayName(c.user)}`}>Message</button>
                <button type="button" onClick={() => void act(() => rest.block(c.user.username), `${displayName(c.user)} is blocked.`)} aria-label="Block" title={`Block ${displayName(c.user)}`}>Block</button>
              </li>
            );
          })}
        </ul>
      </section>
      {s.blocks.length > 0 && (
        <section aria-labelledby="blocked-h">
          <h3 id="blocked-h">Blocked</h3>
          <ul class="people">
            {s.blocks.map((b) => (
              <li key={b.user.id} aria-label={displayName(b.user)}>
                <Avatar user={b.user} size={36} />
                <span class="person"><strong>{displayName(b.user)}</strong><span>@{b.user.username}</span></span>
                <button type="button" onClick={() => void act(() => rest.unblock(b.user.username))} aria-label="Unblock" title={`Unblock ${displayName(b.user)}`}>Unblock</button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Panel>
  );
}

export function explain(e: unknown): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'not_found': return 'No user has this username.';
      case 'already_contacts': return 'You are contacts already.';
      case 'invitation_exists': return 'You have invited this user already.';
      case 'blocked': return 'A block between you and this user prevents it.';
      case 'forbidden': return 'You are not allowed to do this.';
      case 'network': return 'The server cannot be reached.';
      default: return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}
