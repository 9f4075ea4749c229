package sqlite_test

import (
	"cmp"
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// randomHistory is two days of rounds at irregular times with every kind
// of result the rollups must tell apart.
func randomHistory(start time.Time) [][]monitor.Result {
	rnd := rand.New(rand.NewPCG(7, 8))
	verdicts := []cloudflare.Verdict{cloudflare.Up, cloudflare.Up, cloudflare.Up, cloudflare.Blocked1020, cloudflare.OriginDown, cloudflare.Unreachable, cloudflare.Unexpected}
	var rounds [][]monitor.Result
	for at := start; at.Before(start.Add(48 * time.Hour)); at = at.Add(time.Duration(20+rnd.IntN(300)) * time.Second) {
		var rs []monitor.Result
		for _, target := range []string{"api", "web", "status"} {
			r := monitor.Result{Target: target, Kind: target, Verdict: verdicts[rnd.IntN(len(verdicts))], CheckedAt: at, Offline: rnd.IntN(20) == 0}
			if r.Verdict != cloudflare.Unreachable {
				r.Status, r.Latency = 200, time.Duration(rnd.Int64N(int64(2*time.Second)))
			}
			if target == "status" {
				switch rnd.IntN(4) {
				case 0:
				case 1:
					r.Official = &monitor.Official{Indicator: "major"}
				default:
					r.Official = &monitor.Official{Indicator: "none"}
				}
			}
			rs = append(rs, r)
		}
		rounds = append(rounds, rs)
	}
	return rounds
}

// countsOf tallies results the slow way.
func countsOf(rs []monitor.Result, since time.Time) []monitor.Count {
	var out []monitor.Count
	for _, r := range rs {
		if r.CheckedAt.Before(since.Truncate(time.Second)) {
			continue
		}
		c := monitor.Count{Target: r.Target, Kind: r.Kind, Hour: monitor.HourOf(r.CheckedAt), Verdict: r.Verdict, Offline: r.Offline, Official: monitor.OfficialIndicator(r)}
		i := slices.IndexFunc(out, func(o monitor.Count) bool { o.N = 0; return o == c })
		if i < 0 {
			out = append(out, c)
			i = len(out) - 1
		}
		out[i].N++
	}
	return out
}

func sortCounts(cs []monitor.Count) {
	slices.SortFunc(cs, func(a, b monitor.Count) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Verdict, b.Verdict),
			cmp.Compare(boolN(a.Offline), boolN(b.Offline)), cmp.Compare(a.Official, b.Official))
	})
}

func boolN(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRollupsAgreeWithResults: for windows starting on and between
// hours, the counts and latency percentiles read from the rollups are
// those of the raw results in the window.
func TestRollupsAgreeWithResults(t *testing.T) {
	ctx := context.Background()
	db := openMonitorDB(t)
	start := time.Date(2026, 3, 8, 10, 17, 3, 0, time.UTC)
	var all []monitor.Result
	for _, rs := range randomHistory(start) {
		if err := db.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	for _, since := range []time.Time{start.Add(-time.Hour), start.Add(5 * time.Hour).Truncate(time.Hour), start.Add(30*time.Hour + 1234*time.Second), start.Add(47*time.Hour + 59*time.Minute)} {
		got, err := db.Counts(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		want := countsOf(all, since)
		sortCounts(want)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("Counts(%v) (-want +got):\n%s", since, diff)
		}

		lats, err := db.Latencies(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{"api", "web", "status"} {
			var fromRollups, fromResults monitor.Sketch
			for _, l := range lats {
				if l.Target == target {
					fromRollups.Merge(l.Sketch)
				}
			}
			for _, r := range all {
				if r.Target == target && r.Timed() && !r.CheckedAt.Before(since) {
					fromResults.Add(r.Latency)
				}
			}
			if fromRollups.Count() != fromResults.Count() || fromRollups.Count() == 0 && !since.After(start.Add(47*time.Hour)) {
				t.Errorf("%s since %v: %d latencies in the rollups, %d results", target, since, fromRollups.Count(), fromResults.Count())
			}
			for _, q := range []float64{0.5, 0.95} {
				if a, b := fromRollups.Quantile(q), fromResults.Quantile(q); a != b {
					t.Errorf("%s since %v: p%v %v from the rollups, %v from the results", target, since, 100*q, a, b)
				}
			}
		}
	}
}

// TestRollupsOfAnUpgradedDatabase: a database whose history was recorded
// before the rollups existed gets them from its migration.
func TestRollupsOfAnUpgradedDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 8, 10, 17, 3, 0, time.UTC)
	var all []monitor.Result
	for _, rs := range randomHistory(start) {
		if err := db.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	db.Close()
	// Back to the schema before the rollups.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TABLE monitor_hourly`, `DROP TABLE monitor_hourly_latency`, `DELETE FROM migrations WHERE name = 'migration/0004_rollups.sql'`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Counts(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	want := countsOf(all, start)
	sortCounts(want)
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("counts after the upgrade (-want +got):\n%s", diff)
	}
	lats, err := db.Latencies(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range lats {
		n += l.Sketch.Count()
	}
	timed := 0
	for _, r := range all {
		if r.Timed() {
			timed++
		}
	}
	if n != timed {
		t.Errorf("%d latencies in the rollups after the upgrade, want %d", n, timed)
	}
}

// TestPruneResultsPrunesRollups: rollups go with the results, by whole
// hours.
func TestPruneResultsPrunesRollups(t *testing.T) {
	ctx := context.Background()
	db := openMonitorDB(t)
	start := time.Date(2026, 3, 8, 10, 17, 3, 0, time.UTC)
	for _, rs := range randomHistory(start) {
		if err := db.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := start.Add(24*time.Hour + 30*time.Minute) // 10:47 the next day
	if _, err := db.PruneResults(ctx, cutoff); err != nil {
		t.Fatal(err)
	}
	counts, err := db.Counts(ctx, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if first := counts[0].Hour; !first.Equal(cutoff.Truncate(time.Hour)) {
		t.Errorf("oldest rollup after pruning at %v is of %v, want the cutoff's hour", cutoff, first)
	}
	lats, err := db.Latencies(ctx, start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if first := lats[0].Hour; !first.Equal(cutoff.Truncate(time.Hour)) {
		t.Errorf("oldest latency rollup after pruning at %v is of %v", cutoff, first)
	}
}
