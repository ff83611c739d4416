// The full-size image viewer (loaded on demand).
import { useEffect } from 'preact/hooks';
import { download, thumbnailPath, useMediaUrl } from './media';

export function Viewer({ media, onClose }: { media: { id: string; name: string }; onClose: () => void }) {
  const url = useMediaUrl(thumbnailPath(media.id, 'large'));
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="viewer" role="dialog" aria-modal="true" aria-label={media.name} onClick={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div class="viewer-bar">
        <span>{media.name}</span>
        <button type="button" onClick={() => void download(media.id, media.name)} aria-label={`Download ${media.name}`}>Download</button>
        <button type="button" class="icon" aria-label="Close" onClick={onClose} autoFocus>×</button>
      </div>
      {url ? <img src={url} alt={media.name} /> : <p class="hint">Loading…</p>}
    </div>
  );
}
