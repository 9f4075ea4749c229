-- The delivery core's inbox and outbox (package delivery). Events are
-- written to the inbox before the platform is told they arrived, and the
-- calls that answer them to the outbox in the same transaction as the
-- conversation's new state. Times are unix milliseconds; status is the
-- column workers select on, so several replicas can share the tables.
CREATE TABLE inbox (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,          -- the platform's id of the event
	platform    TEXT NOT NULL,
	lane        TEXT NOT NULL,                 -- channel: processed in seq order
	body        BLOB,                          -- the adapter's encoding; NULL once finished
	received_at INTEGER NOT NULL,
	status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'dropped'))
);
CREATE INDEX inbox_pending ON inbox (platform, lane, seq) WHERE status = 'pending';
CREATE INDEX inbox_received ON inbox (received_at);

CREATE TABLE outbox (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	key        TEXT NOT NULL UNIQUE,
	platform   TEXT NOT NULL,
	lane       TEXT NOT NULL,                  -- channel: sent in seq order
	kind       TEXT NOT NULL,
	parent     TEXT NOT NULL DEFAULT '',       -- key of the item whose ref this one needs
	body       BLOB,                           -- NULL once finished
	attempts   INTEGER NOT NULL DEFAULT 0,
	not_before INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
	ref        TEXT NOT NULL DEFAULT '',       -- the platform's id of what was sent
	error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (platform, lane, seq) WHERE status = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);

-- The claims that deduplicated deliveries before the inbox did.
DROP TABLE deliveries;
