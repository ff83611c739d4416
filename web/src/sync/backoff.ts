// Reconnect delays: exponential backoff with full jitter (each delay is
// uniform in [0, min(cap, base·2^attempt)]), so that many devices cut off by
// one server restart do not all come back in the same instant.

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the ceiling. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    if (this.attempt < 30) this.attempt++;
    // Never 0: a floor of a tenth of the base keeps a dead server from
    // being hammered when the random source returns tiny values.
    return Math.max(this.baseMs / 10, Math.floor(this.random() * ceiling));
  }

  /** After a connection that worked (synced): start again from the base. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
