// A virtualised vertical list for the message log: only the rows in (or
// near) the viewport are in the DOM, each placed at its offset; row heights
// are measured once rendered and estimated before. It sticks to the bottom
// when the user is there, keeps the rows in view still when rows are added
// or dropped above or below or change height, and asks for more when the
// top (or, when the items are a window of a longer list, the bottom) comes
// near.
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
  /** More items exist below the last one (dropped from a window): the list does not stick to the bottom. */
  moreBelow?: boolean;
  onNearBottom?: () => void;
  onAtBottom?: (atBottom: boolean) => void;
  handle?: (h: VirtualListHandle) => void;
  label: string;
  role?: "log" | "list" | "listbox";
}

const heights = new Map<string, number>();

export function VirtualList<T>({ items, itemKey, render, estimate = 64, overscan = 1200, onNearTop, moreBelow = false, onNearBottom, onAtBottom, handle, label, role = 'log' }: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 800 });
  const [measured, setMeasured] = useState(0);
  const stick = useRef(true);
  // Not at the bottom of the whole list while more items exist below.
  if (moreBelow) stick.current = false;
  /** The row to keep in place at the next commit (set when rows change). */
  const anchor = useRef<{ key: string; delta: number; index: number; length: number; next?: { key: string; delta: number } } | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  const rendered = useRef<{ render: Props<T>['render']; nodes: Map<string, { item: T; node: ComponentChildren }> }>({ render, nodes: new Map() });
  // Keys and heights of the rows. Loading older history prepends rows: then
  // only the new rows are looked at and the rest is copied, so a page costs
  // its own size, not the size of the whole loaded history.
  const prev = useRef<{ items: T[]; keys: string[]; sizes: Float64Array } | null>(null);
  const { keys, sizes } = useMemo(() => {
    const p = prev.current;
    // The previous rows are the tail of the new ones, maybe without their
    // first few rows (a day separator merged, a row replaced): find from
    // which of them on they are shared.
    let shared = -1;
    let n = -1;
    if (p && p.items.length > 0 && items.length > p.items.length && items[items.length - 1] === p.items[p.items.length - 1]) {
      for (let j = 0; j < 3 && j < p.items.length; j++) {
        const at = items.length - (p.items.length - j);
        if (items[at] === p.items[j] && sameKeys(items, at, p.keys, j, itemKey)) {
          shared = j;
          n = at;
          break;
        }
      }
    }
    let k: string[];
    let h: Float64Array;
    const appended = p && shared < 0 && p.items.length > 0 && items.length > p.items.length && items[0] === p.items[0] && sameKeys(items, 0, p.keys, 0, itemKey);
    if (p && appended) {
      // Rows added at the end (new messages): keep the rest as it is.
      const m = p.items.length;
      const tail = new Array<string>(items.length - m);
      h = new Float64Array(items.length);
      h.set(p.sizes);
      for (let i = m; i < items.length; i++) {
        tail[i - m] = itemKey(items[i]!);
        h[i] = heights.get(tail[i - m]!) ?? estimate;
      }
      k = p.keys.concat(tail);
    } else if (p && shared >= 0) {
      const head = new Array<string>(n);
      h = new Float64Array(items.length);
      for (let i = 0; i < n; i++) {
        head[i] = itemKey(items[i]!);
        h[i] = heights.get(head[i]!) ?? estimate;
      }
      h.set(p.sizes.subarray(shared), n);
      k = head.concat(shared === 0 ? p.keys : p.keys.slice(shared));
    } else {
      k = new Array<string>(items.length);
      h = new Float64Array(items.length);
      for (let i = 0; i < items.length; i++) {
        k[i] = itemKey(items[i]!);
        h[i] = heights.get(k[i]!) ?? estimate;
      }
    }
    prev.current = { items, keys: k, sizes: h };
    return { keys: k, sizes: h };
  }, [items, estimate]);

  // Prefix sums of the heights (updated in place as rows are measured): a
  // pass over a typed array, cheap even for 50,000 rows.
  const offsets = useMemo(() => {
    const o = new Float64Array(sizes.length + 1);
    for (let i = 0; i < sizes.length; i++) o[i + 1] = o[i]! + sizes[i]!;
    return o;
  }, [sizes, measured]);
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
  const latest = useRef({ keys, offsets, sizes });
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
    anchor.current = { key: k[lo]!, delta: el.scrollTop - o[lo]!, index: lo, length: k.length };
    // The row below, in case the top one goes (a separator that moves).
    if (lo + 1 < k.length) anchor.current.next = { key: k[lo + 1]!, delta: el.scrollTop - o[lo + 1]! };
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stick.current) {
      if (el.scrollTop < total - el.clientHeight - 1) el.scrollTop = total;
    } else if (anchor.current) {
      const a = anchor.current;
      anchor.current = null;
      // Rows are mostly added above (older pages): look where the shift puts
      // the row before searching the whole list.
      const guess = a.index + (keys.length - a.length);
      let i = -1;
      for (const c of [guess, guess + 1, guess - 1, guess + 2, guess - 2, a.index]) {
        if (keys[c] === a.key) {
          i = c;
          break;
        }
      }
      if (i < 0) i = keys.indexOf(a.key);
      let delta = a.delta;
      if (i < 0 && a.next) {
        i = keys.indexOf(a.next.key);
        delta = a.next.delta;
      }
      if (i >= 0) {
        const want = offsets[i]! + delta;
        if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
      }
    }
  });

  // While scrolling, the rows take no pointer events: rows passing under a
  // still mouse would otherwise change :hover every frame, and restyle.
  const scrolling = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    if (scrolling.current) clearTimeout(scrolling.current);
    else el.classList.add('scrolling');
    scrolling.current = setTimeout(() => {
      scrolling.current = null;
      el.classList.remove('scrolling');
    }, 150);
    const below = el.scrollHeight - el.scrollTop - el.clientHeight;
    const atBottom = !moreBelow && below < 40;
    if (atBottom !== stick.current) onAtBottom?.(atBottom);
    stick.current = atBottom;
    setViewport({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < nearTop(el)) onNearTop?.();
    if (moreBelow && below < nearTop(el)) onNearBottom?.();
  }, [onNearTop, onNearBottom, onAtBottom, moreBelow]);

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
        const el = e.target as HTMLElement;
        const key = el.dataset['key'];
        if (!key) continue;
        // The observer's own size (no layout read): the row's border box.
        const h = Math.ceil(e.borderBoxSize?.[0]?.blockSize ?? el.offsetHeight);
        if (h > 0 && heights.get(key) !== h) {
          heights.set(key, h);
          const i = Number(el.dataset['index']);
          const { keys: k, sizes: z } = latest.current;
          if (k[i] === key) z[i] = h;
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

  // Still near the top after rows were added (or nothing to scroll yet):
  // ask for more, as no scroll event may come.
  useEffect(() => {
    const el = scroller.current;
    if (el && (el.scrollTop < nearTop(el) || el.scrollHeight <= el.clientHeight + nearTop(el))) onNearTop?.();
    if (el && moreBelow && el.scrollHeight - el.scrollTop - el.clientHeight < nearTop(el)) onNearBottom?.();
  }, [keys, onNearTop, onNearBottom, moreBelow]);

  // Items changed: keep the row that was at the top where it was (measured
  // against the previous keys and offsets).
  const prevKeys = useRef(keys);
  if (prevKeys.current !== keys) {
    prevKeys.current = keys;
    if (!stick.current) rememberAnchor();
  }
  latest.current = { keys, offsets, sizes };

  useEffect(() => {
    handle?.({
      scrollToKey: (key) => {
        const i = keys.indexOf(key);
        const el = scroller.current;
        if (i < 0 || !el) return false;
        stick.current = false;
        el.scrollTop = Math.max(0, offsets[i]! - el.clientHeight / 3);
        anchor.current = { key, delta: el.scrollTop - offsets[i]!, index: i, length: keys.length };
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

  // A scroll renders the list again, mostly with the rows it had: their
  // content is the same vnode as before (while `render` is the same
  // function, i.e. nothing else changed), which Preact skips without
  // diffing, so a scroll step costs the rows it adds, not every row shown.
  if (rendered.current.render !== render) rendered.current = { render, nodes: new Map() };
  const before = rendered.current.nodes;
  const nodes = new Map<string, { item: T; node: ComponentChildren }>();
  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    const item = items[i]!;
    const key = keys[i]!;
    let cached = before.get(key);
    if (!cached || cached.item !== item) cached = { item, node: render(item) };
    nodes.set(key, cached);
    rows.push(
      <Row key={key} rowKey={key} index={i} top={offsets[i]!} observer={observer.current}>
        {cached.node}
      </Row>,
    );
  }
  rendered.current.nodes = nodes;

  return (
    <div class="vlist" ref={scroller} onScroll={onScroll} role={role} aria-label={label} tabIndex={0}>
      <div class="vspace" style={{ height: `${total}px` }}>
        {rows}
      </div>
    </div>
  );
}

/**
 * How close to the top older rows are asked for: three screens, so that
 * small pages arrive ahead of need and a fast scroll never waits on one
 * large read.
 */
function nearTop(el: HTMLElement): number {
  return Math.max(2000, el.clientHeight * 3);
}

/** Whether the keys of `items` from `at` on equal `keys` from `from` on (to the end of `keys`). */
function sameKeys<T>(items: T[], at: number, keys: string[], from: number, itemKey: (item: T) => string): boolean {
  if (at + keys.length - from > items.length) return false;
  for (let i = from; i < keys.length; i++) if (itemKey(items[at + i - from]!) !== keys[i]) return false;
  return true;
}

function Row({ rowKey, index, top, observer, children }: { rowKey: string; index: number; top: number; observer: ResizeObserver | null; children: ComponentChildren }) {
  const el = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const node = el.current;
    if (!node || !observer) return;
    observer.observe(node);
    return () => observer.unobserve(node);
  }, [observer]);
  return (
    <div ref={el} data-key={rowKey} data-index={index} class="vrow" style={{ transform: `translateY(${top}px)` }}>
      {children}
    </div>
  );
}
