-- Where our traffic reached Cloudflare in each result's round (the canary's
-- trace: colo and loc, never the egress address), so that the status page
-- and a replica that did not run the round can say it. Empty when the trace
-- did not say, as for every result recorded before this version.
ALTER TABLE monitor_results ADD COLUMN egress_colo TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE monitor_results ADD COLUMN egress_country TEXT COLLATE "C" NOT NULL DEFAULT '';
