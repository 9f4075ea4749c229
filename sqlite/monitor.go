package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

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
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record results: %w", explain(err))
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO monitor_results
		(target, kind, verdict, code, status, latency_us, ray_id, data_center, detail, offline, official, checked_at, egress_colo, egress_country)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("record results: %w", explain(err))
	}
	defer stmt.Close()
	for _, r := range rs {
		official, err := encodeOfficial(r.Official)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, r.Target, r.Kind, string(r.Verdict), r.Code, r.Status, r.Latency.Microseconds(),
			r.RayID, r.DataCenter, r.Detail, boolInt(r.Offline), official, unix(r.CheckedAt), r.EgressDataCenter, r.EgressCountry); err != nil {
			return fmt.Errorf("record results: %w", explain(err))
		}
	}
	if err := rollUp(ctx, tx, rs); err != nil {
		return fmt.Errorf("record results: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record results: %w", explain(err))
	}
	return nil
}

// rollUp adds rs to the hourly rollups: one upsert per distinct count
// and one read-modify-write per target and hour with latencies.
func rollUp(ctx context.Context, tx *sql.Tx, rs []monitor.Result) error {
	ro := monitor.RollupOf(rs)
	upsert, err := tx.PrepareContext(ctx, `INSERT INTO monitor_hourly (hour, target, verdict, offline, official, kind, n)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hour, target, verdict, offline, official) DO UPDATE SET n = n + excluded.n, kind = excluded.kind`)
	if err != nil {
		return fmt.Errorf("hourly counts: %w", explain(err))
	}
	defer upsert.Close()
	for _, c := range ro.Counts {
		if _, err := upsert.ExecContext(ctx, unix(c.Hour), c.Target, string(c.Verdict), boolInt(c.Offline), c.Official, c.Kind, c.N); err != nil {
			return fmt.Errorf("hourly counts: %w", explain(err))
		}
	}
	if len(ro.Latencies) == 0 {
		return nil
	}
	read, err := tx.PrepareContext(ctx, `SELECT sketch FROM monitor_hourly_latency WHERE hour = ? AND target = ?`)
	if err != nil {
		return fmt.Errorf("hourly latency: %w", explain(err))
	}
	defer read.Close()
	write, err := tx.PrepareContext(ctx, `INSERT INTO monitor_hourly_latency (hour, target, sketch) VALUES (?, ?, ?)
		ON CONFLICT (hour, target) DO UPDATE SET sketch = excluded.sketch`)
	if err != nil {
		return fmt.Errorf("hourly latency: %w", explain(err))
	}
	defer write.Close()
	for _, l := range ro.Latencies {
		if err := addLatencies(ctx, read, write, l); err != nil {
			return err
		}
	}
	return nil
}

// addLatencies adds ds to the sketch of one target and hour.
func addLatencies(ctx context.Context, read, write *sql.Stmt, l monitor.RollupLatencies) error {
	var (
		s   monitor.Sketch
		enc []byte
	)
	err := read.QueryRowContext(ctx, unix(l.Hour), l.Target).Scan(&enc)
	switch {
	case isNoRows(err):
	case err != nil:
		return fmt.Errorf("hourly latency: %w", explain(err))
	default:
		// A damaged sketch is started afresh rather than blocking the
		// history: only that hour's latency chart is affected.
		_ = s.UnmarshalBinary(enc)
	}
	for _, d := range l.Values {
		s.Add(d)
	}
	enc, _ = s.AppendBinary(enc[:0])
	if _, err := write.ExecContext(ctx, unix(l.Hour), l.Target, enc); err != nil {
		return fmt.Errorf("hourly latency: %w", explain(err))
	}
	return nil
}

// hourKey is one row of monitor_hourly_latency.
type hourKey struct {
	hour   int64
	target string
}

// backfillLatency builds the latency sketches of the history recorded
// before the rollups existed (migration 0004).
func backfillLatency(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT target, checked_at - checked_at % 3600, latency_us FROM monitor_results
		WHERE status != 0 AND latency_us > 0 AND offline = 0 ORDER BY target, checked_at`)
	if err != nil {
		return err
	}
	defer rows.Close()
	sketches := map[hourKey]*monitor.Sketch{}
	for rows.Next() {
		var (
			k  hourKey
			us int64
		)
		if err := rows.Scan(&k.target, &k.hour, &us); err != nil {
			return err
		}
		s := sketches[k]
		if s == nil {
			s = &monitor.Sketch{}
			sketches[k] = s
		}
		s.Add(time.Duration(us) * time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for k, s := range sketches {
		enc, _ := s.MarshalBinary()
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_hourly_latency (hour, target, sketch) VALUES (?, ?, ?)`, k.hour, k.target, enc); err != nil {
			return err
		}
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
const officialSQL = `CASE WHEN official IS NULL THEN '' ELSE COALESCE(NULLIF(json_extract(official, '$.indicator'), ''), 'unknown') END`

