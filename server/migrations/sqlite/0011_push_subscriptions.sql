-- Web Push subscriptions (RFC 8030, 8291, 8292; docs/architecture.md "Push";
-- server/src/push/).
--
-- One row per browser subscription a signed-in device registered. It belongs
-- to the device's session: revoking the session, logging out or deleting the
-- account deletes it (ON DELETE CASCADE), so a device nobody is signed in on
-- gets no more pushes. An endpoint is unique: a browser that registers the
-- same endpoint again (after a new login) replaces the earlier row.
CREATE TABLE push_subscriptions (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  endpoint   TEXT    NOT NULL UNIQUE,  -- https URL of the push service
  p256dh     BLOB    NOT NULL,         -- the browser's P-256 public key, 65 bytes uncompressed
  auth       BLOB    NOT NULL,         -- the browser's authentication secret, 16 bytes
  created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions(user_id);
CREATE INDEX push_subscriptions_by_session ON push_subscriptions(session_id);

-- Whether a push notification shows the message's text or only who wrote
-- (PATCH /api/v1/me/settings notification_previews).
ALTER TABLE users ADD COLUMN notification_previews INTEGER NOT NULL DEFAULT 1;
