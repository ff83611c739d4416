-- Accounts, device sessions, profile settings and the contact graph.
-- Times are Unix milliseconds. Usernames are stored in lower case.

CREATE TABLE users (
  id                    INTEGER PRIMARY KEY,
  username              TEXT    NOT NULL UNIQUE,
  password_hash         TEXT    NOT NULL,
  display_name          TEXT    NOT NULL,
  status_text           TEXT    NOT NULL DEFAULT '',
  avatar_media_id       TEXT,
  last_seen_visibility  INTEGER NOT NULL DEFAULT 1,  -- 0 everyone, 1 contacts, 2 nobody
  notifications_enabled INTEGER NOT NULL DEFAULT 1,
  created_at            INTEGER NOT NULL
);

-- One row per logged-in device. Only a hash of the bearer token is kept, so a
-- copy of the database does not hand out working tokens.
CREATE TABLE sessions (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   BLOB    NOT NULL UNIQUE,
  device_name  TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_last_seen ON sessions(last_seen_at);

CREATE TABLE conversation_mutes (
  user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  conversation_id INTEGER NOT NULL,
  muted_until     INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;

CREATE TABLE invitations (
  id         INTEGER PRIMARY KEY,
  from_user  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  to_user    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  UNIQUE (from_user, to_user)
);
CREATE INDEX invitations_by_recipient ON invitations(to_user);

-- Symmetric: a contact pair is stored once from each side.
CREATE TABLE contacts (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, contact_id)
) WITHOUT ROWID;

CREATE TABLE blocks (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  blocked_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, blocked_id)
) WITHOUT ROWID;
