-- Sticker packs (docs/architecture.md "Sticker packs"): packs installed by the
-- operator (`parleyd stickers import`, and the default pack at first start),
-- their stickers, whose images are blobs in the blob store like media, the
-- packs each user added to their set, and the sticker a message carries.
-- Times are Unix milliseconds.

-- A pack, by its unique name. Removing a pack (`parleyd stickers remove`)
-- only marks it: its stickers stay, so that messages that carry one keep
-- showing it and its image stays downloadable; the row also remembers that
-- the default pack was installed once, so that a removed default pack is not
-- installed again at the next start.
CREATE TABLE sticker_packs (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL UNIQUE,  -- [a-z0-9][a-z0-9-]{0,63} (media/sticker_pack.hpp)
  title      TEXT    NOT NULL,         -- shown to users
  created_at INTEGER NOT NULL,         -- first import
  updated_at INTEGER NOT NULL,         -- last import
  removed_at INTEGER                   -- NULL while installed
);

-- The stickers of a pack, in display order. Re-importing a pack replaces its
-- stickers: the old rows no message carries are deleted, the others are
-- retired (still shown in those messages and served, never listed or sent).
-- Ids are never reused (AUTOINCREMENT): an image is cached forever by its
-- sticker id, so an id must never name another image.
CREATE TABLE stickers (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  pack_id      INTEGER NOT NULL REFERENCES sticker_packs(id),
  position     INTEGER NOT NULL,            -- 0-based order within the pack
  emoji        TEXT    NOT NULL,            -- the emoji it stands for
  sha256       TEXT    NOT NULL,            -- its image's blob (media_blobs.sha256)
  bytes        INTEGER NOT NULL,            -- the image's size
  content_type TEXT    NOT NULL,            -- sniffed: image/png or image/webp
  width        INTEGER NOT NULL,
  height       INTEGER NOT NULL,
  retired      INTEGER NOT NULL DEFAULT 0,  -- 1 once a re-import replaced it
  created_at   INTEGER NOT NULL
);
CREATE INDEX stickers_by_pack ON stickers(pack_id, retired, position);
CREATE INDEX stickers_by_blob ON stickers(sha256);

-- The packs a user added, in the order they added them.
CREATE TABLE user_sticker_packs (
  user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  pack_id  INTEGER NOT NULL REFERENCES sticker_packs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,  -- increasing: the order of adding
  added_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, pack_id)
) WITHOUT ROWID;

-- The sticker a message carries (a sticker message has no text). Deleting the
-- message's content deletes this row; a sticker cannot be deleted while a
-- message carries it.
CREATE TABLE message_stickers (
  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  sticker_id INTEGER NOT NULL REFERENCES stickers(id) ON DELETE RESTRICT
);
CREATE INDEX message_stickers_by_sticker ON message_stickers(sticker_id);

-- A sticker's image is a blob like an upload's: counted in media_blobs, so
-- that the blob sweeper never deletes an image a sticker still names.
CREATE TRIGGER sticker_blob_ref AFTER INSERT ON stickers BEGIN
  INSERT INTO media_blobs (sha256, size, refcount, created_at) VALUES (NEW.sha256, NEW.bytes, 1, NEW.created_at)
    ON CONFLICT (sha256) DO UPDATE SET refcount = refcount + 1;
END;
CREATE TRIGGER sticker_blob_unref AFTER DELETE ON stickers BEGIN
  UPDATE media_blobs SET refcount = refcount - 1 WHERE sha256 = OLD.sha256;
END;
