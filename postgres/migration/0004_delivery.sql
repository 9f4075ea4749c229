-- The delivery core's inbox and outbox (package delivery), shared by the
-- replicas. Events are written to the inbox before the platform is told
-- they arrived, and the calls that answer them to the outbox in the same
-- transaction as the conversation's new state. Times are unix
-- milliseconds. A lane (one channel) is worked by one replica at a time:
-- taken_by and taken_until say which, and until when, so that a replica
-- that dies leaves its lanes to the others once taken_until passes.
CREATE TABLE inbox (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id          TEXT COLLATE "C" NOT NULL UNIQUE,  -- the platform's id of the event
	platform    TEXT COLLATE "C" NOT NULL,
	lane        TEXT COLLATE "C" NOT NULL,          -- channel: processed in seq order
	body        BYTEA,                              -- the adapter's encoding; NULL once finished
	received_at BIGINT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dropped')),
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX inbox_pending ON inbox (platform, lane, seq) WHERE status = 'pending';
CREATE INDEX inbox_received ON inbox (received_at);

CREATE TABLE outbox (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key         TEXT COLLATE "C" NOT NULL UNIQUE,
	platform    TEXT COLLATE "C" NOT NULL,
	lane        TEXT COLLATE "C" NOT NULL,          -- channel: sent in seq order
	kind        TEXT NOT NULL,
	parent      TEXT COLLATE "C" NOT NULL DEFAULT '', -- key of the item whose ref this one needs
	body        BYTEA,                              -- NULL once finished
	attempts    INTEGER NOT NULL DEFAULT 0,
	not_before  BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
	ref         TEXT NOT NULL DEFAULT '',           -- the platform's id of what was sent
	error       TEXT NOT NULL DEFAULT '',
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (platform, lane, seq) WHERE status = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);

-- The claims that deduplicated deliveries before the inbox did.
DROP TABLE deliveries;
