// A side panel (modal dialog): labelled by its heading, closed by its
// Close button or Escape, focus moved into it when it opens.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

let counter = 0;

export function Panel({ title, onClose, children, wide = false }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const id = useRef(`panel-${++counter}`);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('input, button:not(.close), select, textarea')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus?.();
    };
  }, []);
  return (
    <div class="overlay" onClick={(e) => { if (e.target === e.currentTarget) onClose(); }}>
      <div ref={ref} class={`panel${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby={id.current}>
        <header class="panel-head">
          <h2 id={id.current}>{title}</h2>
          <button type="button" class="icon close" aria-label="Close" onClick={onClose}>×</button>
        </header>
        <div class="panel-body">{children}</div>
      </div>
    </div>
  );
}
