-- The monitor's check history and alert state. Only the replica holding
-- the leader lease runs the scheduled checks and moves the alert state;
-- any replica may record a check run for a "status" question.

CREATE TABLE monitor_results (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	target      TEXT COLLATE "C" NOT NULL,
	kind        TEXT COLLATE "C" NOT NULL,
	verdict     TEXT COLLATE "C" NOT NULL,
	code        INTEGER NOT NULL,  -- Cloudflare error code, 0 when none
	status      INTEGER NOT NULL,  -- HTTP status, 0 without an answer
	latency_us  BIGINT NOT NULL,
	ray_id      TEXT NOT NULL,
	data_center TEXT NOT NULL,
	detail      TEXT NOT NULL,
	offline     BOOLEAN NOT NULL,  -- the canary failed in that round
	official    JSONB,             -- status page, NULL for other targets
	checked_at  BIGINT NOT NULL
);
CREATE INDEX monitor_results_target ON monitor_results (target, checked_at);
CREATE INDEX monitor_results_checked ON monitor_results (checked_at);

-- The alert state machine of each target, so a new leader carries on.
CREATE TABLE monitor_targets (
	target        TEXT COLLATE "C" PRIMARY KEY,
	verdict       TEXT COLLATE "C" NOT NULL,
	since         BIGINT NOT NULL,
	failures      INTEGER NOT NULL,
	successes     INTEGER NOT NULL,
	kind          TEXT COLLATE "C" NOT NULL,
	failing_since BIGINT NOT NULL,      -- 0 when not failing
	incident      TEXT COLLATE "C" NOT NULL -- open incident, '' when none
);

-- Incidents: open while ended_at is NULL.
CREATE TABLE monitor_incidents (
	id          TEXT COLLATE "C" PRIMARY KEY,
	kind        TEXT COLLATE "C" NOT NULL,
	targets     JSONB NOT NULL,    -- array of target names
	started_at  BIGINT NOT NULL,
	notified_at BIGINT NOT NULL,   -- opening notice or last reminder
	ended_at    BIGINT
);
CREATE INDEX monitor_incidents_ended ON monitor_incidents (ended_at);

-- What Notify returned for an incident's opening notice in each channel,
-- so reminders and the recovery go into the same thread, whichever
-- replica sends them.
CREATE TABLE monitor_notices (
	incident TEXT COLLATE "C" NOT NULL REFERENCES monitor_incidents (id) ON DELETE CASCADE,
	platform TEXT COLLATE "C" NOT NULL,
	channel  TEXT COLLATE "C" NOT NULL,
	ref      TEXT NOT NULL,
	PRIMARY KEY (incident, platform, channel)
);

-- Hourly rollups of monitor_results (see sqlite/migration/0004_rollups.sql),
-- kept up to date in the transaction that records the results.
CREATE TABLE monitor_hourly (
	hour     BIGINT NOT NULL,
	target   TEXT COLLATE "C" NOT NULL,
	verdict  TEXT COLLATE "C" NOT NULL,
	offline  BOOLEAN NOT NULL,
	official TEXT COLLATE "C" NOT NULL, -- status page indicator; '' when none was read
	kind     TEXT COLLATE "C" NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (hour, target, verdict, offline, official)
);

CREATE TABLE monitor_hourly_latency (
	hour   BIGINT NOT NULL,
	target TEXT COLLATE "C" NOT NULL,
	sketch BYTEA NOT NULL,          -- monitor.Sketch, binary
	PRIMARY KEY (hour, target)
);
