package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gptaccess/cloudflare"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

var _ monitor.Store = (*DB)(nil)

// RecordResults implements monitor.Store: the results and, in the same
// transaction, the hourly rollups they count in.
func (d *DB) RecordResults(ctx context.Context, rs []monitor.Result) error {
	if len(rs) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		for _, r := range rs {
			official, err := encodeOfficial(r.Official)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO monitor_results
				(target, kind, verdict, code, status, latency_us, ray_id, data_center, detail, offline, official, checked_at,
				 egress_colo, egress_country)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				text(r.Target), text(r.Kind), text(string(r.Verdict)), r.Code, r.Status, r.Latency.Microseconds(),
				text(r.RayID), text(r.DataCenter), text(r.Detail), r.Offline, official, unix(r.CheckedAt),
				text(r.EgressDataCenter), text(r.EgressCountry)); err != nil {
				return err
			}
		}
		return rollUp(ctx, tx, rs)
	})
	if err != nil {
		return fmt.Errorf("record results: %w", explain(err))
	}
	return nil
}

// rollUp adds rs to the hourly rollups: one upsert per distinct count
// and one locked read-modify-write per target and hour with latencies
// (a replica answering "status" may record a check while the leader
// records its round).
func rollUp(ctx context.Context, tx pgx.Tx, rs []monitor.Result) error {
	ro := monitor.RollupOf(rs)
	for _, c := range ro.Counts {
		if _, err := tx.Exec(ctx, `INSERT INTO monitor_hourly (hour, target, verdict, offline, official, kind, n)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (hour, target, verdict, offline, official) DO UPDATE SET n = monitor_hourly.n + excluded.n, kind = excluded.kind`,
			unix(c.Hour), text(c.Target), text(string(c.Verdict)), c.Offline, text(c.Official), text(c.Kind), c.N); err != nil {
			return fmt.Errorf("hourly counts: %w", err)
		}
	}
	for _, l := range ro.Latencies {
		if err := addLatencies(ctx, tx, unix(l.Hour), text(l.Target), l.Values); err != nil {
			return err
		}
	}
	return nil
}

// addLatencies adds ds to the sketch of one target and hour, holding the
// row's lock from read to write.
func addLatencies(ctx context.Context, tx pgx.Tx, hour int64, target string, ds []time.Duration) error {
	if _, err := tx.Exec(ctx, `INSERT INTO monitor_hourly_latency (hour, target, sketch) VALUES ($1, $2, '') ON CONFLICT DO NOTHING`,
		hour, target); err != nil {
		return fmt.Errorf("hourly latency: %w", err)
	}
	var enc []byte
	if err := tx.QueryRow(ctx, `SELECT sketch FROM monitor_hourly_latency WHERE hour = $1 AND target = $2 FOR UPDATE`,
		hour, target).Scan(&enc); err != nil {
		return fmt.Errorf("hourly latency: %w", err)
	}
	var s monitor.Sketch
	if len(enc) > 0 {
		// A damaged sketch is started afresh rather than blocking the
		// history: only that hour's latency chart is affected.
		_ = s.UnmarshalBinary(enc)
	}
	for _, d := range ds {
		s.Add(d)
	}
	enc, _ = s.AppendBinary(nil)
	if _, err := tx.Exec(ctx, `UPDATE monitor_hourly_latency SET sketch = $3 WHERE hour = $1 AND target = $2`, hour, target, enc); err != nil {
		return fmt.Errorf("hourly latency: %w", err)
	}
	return nil
}

// hourStart is the start of the clock hour of unix seconds s.
func hourStart(s int64) int64 { return s - s%3600 }

// nextHour is the first hour start at or after unix seconds s: where the
// rollups take over from the results in a window starting at s.
func nextHour(s int64) int64 {
	if s%3600 == 0 {
		return s
	}
	return hourStart(s) + 3600
}

// officialSQL is monitor.OfficialIndicator in SQL, for the results'
// official column.
const officialSQL = `(CASE WHEN official IS NULL THEN '' ELSE COALESCE(NULLIF(official->>'indicator', ''), 'unknown') END) COLLATE "C"`

