-- What a member whose membership ended may still see, and deletions that
-- leave nothing of a message behind (docs/security.md, Message visibility
-- and deletion).
--
-- A device of an ex-member resumes through the conversation up to the end of
-- the membership (past_memberships.left_pos, "L") and must see each message
-- as it was at L, never as it is now. An edit overwrites messages.body and a
-- removed reaction's row is deleted, so what L needs is kept beside them: a
-- message's earlier content in message_versions, a removed reaction in
-- past_reactions. The writer keeps one only when an ex-member who saw the
-- message exists; a later removal ends at a later position and needs only
-- what is current then.
--
-- Boundaries are positions taken as left_pos is: the newest position when
-- the change was made (its own event comes right after). A change made at
-- boundary B is part of the state at L when B < L.
--
-- Events carrying a message's content (message.edited, reaction.*) name it
-- in events.message_id, so that deleting the message deletes them.

CREATE INDEX past_memberships_by_conversation ON past_memberships(conversation_id, left_pos);

-- The content the message had at every position up to through_pos, since
-- the previous version. body NULL: not known (overwritten by an edit made
-- before this table existed); such a message is left out for the ex-members
-- who would need it rather than shown as it is now.
CREATE TABLE message_versions (
  message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  through_pos INTEGER NOT NULL,
  body        TEXT,
  mentions    TEXT    NOT NULL DEFAULT '[]',  -- JSON array of user ids
  edited_at   INTEGER,
  PRIMARY KEY (message_id, through_pos)
) WITHOUT ROWID;

-- When the reaction was added (a boundary, see above).
ALTER TABLE reactions ADD COLUMN added_after INTEGER NOT NULL DEFAULT 0;

-- Reactions taken back, while an ex-member who saw them needs them: part of
-- the state at positions P with added_after < P <= removed_after.
CREATE TABLE past_reactions (
  message_id    INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji         TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  added_after   INTEGER NOT NULL,
  removed_after INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji, added_after)
) WITHOUT ROWID;

-- The message whose content the event carries; NULL for every other event
-- (message.deleted included: it carries none, and stays).
ALTER TABLE events ADD COLUMN message_id INTEGER;

-- Existing data. Events name their messages.
UPDATE events SET message_id = CASE json_extract(payload, '$.type')
    WHEN 'message.edited' THEN json_extract(payload, '$.message.id')
    ELSE json_extract(payload, '$.message_id') END
  WHERE json_extract(payload, '$.type') IN ('message.edited', 'reaction.added', 'reaction.removed');
CREATE INDEX events_by_message ON events(message_id) WHERE message_id IS NOT NULL;

-- Messages deleted before this version: their content goes now.
DELETE FROM events WHERE message_id IN (SELECT id FROM messages WHERE deleted_at IS NOT NULL);
UPDATE messages SET edited_at = NULL WHERE deleted_at IS NOT NULL;

-- Reactions: added right before their newest reaction.added event. One
-- without such an event (there should be none) counts as added now, which
-- hides it from every existing ex-member.
CREATE TEMP TABLE reaction_adds (
  message_id INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  emoji      TEXT    NOT NULL,
  pos        INTEGER NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;
INSERT INTO reaction_adds
  SELECT message_id, json_extract(payload, '$.user_id'), json_extract(payload, '$.emoji'), MAX(pos)
  FROM events WHERE message_id IS NOT NULL AND json_extract(payload, '$.type') = 'reaction.added'
  GROUP BY 1, 2, 3;
UPDATE reactions SET added_after = COALESCE(
    (SELECT a.pos - 1 FROM reaction_adds a
     WHERE a.message_id = reactions.message_id AND a.user_id = reactions.user_id AND a.emoji = reactions.emoji),
    (SELECT last_pos FROM stream_state WHERE id = 1));
DROP TABLE reaction_adds;

-- Versions of edited messages: each message.edited event holds the content
-- that lasted until the next edit; the content before the first edit is
-- lost (body NULL, see above). The content after the last edit is the
-- messages row.
INSERT INTO message_versions (message_id, through_pos, body, mentions, edited_at)
  SELECT message_id, next_pos - 1, body, mentions, edited_at FROM (
    SELECT message_id,
           json_extract(payload, '$.message.text') AS body,
           COALESCE(json_extract(payload, '$.message.mentions'), '[]') AS mentions,
           json_extract(payload, '$.message.edited_at') AS edited_at,
           LEAD(pos) OVER (PARTITION BY message_id ORDER BY pos) AS next_pos
    FROM events WHERE message_id IN (SELECT id FROM messages) AND json_extract(payload, '$.type') = 'message.edited')
  WHERE next_pos IS NOT NULL;
INSERT INTO message_versions (message_id, through_pos, body, mentions, edited_at)
  SELECT message_id, MIN(pos) - 1, NULL, '[]', NULL
  FROM events WHERE message_id IN (SELECT id FROM messages) AND json_extract(payload, '$.type') = 'message.edited'
  GROUP BY message_id;
