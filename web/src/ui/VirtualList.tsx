// A virtualised vertical list for the message log: only the rows in (or
// near) the viewport are in the DOM, each placed at its offset; row heights
// are measured once rendered and estimated before. It sticks to the bottom
// when the user is there, keeps the rows in view still when rows are added
// or dropped above or below or change height, and asks for more when the
// top (or, when the items are a window of a longer list, the bottom) comes
// near.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RowHeights } from './heights';

export interface VirtualListHandle {
  scrollToKey: (key: string) => boolean;
  scrollToBottom: () => void;
}

interface Props<T> {
  items: T[];
  itemKey: (item: T) => string;
  render: (item: T) => ComponentChildren;
  estimate?: number;
  /** How far beyond the viewport rows are kept rendered (added in idle time), above; half of it below. */
  overscan?: number;
  /**
   * About how many items exist above the first one, not loaded yet: room is
   * kept for them, so that loading them moves nothing on screen.
   */
  above?: number;
  onNearTop?: () => void;
  /** More items exist below the last one (dropped from a window): the list does not stick to the bottom. */
  moreBelow?: boolean;
  onNearBottom?: () => void;
  onAtBottom?: (atBottom: boolean) => void;
  handle?: (h: VirtualListHandle) => void;
  /** Changes when rows may have changed height without their items changing: they are measured again. */
  remeasure?: unknown;
  label: string;
  role?: "log" | "list" | "listbox";
}

/** Measured row heights, shared by the lists (a reopened conversation's rows are known), bounded. */
const rowHeights = new RowHeights(4000);
/**
 * The items whose rows were measured at the current width (a message read
 * again from the store is a new item, whose row is measured once again:
 * it may have been edited meanwhile). Weak: it holds nothing alive.
 */
let measuredItems = new WeakSet<object>();

/**
 * The most room kept above the loaded rows, about 1,500 rows, renewed (one
 * move of the rows and the scroll position) when it runs out, about every
 * fifteen pages: a list a few times taller than the rows it holds, never
 * millions of pixels (a very tall list was suspected of making Chromium's
 * paint and commit dearer; the shared machine's load hid whether it does).
 */
const MAX_PAD = roomSetting();

/**
 * The cap on the room above, in pixels: 100,000, or a smaller one (at
 * least 5,000) set in localStorage as `parley.list.room`. It is for tests:
 * with a small room, a short history walks through several renewals of the
 * room, the one place where the list moves its rows and the scroll
 * position, which 100,000 px would need thousands of messages to reach.
 */
function roomSetting(): number {
  try {
    const set = Number(globalThis.localStorage?.getItem('parley.list.room'));
    if (Number.isFinite(set) && set >= 5_000 && set < 100_000) return set;
  } catch {
    // No storage (a sandboxed frame): the default.
  }
  return 100_000;
}

/** Rows beyond the viewport rendered at once, when it moves past those rendered ahead. */
const MARGIN = 200;
/** How many pixels of rows one idle-time slice adds ahead of the viewport. */
const SLICE = 600;

/** Runs `f` when the main thread is idle (soon in any case). */
const whenIdle: (f: (deadline?: IdleDeadline) => void) => () => void =
  typeof requestIdleCallback === 'function'
    ? (f) => {
        const id = requestIdleCallback(f, { timeout: 250 });
        return () => cancelIdleCallback(id);
      }
    : (f) => {
        const id = setTimeout(f, 30);
        return () => clearTimeout(id);
      };

