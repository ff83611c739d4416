// The composer: Enter sends, Shift+Enter makes a new line; a draft per
// conversation; replies, edits, @mention completion, emoji, stickers and
// attachments (picker, drag and drop, paste) with upload progress.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Limits, type Message, type Member } from '../protocol/types';
import type { ConversationRecord } from '../sync/apply';
import type { SyncState } from '../sync/engine';
import { preview, useCtx } from './Chat';
import { lazy } from './components';
import { displayName, size } from './format';
import { useObservable } from './hooks';

const EmojiPicker = lazy(() => import('./EmojiPicker').then((m) => m.EmojiPicker));
const StickerPicker = lazy(() => import('./StickerPicker').then((m) => m.StickerPicker));

export interface ComposerApi {
  reply: (m: Message) => void;
  edit: (m: Message) => void;
  attach: (f: File) => Promise<void>;
}

export function Composer({ conv, state, api, onSent }: { conv: ConversationRecord; state: SyncState; api: (a: ComposerApi) => void; onSent: () => void }) {
  const { engine, uploads } = useCtx();
  const [text, setText] = useState('');
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [picker, setPicker] = useState<'emoji' | 'sticker' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mention, setMention] = useState<{ query: string; start: number; index: number } | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const progress = useObservable(uploads.progress, (p) => p.filter((x) => x.conversation_id === conv.id));
  const blocked = conv.kind === 'direct' && conv.peer ? state.blocks.some((b) => b.user.id === conv.peer!.id) : false;

  useEffect(() => {
    let live = true;
    void engine.draft(conv.id).then((d) => live && d && setText(d));
    area.current?.focus();
    return () => {
      live = false;
    };
  }, [conv.id]);

  const saveDraft = (value: string) => {
    if (draftTimer.current) clearTimeout(draftTimer.current);
    draftTimer.current = setTimeout(() => void engine.setDraft(conv.id, value), 300);
  };

  api({
    reply: (m) => {
      setEditing(null);
      setReplyTo(m);
      area.current?.focus();
    },
    edit: (m) => {
      setReplyTo(null);
      setEditing(m);
      setText(m.text);
      area.current?.focus();
    },
    attach: (f) => uploads.add(conv.id, f),
  });

  const members: Member[] = conv.kind === 'group' ? (conv.members ?? []).filter((m) => m.user.id !== state.me.id) : [];
  const candidates = mention
    ? members.filter((m) => m.user.username.startsWith(mention.query.toLowerCase()) || m.user.display_name.toLowerCase().startsWith(mention.query.toLowerCase())).slice(0, 6)
    : [];

  const updateMention = (value: string, caret: number) => {
    if (conv.kind !== 'group') return;
    const before = value.slice(0, caret);
    const m = /(^|[\s(])@([A-Za-z0-9_.]{0,31})$/.exec(before);
    setMention(m ? { query: m[2]!, start: caret - m[2]!.length - 1, index: 0 } : null);
  };

  // Text changed by the app (a completion, an emoji): written to the field
  // and the caret placed at once, so that keys typed right after land after
  // it (a caret set on the next frame would move them).
  const replaceText = (next: string, caret: number) => {
    const el = area.current;
    if (el) {
      el.value = next;
      el.setSelectionRange(caret, caret);
      el.focus();
    }
    setText(next);
    saveDraft(next);
  };

  const complete = (m: Member) => {
    if (!mention) return;
    const caret = area.current?.selectionStart ?? text.length;
    const current = area.current?.value ?? text;
    const insert = `@${m.user.username} `;
    setMention(null);
    replaceText(current.slice(0, mention.start) + insert + current.slice(caret), mention.start + insert.length);
  };

  async function submit() {
    const value = text;
    if (!value.trim()) return;
    if ([...value].length > Limits.maxTextCodePoints) {
      setError(`A message has at most ${Limits.maxTextCodePoints} characters.`);
      return;
    }
    setError(null);
    if (editing) {
      try {
        await engine.edit(editing, value);
        setEditing(null);
        setText('');
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
      return;
    }
    setText('');
    setMention(null);
    const extra = replyTo ? { reply_to: replyTo.id } : {};
    setReplyTo(null);
    if (draftTimer.current) clearTimeout(draftTimer.current);
    await engine.setDraft(conv.id, '');
    await engine.send(conv.id, value, extra);
    onSent();
  }

  const onKeyDown = (e: KeyboardEvent) => {
    if (mention && candidates.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const d = e.key === 'ArrowDown' ? 1 : -1;
        setMention({ ...mention, index: (mention.index + d + candidates.length) % candidates.length });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        complete(candidates[mention.index] ?? candidates[0]!);
        return;
      }
      if (e.key === 'Escape') {
        setMention(null);
        return;
      }
    }
    if (e.key === 'Escape' && (editing || replyTo)) {
      setEditing(null);
      setReplyTo(null);
      if (editing) setText('');
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  };

  const onPaste = (e: ClipboardEvent) => {
    const files = Array.from(e.clipboardData?.files ?? []);
    if (files.length === 0) return;
    e.preventDefault();
    for (const f of files) void uploads.add(conv.id, f);
  };

  const insert = (s: string) => {
    const el = area.current;
    const current = el?.value ?? text;
    const start = el?.selectionStart ?? current.length;
    const end = el?.selectionEnd ?? current.length;
    replaceText(current.slice(0, start) + s + current.slice(end), start + s.length);
  };

  if (blocked) {
    return <div class="composer blocked-note">You blocked this user. Unblock them in Contacts to write again.</div>;
  }

  return (
    <div class="composer-wrap">
      {progress.map((p) => (
        <div class="upload" key={p.upload_id}>
          <span class="upload-name">{p.name}</span>
          {p.error ? (
            <span class="error-text">{p.error}</span>
          ) : (
            <progress max={p.size || 1} value={p.sent} aria-label={`Uploading ${p.name}`}>{Math.round((100 * p.sent) / (p.size || 1))}%</progress>
          )}
          <span class="upload-size">{size(p.sent)} / {size(p.size)}</span>
          <button type="button" class="link" onClick={() => void uploads.cancel(p.upload_id)} aria-label={`Cancel upload ${p.name}`}>{p.error ? 'Dismiss' : 'Cancel'}</button>
        </div>
      ))}
      {(replyTo || editing) && (
        <div class="composer-context">
          <span>
            <strong>{editing ? 'Editing' : `Replying to ${displayName(state.users[replyTo!.sender_id])}`}</strong>
            <span class="context-preview">{preview((editing ?? replyTo)!)}</span>
          </span>
          <button type="button" class="icon" aria-label={editing ? 'Cancel editing' : 'Cancel reply'}
            onClick={() => { if (editing) setText(''); setEditing(null); setReplyTo(null); }}>×</button>
        </div>
      )}
      {mention && candidates.length > 0 && (
        <ul class="mention-list" role="listbox" aria-label="Mention a member">
          {candidates.map((m, i) => (
            <li key={m.user.id} role="option" aria-selected={i === mention.index} class={i === mention.index ? 'selected' : ''}
              onMouseDown={(e) => { e.preventDefault(); complete(m); }}>
              <strong>{displayName(m.user)}</strong> <span>@{m.user.username}</span>
            </li>
          ))}
        </ul>
      )}
      {error && <p class="error" role="alert">{error}</p>}
      <div class="composer">
        <button type="button" class="icon" aria-label="Attach file" onClick={() => fileInput.current?.click()}>📎</button>
        <input ref={fileInput} name="attachments" type="file" multiple class="visually-hidden" tabIndex={-1} aria-label="Choose files to send"
          onChange={(e) => {
            for (const f of Array.from(e.currentTarget.files ?? [])) void uploads.add(conv.id, f);
            e.currentTarget.value = '';
          }} />
        <textarea ref={area} name="message" rows={1} aria-label="Message" placeholder="Write a message" value={text} maxLength={16000}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            saveDraft(v);
            updateMention(v, e.currentTarget.selectionStart);
            if (v.trim()) engine.typing(conv.id);
          }}
          onKeyDown={onKeyDown} onPaste={onPaste} />
        <button type="button" class="icon" aria-label="Emoji" aria-expanded={picker === 'emoji'} onClick={() => setPicker(picker === 'emoji' ? null : 'emoji')}>🙂</button>
        <button type="button" class="icon" aria-label="Stickers" aria-expanded={picker === 'sticker'} onClick={() => setPicker(picker === 'sticker' ? null : 'sticker')}>🖼</button>
        <button type="button" class="primary send" aria-label="Send" onClick={() => void submit()} disabled={!text.trim()}>
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
      {picker === 'emoji' && (
        <EmojiPicker label="Insert an emoji" onClose={() => setPicker(null)} onPick={(e) => { insert(e); setPicker(null); }} />
      )}
      {picker === 'sticker' && (
        <StickerPicker onClose={() => setPicker(null)} onPick={(id) => { setPicker(null); void engine.send(conv.id, '', { sticker: id }).then(onSent); }} />
      )}
    </div>
  );
}
