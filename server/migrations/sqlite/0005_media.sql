-- Media: uploaded files, the content-addressed blobs that hold their bytes,
-- resumable uploads in progress, thumbnails, and the attachment of media to
-- messages. Times are Unix milliseconds. SHA-256 digests are 64 lower-case
-- hex characters; they name the blob's file in the blob store
-- (storage/blob_store.hpp).

-- One stored content, kept once however many media rows use it (dedup).
-- `refcount` counts the rows of `media` and `media_thumbnails` that name this
-- digest; the triggers below keep it, so no code path can forget to. A blob
-- whose refcount is 0 is unreferenced: the blob sweeper deletes its file and
-- then this row (MediaService; see docs/architecture.md "Media").
CREATE TABLE media_blobs (
  sha256     TEXT    PRIMARY KEY,         -- digest of the content; the blob store's key
  size       INTEGER NOT NULL,            -- bytes in the blob
  refcount   INTEGER NOT NULL DEFAULT 0,  -- media + thumbnail rows naming it; 0 = may be deleted
  created_at INTEGER NOT NULL             -- when the first row naming it was stored
) WITHOUT ROWID;
-- The sweeper's work list: only unreferenced blobs.
CREATE INDEX media_blobs_unreferenced ON media_blobs(sha256) WHERE refcount = 0;

-- An uploaded file as its uploader named it. Identical contents uploaded
-- twice are two media rows (two ids, two owners, two names) over one blob.
CREATE TABLE media (
  id           TEXT    PRIMARY KEY,  -- 22 URL-safe base64 chars of 128 random bits: unguessable
  owner_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,  -- the uploader
  sha256       TEXT    NOT NULL,     -- its blob (media_blobs.sha256)
  size         INTEGER NOT NULL,     -- bytes; counted against the owner's quota
  content_type TEXT    NOT NULL,     -- sniffed from the bytes (libmagic), never the client's claim
  name         TEXT    NOT NULL,     -- display file name, sanitised (media/file_name.hpp)
  width        INTEGER,              -- pixels, for images that probed well; NULL otherwise
  height       INTEGER,              -- pixels, as width
  created_at   INTEGER NOT NULL      -- when the upload finished
) WITHOUT ROWID;
-- Quota accounting sums a user's sizes from this index alone.
CREATE INDEX media_by_owner ON media(owner_id, size);
CREATE INDEX media_by_blob ON media(sha256);

-- Thumbnails of an image, made on demand and stored as blobs themselves.
CREATE TABLE media_thumbnails (
  media_id     TEXT    NOT NULL REFERENCES media(id) ON DELETE CASCADE,
  size         INTEGER NOT NULL,  -- 0 small, 1 medium, 2 large (media/thumbnailer.hpp)
  sha256       TEXT    NOT NULL,  -- the thumbnail's blob
  bytes        INTEGER NOT NULL,  -- the thumbnail's size in bytes
  content_type TEXT    NOT NULL,  -- what the thumbnailer wrote (e.g. image/webp)
  width        INTEGER NOT NULL,
  height       INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (media_id, size)
) WITHOUT ROWID;
CREATE INDEX media_thumbnails_by_blob ON media_thumbnails(sha256);

-- Resumable uploads in progress. The parts go to one file per upload in the
-- blob store's upload folder; `received` only moves after the bytes up to it
-- were fsynced, so after a crash the file is cut back to `received` and the
-- client resumes there. A finished or cancelled upload's row is deleted; an
-- abandoned one is deleted (with its file) by the upload sweeper once
-- `expires_at` has passed.
CREATE TABLE media_uploads (
  id          TEXT    PRIMARY KEY,          -- 22 URL-safe base64 chars of 128 random bits
  owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        TEXT    NOT NULL,             -- display file name, sanitised
  total_size  INTEGER NOT NULL,             -- announced at creation; reserved against the quota
  received    INTEGER NOT NULL DEFAULT 0,   -- bytes acknowledged (durable); the next part starts here
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL              -- last activity + media.upload_expiry
) WITHOUT ROWID;
CREATE INDEX media_uploads_by_owner ON media_uploads(owner_id, total_size);
CREATE INDEX media_uploads_by_expiry ON media_uploads(expires_at);

-- Files attached to messages, in the order the sender gave. Deleting a
-- message row takes its attachment rows with it; a media row cannot be
-- deleted while a message still carries it (RESTRICT), so a file never
-- disappears from under a message: deleting the message (or its content)
-- drops these rows first.
CREATE TABLE message_attachments (
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  media_id   TEXT    NOT NULL REFERENCES media(id) ON DELETE RESTRICT,
  position   INTEGER NOT NULL,  -- 0-based order within the message
  PRIMARY KEY (message_id, position),
  UNIQUE (message_id, media_id)
) WITHOUT ROWID;
-- Who may read a media id, and whether it is still referenced at all.
CREATE INDEX message_attachments_by_media ON message_attachments(media_id);

-- Keep media_blobs.refcount equal to the number of rows naming each blob.
-- Triggers also fire for rows deleted by ON DELETE CASCADE.
CREATE TRIGGER media_blob_ref AFTER INSERT ON media BEGIN
  INSERT INTO media_blobs (sha256, size, refcount, created_at) VALUES (NEW.sha256, NEW.size, 1, NEW.created_at)
    ON CONFLICT (sha256) DO UPDATE SET refcount = refcount + 1;
END;
CREATE TRIGGER media_blob_unref AFTER DELETE ON media BEGIN
  UPDATE media_blobs SET refcount = refcount - 1 WHERE sha256 = OLD.sha256;
END;
CREATE TRIGGER media_thumbnail_blob_ref AFTER INSERT ON media_thumbnails BEGIN
  INSERT INTO media_blobs (sha256, size, refcount, created_at) VALUES (NEW.sha256, NEW.bytes, 1, NEW.created_at)
    ON CONFLICT (sha256) DO UPDATE SET refcount = refcount + 1;
END;
CREATE TRIGGER media_thumbnail_blob_unref AFTER DELETE ON media_thumbnails BEGIN
  UPDATE media_blobs SET refcount = refcount - 1 WHERE sha256 = OLD.sha256;
END;
