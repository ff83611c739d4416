// The REST client (docs/openapi.yaml): one method per route the app uses.
//
// Every failure is an `ApiError` carrying the server's stable error code
// (or `network` when the server could not be reached), so the UI can say
// what went wrong without parsing messages.

import type {
  Block,
  Contact,
  ConversationDetail,
  ConversationMute,
  ConversationSummary,
  Id,
  Invitation,
  LastSeenVisibility,
  LoginResponse,
  Me,
  Media,
  MediaUpload,
  MessagePage,
  PublicUser,
  Role,
  Session,
  Settings,
  StickerPack,
  StickerPackDetail,
  TwoFactorChallenge,
} from '../protocol/types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The server's error code, or `network` when there was no answer. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type FetchLike = typeof fetch;

export class RestClient {
  /** Called when the server answers 401 to an authenticated request. */
  onUnauthorized: (() => void) | null = null;

  constructor(
    private token: string | null = null,
    private readonly base = '',
    private readonly fetchImpl: FetchLike = (...args) => fetch(...args),
  ) {}

  setToken(token: string | null): void {
    this.token = token;
  }

  getToken(): string | null {
    return this.token;
  }

  private headers(extra?: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.token) h['Authorization'] = `Bearer ${this.token}`;
    return h;
  }

  /** Sends a request and returns the raw response, throwing ApiError for errors. */
  async raw(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    let res: Response;
    try {
      const req: RequestInit = { method, headers: this.headers(init.headers) };
      if (init.body !== undefined) req.body = init.body;
      if (init.signal) req.signal = init.signal;
      res = await this.fetchImpl(this.base + path, req);
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (!res.ok) {
      let code = 'internal';
      let message = `HTTP ${res.status}`;
      try {
        const body = (await res.json()) as { error?: { code?: string; message?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
      } catch {
        // Not a JSON error body (a proxy's page): keep the status.
      }
      if (res.status === 401 && this.token && this.onUnauthorized) this.onUnauthorized();
      throw new ApiError(res.status, code, message);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: { body?: BodyInit; headers?: Record<string, string> } = {};
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const res = await this.raw(method, path, init);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  // -- accounts and sessions --------------------------------------------------

  register(username: string, password: string, display_name: string): Promise<{ user: Me }> {
    return this.json('POST', '/api/v1/accounts', { username, password, display_name });
  }

  logIn(username: string, password: string, device_token?: string): Promise<LoginResponse | TwoFactorChallenge> {
    const body: Record<string, string> = { username, password, device_name: deviceName() };
    if (device_token) body['device_token'] = device_token;
    return this.json('POST', '/api/v1/sessions', body);
  }

  secondFactor(challenge: string, code: string): Promise<LoginResponse> {
    return this.json('POST', '/api/v1/sessions/two-factor', { challenge, code });
  }

  logOut(): Promise<void> {
    return this.json('DELETE', '/api/v1/sessions/current');
  }

  sessions(): Promise<{ sessions: Session[] }> {
    return this.json('GET', '/api/v1/sessions');
  }

  revokeSession(id: Id): Promise<void> {
    return this.json('DELETE', `/api/v1/sessions/${id}`);
  }

  // -- profile and settings ---------------------------------------------------

  me(): Promise<{ user: Me }> {
    return this.json('GET', '/api/v1/me');
  }

  updateMe(patch: { display_name?: string; status_text?: string; avatar_media_id?: string | null }): Promise<{ user: Me }> {
    return this.json('PATCH', '/api/v1/me', patch);
  }

  user(username: string): Promise<{ user: PublicUser }> {
    return this.json('GET', `/api/v1/users/${encodeURIComponent(username)}`);
  }

  settings(): Promise<{ settings: Settings }> {
    return this.json('GET', '/api/v1/me/settings');
  }

  updateSettings(patch: { last_seen_visibility?: LastSeenVisibility; notifications_enabled?: boolean }): Promise<{ settings: Settings }> {
    return this.json('PATCH', '/api/v1/me/settings', patch);
  }

  mute(conversation: Id, muted_until: number): Promise<ConversationMute> {
    return this.json('PUT', `/api/v1/me/settings/mutes/${conversation}`, { muted_until });
  }

  unmute(conversation: Id): Promise<void> {
    return this.json('DELETE', `/api/v1/me/settings/mutes/${conversation}`);
  }

  // -- contacts and blocks ----------------------------------------------------

  invite(username: string): Promise<{ state: 'pending'; invitation: Invitation } | { state: 'accepted'; contact: Contact }> {
    return this.json('POST', '/api/v1/contacts/invitations', { username });
  }

  invitations(): Promise<{ incoming: Invitation[]; outgoing: Invitation[] }> {
    return this.json('GET', '/api/v1/contacts/invitations');
  }

  acceptInvitation(id: Id): Promise<{ contact: Contact }> {
    return this.json('POST', `/api/v1/contacts/invitations/${id}/accept`);
  }

  declineInvitation(id: Id): Promise<void> {
    return this.json('POST', `/api/v1/contacts/invitations/${id}/decline`);
  }

  cancelInvitation(id: Id): Promise<void> {
    return this.json('DELETE', `/api/v1/contacts/invitations/${id}`);
  }

  contacts(): Promise<{ contacts: Contact[] }> {
    return this.json('GET', '/api/v1/contacts');
  }

  removeContact(username: string): Promise<void> {
    return this.json('DELETE', `/api/v1/contacts/${encodeURIComponent(username)}`);
  }

  blocks(): Promise<{ blocked: Block[] }> {
    return this.json('GET', '/api/v1/blocks');
  }

  block(username: string): Promise<void> {
    return this.json('PUT', `/api/v1/blocks/${encodeURIComponent(username)}`);
  }

  unblock(username: string): Promise<void> {
    return this.json('DELETE', `/api/v1/blocks/${encodeURIComponent(username)}`);
  }

  // -- conversations ----------------------------------------------------------

  conversations(): Promise<{ conversations: ConversationSummary[] }> {
    return this.json('GET', '/api/v1/conversations');
  }

  conversation(id: Id): Promise<{ conversation: ConversationDetail }> {
    return this.json('GET', `/api/v1/conversations/${id}`);
  }

  openDirect(username: string): Promise<{ conversation: ConversationDetail }> {
    return this.json('POST', '/api/v1/conversations/direct', { username });
  }

  createGroup(name: string, members: string[], topic?: string): Promise<{ conversation: ConversationDetail }> {
    const body: Record<string, unknown> = { name, members };
    if (topic) body['topic'] = topic;
    return this.json('POST', '/api/v1/conversations/groups', body);
  }

  updateConversation(id: Id, patch: { name?: string; topic?: string; avatar_media_id?: string | null }): Promise<{ conversation: ConversationDetail }> {
    return this.json('PATCH', `/api/v1/conversations/${id}`, patch);
  }

  addMember(id: Id, username: string): Promise<{ conversation: ConversationDetail }> {
    return this.json('POST', `/api/v1/conversations/${id}/members`, { username });
  }

  removeMember(id: Id, user: Id): Promise<void> {
    return this.json('DELETE', `/api/v1/conversations/${id}/members/${user}`);
  }

  changeRole(id: Id, user: Id, role: Role): Promise<void> {
    return this.json('PATCH', `/api/v1/conversations/${id}/members/${user}`, { role });
  }

  leave(id: Id): Promise<void> {
    return this.json('POST', `/api/v1/conversations/${id}/leave`);
  }

  messages(id: Id, page: { before?: number; after?: number; limit?: number }): Promise<MessagePage> {
    const q = new URLSearchParams();
    if (page.before !== undefined) q.set('before', String(page.before));
    if (page.after !== undefined) q.set('after', String(page.after));
    q.set('limit', String(page.limit ?? 50));
    return this.json('GET', `/api/v1/conversations/${id}/messages?${q}`);
  }

  // -- media and stickers -----------------------------------------------------

  uploadWhole(file: Blob, name: string): Promise<{ media: Media }> {
    return this.raw('POST', `/api/v1/media?name=${encodeURIComponent(name)}`, {
      body: file,
      headers: { 'Content-Type': 'application/octet-stream' },
    }).then((r) => r.json() as Promise<{ media: Media }>);
  }

  createUpload(size: number, name: string): Promise<{ upload: MediaUpload }> {
    return this.json('POST', '/api/v1/uploads', { size, name });
  }

  getUpload(id: string): Promise<{ upload: MediaUpload }> {
    return this.json('GET', `/api/v1/uploads/${id}`);
  }

  async appendUpload(id: string, part: Blob, first: number, size: number, signal?: AbortSignal): Promise<{ upload: MediaUpload }> {
    const init: { body: BodyInit; headers: Record<string, string>; signal?: AbortSignal } = {
      body: part,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `bytes ${first}-${first + part.size - 1}/${size}`,
      },
    };
    if (signal) init.signal = signal;
    const res = await this.raw('PATCH', `/api/v1/uploads/${id}`, init);
    return (await res.json()) as { upload: MediaUpload };
  }

  completeUpload(id: string): Promise<{ media: Media }> {
    return this.json('POST', `/api/v1/uploads/${id}/complete`);
  }

  cancelUpload(id: string): Promise<void> {
    return this.json('DELETE', `/api/v1/uploads/${id}`);
  }

  /** A media file or thumbnail as a Blob (the bearer token cannot go in an <img> URL). */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    const res = await this.raw('GET', path, signal ? { signal } : {});
    return res.blob();
  }

  stickerPacks(): Promise<{ packs: StickerPack[] }> {
    return this.json('GET', '/api/v1/sticker-packs');
  }

  myStickerPacks(): Promise<{ packs: StickerPack[] }> {
    return this.json('GET', '/api/v1/me/sticker-packs');
  }

  addStickerPack(name: string): Promise<{ packs: StickerPack[] }> {
    return this.json('PUT', `/api/v1/me/sticker-packs/${encodeURIComponent(name)}`);
  }

  stickerPack(name: string): Promise<{ pack: StickerPackDetail }> {
    return this.json('GET', `/api/v1/sticker-packs/${encodeURIComponent(name)}`);
  }
}

/** A readable name for this browser in the session list. */
export function deviceName(): string {
  const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom(e|ium)\//.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return `Parley web, ${browser}${os ? ` on ${os}` : ''}`;
}
