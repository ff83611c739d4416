// `memo` and `lazy` for the app's components, on Preact alone. They were
// preact/compat's, whose options hook copies the props of every element
// vnode of the whole app (lower-casing each name, for React's spellings),
// which the app does not use: a scroll through the message log made that
// copy for every row element it rendered.
import { Component, h, type ComponentChildren, type FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Whether two props objects differ in any value (by identity), or in their names. */
function differs(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (k !== 'children' && !(k in y)) return true;
  for (const k in y) if (k !== 'children' && x[k] !== y[k]) return true;
  return false;
}

/**
 * `render`, drawn again only when one of its props is another value than
 * before (by identity; children are not compared, as none are passed).
 * Its own state changes draw it again as usual: they are in the inner
 * component, not behind this comparison.
 */
export function memo<P extends object>(render: FunctionComponent<P>): FunctionComponent<P> {
  function shouldUpdate(this: Component<P>, next: P): boolean {
    return differs(this.props, next);
  }
  function Memo(this: Component<P>, props: P) {
    this.shouldComponentUpdate = shouldUpdate;
    return h(render, props);
  }
  Memo.displayName = `Memo(${render.displayName ?? render.name})`;
  return Memo as FunctionComponent<P>;
}

/**
 * A component loaded on first use (its own chunk): `fallback` is drawn
 * until it is there (nothing by default). A failed load is reported and
 * tried again at the next use.
 */
export function lazy<P extends object>(load: () => Promise<FunctionComponent<P>>, fallback: () => ComponentChildren = () => null): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | null = null;
  let loading: Promise<FunctionComponent<P>> | null = null;
  return function Lazy(props: P) {
    // A function state is set through a function (a bare one would be called).
    const [ready, setReady] = useState<FunctionComponent<P> | null>(() => loaded);
    useEffect(() => {
      if (ready) return;
      let live = true;
      loading ??= load().then(
        (c) => (loaded = c),
        (e: unknown) => {
          loading = null;
          throw e;
        },
      );
      loading.then(
        (c) => { if (live) setReady(() => c); },
        (e: unknown) => console.error('parley: loading a part of the app failed', e),
      );
      return () => { live = false; };
    }, []);
    return ready ? h(ready as FunctionComponent<object>, props) : fallback();
  };
}
