// The Parley wire protocol, as TypeScript types: the WebSocket frames and
// events of docs/protocol.md and the REST shapes of docs/openapi.yaml.
//
// This module holds types (and a few constants) only; it has no behaviour and
// imports nothing, so both the sync engine and the UI can depend on it.
// Frames the server sends may gain fields and new event types later: every
// consumer must ignore what it does not know (the `UnknownEvent` member of
// the union exists for that).

/** Unix milliseconds (UTC). */
export type Millis = number;
/** A positive int64 id (users, sessions, conversations, messages...). */
export type Id = number;
/** A media id: 22 URL-safe base64 characters. */
export type MediaId = string;

export type Role = 'owner' | 'admin' | 'member';
export type LastSeenVisibility = 'everyone' | 'contacts' | 'nobody';

/** Stable error codes (`components/schemas/Error` and protocol.md "Errors"). */
export type ErrorCode =
  | 'malformed_request'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'invalid_two_factor_code'
  | 'invalid_challenge'
  | 'forbidden'
  | 'blocked'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'username_taken'
  | 'already_contacts'
  | 'invitation_exists'
  | 'offset_mismatch'
  | 'payload_too_large'
  | 'quota_exceeded'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'validation_failed'
  | 'invalid_image'
  | 'too_many_requests'
  | 'header_too_large'
  | 'internal'
  | 'service_busy';

// ---------------------------------------------------------------------------
// REST shapes
// ---------------------------------------------------------------------------

export interface PublicUser {
  id: Id;
  username: string;
  display_name: string;
  status_text: string;
  avatar_media_id: MediaId | null;
  /** Present and true for a deleted account. */
  deleted?: boolean;
}

export interface Me extends PublicUser {
  created_at: Millis;
}

export interface Session {
  id: Id;
  device_name: string;
  created_at: Millis;
  last_seen_at: Millis;
  current: boolean;
}

export interface LoginResponse {
  token: string;
  device_token: string;
  session: Session;
  user: Me;
}

export interface TwoFactorChallenge {
  two_factor_required: true;
  challenge: string;
  expires_in: number;
}

export interface ConversationMute {
  conversation_id: Id;
  muted_until: Millis;
}

export interface Settings {
  last_seen_visibility: LastSeenVisibility;
  notifications_enabled: boolean;
  conversation_mutes: ConversationMute[];
}

export interface Invitation {
  id: Id;
  created_at: Millis;
  /** Set when the caller is the recipient. */
  from?: PublicUser;
  /** Set when the caller is the sender. */
  to?: PublicUser;
}

export interface Contact {
  user: PublicUser;
  since: Millis;
}

export interface Block {
  user: PublicUser;
  since: Millis;
}

export interface Conversation {
  id: Id;
  kind: 'direct' | 'group';
  name: string;
  topic: string;
  created_by: Id;
  created_at: Millis;
  last_seq: number;
  avatar_media_id?: MediaId | null;
}

export interface Member {
  user: PublicUser;
  role: Role;
  joined_at: Millis;
  read_seq: number;
  delivered_seq: number;
}

export interface ConversationDetail extends Conversation {
  role: Role;
  read_seq: number;
  members: Member[];
}

export interface ConversationSummary extends Conversation {
  role: Role;
  member_count: number;
  read_seq: number;
  unread_count: number;
  last_message: Message | null;
  /** The other user, for direct conversations only. */
  peer?: PublicUser;
}

export interface Reaction {
  emoji: string;
  user_ids: Id[];
}

export interface Attachment {
  id: MediaId;
  name: string;
  size: number;
  content_type: string;
  width: number | null;
  height: number | null;
}

export interface MessageSticker {
  id: Id;
  pack: string;
  emoji: string;
  width: number;
  height: number;
}

