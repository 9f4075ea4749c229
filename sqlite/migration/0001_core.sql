-- Conversations: one row per platform+channel+thread(+user) key. State is a
-- JSON document so the dialog can grow fields without a migration; version
-- gives optimistic concurrency for several replicas.
CREATE TABLE conversations (
	key        TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	state      TEXT NOT NULL,
	updated_at INTEGER NOT NULL -- unix seconds
);
CREATE INDEX conversations_updated ON conversations (updated_at);

-- Deliveries already processed, so a platform retry or a restart never
-- produces a second reply.
CREATE TABLE deliveries (
	key     TEXT PRIMARY KEY,
	seen_at INTEGER NOT NULL
);
CREATE INDEX deliveries_seen ON deliveries (seen_at);

-- How diagnoses ended: one row per diagnosis (key is the conversation id),
-- updated as feedback arrives.
CREATE TABLE outcomes (
	id          INTEGER PRIMARY KEY,
	key         TEXT NOT NULL UNIQUE,
	platform    TEXT NOT NULL,
	cause       TEXT NOT NULL,
	questions   INTEGER NOT NULL,
	resolved    TEXT NOT NULL,
	handed_over INTEGER NOT NULL,
	at          INTEGER NOT NULL
);
CREATE INDEX outcomes_at ON outcomes (at);

-- Messages nobody could match, for the knowledge-gap report.
CREATE TABLE unanswered (
	id       INTEGER PRIMARY KEY,
	platform TEXT NOT NULL,
	text     TEXT NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX unanswered_at ON unanswered (at);

-- Channels that subscribed to alerts at run time.
CREATE TABLE subscriptions (
	platform TEXT NOT NULL,
	channel  TEXT NOT NULL,
	since    INTEGER NOT NULL,
	PRIMARY KEY (platform, channel)
);