// Counts implements monitor.Store: the hourly rollups of the whole hours
// from since on, and the results themselves for the rest of since's hour.
func (d *DB) Counts(ctx context.Context, since time.Time) ([]monitor.Count, error) {
	from := unix(since)
	rows, err := d.db.QueryContext(ctx, `SELECT hour, target, kind, verdict, offline, official, n FROM monitor_hourly WHERE hour >= ?1
		UNION ALL
		SELECT checked_at - checked_at % 3600, target, MAX(kind), verdict, offline, `+officialSQL+`, COUNT(*)
			FROM monitor_results WHERE checked_at >= ?2 AND checked_at < ?1 GROUP BY 1, 2, 4, 5, 6
		ORDER BY 1, 2, 4, 5, 6`, nextHour(from), from)
	if err != nil {
		return nil, fmt.Errorf("read hourly counts: %w", explain(err))
	}
	defer rows.Close()
	var out []monitor.Count
	for rows.Next() {
		var (
			c          monitor.Count
			hour       int64
			verdict    string
			offline, n int
		)
		if err := rows.Scan(&hour, &c.Target, &c.Kind, &verdict, &offline, &c.Official, &n); err != nil {
			return nil, fmt.Errorf("read hourly counts: %w", err)
		}
		c.Hour, c.Verdict, c.Offline, c.N = fromUnix(hour), cloudflare.Verdict(verdict), offline != 0, n
		out = append(out, c)
	}
	return out, rows.Err()
}

// Latencies implements monitor.Store like Counts.
func (d *DB) Latencies(ctx context.Context, since time.Time) ([]monitor.HourLatency, error) {
	from := unix(since)
	// The part of since's hour first: it is the oldest.
	var out []monitor.HourLatency
	rows, err := d.db.QueryContext(ctx, `SELECT target, checked_at - checked_at % 3600, latency_us FROM monitor_results
		WHERE checked_at >= ? AND checked_at < ? AND status != 0 AND latency_us > 0 AND offline = 0 ORDER BY target`, from, nextHour(from))
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}
	for rows.Next() {
		var (
			target   string
			hour, us int64
		)
		if err := rows.Scan(&target, &hour, &us); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read latencies: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Target != target {
			out = append(out, monitor.HourLatency{Target: target, Hour: fromUnix(hour)})
		}
		out[len(out)-1].Sketch.Add(time.Duration(us) * time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("read latencies: %w", err)
	}
	rows.Close()

	rows, err = d.db.QueryContext(ctx, `SELECT hour, target, sketch FROM monitor_hourly_latency WHERE hour >= ? ORDER BY hour, target`, nextHour(from))
	if err != nil {
		return nil, fmt.Errorf("read latencies: %w", explain(err))
	}
	defer rows.Close()
	var enc []byte
	for rows.Next() {
		var (
			l    monitor.HourLatency
			hour int64
		)
		if err := rows.Scan(&hour, &l.Target, &enc); err != nil {
			return nil, fmt.Errorf("read latencies: %w", err)
		}
		if err := l.Sketch.UnmarshalBinary(enc); err != nil {
			return nil, fmt.Errorf("read latencies of %s at %s: %w", l.Target, fromUnix(hour).Format(time.RFC3339), err)
		}
		l.Hour = fromUnix(hour)
		out = append(out, l)
	}
	return out, rows.Err()
}

const resultColumns = `target, kind, verdict, code, status, latency_us, ray_id, data_center, detail, offline, official, checked_at,
	egress_colo, egress_country`

// LatestResults implements monitor.Store: up to n results, newest first.
func (d *DB) LatestResults(ctx context.Context, target string, n int) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE target = ? ORDER BY checked_at DESC, id DESC LIMIT ?`, target, n)
}

// ResultsSince implements monitor.Store: oldest first.
func (d *DB) ResultsSince(ctx context.Context, since time.Time) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE checked_at >= ? ORDER BY checked_at, id`, unix(since))
}

