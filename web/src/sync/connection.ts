// The WebSocket connection to /ws: handshake, heartbeats and reconnects.
//
// It knows nothing of the store: it asks for the `hello` to send (so the
// position is read at each attempt), hands every parsed frame to `onFrame`,
// and reports its state. Reconnects use `Backoff`; the backoff is reset only
// once a connection reached `synced` or `resync_required`, so a server that
// accepts and then drops connections is not hammered.

import { CloseCode, type ClientFrame, type HelloFrame, type ServerFrame } from '../protocol/types';
import { Backoff } from './backoff';

/** What the app needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionState = 'connecting' | 'online' | 'offline';

export interface ConnectionOptions {
  url: string;
  socketFactory?: SocketFactory;
  backoff?: Backoff;
  /** The hello to send on each attempt (token and stored position). */
  hello: () => Promise<HelloFrame>;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: ConnectionState) => void;
  /** The session is gone (4401, 4403): sign out; no reconnect. */
  onAuthLost: (code: number) => void;
}

const OPEN = 1;

export class Connection {
  private socket: SocketLike | null = null;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastReceived = 0;
  private idleTimeoutMs = 30_000;
  private readonly backoff: Backoff;
  private state: ConnectionState = 'offline';

  constructor(private readonly opts: ConnectionOptions) {
    this.backoff = opts.backoff ?? new Backoff();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = s.onmessage = s.onerror = s.onopen = null;
      s.close(1000, 'bye');
    }
    this.setState('offline');
  }

  /** Reconnects now (the browser says it is online again). */
  retryNow(): void {
    if (this.stopped || this.socket) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** Drops the current connection and tries again after the backoff. */
  reconnect(): void {
    const s = this.socket;
    if (!s || this.stopped) return;
    this.socket = null;
    s.onclose = s.onmessage = s.onerror = s.onopen = null;
    s.close(4000, 'reconnecting');
    this.clearTimers();
    this.scheduleRetry();
  }

  /** Sends a frame if the connection is open; returns whether it was sent. */
  send(frame: ClientFrame): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN) return false;
    s.send(JSON.stringify(frame));
    return true;
  }

  /** Called by the engine once `synced` or `resync_required` arrived. */
  markSynced(idleTimeoutMs?: number): void {
    if (idleTimeoutMs) this.idleTimeoutMs = idleTimeoutMs;
    this.backoff.reset();
    this.setState('online');
  }

  getState(): ConnectionState {
    return this.state;
  }

  private setState(s: ConnectionState): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState(s);
  }

  private connect(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    this.setState('connecting');
    let socket: SocketLike;
    try {
      socket = (this.opts.socketFactory ?? ((u) => new WebSocket(u) as unknown as SocketLike))(this.opts.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.lastReceived = Date.now();
      void this.opts.hello().then(
        (hello) => {
          if (this.socket === socket) socket.send(JSON.stringify(hello));
        },
        () => socket.close(),
      );
      this.startHeartbeat();
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.lastReceived = Date.now();
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return; // Not JSON: nothing the protocol sends; ignore it.
      }
      if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
      if (frame.type === 'welcome') this.idleTimeoutMs = frame.limits.idle_timeout_ms;
      this.opts.onFrame(frame);
    };
    socket.onerror = () => {
      // Always followed by onclose, which decides what happens next.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (ev.code === CloseCode.unauthorized || ev.code === CloseCode.revoked) {
        this.stopped = true;
        this.setState('offline');
        this.opts.onAuthLost(ev.code);
        return;
      }
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    this.setState('offline');
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.next());
  }

  private startHeartbeat(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    // Browsers cannot send ping control frames: send the `ping` frame every
    // half idle timeout, and give up on a connection that said nothing for
    // twice the idle timeout (protocol.md "Heartbeats").
    const interval = Math.max(1000, Math.floor(this.idleTimeoutMs / 2));
    this.pingTimer = setInterval(() => {
      const s = this.socket;
      if (!s) return;
      if (Date.now() - this.lastReceived > 2 * this.idleTimeoutMs) {
        s.onclose = null;
        s.close(4000, 'no answer');
        this.socket = null;
        this.clearTimers();
        this.scheduleRetry();
        return;
      }
      if (this.state === 'online') this.send({ type: 'ping' });
    }, interval);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