// Counts implements monitor.Store: the hourly rollups of the whole hours
// from since on, and the results themselves for the rest of since's hour.
func (d *DB) Counts(ctx context.Context, since time.Time) ([]monitor.Count, error) {
	from := unix(since)
	rows, err := d.pool.Query(ctx, `SELECT hour, target, kind, verdict, offline, official, n::bigint FROM monitor_hourly WHERE hour >= $1
		UNION ALL
		SELECT checked_at - checked_at % 3600, target, MAX(kind), verdict, offline, `+officialSQL+`, COUNT(*)
			FROM monitor_results WHERE checked_at >= $2 AND checked_at < $1 GROUP BY 1, 2, 4, 5, 6
		ORDER BY 1, 2, 4, 5, 6`, nextHour(from), from)
	if err != nil {
		return nil, fmt.Errorf("read hourly counts: %w", explain(err))
	}
	var (
		out     []monitor.Count
		c       monitor.Count
		hour, n int64
		verdict string
	)
	_, err = pgx.ForEachRow(rows, []any{&hour, &c.Target, &c.Kind, &verdict, &c.Offline, &c.Official, &n}, func() error {
		c.Hour, c.Verdict, c.N = fromUnix(hour), cloudflare.Verdict(verdict), int(n)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read hourly counts: %w", explain(err))
	}
	return out, nil
}

// Latencies implements monitor.Store like Counts.
func (d *DB) Latencies(ctx context.Context, since time.Time) ([]monitor.HourLatency, error) {
	from := unix(since)
	// The part of since's hour first: it is the oldest.
	var out []monitor.HourLatency
	rows, err := d.pool.Query(ctx, `SELECT target, checked_at - checked_at % 3600, latency_us FROM monitor_results
		WHERE checked_at >= $1 AND checked_at < $2 AND status <> 0 AND latency_us > 0 AND NOT offline ORDER BY target`, from, nextHour(from))
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}
	var (
		target   string
		hour, us int64
	)
	_, err = pgx.ForEachRow(rows, []any{&target, &hour, &us}, func() error {
		if len(out) == 0 || out[len(out)-1].Target != target {
			out = append(out, monitor.HourLatency{Target: target, Hour: fromUnix(hour)})
		}
		out[len(out)-1].Sketch.Add(time.Duration(us) * time.Microsecond)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}

	rows, err = d.pool.Query(ctx, `SELECT hour, target, sketch FROM monitor_hourly_latency WHERE hour >= $1 ORDER BY hour, target`, nextHour(from))
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}
	var enc []byte
	_, err = pgx.ForEachRow(rows, []any{&hour, &target, &enc}, func() error {
		l := monitor.HourLatency{Target: target, Hour: fromUnix(hour)}
		if err := l.Sketch.UnmarshalBinary(enc); err != nil {
			return fmt.Errorf("read latencies of %s at %s: %w", target, l.Hour.Format(time.RFC3339), err)
		}
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}
	return out, nil
}

const resultColumns = `target, kind, verdict, code, status, latency_us, ray_id, data_center, detail, offline, official, checked_at,
	egress_colo, egress_country`

// LatestResults implements monitor.Store: up to n results, newest first.
func (d *DB) LatestResults(ctx context.Context, target string, n int) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE target = $1 ORDER BY checked_at DESC, id DESC LIMIT $2`, text(target), n)
}

// ResultsSince implements monitor.Store: oldest first.
func (d *DB) ResultsSince(ctx context.Context, since time.Time) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE checked_at >= $1 ORDER BY checked_at, id`, unix(since))
}

