-- The per-user rate limit, shared by every replica: one token bucket per
-- "platform:user". tokens is what was left at at_ms (unix milliseconds);
-- refusals counts refused messages since the last allowed one, so only
-- the first refusal gets a note.
CREATE TABLE rate_buckets (
	key      TEXT COLLATE "C" PRIMARY KEY,
	tokens   DOUBLE PRECISION NOT NULL,
	at_ms    BIGINT NOT NULL,
	refusals INTEGER NOT NULL
);
CREATE INDEX rate_buckets_at ON rate_buckets (at_ms);