export interface Message {
  id: Id;
  conversation_id: Id;
  seq: number;
  position: number;
  sender_id: Id;
  client_id: string;
  text: string;
  reply_to: Id | null;
  mentions: Id[];
  reactions: Reaction[];
  attachments: Attachment[];
  created_at: Millis;
  edited_at: Millis | null;
  deleted: boolean;
  sticker: MessageSticker | null;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
}

export interface Media {
  id: MediaId;
  name: string;
  size: number;
  content_type: string;
  width: number | null;
  height: number | null;
  created_at: Millis;
}

export interface MediaUpload {
  id: MediaId;
  name: string;
  size: number;
  offset: number;
  created_at: Millis;
  expires_at: Millis;
}

export interface Sticker {
  id: Id;
  emoji: string;
  width: number;
  height: number;
  image_url: string;
}

export interface StickerPack {
  name: string;
  title: string;
  count: number;
  cover: Sticker | null;
}

export interface StickerPackDetail extends StickerPack {
  stickers: Sticker[];
}

export interface ApiErrorBody {
  error: { code: ErrorCode | string; message: string };
}

// ---------------------------------------------------------------------------
// WebSocket: client-to-server frames (closed: never add unknown fields)
// ---------------------------------------------------------------------------

export interface HelloFrame {
  type: 'hello';
  token?: string;
  position?: number;
}

export interface SendFrame {
  type: 'send';
  ref?: string;
  conversation_id: Id;
  client_id: string;
  text?: string;
  reply_to?: Id;
  attachments?: MediaId[];
  sticker?: Id;
}

export interface EditFrame {
  type: 'edit';
  ref?: string;
  message_id: Id;
  text: string;
}

export interface DeleteFrame {
  type: 'delete';
  ref?: string;
  message_id: Id;
}

export interface ReactFrame {
  type: 'react';
  ref?: string;
  message_id: Id;
  emoji: string;
  remove?: boolean;
}

export interface ReceiptFrame {
  type: 'read' | 'delivered';
  ref?: string;
  conversation_id: Id;
  seq: number;
}

export interface TypingFrame {
  type: 'typing';
  conversation_id: Id;
}

export interface PingFrame {
  type: 'ping';
  ref?: string;
}

export type ClientFrame =
  | HelloFrame
  | SendFrame
  | EditFrame
  | DeleteFrame
  | ReactFrame
  | ReceiptFrame
  | TypingFrame
  | PingFrame;

// ---------------------------------------------------------------------------
// WebSocket: server-to-client frames
// ---------------------------------------------------------------------------

export interface PresenceEntry {
  user_id: Id;
  online: boolean;
  last_seen_at: Millis | null;
}

export interface WelcomeFrame {
  type: 'welcome';
  user_id: Id;
  session_id: Id;
  presence: PresenceEntry[];
  limits: {
    max_frame_bytes: number;
    frames_per_second: number;
    frame_burst: number;
    user_frames_per_second: number;
    user_frame_burst: number;
    max_connections_per_user: number;
    idle_timeout_ms: number;
  };
}

export interface EventFrame {
  type: 'event';
  position: number;
  event: ServerEvent;
}

export interface SyncedFrame {
  type: 'synced';
  position: number;
}

export interface ResyncRequiredFrame {
  type: 'resync_required';
  position: number;
}

export interface AckFrame {
  type: 'ack';
  client_id: string;
  conversation_id: Id;
  message_id: Id;
  seq: number;
  position: number;
  created_at: Millis;
  duplicate: boolean;
  ref?: string;
}

export interface OkFrame {
  type: 'ok';
  ref?: string;
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode | string;
  message: string;
  ref?: string;
}

export interface PongFrame {
  type: 'pong';
  ref?: string;
}

export interface TypingNotice {
  type: 'typing';
  conversation_id: Id;
  user_id: Id;
  expires_in_ms: number;
}

export interface PresenceFrame {
  type: 'presence';
  user_id: Id;
  online: boolean;
  last_seen_at: Millis | null;
}