// TargetResults implements monitor.Store: oldest first.
func (d *DB) TargetResults(ctx context.Context, target string, from, to time.Time) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE target = $1 AND checked_at >= $2 AND checked_at < $3
		ORDER BY checked_at, id`, text(target), unix(from), unix(to))
}

func (d *DB) results(ctx context.Context, query string, args ...any) ([]monitor.Result, error) {
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", explain(err))
	}
	var (
		out         []monitor.Result
		r           monitor.Result
		verdict     string
		latency, at int64
		official    []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&r.Target, &r.Kind, &verdict, &r.Code, &r.Status, &latency, &r.RayID, &r.DataCenter,
		&r.Detail, &r.Offline, &official, &at, &r.EgressDataCenter, &r.EgressCountry}, func() error {
		res := r
		res.Verdict, res.Latency, res.CheckedAt = cloudflare.Verdict(verdict), time.Duration(latency)*time.Microsecond, fromUnix(at)
		if official != nil {
			o, err := decodeOfficial(official)
			if err != nil {
				return err
			}
			res.Official = o
		}
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read results: %w", explain(err))
	}
	return out, nil
}

// PruneResults deletes results checked before cutoff, the hourly rollups
// of the hours that ended by then, and incidents that ended before it
// (their notice references go with them, by the foreign key). It returns
// how many results it deleted.
func (d *DB) PruneResults(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := d.prune(ctx, "results", `DELETE FROM monitor_results WHERE checked_at < $1`, unix(cutoff))
	if err != nil {
		return 0, err
	}
	lastHour := unix(cutoff) - 3600 // hours starting after it have not ended by the cutoff
	for _, table := range []string{"monitor_hourly", "monitor_hourly_latency"} {
		if _, err := d.prune(ctx, table, `DELETE FROM `+table+` WHERE hour <= $1`, lastHour); err != nil {
			return 0, err
		}
	}
	if _, err := d.prune(ctx, "incidents", `DELETE FROM monitor_incidents WHERE ended_at IS NOT NULL AND ended_at < $1`, unix(cutoff)); err != nil {
		return 0, err
	}
	return n, nil
}

// PruneAlertStates forgets the alert state of every target not in keep
// (targets removed from the configuration); it keeps those that still
// point at an open incident, whose resolution needs them.
func (d *DB) PruneAlertStates(ctx context.Context, keep []string) (int64, error) {
	names := make([]string, 0, len(keep)) // never nil: <> ALL (NULL) matches nothing
	for _, k := range keep {
		names = append(names, text(k))
	}
	return d.prune(ctx, "alert states", `DELETE FROM monitor_targets WHERE target <> ALL ($1::text[])
		AND (incident = '' OR incident NOT IN (SELECT id FROM monitor_incidents WHERE ended_at IS NULL))`, names)
}

// AlertState implements monitor.Store.
func (d *DB) AlertState(ctx context.Context) ([]monitor.TargetState, error) {
	rows, err := d.pool.Query(ctx, `SELECT target, verdict, since, failures, successes, kind, failing_since, incident
		FROM monitor_targets ORDER BY target`)
	if err != nil {
		return nil, fmt.Errorf("read alert state: %w", explain(err))
	}
	var (
		out            []monitor.TargetState
		s              monitor.TargetState
		verdict, kind  string
		since, failing int64
	)
	_, err = pgx.ForEachRow(rows, []any{&s.Target, &verdict, &since, &s.Failures, &s.Successes, &kind, &failing, &s.Incident}, func() error {
		s.Verdict, s.Kind, s.Since, s.FailingSince = cloudflare.Verdict(verdict), monitor.Kind(kind), optTime(since), optTime(failing)
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read alert state: %w", explain(err))
	}
	return out, nil
}

// SaveAlertState implements monitor.Store in one transaction, so a crash
// never leaves a target pointing at an incident that was not saved, nor
// an incident saved without its notices.
func (d *DB) SaveAlertState(ctx context.Context, states []monitor.TargetState, incidents []monitor.Incident, notices ...delivery.Outbound) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// Incidents first: targets refer to them. An upsert keeps the
		// incident's notice references (a delete would cascade to them).
		for _, in := range incidents {
			targets, err := jsonb(textAll(in.Targets))
			if err != nil {
				return fmt.Errorf("save incident: %w", err)
			}
			var ended *int64
			if !in.Open() {
				e := unix(in.Ended)
				ended = &e
			}
			if _, err := tx.Exec(ctx, `INSERT INTO monitor_incidents (id, kind, targets, started_at, notified_at, ended_at, opened, seen)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, targets = excluded.targets, started_at = excluded.started_at,
					notified_at = excluded.notified_at, ended_at = excluded.ended_at, opened = excluded.opened, seen = excluded.seen`,
				text(in.ID), text(string(in.Kind)), targets, unix(in.Started), unix(in.Notified), ended, int16(in.Opened), int16(in.Seen)); err != nil {
				return fmt.Errorf("save incident: %w", err)
			}
		}
		for _, s := range states {
			if _, err := tx.Exec(ctx, `INSERT INTO monitor_targets (target, verdict, since, failures, successes, kind, failing_since, incident)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (target) DO UPDATE SET verdict = excluded.verdict, since = excluded.since, failures = excluded.failures,
					successes = excluded.successes, kind = excluded.kind, failing_since = excluded.failing_since, incident = excluded.incident`,
				text(s.Target), text(string(s.Verdict)), optUnix(s.Since), s.Failures, s.Successes, text(string(s.Kind)), optUnix(s.FailingSince), text(s.Incident)); err != nil {
				return fmt.Errorf("save target state: %w", err)
			}
		}
		return enqueue(ctx, tx, notices)
	})
	if err != nil {
		return fmt.Errorf("save alert state: %w", explain(err))
	}
	return nil
}

// Incidents implements monitor.Store: open ones and those that ended at
// or after since, newest first.
func (d *DB) Incidents(ctx context.Context, since time.Time) ([]monitor.Incident, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, kind, targets, started_at, notified_at, ended_at, opened, seen FROM monitor_incidents
		WHERE ended_at IS NULL OR ended_at >= $1 ORDER BY started_at DESC, id DESC`, unix(since))
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", explain(err))
	}
	var (
		out               []monitor.Incident
		id, kind          string
		targets           []byte
		started, notified int64
		ended             *int64
		opened, seen      int16
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &kind, &targets, &started, &notified, &ended, &opened, &seen}, func() error {
		inc := monitor.Incident{ID: id, Kind: monitor.Kind(kind), Started: fromUnix(started), Notified: fromUnix(notified),
			Opened: monitor.Situation(opened), Seen: monitor.Situation(seen)}
		if ended != nil {
			inc.Ended = fromUnix(*ended)
		}
		if err := json.Unmarshal(targets, &inc.Targets); err != nil {
			return fmt.Errorf("decode incident %s targets: %w", inc.ID, err)
		}
		out = append(out, inc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", explain(err))
	}
	return out, nil
}

