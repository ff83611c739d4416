// A virtualised vertical list for the message log: only the rows in (or
// near) the viewport are in the DOM, each placed at its offset; row heights
// are measured once rendered and estimated before. It sticks to the bottom
// when the user is there, keeps the rows in view still when rows are added
// above or change height, and asks for more when the top comes near.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

export interface VirtualListHandle {
  scrollToKey: (key: string) => boolean;
  scrollToBottom: () => void;
}

interface Props<T> {
  items: T[];
  itemKey: (item: T) => string;
  render: (item: T) => ComponentChildren;
  estimate?: number;
  overscan?: number;
  onNearTop?: () => void;
  onAtBottom?: (atBottom: boolean) => void;
  handle?: (h: VirtualListHandle) => void;
  label: string;
  role?: "log" | "list" | "listbox";
}

const heights = new Map<string, number>();

export function VirtualList<T>({ items, itemKey, render, estimate = 64, overscan = 600, onNearTop, onAtBottom, handle, label, role = 'log' }: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 800 });
  const [measured, setMeasured] = useState(0);
  const stick = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  const keys = useMemo(() => items.map(itemKey), [items]);

  // Prefix sums of the heights (recomputed per render: O(n), cheap even for
  // 50,000 rows compared to laying any of them out).
  const offsets = useMemo(() => {
    const o = new Float64Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) o[i + 1] = o[i]! + (heights.get(keys[i]!) ?? estimate);
    return o;
  }, [keys, estimate, measured]);
  const total = offsets[keys.length] ?? 0;

  const indexAt = (y: number) => {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid + 1]! <= y) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, Math.max(0, keys.length - 1));
  };

  const first = keys.length ? indexAt(Math.max(0, viewport.top - overscan)) : 0;
  const last = keys.length ? indexAt(viewport.top + viewport.height + overscan) : -1;

  // Remember which row is at the top of the viewport before each update
  // (reads the latest keys and offsets: also called from the observer).
  const latest = useRef({ keys, offsets });
  latest.current = { keys, offsets };
  const rememberAnchor = () => {
    const el = scroller.current;
    const { keys: k, offsets: o } = latest.current;
    if (!el || k.length === 0) return;
    let lo = 0;
    let hi = k.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (o[mid + 1]! <= el.scrollTop) lo = mid + 1;
      else hi = mid;
    }
    anchor.current = { key: k[lo]!, delta: el.scrollTop - o[lo]! };
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stick.current) {
      el.scrollTop = el.scrollHeight;
    } else if (anchor.current) {
      const i = keys.indexOf(anchor.current.key);
      if (i >= 0) {
        const want = offsets[i]! + anchor.current.delta;
        if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
      }
    }
  });

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (atBottom !== stick.current) onAtBottom?.(atBottom);
    stick.current = atBottom;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < 800) onNearTop?.();
  }, [onNearTop, onAtBottom]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    const ro = new ResizeObserver(() => setViewport({ top: el.scrollTop, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  if (!observer.current && typeof ResizeObserver !== 'undefined') {
    observer.current = new ResizeObserver((entries) => {
      let changed = false;
      for (const e of entries) {
        const key = (e.target as HTMLElement).dataset['key'];
        if (!key) continue;
        const h = Math.ceil((e.target as HTMLElement).offsetHeight);
        if (h > 0 && heights.get(key) !== h) {
          heights.set(key, h);
          changed = true;
        }
      }
      if (changed) {
        rememberAnchor();
        setMeasured((n) => n + 1);
      }
    });
  }
  useEffect(() => () => observer.current?.disconnect(), []);

  // Near the top with nothing to scroll (a short first page): ask for more.
  useEffect(() => {
    const el = scroller.current;
    if (el && el.scrollHeight <= el.clientHeight + 800) onNearTop?.();
  }, [keys.length]);

  // Before items change: keep the anchor.
  const prevKeys = useRef(keys);
  if (prevKeys.current !== keys) {
    prevKeys.current = keys;
    rememberAnchor();
  }

  useEffect(() => {
    handle?.({
      scrollToKey: (key) => {
        const i = keys.indexOf(key);
        const el = scroller.current;
        if (i < 0 || !el) return false;
        stick.current = false;
        el.scrollTop = Math.max(0, offsets[i]! - el.clientHeight / 3);
        anchor.current = { key, delta: el.scrollTop - offsets[i]! };
        setViewport({ top: el.scrollTop, height: el.clientHeight });
        return true;
      },
      scrollToBottom: () => {
        const el = scroller.current;
        if (!el) return;
        stick.current = true;
        el.scrollTop = el.scrollHeight;
        onAtBottom?.(true);
      },
    });
  });

  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    const item = items[i]!;
    const key = keys[i]!;
    rows.push(
      <Row key={key} rowKey={key} top={offsets[i]!} observer={observer.current}>
        {render(item)}
      </Row>,
    );
  }

  return (
    <div class="vlist" ref={scroller} onScroll={onScroll} role={role} aria-label={label} tabIndex={0}>
      <div class="vspace" style={{ height: `${total}px` }}>
        {rows}
      </div>
    </div>
  );
}

function Row({ rowKey, top, observer, children }: { rowKey: string; top: number; observer: ResizeObserver | null; children: ComponentChildren }) {
  const el = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = el.current;
    if (!node || !observer) return;
    observer.observe(node);
    return () => observer.unobserve(node);
  }, [observer]);
  return (
    <div ref={el} data-key={rowKey} class="vrow" style={{ transform: `translateY(${top}px)` }}>
      {children}
    </div>
  );
}
