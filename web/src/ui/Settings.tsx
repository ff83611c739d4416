// Profile (name, status, avatar with a crop preview), privacy and
// notification settings, and the device sessions with revoke.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LastSeenVisibility, Session } from '../protocol/types';
import { Avatar } from './Avatar';
import { useCtx } from './Chat';
import { explain } from './Contacts';
import { relative } from './format';
import { useObservable } from './hooks';
import { Panel } from './Panel';
import { PushToggle } from '../push/PushToggle';
import { updateSavedUser } from './session';

export function Settings({ onClose }: { onClose: () => void }) {
  const { engine, rest } = useCtx();
  const me = useObservable(engine.state, (s) => s.me);
  const settings = useObservable(engine.state, (s) => s.settings);
  const [name, setName] = useState(me.display_name);
  const [status, setStatus] = useState(me.status_text);
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [crop, setCrop] = useState<File | null>(null);
  const [permission, setPermission] = useState(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission);

  const act = async (f: () => Promise<unknown>, ok?: string) => {
    setMessage(null);
    try {
      await f();
      if (ok) setMessage({ ok: true, text: ok });
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };
  const loadSessions = () => rest.sessions().then((r) => setSessions(r.sessions), () => setSessions(null));
  useEffect(() => {
    void loadSessions();
    rest.settings().then((r) => engine.setSettings(r.settings), () => undefined);
  }, []);
  const saveMe = async (patch: Parameters<typeof rest.updateMe>[0]) => {
    const { user } = await rest.updateMe(patch);
    engine.setMe(user);
    updateSavedUser(user);
  };
  const saveSettings = async (patch: Parameters<typeof rest.updateSettings>[0]) => engine.setSettings((await rest.updateSettings(patch)).settings);

  return (
    <Panel title="Settings" onClose={onClose} wide>
      <section aria-labelledby="profile-h">
        <h3 id="profile-h">Profile</h3>
        <div class="row">
          <Avatar user={me} size={64} />
          <label class="button-like">
            Change picture
            <input name="avatar" type="file" accept="image/*" class="visually-hidden" onChange={(e) => { const f = e.currentTarget.files?.[0]; if (f) setCrop(f); e.currentTarget.value = ''; }} />
          </label>
          {me.avatar_media_id && <button type="button" onClick={() => void act(() => saveMe({ avatar_media_id: null }))}>Remove picture</button>}
        </div>
        {crop && <Cropper file={crop} onCancel={() => setCrop(null)} onDone={(blob) => {
          setCrop(null);
          void act(async () => { const { media } = await rest.uploadWhole(blob, 'avatar.png'); await saveMe({ avatar_media_id: media.id }); }, 'Picture changed.');
        }} />}
        <form class="stack" onSubmit={(e) => { e.preventDefault(); void act(() => saveMe({ display_name: name.trim(), status_text: status.trim() }), 'Profile saved.'); }}>
          <label>Display name<input name="display_name" autoComplete="name" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
          <label>Status<input name="status" maxLength={140} value={status} placeholder="What are you up to?" onInput={(e) => setStatus(e.currentTarget.value)} /></label>
          <button type="submit" class="primary">Save profile</button>
        </form>
      </section>
      <section aria-labelledby="privacy-h">
        <h3 id="privacy-h">Privacy and notifications</h3>
        <label>
          Who sees when I was last online
          <select name="last_seen_visibility" value={settings?.last_seen_visibility ?? 'contacts'} onChange={(e) => void act(() => saveSettings({ last_seen_visibility: e.currentTarget.value as LastSeenVisibility }))}>
            <option value="everyone">Everyone I share a conversation with</option>
            <option value="contacts">My contacts</option>
            <option value="nobody">Nobody</option>
          </select>
        </label>
        <label class="check">
          <input type="checkbox" name="notifications" checked={settings?.notifications_enabled ?? true} onChange={(e) => void act(() => saveSettings({ notifications_enabled: e.currentTarget.checked }))} />
          Notifications
        </label>
        {permission === 'default' && (
          <button type="button" onClick={() => void Notification.requestPermission().then(setPermission)}>Show notifications when Parley is in the background</button>
        )}
        {permission === 'denied' && <p class="hint">The browser blocks notifications for this site.</p>}
        <PushToggle token={() => rest.getToken()} act={act} onPermission={setPermission} />
      </section>
      <section aria-labelledby="sessions-h">
        <h3 id="sessions-h">Signed-in devices</h3>
        {!sessions && <p class="hint">The list needs a connection to the server.</p>}
        <ul class="people">
          {sessions?.map((x) => (
            <li key={x.id} aria-label={x.device_name}>
              <span class="person"><strong>{x.device_name}{x.current ? ' (this device)' : ''}</strong><span>signed in {relative(x.created_at)} · active {relative(x.last_seen_at)}</span></span>
              {!x.current && <button type="button" onClick={() => void act(async () => { await rest.revokeSession(x.id); await loadSessions(); })} aria-label={`Revoke ${x.device_name}`}>Revoke</button>}
            </li>
          ))}
        </ul>
      </section>
      {message && <p class={message.ok ? 'notice' : 'error'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
    </Panel>
  );
}

/** A square crop of an image with a zoom slider, previewed before upload. */
function Cropper({ file, onDone, onCancel }: { file: File; onDone: (b: Blob) => void; onCancel: () => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [img, setImg] = useState<ImageBitmap | null>(null);
  const [zoom, setZoom] = useState(1);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    createImageBitmap(file).then(setImg, () => setError('This file is not an image the browser can read.'));
  }, [file]);
  useEffect(() => {
    const c = canvas.current;
    if (!c || !img) return;
    const ctx = c.getContext('2d')!;
    const side = Math.min(img.width, img.height) / zoom;
    const sx = (img.width - side) / 2;
    const sy = (img.height - side) / 2;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.drawImage(img, sx, sy, side, side, 0, 0, c.width, c.height);
  }, [img, zoom]);
  return (
    <div class="cropper">
      {error ? <p class="error">{error}</p> : <canvas ref={canvas} width={256} height={256} aria-label="Preview of the new picture" role="img" />}
      <label>Zoom<input name="zoom" type="range" min={1} max={4} step={0.1} value={zoom} onInput={(e) => setZoom(Number(e.currentTarget.value))} /></label>
      <div class="row">
        <button type="button" class="primary" disabled={!img} onClick={() => canvas.current?.toBlob((b) => b && onDone(b), 'image/png')}>Use this picture</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </div>
  );
}