// SaveNoticeRef implements monitor.Store.
func (d *DB) SaveNoticeRef(ctx context.Context, incident, platform, channel, ref string) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO monitor_notices (incident, platform, channel, ref) VALUES ($1, $2, $3, $4)
		ON CONFLICT (incident, platform, channel) DO UPDATE SET ref = excluded.ref`, text(incident), text(platform), text(channel), text(ref))
	if err != nil {
		return fmt.Errorf("save notice reference: %w", explain(err))
	}
	return nil
}

// NoticeRef implements monitor.Store: the saved ref, else the ref of
// the opening notice in the outbox once it was sent (monitor.OutboxRef).
func (d *DB) NoticeRef(ctx context.Context, incident, platform, channel string) (string, error) {
	var ref string
	err := d.pool.QueryRow(ctx, `SELECT ref FROM monitor_notices WHERE incident = $1 AND platform = $2 AND channel = $3`,
		text(incident), text(platform), text(channel)).Scan(&ref)
	if errors.Is(err, pgx.ErrNoRows) {
		return monitor.OutboxRef(ctx, d, incident, platform, channel)
	}
	if err != nil {
		return "", fmt.Errorf("read notice reference: %w", explain(err))
	}
	return ref, nil
}

// officialDoc is monitor.Official as stored: every field, unlike its
// `check --json` form.
type officialDoc struct {
	Indicator   string                   `json:"indicator"`
	Description string                   `json:"description,omitempty"`
	Components  map[string]string        `json:"components,omitempty"`
	Incidents   []monitor.StatusIncident `json:"incidents,omitempty"`
}

func encodeOfficial(o *monitor.Official) (*string, error) {
	if o == nil {
		return nil, nil
	}
	s, err := jsonb(officialDoc(*o))
	if err != nil {
		return nil, fmt.Errorf("encode official status: %w", err)
	}
	return &s, nil
}

func decodeOfficial(b []byte) (*monitor.Official, error) {
	var doc officialDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode official status: %w", err)
	}
	o := monitor.Official(doc)
	return &o, nil
}

func textAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return out
}

// optUnix stores the zero time as 0, so it reads back as zero.
func optUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return unix(t)
}

func optTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return fromUnix(s)
}
