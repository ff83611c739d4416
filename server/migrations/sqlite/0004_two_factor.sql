-- Two-factor login (TOTP, RFC 6238) and its one-time recovery codes.
-- Times are Unix milliseconds.

-- At most one authenticator per account. A row with enabled = 0 is an
-- enrolment waiting for its first code; it does not affect logins. The secret
-- is stored as is (20 raw bytes): the server must compute codes from it, so
-- hashing is impossible, and encrypting it at rest is not done yet.
-- last_used_step is the last 30-second step whose code was accepted (-1 for
-- none): codes of that step or earlier are refused, so each code works once.
CREATE TABLE two_factor (
  user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret         BLOB    NOT NULL,
  enabled        INTEGER NOT NULL DEFAULT 0,
  last_used_step INTEGER NOT NULL DEFAULT -1,
  created_at     INTEGER NOT NULL,
  enabled_at     INTEGER
);

-- Recovery codes, kept only as their SHA-256 hash (the codes carry 80 random
-- bits, so a fast hash leaves nothing to guess from a copy of the database).
-- used_at is set when a code is spent; spent codes stay until the codes are
-- replaced, so that a reused code is told apart in logs.
CREATE TABLE recovery_codes (
  user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash BLOB    NOT NULL,
  used_at   INTEGER,
  PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
