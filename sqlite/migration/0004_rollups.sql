-- Hourly rollups of monitor_results, kept up to date as results are
-- recorded, so the status page and the digest read a few rows per target
-- and hour instead of every result. They are pruned with the results
-- (monitor.retention), by whole hours.

-- How many results of a target in a clock hour had each verdict, canary
-- state and official indicator.
CREATE TABLE monitor_hourly (
	hour     INTEGER NOT NULL,  -- unix seconds of the UTC hour's start
	target   TEXT NOT NULL,
	verdict  TEXT NOT NULL,
	offline  INTEGER NOT NULL,
	official TEXT NOT NULL,     -- status page indicator; '' when none was read
	kind     TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (hour, target, verdict, offline, official)
) WITHOUT ROWID;

-- The latencies of a target's answered results in a clock hour, as a
-- mergeable histogram (monitor.Sketch). Filled from the existing history
-- by this migration's Go step.
CREATE TABLE monitor_hourly_latency (
	hour   INTEGER NOT NULL,
	target TEXT NOT NULL,
	sketch BLOB NOT NULL,
	PRIMARY KEY (hour, target)
) WITHOUT ROWID;

INSERT INTO monitor_hourly (hour, target, verdict, offline, official, kind, n)
SELECT checked_at - checked_at % 3600, target, verdict, offline,
	CASE WHEN official IS NULL THEN '' ELSE COALESCE(NULLIF(json_extract(official, '$.indicator'), ''), 'unknown') END,
	MAX(kind), COUNT(*)
FROM monitor_results GROUP BY 1, 2, 3, 4, 5;
