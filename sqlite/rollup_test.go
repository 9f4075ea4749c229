package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"gptaccess/monitor"
	"gptaccess/sqlite"
	"gptaccess/storetest"
)

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
	for _, rs := range storetest.RandomHistory(start) {
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
	want := storetest.WantCounts(all, start)
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
