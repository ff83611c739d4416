-- Personal data exports (docs/security.md "Personal data export";
-- server/src/account/export_service.hpp).
--
-- One row per export a user asked for. The archive itself is a file,
-- DATA_DIR/exports/<id>.zip, present exactly while the row is 'ready'.
-- Rows stay after the archive is gone ('expired', 'failed'): they answer
-- "what became of my export" and the rate limit counts them. Account
-- deletion deletes the rows and their files.
--
-- state: 'pending' (queued), 'running', 'ready' (the file exists until
-- expires_at), 'failed' (error says why; a restart fails what was
-- unfinished), 'expired' (the sweeper deleted the file).
CREATE TABLE data_exports (
  id          TEXT    PRIMARY KEY,            -- 22 URL-safe base64 characters of 128 random bits
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'ready', 'failed', 'expired')),
  created_at  INTEGER NOT NULL,
  finished_at INTEGER,                        -- when it became ready or failed
  expires_at  INTEGER,                        -- ready: when the sweeper deletes the archive
  size        INTEGER,                        -- the archive's bytes, once ready
  sha256      TEXT,                           -- the archive's digest, once ready
  error       TEXT                            -- failed: why, for people
) WITHOUT ROWID;
CREATE INDEX data_exports_by_user ON data_exports(user_id, created_at);
CREATE INDEX data_exports_by_expiry ON data_exports(expires_at) WHERE state = 'ready';
