// A conversation's details: mute for everyone; for groups the name, topic,
// avatar, members and roles (as the caller's role allows) and leaving.
import { useState } from 'preact/hooks';
import type { Role } from '../protocol/types';
import type { ConversationRecord } from '../sync/apply';
import { Avatar } from './Avatar';
import { useCtx } from './Chat';
import { explain } from './Contacts';
import { displayName } from './format';
import { useObservable } from './hooks';
import { Panel } from './Panel';

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };
const MUTES: [string, number][] = [['1 hour', 3600e3], ['8 hours', 8 * 3600e3], ['1 week', 7 * 86400e3], ['1 year', 365 * 86400e3]];

export function ConversationInfo({ conv, onClose }: { conv: ConversationRecord; onClose: () => void }) {
  const { engine, rest, open } = useCtx();
  const s = useObservable(engine.state, (x) => x);
  const c = s.conversations.find((x) => x.id === conv.id) ?? conv;
  const [name, setName] = useState(c.name);
  const [topic, setTopic] = useState(c.topic);
  const [add, setAdd] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const admin = c.role === 'owner' || c.role === 'admin';
  const mute = s.settings?.conversation_mutes.find((m) => m.conversation_id === c.id && m.muted_until > Date.now());

  const act = async (f: () => Promise<unknown>, ok?: string) => {
    setMessage(null);
    try {
      await f();
      if (ok) setMessage({ ok: true, text: ok });
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };
  const refreshSettings = async () => engine.setSettings((await rest.settings()).settings);

  const members = c.members ?? [];
  const candidates = s.contacts.filter((x) => !members.some((m) => m.user.id === x.user.id));

  return (
    <Panel title={c.kind === 'group' ? 'Group info' : 'Conversation info'} onClose={onClose}>
      <section aria-labelledby="notif-h">
        <h3 id="notif-h">Notifications</h3>
        <label>
          Mute this conversation
          <select name="mute" aria-label="Mute this conversation" value={mute ? 'muted' : ''}
            onChange={(e) => {
              const v = e.currentTarget.value;
              void act(async () => {
                if (v === '') await rest.unmute(c.id);
                else if (v !== 'muted') await rest.mute(c.id, Date.now() + Number(v));
                await refreshSettings();
              });
            }}>
            <option value="">Not muted</option>
            {mute && <option value="muted">Muted until {new Date(mute.muted_until).toLocaleString()}</option>}
            {MUTES.map(([label, ms]) => <option key={label} value={String(ms)}>For {label}</option>)}
          </select>
        </label>
      </section>
      {c.kind === 'group' && (
        <>
          {admin && (
            <section aria-labelledby="group-h">
              <h3 id="group-h">Group</h3>
              <form class="stack" onSubmit={(e) => { e.preventDefault(); void act(() => rest.updateConversation(c.id, { name: name.trim(), topic: topic.trim() }), 'Saved.'); }}>
                <label>Group name<input name="group_name" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
                <label>Topic<input name="topic" maxLength={256} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} /></label>
                <div class="row">
                  <Avatar name={c.name} mediaId={c.avatar_media_id ?? null} id={c.id} size={48} />
                  <label class="button-like">
                    Group picture
                    <input name="group_avatar" type="file" accept="image/*" class="visually-hidden"
                      onChange={(e) => {
                        const f = e.currentTarget.files?.[0];
                        if (f) void act(async () => { const { media } = await rest.uploadWhole(f, f.name); await rest.updateConversation(c.id, { avatar_media_id: media.id }); }, 'Picture changed.');
                      }} />
                  </label>
                  {c.avatar_media_id && <button type="button" onClick={() => void act(() => rest.updateConversation(c.id, { avatar_media_id: null }))}>Remove picture</button>}
                </div>
                <button type="submit" class="primary">Save</button>
              </form>
            </section>
          )}
          {!admin && c.topic && <p>{c.topic}</p>}
          <section aria-labelledby="members-h">
            <h3 id="members-h">{members.length} members</h3>
            {admin && candidates.length > 0 && (
              <form class="row" onSubmit={(e) => { e.preventDefault(); if (add) void act(() => rest.addMember(c.id, add).then(() => setAdd(''))); }}>
                <select name="add_member" aria-label="Contact to add" value={add} onChange={(e) => setAdd(e.currentTarget.value)}>
                  <option value="">Choose a contact…</option>
                  {candidates.map((x) => <option key={x.user.id} value={x.user.username}>{displayName(x.user)}</option>)}
                </select>
                <button type="submit" disabled={!add}>Add member</button>
              </form>
            )}
            <ul class="people">
              {members.map((m) => {
                const self = m.user.id === s.me.id;
                const canRemove = !self && RANK[c.role] > RANK[m.role] && admin;
                return (
                  <li key={m.user.id} aria-label={displayName(m.user)}>
                    <Avatar user={m.user} size={32} />
                    <span class="person"><strong>{displayName(m.user)}{self ? ' (you)' : ''}</strong><span>@{m.user.username}</span></span>
                    {c.role === 'owner' && !self ? (
                      <select name={`role-${m.user.id}`} aria-label={`Role of ${displayName(m.user)}`} value={m.role}
                        onChange={(e) => void act(() => rest.changeRole(c.id, m.user.id, e.currentTarget.value as Role))}>
                        <option value="member">member</option><option value="admin">admin</option><option value="owner">owner</option>
                      </select>
                    ) : (
                      <span class="role">{m.role}</span>
                    )}
                    {canRemove && <button type="button" aria-label={`Remove ${displayName(m.user)}`} onClick={() => void act(() => rest.removeMember(c.id, m.user.id))}>Remove</button>}
                  </li>
                );
              })}
            </ul>
          </section>
          <button type="button" class="danger" onClick={() => void act(async () => { await rest.leave(c.id); onClose(); open(null); })}>Leave group</button>
        </>
      )}
      {message && <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
    </Panel>
  );
}
