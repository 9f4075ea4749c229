-- An outbox item counts its rate limits (429) apart from its transient
-- failures (attempts): each has its own bound, and waiting out a rate
-- limit must not lengthen the backoff after a network error. Items
-- pending at the upgrade keep their mixed count in attempts.
ALTER TABLE outbox ADD COLUMN rate_limited INTEGER NOT NULL DEFAULT 0;