// TargetResults implements monitor.Store: oldest first.
func (d *DB) TargetResults(ctx context.Context, target string, from, to time.Time) ([]monitor.Result, error) {
	return d.results(ctx, `SELECT `+resultColumns+` FROM monitor_results WHERE target = ? AND checked_at >= ? AND checked_at < ?
		ORDER BY checked_at, id`, target, unix(from), unix(to))
}

func (d *DB) results(ctx context.Context, query string, args ...any) ([]monitor.Result, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", explain(err))
	}
	defer rows.Close()
	var out []monitor.Result
	for rows.Next() {
		var (
			r           monitor.Result
			verdict     string
			latency, at int64
			offline     int
			official    sql.NullString
		)
		if err := rows.Scan(&r.Target, &r.Kind, &verdict, &r.Code, &r.Status, &latency, &r.RayID, &r.DataCenter,
			&r.Detail, &offline, &official, &at, &r.EgressDataCenter, &r.EgressCountry); err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		r.Verdict, r.Latency, r.Offline, r.CheckedAt = cloudflare.Verdict(verdict), time.Duration(latency)*time.Microsecond, offline != 0, fromUnix(at)
		if official.Valid {
			if r.Official, err = decodeOfficial(official.String); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneResults deletes results checked before cutoff, the hourly rollups
// of the hours that ended by then, and incidents that ended before it
// (their notice references go with them, by the foreign key). It returns
// how many results it deleted.
func (d *DB) PruneResults(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM monitor_results WHERE checked_at < ?`, unix(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune results: %w", explain(err))
	}
	lastHour := unix(cutoff) - 3600 // hours starting after it have not ended by the cutoff
	for _, table := range []string{"monitor_hourly", "monitor_hourly_latency"} {
		if _, err := d.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE hour <= ?`, lastHour); err != nil {
			return 0, fmt.Errorf("prune %s: %w", table, explain(err))
		}
	}
	if _, err := d.db.ExecContext(ctx, `DELETE FROM monitor_incidents WHERE ended_at IS NOT NULL AND ended_at < ?`, unix(cutoff)); err != nil {
		return 0, fmt.Errorf("prune incidents: %w", explain(err))
	}
	return res.RowsAffected()
}

// PruneAlertStates forgets the alert state of every target not in keep
// (targets removed from the configuration); it keeps those that still
// point at an open incident, whose resolution needs them.
func (d *DB) PruneAlertStates(ctx context.Context, keep []string) (int64, error) {
	if keep == nil {
		keep = []string{} // json "null" would be one NULL value, and NOT IN (NULL) matches nothing
	}
	list, err := json.Marshal(keep)
	if err != nil {
		return 0, fmt.Errorf("prune alert states: %w", err)
	}
	res, err := d.db.ExecContext(ctx, `DELETE FROM monitor_targets WHERE target NOT IN (SELECT value FROM json_each(?))
		AND (incident = '' OR incident NOT IN (SELECT id FROM monitor_incidents WHERE ended_at IS NULL))`, string(list))
	if err != nil {
		return 0, fmt.Errorf("prune alert states: %w", explain(err))
	}
	return res.RowsAffected()
}

