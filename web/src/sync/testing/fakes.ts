// Test doubles for the sync engine: a scripted WebSocket and a fetch that
// answers from a table of routes. Used by the Vitest unit tests only.

import type { SocketLike } from '../connection';
import type { Me, Message } from '../../protocol/types';

export class FakeSocket implements SocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** Frames the client sent, parsed. */
  sent: Record<string, unknown>[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
    for (const w of this.waiters.splice(0)) w();
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  // -- driven by the test --
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006): void {
    this.close(code, '');
  }

  /** Resolves once the client has sent `n` frames in all. */
  async waitSent(n: number): Promise<void> {
    while (this.sent.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  framesOfType(type: string): Record<string, unknown>[] {
    return this.sent.filter((f) => f['type'] === type);
  }
}

export class SocketServer {
  sockets: FakeSocket[] = [];
  private waiters: (() => void)[] = [];

  factory = (url: string): FakeSocket => {
    const s = new FakeSocket(url);
    this.sockets.push(s);
    for (const w of this.waiters.splice(0)) w();
    return s;
  };

  async next(index: number): Promise<FakeSocket> {
    while (this.sockets.length <= index) await new Promise<void>((r) => this.waiters.push(r));
    return this.sockets[index]!;
  }
}

export type Route = (url: URL, init: RequestInit) => unknown;

/** A fetch answering JSON from `routes` ("GET /api/v1/..." → body or function). */
export function fakeFetch(routes: Record<string, unknown>): typeof fetch & { calls: string[] } {
  const calls: string[] = [];
  const f = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://parley.test');
    const key = `${init.method ?? 'GET'} ${url.pathname}`;
    calls.push(`${key}${url.search}`);
    const route = routes[key];
    if (route === undefined) {
      return new Response(JSON.stringify({ error: { code: 'not_found', message: 'no such endpoint' } }), { status: 404 });
    }
    const body = typeof route === 'function' ? (route as Route)(url, init) : route;
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch & { calls: string[] };
  f.calls = calls;
  return f;
}

export const ME: Me = { id: 1, username: 'alice', display_name: 'Alice', status_text: '', avatar_media_id: null, created_at: 1 };
export const BOB = { id: 2, username: 'bob', display_name: 'Bob', status_text: '', avatar_media_id: null };

export function message(id: number, seq: number, over: Partial<Message> = {}): Message {
  return {
    id,
    conversation_id: 7,
    seq,
    position: 100 + id,
    sender_id: 2,
    client_id: `c${id}`,
    text: `hello ${id}`,
    reply_to: null,
    mentions: [],
    reactions: [],
    attachments: [],
    created_at: 1000 + id,
    edited_at: null,
    deleted: false,
    sticker: null,
    ...over,
  };
}

export const CONVERSATION_CREATED = {
  type: 'conversation.created',
  conversation: {
    id: 7,
    kind: 'direct',
    name: '',
    topic: '',
    created_by: 1,
    created_at: 500,
    last_seq: 0,
    avatar_media_id: null,
    members: [
      { user: { ...ME }, role: 'member', joined_at: 500, read_seq: 0, delivered_seq: 0 },
      { user: BOB, role: 'member', joined_at: 500, read_seq: 0, delivered_seq: 0 },
    ],
  },
};
