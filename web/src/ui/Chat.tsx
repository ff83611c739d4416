// The signed-in app: conversation list beside the open dialog (one or the
// other on a phone), side panels, the in-app notification popup, and the
// wiring of the sync engine to the page (title, browser notifications).
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Id, Message } from '../protocol/types';
import { SyncEngine } from '../sync/engine';
import { RestClient } from '../sync/rest';
import { Store } from '../sync/store';
import { Uploads } from '../sync/uploads';
import { ConversationList } from './ConversationList';
import { Dialog } from './Dialog';
import { Avatar } from './Avatar';
import { lazy } from './components';
import { displayName } from './format';
import { useObservable } from './hooks';
import { setMediaClient } from './media';
import type { SavedSession } from './session';
import { updateSavedUser } from './session';
import { unsubscribeOnSignOut } from '../push/push';

/** Shown while a panel's code loads. */
const loadingPanel = () => <div class="panel" role="dialog" aria-label="Loading">Loading…</div>;
const Contacts = lazy(() => import('./Contacts').then((m) => m.Contacts), loadingPanel);
const Settings = lazy(() => import('./Settings').then((m) => m.Settings), loadingPanel);
const NewGroup = lazy(() => import('./NewGroup').then((m) => m.NewGroup), loadingPanel);

export interface ChatContext {
  engine: SyncEngine;
  rest: RestClient;
  uploads: Uploads;
  open: (id: Id | null) => void;
  signOut: () => void;
}

export const Ctx = createContext<ChatContext>(null as unknown as ChatContext);

type Panel = 'contacts' | 'settings' | 'group' | null;

interface Popup {
  message: Message;
  key: number;
}

function idFromPath(): Id | null {
  const m = /^\/c\/(\d+)$/.exec(location.pathname);
  return m ? Number(m[1]) : null;
}

export function Chat({ session, onSignedOut }: { session: SavedSession; onSignedOut: (reason: string) => void }) {
  const [ctx, setCtx] = useState<ChatContext | null>(null);
  const [openId, setOpenId] = useState<Id | null>(idFromPath);
  const openRef = useRef(openId);
  openRef.current = openId;
  const [panel, setPanel] = useState<Panel>(null);
  const [popup, setPopup] = useState<Popup | null>(null);

  useEffect(() => {
    let engine: SyncEngine | null = null;
    let store: Store | null = null;
    let stopped = false;
    const rest = new RestClient(session.token);
    setMediaClient(rest);
    const signedOut = (reason: string) => {
      engine?.stop();
      store?.close();
      void Store.destroy(session.user.id).catch(() => undefined);
      setMediaClient(null);
      onSignedOut(reason);
    };
    rest.onUnauthorized = () => signedOut('unauthorized');
    void (async () => {
      store = await Store.open(session.user.id);
      if (stopped) {
        store.close();
        return;
      }
      const proto = location.protocol === 'https:' ? 'wss' : 'ws';
      engine = new SyncEngine({
        store: store!,
        rest,
        me: session.user,
        wsUrl: `${proto}://${location.host}/ws`,
        onIncoming: (messages) => notifyIncoming(engine!, messages, openRef.current, (m) => setPopup({ message: m, key: Date.now() })),
        onSignedOut: signedOut,
      });
      const uploads = new Uploads(store!, rest, (conversation, attachments) => engine!.send(conversation, '', { attachments }));
      const open = (id: Id | null) => {
        setOpenId(id);
        const path = id === null ? '/' : `/c/${id}`;
        if (location.pathname !== path) history.pushState(null, '', path);
      };
      const signOut = () => {
        void unsubscribeOnSignOut();
        void rest.logOut().catch(() => undefined).finally(() => signedOut('user'));
      };
      setCtx({ engine, rest, uploads, open, signOut });
      await engine.start();
      void uploads.resume();
      // Refresh the profile (name, avatar) once the server answers.
      rest.me().then(({ user }) => { engine?.setMe(user); updateSavedUser(user); }, () => undefined);
    })();
    const onPop = () => setOpenId(idFromPath());
    const onOnline = () => engine?.retryNow();
    window.addEventListener('popstate', onPop);
    window.addEventListener('online', onOnline);
    return () => {
      stopped = true;
      engine?.stop();
      store?.close();
      window.removeEventListener('popstate', onPop);
      window.removeEventListener('online', onOnline);
    };
    // One engine per session.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session.token]);

  if (!ctx) return <div class="loading" role="status" aria-label="Connection">Connecting…</div>;
  return (
    <Ctx.Provider value={ctx}>
      <Layout openId={openId} panel={panel} setPanel={setPanel} popup={popup} setPopup={setPopup} />
    </Ctx.Provider>
  );
}

function Layout({ openId, panel, setPanel, popup, setPopup }: {
  openId: Id | null; panel: Panel; setPanel: (p: Panel) => void; popup: Popup | null; setPopup: (p: Popup | null) => void;
}) {
  const c = useCtx();
  const unread = useObservable(c.engine.state, (s) => s.conversations.reduce((n, x) => n + x.unread_count, 0));
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
  }, [unread]);
  // An open conversation that is gone (left, removed) closes.
  const exists = useObservable(c.engine.state, (s) => openId === null || s.conversations.some((x) => x.id === openId));
  const loaded = useObservable(c.engine.state, (s) => s.conversations.length > 0 || s.connection === 'online');
  useEffect(() => {
    if (!exists && loaded) c.open(null);
  }, [exists, loaded]);
  // The popup's conversation was opened some other way: it has done its job.
  useEffect(() => {
    if (popup && popup.message.conversation_id === openId) setPopup(null);
  }, [openId, popup]);

  return (
    <div class="app" data-view={openId === null ? 'list' : 'dialog'}>
      <ConversationList openId={openId} onPanel={setPanel} />
      {openId !== null && exists ? (
        <Dialog key={openId} id={openId} />
      ) : (
        <main class="empty" aria-label="No conversation open">
          <div>
            <img src="/icon.svg" alt="" width={56} height={56} />
            <p>Choose a conversation, or start one with a contact.</p>
          </div>
        </main>
      )}
      {panel && (
        <>
          {panel === 'contacts' && <Contacts onClose={() => setPanel(null)} />}
          {panel === 'settings' && <Settings onClose={() => setPanel(null)} />}
          {panel === 'group' && <NewGroup onClose={() => setPanel(null)} />}
        </>
      )}
      {popup && <PopupView key={popup.key} popup={popup} onOpen={(id) => { setPopup(null); c.open(id); }} onClose={() => setPopup(null)} />}
    </div>
  );
}

