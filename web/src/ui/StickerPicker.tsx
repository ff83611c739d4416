// The sticker picker (loaded on demand): the installed packs, the user's
// own set first. Picking from a pack not yet in the set adds it (the server
// accepts stickers only from packs in the sender's set).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { StickerPack, StickerPackDetail } from '../protocol/types';
import { useCtx } from './Chat';
import { StickerImage } from './Dialog';

export function StickerPicker({ onPick, onClose }: { onPick: (id: number) => void; onClose: () => void }) {
  const { rest } = useCtx();
  const [packs, setPacks] = useState<StickerPack[] | null>(null);
  const [mine, setMine] = useState<Set<string>>(new Set());
  const [current, setCurrent] = useState<StickerPackDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    Promise.all([rest.stickerPacks(), rest.myStickerPacks()]).then(
      ([all, own]) => {
        const names = new Set(own.packs.map((p) => p.name));
        setMine(names);
        const sorted = [...all.packs].sort((a, b) => Number(names.has(b.name)) - Number(names.has(a.name)));
        setPacks(sorted);
        if (sorted[0]) void rest.stickerPack(sorted[0].name).then((r) => setCurrent(r.pack));
      },
      () => setError('Stickers need a connection to the server.'),
    );
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const pick = async (id: number) => {
    if (current && !mine.has(current.name)) {
      try {
        await rest.addStickerPack(current.name);
        setMine(new Set([...mine, current.name]));
      } catch {
        setError('This pack cannot be added.');
        return;
      }
    }
    onPick(id);
  };

  return (
    <div ref={ref} class="picker sticker-picker" role="dialog" aria-label="Stickers">
      {error && <p class="error">{error}</p>}
      {!packs && !error && <p class="hint">Loading stickers…</p>}
      {packs && packs.length === 0 && <p class="hint">No sticker packs are installed on this server.</p>}
      {packs && packs.length > 1 && (
        <div class="pack-tabs" role="tablist">
          {packs.map((p) => (
            <button type="button" role="tab" key={p.name} aria-selected={current?.name === p.name} onClick={() => void rest.stickerPack(p.name).then((r) => setCurrent(r.pack))}>
              {p.title}
            </button>
          ))}
        </div>
      )}
      {current && (
        <div class="sticker-grid" aria-label={current.title}>
          {current.stickers.map((s) => (
            <button type="button" key={s.id} aria-label={`Sticker ${s.emoji}`} onClick={() => void pick(s.id)}>
              <StickerImage id={s.id} emoji={s.emoji} width={s.width} height={s.height} />
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
