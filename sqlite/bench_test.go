package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// BenchmarkRecordResults records one round of the three default targets
// at a time, 30 s apart, into a file database (WAL, as in production):
// what each check round costs the store, history and rollups included.
// ns/result is the cost of one recorded result.
func BenchmarkRecordResults(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	round := func(i int) []monitor.Result {
		t := at.Add(time.Duration(i) * 30 * time.Second)
		lat := time.Duration(80+i%40) * time.Millisecond
		return []monitor.Result{
			{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401, Latency: lat, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "API front door answers", CheckedAt: t},
			{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, Latency: 2 * lat, RayID: "8a1b2c3d4e5f6780", DataCenter: "FRA", Detail: "Cloudflare error 1020", CheckedAt: t},
			{Target: "status", Kind: monitor.TargetStatus, Verdict: cloudflare.Up, Status: 200, Latency: lat / 2, Detail: "official status: none", CheckedAt: t,
				Official: &monitor.Official{Indicator: "none", Description: "All Systems Operational", Components: map[string]string{"APIs": "operational"}}},
		}
	}
	// A day of history first, so the indexes are not empty.
	for i := range 2880 {
		if err := db.RecordResults(ctx, round(i)); err != nil {
			b.Fatal(err)
		}
	}
	i := 2880
	b.ReportAllocs()
	for b.Loop() {
		if err := db.RecordResults(ctx, round(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(3*b.N), "ns/result")
}
