// Creating a group: a name, an optional topic, members from the contacts.
import { useState } from 'preact/hooks';
import { useCtx } from './Chat';
import { explain } from './Contacts';
import { displayName } from './format';
import { useObservable } from './hooks';
import { Panel } from './Panel';

export function NewGroup({ onClose }: { onClose: () => void }) {
  const { engine, rest, open } = useCtx();
  const contacts = useObservable(engine.state, (s) => s.contacts);
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { conversation } = await rest.createGroup(name.trim(), [...chosen], topic.trim() || undefined);
      await engine.fetchConversation(conversation.id);
      open(conversation.id);
      onClose();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Panel title="New group" onClose={onClose}>
      <form class="stack" onSubmit={submit}>
        <label>Group name<input name="group_name" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Topic<input name="topic" maxLength={256} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} /></label>
        <fieldset>
          <legend>Members</legend>
          {contacts.length === 0 && <p class="hint">Add contacts first: a group's members are your contacts.</p>}
          {contacts.map((c) => (
            <label class="check" key={c.user.id}>
              <input type="checkbox" name={`member-${c.user.username}`} checked={chosen.has(c.user.username)}
                onChange={(e) => {
                  const next = new Set(chosen);
                  if (e.currentTarget.checked) next.add(c.user.username);
                  else next.delete(c.user.username);
                  setChosen(next);
                }} />
              {displayName(c.user)} <span class="hint">@{c.user.username}</span>
            </label>
          ))}
        </fieldset>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy || !name.trim()}>Create group</button>
      </form>
    </Panel>
  );
}