export type ServerFrame =
  | WelcomeFrame
  | EventFrame
  | SyncedFrame
  | ResyncRequiredFrame
  | AckFrame
  | OkFrame
  | ErrorFrame
  | PongFrame
  | TypingNotice
  | PresenceFrame;

// ---------------------------------------------------------------------------
// Events (the `event` member of an `event` frame)
// ---------------------------------------------------------------------------

export interface MessageNewEvent {
  type: 'message.new';
  conversation_id: Id;
  message: Message;
}
export interface MessageEditedEvent {
  type: 'message.edited';
  conversation_id: Id;
  message: Message;
}
export interface MessageDeletedEvent {
  type: 'message.deleted';
  conversation_id: Id;
  message_id: Id;
  seq: number;
  by: Id;
}
export interface ReactionEvent {
  type: 'reaction.added' | 'reaction.removed';
  conversation_id: Id;
  message_id: Id;
  user_id: Id;
  emoji: string;
}
export interface ReceiptEvent {
  type: 'receipt.read' | 'receipt.delivered';
  conversation_id: Id;
  user_id: Id;
  seq: number;
}
export interface ConversationCreatedEvent {
  type: 'conversation.created';
  conversation: Conversation & { members: Member[] };
}
export interface ConversationUpdatedEvent {
  type: 'conversation.updated';
  conversation_id: Id;
  name: string;
  topic: string;
  avatar_media_id: MediaId | null;
  by: Id;
}
export interface MemberAddedEvent {
  type: 'member.added';
  conversation_id: Id;
  member: Member;
  by: Id;
}
export interface MemberGoneEvent {
  type: 'member.removed' | 'member.left';
  conversation_id: Id;
  user_id: Id;
  by: Id;
}
export interface MemberRoleChangedEvent {
  type: 'member.role_changed';
  conversation_id: Id;
  user_id: Id;
  role: Role;
  by: Id;
}
export interface InvitationReceivedEvent {
  type: 'contact.invitation_received';
  invitation: Invitation;
}
export interface InvitationSentEvent {
  type: 'contact.invitation_sent';
  invitation: Invitation;
}
export interface InvitationRemovedEvent {
  type: 'contact.invitation_removed';
  invitation_id: Id;
  reason: 'declined' | 'cancelled' | 'account_deleted';
}
export interface ContactAddedEvent {
  type: 'contact.added';
  contact: Contact;
}
export interface ContactRemovedEvent {
  type: 'contact.removed';
  user_id: Id;
}
export interface BlockAddedEvent {
  type: 'block.added';
  user: PublicUser;
}
export interface BlockRemovedEvent {
  type: 'block.removed';
  user_id: Id;
}
/** An event type this client does not know: ignored. */
export interface UnknownEvent {
  type: string;
}

export type KnownEvent =
  | MessageNewEvent
  | MessageEditedEvent
  | MessageDeletedEvent
  | ReactionEvent
  | ReceiptEvent
  | ConversationCreatedEvent
  | ConversationUpdatedEvent
  | MemberAddedEvent
  | MemberGoneEvent
  | MemberRoleChangedEvent
  | InvitationReceivedEvent
  | InvitationSentEvent
  | InvitationRemovedEvent
  | ContactAddedEvent
  | ContactRemovedEvent
  | BlockAddedEvent
  | BlockRemovedEvent;

export type ServerEvent = KnownEvent | UnknownEvent;

/** Close codes with a meaning for the client (protocol.md "Close codes"). */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  unauthorized: 4401,
  revoked: 4403,
  helloTimeout: 4408,
  tooMany: 4429,
} as const;

/** Limits of the protocol the client checks before sending. */
export const Limits = {
  maxTextCodePoints: 4000,
  maxAttachments: 10,
  maxRefBytes: 64,
  maxClientIdChars: 64,
  historyPageMax: 200,
  /** The server forwards at most one typing frame per 2 s per conversation. */
  typingIntervalMs: 3000,
} as const;
