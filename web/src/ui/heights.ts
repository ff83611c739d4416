// The measured heights of list rows, by row key, kept for the rows most
// recently measured only: a row that leaves the list (a page dropped from a
// conversation's window) and comes back is not measured again while its
// height is still here, and scrolling through a history of any length
// keeps at most `limit` entries.

export class RowHeights {
  private readonly map = new Map<string, number>();

  constructor(readonly limit: number) {}

  get(key: string): number | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Records a height; the least recently recorded entries beyond `limit` are forgotten. */
  set(key: string, height: number): void {
    // Deleted first so that the key moves to the end of the map's order
    // (the most recent); the oldest are then at the front.
    this.map.delete(key);
    this.map.set(key, height);
    if (this.map.size > this.limit) {
      const oldest = this.map.keys();
      for (let n = this.map.size - this.limit; n > 0; n--) this.map.delete(oldest.next().value!);
    }
  }

  /** Forgets every height (the rows' width changed: they all wrap differently). */
  clear(): void {
    this.map.clear();
  }
}
