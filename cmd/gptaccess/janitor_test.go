package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
	"gptaccess/cloudflare"
	"gptaccess/config"
	"gptaccess/delivery"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// TestPruneEnforcesEveryRetention fills every table the janitor looks
// after with a row past its retention and one within it; one pass keeps
// exactly the second.
func TestPruneEnforcesEveryRetention(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	cfg := config.Default()
	r := retentionOf(cfg) // outcomes 90 days, history 30 days
	fillAroundRetention(t, db, r, now)

	prune(ctx, db, r, now, slog.New(slog.DiscardHandler))

	db.Now = func() time.Time { return now }
	for key, want := range map[string]bool{"slack:event:old": true, "slack:event:new": false} {
		if added, err := db.Put(ctx, delivery.Inbound{ID: key, Platform: "slack", Lane: "C1", Received: now}); err != nil || added != want {
			t.Errorf("delivering %s again: added %v, %v; want %v", key, added, err, want)
		}
	}
	for key, want := range map[string]bool{"old": false, "new": true} {
		if _, found, err := db.Conversation(ctx, key); err != nil || found != want {
			t.Errorf("conversation %s kept: %v, %v; want %v", key, found, err, want)
		}
	}
	if s, err := db.Stats(ctx, time.Time{}); err != nil || s.Diagnoses != 1 {
		t.Errorf("outcomes kept: %d, %v; want 1", s.Diagnoses, err)
	}
	checkMonitorKept(t, db, r, now)
}

// retained names a time past a retention (old) and one within it
// (recent), an hour either side of the cut-off at now.
func retained(now time.Time) (old, recent func(time.Duration) time.Time) {
	return func(d time.Duration) time.Time { return now.Add(-d - time.Hour) }, func(d time.Duration) time.Time { return now.Add(-d + time.Hour) }
}

// fillAroundRetention writes to every table the janitor looks after a row
// past its retention r at now and one within it, and the alert state of
// a target gone from the configuration and of one gone but with an
// incident still open.
func fillAroundRetention(t *testing.T, db *sqlite.DB, r retention, now time.Time) {
	t.Helper()
	ctx := context.Background()
	old, recent := retained(now)
	for key, at := range map[string]time.Time{"slack:event:old": old(r.deliveries), "slack:event:new": recent(r.deliveries)} {
		if _, err := db.Put(ctx, delivery.Inbound{ID: key, Platform: "slack", Lane: "C1", Received: at}); err != nil {
			t.Fatal(err)
		}
		if err := db.Finish(ctx, key, delivery.Writes{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for key, at := range map[string]time.Time{"old": old(r.conversations), "new": recent(r.conversations)} {
		db.Now = func() time.Time { return at }
		if err := db.SaveConversation(ctx, &bot.Conversation{Key: key, ID: key}); err != nil {
			t.Fatal(err)
		}
	}
	for key, at := range map[string]time.Time{"old": old(r.outcomes), "new": recent(r.outcomes)} {
		if err := db.RecordOutcome(ctx, bot.Outcome{Key: key, Platform: "slack", Cause: "vpn-proxy", Resolved: "yes", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, at := range []time.Time{old(r.history), recent(r.history)} {
		if err := db.RecordResults(ctx, []monitor.Result{{Target: "api", Kind: "api", Verdict: cloudflare.Up, Status: 401, Latency: time.Millisecond, CheckedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	ended := monitor.Incident{ID: "down-old", Kind: monitor.KindDown, Targets: []string{"api"}, Started: old(r.history).Add(-time.Hour), Notified: old(r.history), Ended: old(r.history)}
	open := monitor.Incident{ID: "blocked-open", Kind: monitor.KindBlocked, Targets: []string{"gone-but-open"}, Started: old(r.history), Notified: old(r.history)}
	if err := db.SaveAlertState(ctx, []monitor.TargetState{
		{Target: "api", Verdict: cloudflare.Up, Since: now},
		{Target: "gone", Verdict: cloudflare.Up, Since: now},
		{Target: "gone-but-open", Verdict: cloudflare.Blocked1020, Since: now, Incident: "blocked-open"},
	}, []monitor.Incident{ended, open}); err != nil {
		t.Fatal(err)
	}
}

// checkMonitorKept: of the monitor's history only the recent result and
// its hour are left, of the incidents the open one, and of the alert
// states those of a configured target or of an open incident.
func checkMonitorKept(t *testing.T, db *sqlite.DB, r retention, now time.Time) {
	t.Helper()
	ctx := context.Background()
	_, recent := retained(now)
	if rs, err := db.ResultsSince(ctx, time.Time{}); err != nil || len(rs) != 1 || !rs[0].CheckedAt.Equal(recent(r.history)) {
		t.Errorf("results kept: %+v, %v; want the recent one", rs, err)
	}
	if cs, err := db.Counts(ctx, time.Time{}); err != nil || len(cs) != 1 || !cs[0].Hour.Equal(monitor.HourOf(recent(r.history))) {
		t.Errorf("hourly counts kept: %+v, %v; want the recent hour's", cs, err)
	}
	if ls, err := db.Latencies(ctx, time.Time{}); err != nil || len(ls) != 1 {
		t.Errorf("hourly latencies kept: %+v, %v; want the recent hour's", ls, err)
	}
	incs, err := db.Incidents(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range incs {
		ids = append(ids, in.ID)
	}
	if diff := cmp.Diff([]string{"blocked-open"}, ids); diff != "" {
		t.Errorf("incidents kept (-want +got):\n%s", diff)
	}
	states, err := db.AlertState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, st := range states {
		targets = append(targets, st.Target)
	}
	if diff := cmp.Diff([]string{"api", "gone-but-open"}, targets); diff != "" {
		t.Errorf("alert states kept (-want +got):\n%s", diff)
	}
}