// AlertState implements monitor.Store.
func (d *DB) AlertState(ctx context.Context) ([]monitor.TargetState, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT target, verdict, since, failures, successes, kind, failing_since, incident
		FROM monitor_targets ORDER BY target`)
	if err != nil {
		return nil, fmt.Errorf("read alert state: %w", explain(err))
	}
	defer rows.Close()
	var out []monitor.TargetState
	for rows.Next() {
		var (
			s              monitor.TargetState
			verdict, kind  string
			since, failing int64
		)
		if err := rows.Scan(&s.Target, &verdict, &since, &s.Failures, &s.Successes, &kind, &failing, &s.Incident); err != nil {
			return nil, fmt.Errorf("read alert state: %w", err)
		}
		s.Verdict, s.Kind, s.Since, s.FailingSince = cloudflare.Verdict(verdict), monitor.Kind(kind), optTime(since), optTime(failing)
		out = append(out, s)
	}
	return out, rows.Err()
}

// SaveAlertState implements monitor.Store in one transaction, so a crash
// never leaves a target pointing at an incident that was not saved, nor
// an incident saved without its notices.
func (d *DB) SaveAlertState(ctx context.Context, states []monitor.TargetState, incidents []monitor.Incident, notices ...delivery.Outbound) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save alert state: %w", explain(err))
	}
	defer tx.Rollback()
	// Incidents first: targets refer to them. An upsert, not INSERT OR
	// REPLACE, which would delete the row and cascade to its notices.
	for _, in := range incidents {
		targets, err := json.Marshal(in.Targets)
		if err != nil {
			return fmt.Errorf("save incident: %w", err)
		}
		var ended any
		if !in.Open() {
			ended = unix(in.Ended)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_incidents (id, kind, targets, started_at, notified_at, ended_at, opened, seen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, targets = excluded.targets, started_at = excluded.started_at,
				notified_at = excluded.notified_at, ended_at = excluded.ended_at, opened = excluded.opened, seen = excluded.seen`,
			in.ID, string(in.Kind), string(targets), unix(in.Started), unix(in.Notified), ended, int(in.Opened), int(in.Seen)); err != nil {
			return fmt.Errorf("save incident: %w", explain(err))
		}
	}
	for _, s := range states {
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_targets (target, verdict, since, failures, successes, kind, failing_since, incident)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (target) DO UPDATE SET verdict = excluded.verdict, since = excluded.since, failures = excluded.failures,
				successes = excluded.successes, kind = excluded.kind, failing_since = excluded.failing_since, incident = excluded.incident`,
			s.Target, string(s.Verdict), optUnix(s.Since), s.Failures, s.Successes, string(s.Kind), optUnix(s.FailingSince), s.Incident); err != nil {
			return fmt.Errorf("save target state: %w", explain(err))
		}
	}
	if err := enqueue(ctx, tx, notices); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save alert state: %w", explain(err))
	}
	return nil
}

// Incidents implements monitor.Store: open ones and those that ended at
// or after since, newest first.
func (d *DB) Incidents(ctx context.Context, since time.Time) ([]monitor.Incident, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, kind, targets, started_at, notified_at, ended_at, opened, seen FROM monitor_incidents
		WHERE ended_at IS NULL OR ended_at >= ? ORDER BY started_at DESC, id DESC`, unix(since))
	if err != nil {
		return nil, fmt.Errorf("read incidents: %w", explain(err))
	}
	defer rows.Close()
	var out []monitor.Incident
	for rows.Next() {
		var (
			inc               monitor.Incident
			kind, targets     string
			started, notified int64
			ended             sql.NullInt64
			opened, seen      int
		)
		if err := rows.Scan(&inc.ID, &kind, &targets, &started, &notified, &ended, &opened, &seen); err != nil {
			return nil, fmt.Errorf("read incidents: %w", err)
		}
		inc.Kind, inc.Started, inc.Notified = monitor.Kind(kind), fromUnix(started), fromUnix(notified)
		inc.Opened, inc.Seen = monitor.Situation(opened), monitor.Situation(seen)
		if ended.Valid {
			inc.Ended = fromUnix(ended.Int64)
		}
		if err := json.Unmarshal([]byte(targets), &inc.Targets); err != nil {
			return nil, fmt.Errorf("decode incident %s targets: %w", inc.ID, err)
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// SaveNoticeRef implements monitor.Store.
func (d *DB) SaveNoticeRef(ctx context.Context, incident, platform, channel, ref string) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO monitor_notices (incident, platform, channel, ref) VALUES (?, ?, ?, ?)
		ON CONFLICT (incident, platform, channel) DO UPDATE SET ref = excluded.ref`, incident, platform, channel, ref)
	if err != nil {
		return fmt.Errorf("save notice reference: %w", explain(err))
	}
	return nil
}

// NoticeRef implements monitor.Store: the saved ref, else the ref of
// the opening notice in the outbox once it was sent (monitor.OutboxRef).
func (d *DB) NoticeRef(ctx context.Context, incident, platform, channel string) (string, error) {
	var ref string
	err := d.db.QueryRowContext(ctx, `SELECT ref FROM monitor_notices WHERE incident = ? AND platform = ? AND channel = ?`,
		incident, platform, channel).Scan(&ref)
	if isNoRows(err) {
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

func encodeOfficial(o *monitor.Official) (any, error) {
	if o == nil {
		return nil, nil
	}
	b, err := json.Marshal(officialDoc(*o))
	if err != nil {
		return nil, fmt.Errorf("encode official status: %w", err)
	}
	return string(b), nil
}

func decodeOfficial(s string) (*monitor.Official, error) {
	var doc officialDoc
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("decode official status: %w", err)
	}
	o := monitor.Official(doc)
	return &o, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
