// Preact hooks over the sync engine's observable state.
import { useEffect, useState } from 'preact/hooks';
import type { Observable } from '../sync/observable';

/** The selected part of an observable; re-renders only when it changes. */
export function useObservable<T, S>(obs: Observable<T>, select: (value: T) => S): S {
  const [value, setValue] = useState(() => select(obs.get()));
  useEffect(() => {
    setValue(() => select(obs.get()));
    return obs.subscribe((v) => {
      const next = select(v);
      setValue((prev) => (Object.is(prev, next) ? prev : next));
    });
    // The selector is expected to be stable in meaning for a given observable.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [obs]);
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
