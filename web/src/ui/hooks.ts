// Preact hooks over the sync engine's observable state.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Observable } from '../sync/observable';

/**
 * The selected part of an observable, computed with the selector of the
 * latest render (so a selector may use props); re-renders only when the
 * selected value changes.
 */
export function useObservable<T, S>(obs: Observable<T>, select: (value: T) => S): S {
  const latest = useRef(select);
  latest.current = select;
  const value = select(obs.get());
  const seen = useRef(value);
  seen.current = value;
  const [, force] = useState(0);
  useEffect(
    () =>
      obs.subscribe((v) => {
        if (!Object.is(seen.current, latest.current(v))) force((n) => n + 1);
      }),
    [obs],
  );
  return value;
}

/** Re-renders every `ms` (for relative times such as "last seen 5 min ago"). */
export function useTick(ms: number): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
  return n;
}