export function VirtualList<T>({ items, itemKey, render, estimate = 64, overscan = 2400, above = 0, onNearTop, moreBelow = false, onNearBottom, onAtBottom, handle, remeasure, label, role = 'log' }: Props<T>) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, setViewport] = useState({ top: 0, height: 800 });
  const [measured, setMeasured] = useState(0);
  const [generation, setGeneration] = useState(0);
  const [, setGrown] = useState(0);
  /**
   * The part of the list rendered, in the list's coordinates (rows do not
   * move: see the pad). The viewport (and a small margin) is always in it;
   * beyond that it grows in idle time, a slice at a time, so that a scroll
   * step mostly finds its rows rendered already and a frame never has to
   * build a screenful of rows at once.
   */
  const span = useRef({ lo: 0, hi: 0 });
  const idle = useRef<(() => void) | null>(null);
  /** The scroll position and the viewport's size as last seen (scroll events, the viewport's observer, own writes): rendering reads no layout. */
  const view = useRef({ top: 0, height: 800, width: 0 });
  const stick = useRef(true);
  // Not at the bottom of the whole list while more items exist below.
  if (moreBelow) stick.current = false;
  /** Room above the first loaded row (see below). */
  const pad = useRef(0);
  /** A scroll position to set at the next commit (the rows moved). */
  const scrollTo = useRef<number | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  /** The rows of this render to be measured once committed. */
  const toWatch = useRef<RenderedRow<T>[]>([]);
  const rendered = useRef<{ render: Props<T>['render']; items: T[]; nodes: Map<string, RenderedRow<T>>; pass: number }>({ render, items, nodes: new Map(), pass: 0 });
  /** The keys, offsets and pad of the last render (read by the next one, the observers and the scroll handler). */
  const latest = useRef<{ keys: string[]; offsets: Float64Array; pad: number }>({ keys: [], offsets: new Float64Array(1), pad: 0 });
  const latestSizes = useRef<{ items: T[]; sizes: Float64Array }>({ items: [], sizes: new Float64Array(0) });
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
        h[i] = rowHeights.get(tail[i - m]!) ?? estimate;
      }
      k = p.keys.concat(tail);
    } else if (p && shared >= 0) {
      const head = new Array<string>(n);
      h = new Float64Array(items.length);
      for (let i = 0; i < n; i++) {
        head[i] = itemKey(items[i]!);
        h[i] = rowHeights.get(head[i]!) ?? estimate;
      }
      h.set(p.sizes.subarray(shared), n);
      k = head.concat(shared === 0 ? p.keys : p.keys.slice(shared));
    } else {
      k = new Array<string>(items.length);
      h = new Float64Array(items.length);
      for (let i = 0; i < items.length; i++) {
        k[i] = itemKey(items[i]!);
        h[i] = rowHeights.get(k[i]!) ?? estimate;
      }
    }
    prev.current = { items, keys: k, sizes: h };
    return { keys: k, sizes: h };
  }, [items, estimate]);

  // Prefix sums of the heights (updated in place as rows are measured): a
  // pass over a typed array of at most a window's rows.
  const offsets = useMemo(() => {
    const o = new Float64Array(sizes.length + 1);
    for (let i = 0; i < sizes.length; i++) o[i + 1] = o[i]! + sizes[i]!;
    return o;
  }, [sizes, measured]);
  const total = offsets[keys.length] ?? 0;

  // Where the rows go. Row i is at `pad + offsets[i]`: the pad is room kept
  // above the loaded rows for the older ones (about as many rows as exist
  // there, at the loaded rows' mean height). Loading a page above, dropping
  // one, or measuring rows above the reader's place changes the pad by as
  // much as the rows' offsets change, so that no row on screen moves and the
  // scroll position is left alone: no scroll write (and the synchronous
  // layout it forces) and no new position, hence no repaint, for every row
  // shown. Only when the pad runs out, or the first row of the whole
  // history is loaded (no room may be left above it), are the rows moved
  // and the scroll position with them, once.
  const was = latest.current;
  const mean = keys.length > 0 && total > 0 ? total / keys.length : estimate;
  const wanted = Math.min(Math.round(Math.max(0, above) * mean), MAX_PAD);
  if (was.offsets !== offsets) {
    let p = pad.current;
    if (was.keys.length === 0) p = wanted;
    else {
      // The row at the top of the viewport keeps its position.
      const y = Math.max(0, view.current.top - was.pad);
      const a = indexIn(was.offsets, was.keys.length, y);
      const at = was.pad + was.offsets[a]!;
      // Rows are mostly added above (older pages): look where the shift
      // puts the row before searching the whole list.
      const guess = a + (keys.length - was.keys.length);
      let i = -1;
      for (const c of [guess, a, guess + 1, guess - 1, guess + 2, guess - 2]) {
        if (keys[c] === was.keys[a]) {
          i = c;
          break;
        }
      }
      if (i < 0) i = keys.indexOf(was.keys[a]!);
      if (i >= 0) p = at - offsets[i]!;
      else if (a + 1 < was.keys.length) {
        // The row went (a day separator merged): keep the one below it.
        const j = keys.indexOf(was.keys[a + 1]!);
        if (j >= 0) p = was.pad + was.offsets[a + 1]! - offsets[j]!;
      }
    }
    const target = above > 0 ? wanted : 0;
    if (above > 0 ? p < 0 : p !== 0) {
      // Rebase: every row moves by the same amount, and the view with them.
      if (!stick.current && was.keys.length > 0) {
        view.current.top = Math.max(0, view.current.top + target - p);
        scrollTo.current = view.current.top;
      }
      span.current.lo += target - p;
      span.current.hi += target - p;
      p = target;
    }
    pad.current = p;
  }
  const space = pad.current;
  latest.current = { keys, offsets, pad: space };

  const height = view.current.height;
  const top = stick.current ? Math.max(0, space + total - height) : view.current.top;
  const below = overscan / 2;
  {
    const s = span.current;
    const lo = top - MARGIN;
    const hi = top + height + MARGIN;
    if (s.hi < lo || s.lo > hi) {
      s.lo = lo;
      s.hi = hi;
    } else {
      s.lo = Math.max(Math.min(s.lo, lo), top - overscan);
      s.hi = Math.min(Math.max(s.hi, hi), top + height + below);
    }
  }
  const first = keys.length ? indexIn(offsets, keys.length, Math.max(0, span.current.lo - space)) : 0;
  const last = keys.length ? indexIn(offsets, keys.length, Math.max(0, span.current.hi - space)) : -1;

  // Rows ahead of the viewport, in idle time: a slice above (where the
  // reader is mostly going), then below, until `overscan` is covered.
  const ahead = useRef(() => {});
  ahead.current = () => {
    if (idle.current) return;
    const more = () => {
      const v = view.current;
      const s = span.current;
      const { keys: k, offsets: o, pad: p } = latest.current;
      if (k.length === 0) return null;
      const up = Math.max(p, v.top - overscan);
      const down = Math.min(p + o[k.length]!, v.top + v.height + below);
      if (s.lo > up + 1) return () => { s.lo = Math.max(up, s.lo - SLICE); };
      if (s.hi < down - 1) return () => { s.hi = Math.min(down, s.hi + SLICE); };
      return null;
    };
    if (!more()) return;
    // A long idle period takes more than one slice at once: each slice is
    // a render of the list (and one more when its rows are measured).
    const step = (deadline?: IdleDeadline) => {
      idle.current = null;
      const left = deadline && !deadline.didTimeout ? deadline.timeRemaining() : 0;
      let slices = left >= 40 ? 3 : left >= 20 ? 2 : 1;
      let grew = false;
      for (let grow = more(); grow && slices > 0; grow = more(), slices--) {
        grow();
        grew = true;
      }
      if (grew) setGrown((n) => n + 1);
    };
    idle.current = whenIdle(step);
  };
  useEffect(() => ahead.current());
  useEffect(() => () => idle.current?.(), []);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stick.current) {
      const bottom = Math.max(0, space + total - view.current.height);
      if (Math.abs(view.current.top - bottom) > 1) {
        el.scrollTop = bottom;
        view.current.top = bottom;
      }
      scrollTo.current = null;
    } else if (scrollTo.current !== null) {
      el.scrollTop = scrollTo.current;
      scrollTo.current = null;
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
    // The only layout read: where the scroll is. The rest is known (the
    // rows' extent from the offsets, the viewport's height from its
    // observer), so a scroll step reads nothing that a DOM change made stale.
    const t = el.scrollTop;
    view.current.top = t;
    const { offsets: o, keys: k, pad: s } = latest.current;
    const h = view.current.height;
    const below = s + o[k.length]! - t - h;
    const atBottom = !moreBelow && below < 40;
    const moved = atBottom !== stick.current;
    if (moved) onAtBottom?.(atBottom);
    stick.current = atBottom;
    // The list is rendered again only when the viewport leaves the rows
    // rendered already; otherwise the rows ahead are topped up in idle
    // time. A wheel step scrolls smoothly, a scroll event per frame, and a
    // render at each (~80 rows gone through, their vnodes copied by the
    // diff) was most of what a step allocated.
    const s2 = span.current;
    if (!moved && s2.lo <= t - MARGIN && t + h + MARGIN <= s2.hi) ahead.current();
    else setViewport({ top: t, height: h });
    if (t - s < nearTop(h)) onNearTop?.();
    if (moreBelow && below < nearTop(h)) onNearBottom?.();
  }, [onNearTop, onNearBottom, onAtBottom, moreBelow]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    view.current.height = el.clientHeight;
    setViewport({ top: view.current.top, height: el.clientHeight });
    const ro = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]!.contentRect;
      if (view.current.width > 0 && Math.abs(box.width - view.current.width) >= 1) {
        // Rows wrap differently at another width: measure them all again.
        rowHeights.clear();
        measuredItems = new WeakSet();
        setGeneration((g) => g + 1);
      }
      view.current.width = box.width;
      view.current.height = box.height;
      setViewport({ top: view.current.top, height: box.height });
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Each row is measured once, when first shown (unless its height is
  // known from before), and again when its item changes or the width
  // does: the observer stops watching a row as soon as it has its height,
  // so the browser has no observed rows to check at every frame and a
  // scroll step notifies only the rows it adds.
  if (!observer.current && typeof ResizeObserver !== 'undefined') {
    observer.current = new ResizeObserver((entries) => {
      let changed = false;
      const { keys: k } = latest.current;
      const { items: its, sizes: z } = latestSizes.current;
      for (const e of entries) {
        const el = e.target as HTMLElement;
        const key = el.dataset['key'];
        if (!key) continue;
        // The observer's own size (no layout read): the row's border box.
        const h = Math.ceil(e.borderBoxSize?.[0]?.blockSize ?? el.offsetHeight);
        if (h <= 0) continue;
        observer.current?.unobserve(el);
        rowHeights.set(key, h);
        // The row's index, from where it is (rows are at pad + offset).
        const { offsets: o, pad: p } = latest.current;
        let i = indexIn(o, k.length, Number(el.dataset['top']) - p + 0.5);
        if (k[i] !== key) i = k.indexOf(key);
        if (i < 0) continue;
        const item = its[i];
        if (typeof item === 'object' && item !== null) measuredItems.add(item);
        if (z[i] !== h) {
          z[i] = h;
          changed = true;
        }
      }
      if (changed) setMeasured((n) => n + 1);
    });
  }
  useEffect(() => () => observer.current?.disconnect(), []);
  latestSizes.current = { items, sizes };

  // Still near the top after rows were added (or too few rows to fill the
  // view): ask for more, as no scroll event may come.
  useEffect(() => {
    const h = view.current.height;
    const t = view.current.top;
    if (t - space < nearTop(h) || total <= h + nearTop(h)) onNearTop?.();
    if (moreBelow && space + total - t - h < nearTop(h)) onNearBottom?.();
  }, [keys, onNearTop, onNearBottom, moreBelow]);

  useEffect(() => {
    handle?.({
      scrollToKey: (key) => {
        const i = keys.indexOf(key);
        const el = scroller.current;
        if (i < 0 || !el) return false;
        stick.current = false;
        const t = Math.max(0, pad.current + offsets[i]! - view.current.height / 3);
        el.scrollTop = t;
        view.current.top = t;
        setViewport({ top: t, height: view.current.height });
        return true;
      },
      scrollToBottom: () => {
        const el = scroller.current;
        if (!el) return;
        stick.current = true;
        el.scrollTop = el.scrollHeight;
        onAtBottom?.(true);
        setViewport({ top: view.current.top, height: view.current.height });
      },
    });
  });

  // A scroll renders the list again, mostly with the rows it had: their
  // content is the same vnode as before (while `render` is the same
  // function, i.e. nothing else changed), which Preact skips without
  // diffing, so a scroll step costs the rows it adds, not every row shown.
  //
  // The row itself (its position, its element) is kept too, and used again
  // as the same vnode while its position and what it is drawn with are the
  // same: rows do not move (see the pad), so a scroll step creates objects
  // only for the rows it adds, not for every row in the DOM at every render
  // (which, at a few renders per wheel step, was most of the garbage a
  // scroll made).
  //
  // One map of the rows rendered, kept from render to render (a new one at
  // every render was a map of ~80 entries made a few times per wheel
  // step): each render marks the rows it shows, and the others leave it.
  //
  // Kept only while the items are the same, and made afresh when they
  // change (a page loaded or dropped, every few wheel steps): a vnode used
  // again keeps pointing (as its parent) at the tree it was first rendered
  // in, which holds the vnodes used again then, pointing at older trees in
  // turn, and so on back to the first render of the scroll, with every
  // row element ever shown (5,000 of them, 28 MB, after a 5,000-message
  // scroll). Starting afresh at each page cuts that chain.
  if (rendered.current.render !== render || rendered.current.items !== items) rendered.current = { render, items, nodes: new Map(), pass: 0 };
  const nodes = rendered.current.nodes;
  const pass = ++rendered.current.pass;
  const rows: ComponentChildren[] = [];
  const obs = observer.current;
  const watch = toWatch.current;
  watch.length = 0;
  for (let i = first; i <= last; i++) {
    const item = items[i]!;
    const key = keys[i]!;
    const top = space + offsets[i]!;
    let cached = nodes.get(key);
    if (!cached || cached.item !== item) {
      cached = rowEntry(item, render(item), obs, pass);
      nodes.set(key, cached);
    }
    cached.pass = pass;
    if (cached.row === null || cached.top !== top || cached.generation !== generation || cached.remeasure !== remeasure || cached.observer !== obs) {
      // Measured when its height is not known at this width, or when it
      // may have changed (`remeasure`): after the commit, below.
      const known = typeof item === 'object' && item !== null && measuredItems.has(item);
      if (!known || (cached.row !== null && (cached.remeasure !== remeasure || cached.observer !== obs))) watch.push(cached);
      cached.top = top;
      cached.generation = generation;
      cached.remeasure = remeasure;
      cached.observer = obs;
      // A component without hooks: moving a row (once, when the rows above
      // it are measured) makes its element's vnode and style, and no
      // effect closures. A component, not the element itself: Preact
      // skips a vnode used again, and only for a component does it point
      // the children at the new vnode; the children of an element used
      // again keep pointing at the vnode they were diffed under, and with
      // it at that render's whole tree, which pointed at an older one the
      // same way: a chain that kept every render of a long scroll alive.
      cached.row = <RowBox key={key} rowKey={key} top={top} setRef={cached.ref}>{cached.node}</RowBox>;
    }
    rows.push(cached.row);
  }
  if (nodes.size > rows.length) nodes.forEach((c, k) => { if (c.pass !== pass) nodes.delete(k); });

  // The rows to measure, once their elements are in the page. The observer
  // lets go of each as soon as it has its height; a row leaving the page
  // is let go of by its ref.
  useLayoutEffect(() => {
    const o = observer.current;
    if (!o) return;
    for (const c of toWatch.current) if (c.el) o.observe(c.el);
    toWatch.current.length = 0;
  });

  return (
    <div class="vlist" ref={scroller} onScroll={onScroll} role={role} aria-label={label} tabIndex={0}>
      <div class="vspace" style={{ height: `${space + total}px` }}>
        {rows}
      </div>
    </div>
  );
}

