-- Search indexing per batch, not per message (docs/architecture.md "Search").
--
-- Migration 0008 indexed every message by an insert trigger: one FTS5
-- insert per message, each with FTS5's savepoint hook, the largest part of
-- the writer's CPU per message (docs/benchmarks.md "Performance round 2:
-- the writer"). Now the writer indexes a batch's new messages in one
-- INSERT ... SELECT just before the batch's COMMIT (SqliteStore::run_batch),
-- so a message is searchable from the commit that stores it, as before.
--
-- stream_state.indexed_through is the highest message id the index holds;
-- every message with a larger id is not yet indexed (the writer's current
-- batch, or rows added by other means while the server was stopped, which
-- the store indexes when it opens the database). The edit and delete
-- triggers consult it: a message not yet indexed needs no 'delete' (FTS5
-- must be given exactly the text it indexed) nor a re-insert (the batch's
-- indexing will read its current text).
-- It lives in stream_state's one row, which the writer updates once per
-- batch anyway (the stream position): the same page, no page more per
-- commit.
ALTER TABLE stream_state ADD COLUMN indexed_through INTEGER NOT NULL DEFAULT 0;
-- Migration 0008's trigger indexed every message there is.
UPDATE stream_state SET indexed_through = COALESCE((SELECT MAX(id) FROM messages), 0);

DROP TRIGGER message_search_insert;
DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;

-- As in 0008, for indexed messages only. The Greek folding is the same
-- expression as 0008's, so that 'delete' is given the text that was indexed.
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at ON messages
WHEN OLD.id <= (SELECT indexed_through FROM stream_state) BEGIN
  INSERT INTO message_search (message_search, rowid, body) SELECT 'delete', OLD.id, CASE WHEN OLD.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(OLD.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE OLD.body END
    WHERE OLD.deleted_at IS NULL;
  INSERT INTO message_search (rowid, body) SELECT NEW.id, CASE WHEN NEW.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(NEW.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE NEW.body END WHERE NEW.deleted_at IS NULL;
END;
-- A new row takes the id after the largest one there is: when the newest
-- indexed row goes, the mark goes back to the newest row left below it, so
-- that a row taking that id again is indexed with its batch. (One trigger:
-- the 'delete' must see the mark before it moves.)
CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN OLD.id <= (SELECT indexed_through FROM stream_state) BEGIN
  INSERT INTO message_search (message_search, rowid, body) SELECT 'delete', OLD.id, CASE WHEN OLD.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(OLD.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE OLD.body END
    WHERE OLD.deleted_at IS NULL;
  UPDATE stream_state SET indexed_through = (SELECT COALESCE(MAX(id), 0) FROM messages WHERE id < OLD.id)
    WHERE indexed_through = OLD.id;
END;
