// A minimal observable value: the UI subscribes and re-renders from the
// current value; the sync engine replaces the value (never mutates it).

export type Listener<T> = (value: T) => void;

export class Observable<T> {
  private listeners = new Set<Listener<T>>();

  constructor(private current: T) {}

  get(): T {
    return this.current;
  }

  set(value: T): void {
    if (value === this.current) return;
    this.current = value;
    for (const l of [...this.listeners]) l(value);
  }

  update(f: (value: T) => T): void {
    this.set(f(this.current));
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
