-- The bot's state, as in the SQLite store (sqlite/migration), for several
-- replicas sharing one database. Times are unix seconds (BIGINT); text
-- that is sorted or compared uses the "C" collation, so order is by bytes
-- whatever the database's locale, as in SQLite.

-- Conversations: one row per platform+channel+thread(+user) key. The
-- state is the dialog's JSON document; version gives the optimistic
-- concurrency that lets replicas update one conversation safely.
CREATE TABLE conversations (
	key        TEXT COLLATE "C" PRIMARY KEY,
	version    BIGINT NOT NULL,
	state      JSONB NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL DEFAULT '', -- "platform:id", for forget
	updated_at BIGINT NOT NULL
);
CREATE INDEX conversations_updated ON conversations (updated_at);
CREATE INDEX conversations_user ON conversations (user_id);

-- Deliveries already processed: the first replica to insert a key
-- answers it, every other one sees the conflict.
CREATE TABLE deliveries (
	key     TEXT COLLATE "C" PRIMARY KEY,
	seen_at BIGINT NOT NULL
);
CREATE INDEX deliveries_seen ON deliveries (seen_at);

-- How diagnoses ended: one row per diagnosis, updated as feedback arrives.
CREATE TABLE outcomes (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key         TEXT COLLATE "C" NOT NULL UNIQUE,
	platform    TEXT COLLATE "C" NOT NULL,
	cause       TEXT COLLATE "C" NOT NULL,
	questions   INTEGER NOT NULL,
	resolved    TEXT COLLATE "C" NOT NULL,
	handed_over BOOLEAN NOT NULL,
	at          BIGINT NOT NULL
);
CREATE INDEX outcomes_at ON outcomes (at);

-- Messages nobody could match, redacted, for the knowledge-gap report.
CREATE TABLE unanswered (
	id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	platform TEXT COLLATE "C" NOT NULL,
	text     TEXT COLLATE "C" NOT NULL,
	user_id  TEXT COLLATE "C" NOT NULL,
	at       BIGINT NOT NULL
);
CREATE INDEX unanswered_at ON unanswered (at);
CREATE INDEX unanswered_user ON unanswered (user_id);

-- Channels that subscribed to alerts at run time.
CREATE TABLE subscriptions (
	platform TEXT COLLATE "C" NOT NULL,
	channel  TEXT COLLATE "C" NOT NULL,
	since    BIGINT NOT NULL,
	PRIMARY KEY (platform, channel)
);

-- One row that the readiness check rewrites: proof the database takes
-- writes (a read-only standby answers reads only).
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at BIGINT NOT NULL
);
