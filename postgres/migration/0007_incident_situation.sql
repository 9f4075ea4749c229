-- What an incident's targets showed (monitor.Situation, a bit set: down,
-- blocked by Cloudflare, blocked by our own network, rate limited): when it
-- opened, which its opening notice is titled for, and while it lasted, which
-- it is titled for once over, in its recovery, the digest and on the status
-- page alike. 0 for incidents saved before this version: their kind words
-- them.
ALTER TABLE monitor_incidents ADD COLUMN opened SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE monitor_incidents ADD COLUMN seen SMALLINT NOT NULL DEFAULT 0;
