-- Who wrote each kept message and who each conversation is with, so that
-- `gptaccess forget --user PLATFORM:ID` can delete a person's data. Values
-- are "platform:id".
ALTER TABLE unanswered ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX unanswered_user ON unanswered (user_id);
ALTER TABLE conversations ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX conversations_user ON conversations (user_id);

-- Messages kept before this version were neither redacted beyond IP
-- addresses nor told apart from direct messages, and cannot be tied to
-- their authors: they go.
DELETE FROM unanswered;

-- One row that the readiness check rewrites, so /readyz proves the
-- database takes writes rather than only answering reads.
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
);
