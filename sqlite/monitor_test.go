package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

func openMonitorDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2025, 9, 2, 8, 0, 0, 0, time.UTC)

func TestMonitorResults(t *testing.T) {
	ctx := context.Background()
	db := openMonitorDB(t)
	official := &monitor.Official{
		Indicator: "major", Description: "Partial System Outage",
		Components: map[string]string{"ChatGPT": "partial_outage", "APIs": "operational"},
		Incidents:  []monitor.StatusIncident{{Name: "Elevated errors", Impact: "major", Link: "https://stspg.io/x"}},
	}
	round1 := []monitor.Result{
		{Target: "api", Kind: "api", Verdict: cloudflare.Up, Status: 401, Latency: 83400 * time.Microsecond, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "front door", CheckedAt: t0},
		{Target: "web", Kind: "web", Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, Latency: time.Millisecond, Detail: "1020", CheckedAt: t0},
		{Target: "status", Kind: "status", Verdict: cloudflare.Up, Status: 200, Official: official, CheckedAt: t0},
	}
	round2 := []monitor.Result{
		{Target: "api", Kind: "api", Verdict: cloudflare.Unreachable, Detail: "refused", Offline: true, CheckedAt: t0.Add(5 * time.Minute)},
	}
	for _, rs := range [][]monitor.Result{round1, round2} {
		if err := db.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}

	got, err := db.LatestResults(ctx, "api", 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]monitor.Result{round2[0], round1[0]}, got); diff != "" {
		t.Errorf("LatestResults (-want +got):\n%s", diff)
	}
	got, err = db.LatestResults(ctx, "status", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]monitor.Result{round1[2]}, got); diff != "" {
		t.Errorf("status result keeps the official state (-want +got):\n%s", diff)
	}
	got, err = db.ResultsSince(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(round2, got); diff != "" {
		t.Errorf("ResultsSince (-want +got):\n%s", diff)
	}
	got, err = db.ResultsSince(ctx, t0)
	if err != nil || len(got) != 4 || got[0].Target != "api" || got[3].CheckedAt != round2[0].CheckedAt {
		t.Errorf("ResultsSince(t0) = %d results (%v), want all 4 oldest first", len(got), err)
	}
}

func TestMonitorAlertStateAndIncidents(t *testing.T) {
	ctx := context.Background()
	db := openMonitorDB(t)
	open := monitor.Incident{ID: "blocked-1", Kind: monitor.KindBlocked, Targets: []string{"web"}, Started: t0, Notified: t0.Add(10 * time.Minute)}
	old := monitor.Incident{ID: "down-0", Kind: monitor.KindDown, Targets: []string{"api", "web"}, Started: t0.Add(-48 * time.Hour), Notified: t0.Add(-48 * time.Hour), Ended: t0.Add(-47 * time.Hour)}
	recent := monitor.Incident{ID: "down-1", Kind: monitor.KindDown, Targets: []string{"api"}, Started: t0.Add(-3 * time.Hour), Notified: t0.Add(-3 * time.Hour), Ended: t0.Add(-2 * time.Hour)}
	states := []monitor.TargetState{
		{Target: "web", Verdict: cloudflare.Blocked1020, Since: t0, Failures: 4, Kind: monitor.KindBlocked, FailingSince: t0, Incident: "blocked-1"},
		{Target: "api", Verdict: cloudflare.Up, Since: t0.Add(-2 * time.Hour), Successes: 30},
	}
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{open, old, recent}); err != nil {
		t.Fatal(err)
	}

	gotStates, err := db.AlertState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]monitor.TargetState{states[1], states[0]}, gotStates); diff != "" {
		t.Errorf("AlertState (-want +got):\n%s", diff)
	}
	got, err := db.Incidents(ctx, t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]monitor.Incident{open, recent}, got); diff != "" {
		t.Errorf("Incidents, open and recent (-want +got):\n%s", diff)
	}

	// The thread reference survives later saves of the same incident
	// (an upsert, not a replace that would cascade to it).
	if err := db.SaveNoticeRef(ctx, "blocked-1", "slack", "C1", "1725264000.000100"); err != nil {
		t.Fatal(err)
	}
	open.Targets = append(open.Targets, "api")
	open.Ended = t0.Add(time.Hour)
	states[0].Incident, states[0].Failures = "", 0
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{open}); err != nil {
		t.Fatal(err)
	}
	ref, err := db.NoticeRef(ctx, "blocked-1", "slack", "C1")
	if err != nil || ref != "1725264000.000100" {
		t.Errorf("NoticeRef = %q, %v; want the saved ts", ref, err)
	}
	if ref, err := db.NoticeRef(ctx, "blocked-1", "discord", "C1"); err != nil || ref != "" {
		t.Errorf("NoticeRef of another platform = %q, %v; want none", ref, err)
	}
	got, err = db.Incidents(ctx, t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]monitor.Incident{open, recent}, got); diff != "" {
		t.Errorf("Incidents after resolving (-want +got):\n%s", diff)
	}
}

func TestMonitorPrune(t *testing.T) {
	ctx := context.Background()
	db := openMonitorDB(t)
	var rs []monitor.Result
	for i := range 5 {
		rs = append(rs, monitor.Result{Target: "api", Kind: "api", Verdict: cloudflare.Up, CheckedAt: t0.Add(time.Duration(i) * 24 * time.Hour)})
	}
	if err := db.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	ended := monitor.Incident{ID: "down-0", Kind: monitor.KindDown, Targets: []string{"api"}, Started: t0, Notified: t0, Ended: t0.Add(time.Hour)}
	open := monitor.Incident{ID: "blocked-0", Kind: monitor.KindBlocked, Targets: []string{"web"}, Started: t0, Notified: t0}
	if err := db.SaveAlertState(ctx, nil, []monitor.Incident{ended, open}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"down-0", "blocked-0"} {
		if err := db.SaveNoticeRef(ctx, id, "slack", "C1", "ts-"+id); err != nil {
			t.Fatal(err)
		}
	}

	n, err := db.PruneResults(ctx, t0.Add(2*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneResults = %d, %v; want 2", n, err)
	}
	left, err := db.ResultsSince(ctx, time.Time{})
	if err != nil || len(left) != 3 {
		t.Errorf("left %d results (%v), want 3", len(left), err)
	}
	// The ended incident and its thread go; the open one stays whatever
	// its age, since a restart must not forget it.
	incs, err := db.Incidents(ctx, time.Time{})
	if err != nil || len(incs) != 1 || incs[0].ID != "blocked-0" {
		t.Errorf("incidents after prune: %+v, %v", incs, err)
	}
	if ref, _ := db.NoticeRef(ctx, "down-0", "slack", "C1"); ref != "" {
		t.Errorf("pruned incident kept its thread %q", ref)
	}
	if ref, _ := db.NoticeRef(ctx, "blocked-0", "slack", "C1"); ref != "ts-blocked-0" {
		t.Errorf("open incident lost its thread: %q", ref)
	}
}