function PopupView({ popup, onOpen, onClose }: { popup: Popup; onOpen: (id: Id) => void; onClose: () => void }) {
  const { engine } = useCtx();
  const users = useObservable(engine.state, (s) => s.users);
  const conv = useObservable(engine.state, (s) => s.conversations.find((x) => x.id === popup.message.conversation_id));
  useEffect(() => {
    const t = setTimeout(onClose, 6000);
    return () => clearTimeout(t);
  }, [popup.key]);
  const sender = users[popup.message.sender_id];
  const where = conv?.kind === 'group' ? ` in ${conv.name}` : '';
  return (
    <div class="popup" role="alert" aria-label="New message">
      <button type="button" class="popup-body" onClick={() => onOpen(popup.message.conversation_id)}>
        <Avatar user={sender} size={36} />
        <span class="popup-text">
          <strong>{displayName(sender)}{where}</strong>
          <span>{preview(popup.message)}</span>
        </span>
      </button>
      <button type="button" class="icon" aria-label="Dismiss" onClick={onClose}>×</button>
    </div>
  );
}

export function preview(m: Message): string {
  if (m.deleted) return 'Message deleted';
  if (m.sticker) return `Sticker ${m.sticker.emoji}`;
  if (m.text) return m.text.length > 120 ? `${m.text.slice(0, 120)}…` : m.text;
  if (m.attachments.length) return `📎 ${m.attachments.map((a) => a.name).join(', ')}`;
  return '';
}

function notifyIncoming(engine: SyncEngine, messages: Message[], openId: Id | null, popup: (m: Message) => void): void {
  const s = engine.state.get();
  if (s.settings && !s.settings.notifications_enabled) return;
  const now = Date.now();
  for (const m of messages) {
    const muted = s.settings?.conversation_mutes.some((x) => x.conversation_id === m.conversation_id && x.muted_until > now);
    if (muted) continue;
    const visibleHere = m.conversation_id === openId && document.visibilityState === 'visible';
    if (visibleHere) continue;
    if (document.visibilityState === 'hidden' && 'Notification' in window && Notification.permission === 'granted') {
      const sender = s.users[m.sender_id];
      const n = new Notification(displayName(sender), { body: preview(m), tag: `parley-${m.conversation_id}`, icon: '/icon.svg' });
      n.onclick = () => {
        window.focus();
        history.pushState(null, '', `/c/${m.conversation_id}`);
        dispatchEvent(new PopStateEvent('popstate'));
        n.close();
      };
    } else if (m.conversation_id !== openId) {
      popup(m);
    }
  }
}

export function useCtx(): ChatContext {
  return useContext(Ctx);
}
