-- Using media: attachments counted on their message, group avatars, and the
-- list of media that nothing refers to (for the orphan sweeper).
-- Times are Unix milliseconds.

-- How many rows of message_attachments the message has. Reading a message
-- without attachments (nearly all of them) then costs no extra statement;
-- only a count above 0 loads the list.
ALTER TABLE messages ADD COLUMN attachment_count INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET attachment_count = (SELECT COUNT(*) FROM message_attachments a WHERE a.message_id = messages.id)
  WHERE id IN (SELECT message_id FROM message_attachments);

-- A group's avatar: a media id (an image), set by those who may change the
-- group's name and topic.
ALTER TABLE conversations ADD COLUMN avatar_media_id TEXT REFERENCES media(id) ON DELETE SET NULL;
-- The access check (media/media_access.cpp) finds the avatars showing a media id.
CREATE INDEX conversations_by_avatar ON conversations(avatar_media_id) WHERE avatar_media_id IS NOT NULL;
CREATE INDEX users_by_avatar ON users(avatar_media_id) WHERE avatar_media_id IS NOT NULL;

-- Media that nothing refers to (no message, user avatar or group avatar),
-- since when. The triggers below keep it, so no code path can forget to: a
-- new upload enters it, a reference takes it out, losing the last reference
-- puts it back with the current time. The orphan sweeper deletes the media
-- rows whose `since` is older than media.orphan_grace (and then the blob
-- sweeper their blobs), re-checking that nothing refers to them.
CREATE TABLE media_orphans (
  media_id TEXT    PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,
  since    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX media_orphans_by_since ON media_orphans(since);

INSERT INTO media_orphans (media_id, since)
  SELECT id, created_at FROM media m
  WHERE NOT EXISTS (SELECT 1 FROM message_attachments a WHERE a.media_id = m.id)
    AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = m.id);

CREATE TRIGGER media_orphan_new AFTER INSERT ON media BEGIN
  INSERT OR IGNORE INTO media_orphans (media_id, since) VALUES (NEW.id, NEW.created_at);
END;

CREATE TRIGGER media_orphan_attached AFTER INSERT ON message_attachments BEGIN
  DELETE FROM media_orphans WHERE media_id = NEW.media_id;
END;

-- "Now" in Unix milliseconds, computed by SQLite: julianday('now') is the
-- statement's time, the same for every row it touches.
CREATE TRIGGER media_orphan_detached AFTER DELETE ON message_attachments
WHEN NOT EXISTS (SELECT 1 FROM message_attachments WHERE media_id = OLD.media_id)
 AND NOT EXISTS (SELECT 1 FROM users WHERE avatar_media_id = OLD.media_id)
 AND NOT EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = OLD.media_id)
 AND EXISTS (SELECT 1 FROM media WHERE id = OLD.media_id)
BEGIN
  INSERT OR IGNORE INTO media_orphans (media_id, since)
    VALUES (OLD.media_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER media_orphan_user_avatar AFTER UPDATE OF avatar_media_id ON users
WHEN OLD.avatar_media_id IS NOT NEW.avatar_media_id BEGIN
  DELETE FROM media_orphans WHERE media_id = NEW.avatar_media_id;
  INSERT OR IGNORE INTO media_orphans (media_id, since)
    SELECT OLD.avatar_media_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE OLD.avatar_media_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM media WHERE id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM message_attachments WHERE media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM users WHERE avatar_media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = OLD.avatar_media_id);
END;

CREATE TRIGGER media_orphan_user_gone AFTER DELETE ON users WHEN OLD.avatar_media_id IS NOT NULL BEGIN
  INSERT OR IGNORE INTO media_orphans (media_id, since)
    SELECT OLD.avatar_media_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE EXISTS (SELECT 1 FROM media WHERE id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM message_attachments WHERE media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM users WHERE avatar_media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = OLD.avatar_media_id);
END;

CREATE TRIGGER media_orphan_group_avatar AFTER UPDATE OF avatar_media_id ON conversations
WHEN OLD.avatar_media_id IS NOT NEW.avatar_media_id BEGIN
  DELETE FROM media_orphans WHERE media_id = NEW.avatar_media_id;
  INSERT OR IGNORE INTO media_orphans (media_id, since)
    SELECT OLD.avatar_media_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE OLD.avatar_media_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM media WHERE id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM message_attachments WHERE media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM users WHERE avatar_media_id = OLD.avatar_media_id)
      AND NOT EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = OLD.avatar_media_id);
END;

-- A media row that goes (its owner deletes it) stops being a user's avatar,
-- as the group avatar's foreign key does (ON DELETE SET NULL): no profile
-- keeps naming a file that no longer exists.
CREATE TRIGGER media_gone_from_user_avatars BEFORE DELETE ON media BEGIN
  UPDATE users SET avatar_media_id = NULL WHERE avatar_media_id = OLD.id;
END;
