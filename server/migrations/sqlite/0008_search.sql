-- Full-text search over message bodies (docs/architecture.md "Search").
-- An external-content FTS5 table over messages, keyed by message id: the
-- text is stored once (in messages), the index only holds tokens. Words are
-- split by unicode61 with diacritics and case folded; CJK runs are one token
-- each, so CJK is found by prefix (`東京*`).
CREATE VIRTUAL TABLE message_search USING fts5(
  body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');

-- unicode61 (SQLite 3.40) folds Latin diacritics only: Greek tonos and
-- dialytika are folded here, by replace(), in the text given to the index
-- (only in text holding a Greek letter: the GLOB costs ~1 us, the replace()
-- chain ~40 us per message, docs/architecture.md "Search")
-- (the same expression for 'delete', which must see the indexed text), and
-- in the query (search/search_query.cpp). Snippets come from messages.body
-- as sent; a word folded here is found but not highlighted.
--
-- Kept by triggers, so no write path can forget it: a deleted message's row
-- leaves the index in the same transaction as the deletion (a deleted
-- message is gone from results at once), an edit replaces the indexed text.
-- The 'delete' command must be given the text that was indexed: OLD.body.
CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN NEW.deleted_at IS NULL BEGIN
  INSERT INTO message_search (rowid, body) VALUES (NEW.id, CASE WHEN NEW.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(NEW.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE NEW.body END);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
  INSERT INTO message_search (message_search, rowid, body) SELECT 'delete', OLD.id, CASE WHEN OLD.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(OLD.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE OLD.body END
    WHERE OLD.deleted_at IS NULL;
  INSERT INTO message_search (rowid, body) SELECT NEW.id, CASE WHEN NEW.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(NEW.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE NEW.body END WHERE NEW.deleted_at IS NULL;
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages WHEN OLD.deleted_at IS NULL BEGIN
  INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', OLD.id, CASE WHEN OLD.body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(OLD.body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE OLD.body END);
END;

-- Backfill: every message stored before this migration.
INSERT INTO message_search (rowid, body) SELECT id, CASE WHEN body GLOB '*[Ά-ώ]*' THEN replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(body, 'ά', 'α'), 'έ', 'ε'), 'ή', 'η'), 'ί', 'ι'), 'ό', 'ο'), 'ύ', 'υ'), 'ώ', 'ω'), 'ΐ', 'ι'), 'ΰ', 'υ'), 'ϊ', 'ι'), 'ϋ', 'υ'), 'Ά', 'Α'), 'Έ', 'Ε'), 'Ή', 'Η'), 'Ί', 'Ι'), 'Ό', 'Ο'), 'Ύ', 'Υ'), 'Ώ', 'Ω'), 'Ϊ', 'Ι'), 'Ϋ', 'Υ') ELSE body END FROM messages WHERE deleted_at IS NULL;
