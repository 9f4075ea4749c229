-- The monitor's check history: one row per probe of one target. Kept for
-- the retention period (monitor.retention) for the digest and status.
CREATE TABLE monitor_results (
	id          INTEGER PRIMARY KEY,
	target      TEXT NOT NULL,
	kind        TEXT NOT NULL,
	verdict     TEXT NOT NULL,
	code        INTEGER NOT NULL,  -- Cloudflare error code, 0 when none
	status      INTEGER NOT NULL,  -- HTTP status, 0 without an answer
	latency_us  INTEGER NOT NULL,
	ray_id      TEXT NOT NULL,
	data_center TEXT NOT NULL,
	detail      TEXT NOT NULL,
	offline     INTEGER NOT NULL,  -- 1 when the canary failed in that round
	official    TEXT,              -- status page as JSON, NULL for other targets
	checked_at  INTEGER NOT NULL   -- unix seconds
);
CREATE INDEX monitor_results_target ON monitor_results (target, checked_at);
CREATE INDEX monitor_results_checked ON monitor_results (checked_at);

-- The alert state machine of each target, so a restart carries on.
CREATE TABLE monitor_targets (
	target        TEXT PRIMARY KEY,
	verdict       TEXT NOT NULL,
	since         INTEGER NOT NULL,
	failures      INTEGER NOT NULL,
	successes     INTEGER NOT NULL,
	kind          TEXT NOT NULL,
	failing_since INTEGER NOT NULL,  -- 0 when not failing
	incident      TEXT NOT NULL      -- open incident, '' when none
);

-- Incidents: open while ended_at is NULL.
CREATE TABLE monitor_incidents (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	targets     TEXT NOT NULL,     -- JSON array of target names
	started_at  INTEGER NOT NULL,
	notified_at INTEGER NOT NULL,  -- opening notice or last reminder
	ended_at    INTEGER
);
CREATE INDEX monitor_incidents_ended ON monitor_incidents (ended_at);

-- What Notify returned for an incident's opening notice in each channel,
-- so reminders and the recovery go into the same thread.
CREATE TABLE monitor_notices (
	incident TEXT NOT NULL REFERENCES monitor_incidents (id) ON DELETE CASCADE,
	platform TEXT NOT NULL,
	channel  TEXT NOT NULL,
	ref      TEXT NOT NULL,
	PRIMARY KEY (incident, platform, channel)
);