/** The index of the row at `y` (an offset from the first row's top), by binary search over the prefix sums. */
function indexIn(offsets: Float64Array, length: number, y: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1]! <= y) lo = mid + 1;
    else hi = mid;
  }
  return Math.min(lo, Math.max(0, length - 1));
}

/**
 * How close to the top older rows are asked for: three screens, so that
 * small pages arrive ahead of need and a fast scroll never waits on one
 * large read.
 */
function nearTop(height: number): number {
  return Math.max(2000, height * 3);
}

/** Whether the keys of `items` from `at` on equal `keys` from `from` on (to the end of `keys`). */
function sameKeys<T>(items: T[], at: number, keys: string[], from: number, itemKey: (item: T) => string): boolean {
  if (at + keys.length - from > items.length) return false;
  for (let i = from; i < keys.length; i++) if (itemKey(items[at + i - from]!) !== keys[i]) return false;
  return true;
}

/** A row as last rendered: its content, and its element while its position and inputs stay the same. */
interface RenderedRow<T> {
  item: T;
  /** The render that last showed it. */
  pass: number;
  node: ComponentChildren;
  row: ComponentChildren | null;
  top: number;
  generation?: number;
  remeasure?: unknown;
  observer?: ResizeObserver | null;
  /** Its element while in the page. */
  el: HTMLDivElement | null;
  /** Its ref (one function per row, so that Preact does not call it again at every move). */
  ref: (el: HTMLDivElement | null) => void;
}

function rowEntry<T>(item: T, node: ComponentChildren, observer: ResizeObserver | null, pass: number): RenderedRow<T> {
  const entry: RenderedRow<T> = {
    item, pass, node, row: null, top: 0, el: null,
    ref: (el) => {
      if (el) entry.el = el;
      else if (entry.el) {
        // Gone from the page, or the same element taken over by a new
        // entry (its item changed), which observes it again if needed.
        observer?.unobserve(entry.el);
        entry.el = null;
      }
    },
  };
  return entry;
}

/** A positioned row (no hooks: measuring is the list's, through `setRef`). */
function RowBox({ rowKey, top, setRef, children }: { rowKey: string; top: number; setRef: (el: HTMLDivElement | null) => void; children: ComponentChildren }) {
  return (
    <div ref={setRef} data-key={rowKey} data-top={top} class="vrow" style={{ transform: `translateY(${top}px)` }}>
      {children}
    </div>
  );
}
