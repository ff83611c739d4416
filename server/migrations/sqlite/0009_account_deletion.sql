-- Account deletion (docs/security.md "Account deletion").
--
-- A deleted account keeps its users row, so that the messages it sent stay
-- in others' conversations (messages.sender_id refers to it), but the row
-- holds nothing personal any more: the username becomes "~deleted-<id>" (a
-- name registration and login refuse, since usernames start with a letter),
-- the display name "Deleted user", the status, avatar and password cleared.
-- deleted_at marks it.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

-- Usernames of deleted accounts that may not be registered again until
-- reserved_until, so that nobody takes over a name others know. Only the
-- SHA-256 of the name is kept: the table can answer "is this name reserved"
-- without holding the name of someone who left.
CREATE TABLE reserved_usernames (
  username_hash  BLOB    PRIMARY KEY,
  reserved_until INTEGER NOT NULL
) WITHOUT ROWID;
