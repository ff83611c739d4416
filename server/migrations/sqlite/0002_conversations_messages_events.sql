-- Conversations, members, messages and the event stream.
--
-- Every change a client must learn about gets a position: a number from one
-- server-wide sequence, assigned in commit order. A device resumes by
-- sending the last position it has seen. Messages carry their position in
-- the messages table; every other event is a row of `events`. Who may see an
-- event follows from membership (conversation events after the member's
-- joined_pos) or from user_id (events addressed to one user).

CREATE TABLE conversations (
  id          INTEGER PRIMARY KEY,
  kind        INTEGER NOT NULL,            -- 0 direct, 1 group
  name        TEXT    NOT NULL DEFAULT '',
  topic       TEXT    NOT NULL DEFAULT '',
  direct_key  TEXT    UNIQUE,              -- "low:high" user ids, direct conversations only
  created_by  INTEGER NOT NULL REFERENCES users(id),
  created_at  INTEGER NOT NULL,
  last_seq    INTEGER NOT NULL DEFAULT 0,  -- seq of the newest message; seqs have no gaps
  last_pos    INTEGER NOT NULL DEFAULT 0   -- position of the newest event, for ordering lists
);

CREATE TABLE members (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role            INTEGER NOT NULL,            -- 0 member, 1 admin, 2 owner
  joined_at       INTEGER NOT NULL,
  joined_pos      INTEGER NOT NULL,            -- sees conversation events after this position
  read_seq        INTEGER NOT NULL DEFAULT 0,
  delivered_seq   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id);

-- Memberships that ended (removed or left): their devices still resume
-- through the events up to the end, and nothing after.
CREATE TABLE past_memberships (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  joined_pos      INTEGER NOT NULL,
  left_pos        INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id, joined_pos)
) WITHOUT ROWID;

CREATE TABLE messages (
  id              INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  pos             INTEGER NOT NULL,
  sender_id       INTEGER NOT NULL REFERENCES users(id),
  client_id       TEXT    NOT NULL,
  body            TEXT    NOT NULL,
  reply_to_id     INTEGER REFERENCES messages(id),
  created_at      INTEGER NOT NULL,
  edited_at       INTEGER,
  deleted_at      INTEGER,
  UNIQUE (conversation_id, seq),
  UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_by_conversation_pos ON messages(conversation_id, pos);

CREATE TABLE mentions (
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;

CREATE TABLE reactions (
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;

CREATE TABLE events (
  pos             INTEGER PRIMARY KEY,
  conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
  payload         TEXT    NOT NULL,   -- the event as delivered (JSON)
  created_at      INTEGER NOT NULL
);
CREATE INDEX events_by_conversation ON events(conversation_id, pos) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_by_user ON events(user_id, pos) WHERE user_id IS NOT NULL;

-- The newest position handed out. Kept so that a position a failed write
-- took (a gap) is never handed out again after a restart.
CREATE TABLE stream_state (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  last_pos INTEGER NOT NULL
);
INSERT INTO stream_state (id, last_pos) VALUES (1, 0);

-- When a user was last connected, for presence.
ALTER TABLE users ADD COLUMN last_online_at INTEGER;
