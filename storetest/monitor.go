package storetest

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

var t0 = time.Date(2025, 9, 2, 8, 0, 0, 0, time.UTC)

// Monitor: results read back as recorded (the official status and where
// our traffic reached Cloudflare included);
// alert state and incidents save and load, notice references survive
// later saves; notices join the outbox with the state that made them,
// and an opening notice's ref is found there once it was sent; pruning keeps open incidents and their threads; text
// from outside that a database may refuse (NUL, invalid UTF-8) never
// fails a write.
func Monitor(t *testing.T, open Open) {
	t.Run("Results", func(t *testing.T) { monitorResults(t, open) })
	t.Run("AlertState", func(t *testing.T) { monitorAlertState(t, open) })
	t.Run("Notices", func(t *testing.T) { monitorNotices(t, open) })
	t.Run("Prune", func(t *testing.T) { monitorPrune(t, open) })
	t.Run("OddText", func(t *testing.T) { monitorOddText(t, open) })
}

func monitorResults(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	official := &monitor.Official{
		Indicator: "major", Description: "Partial System Outage",
		Components: map[string]string{"ChatGPT": "partial_outage", "APIs": "operational"},
		Incidents:  []monitor.StatusIncident{{Name: "Elevated errors", Impact: "major", Link: "https://stspg.io/x"}},
	}
	round1 := []monitor.Result{
		{Target: "api", Kind: "api", Verdict: cloudflare.Up, Status: 401, Latency: 83400 * time.Microsecond, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "front door", CheckedAt: t0,
			EgressDataCenter: "FRA", EgressCountry: "DE"},
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
	if diff := gocmp.Diff([]monitor.Result{round2[0], round1[0]}, got); diff != "" {
		t.Errorf("LatestResults (-want +got):\n%s", diff)
	}
	got, err = db.LatestResults(ctx, "status", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]monitor.Result{round1[2]}, got); diff != "" {
		t.Errorf("status result keeps the official state (-want +got):\n%s", diff)
	}
	got, err = db.ResultsSince(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(round2, got); diff != "" {
		t.Errorf("ResultsSince (-want +got):\n%s", diff)
	}
	got, err = db.ResultsSince(ctx, t0)
	if err != nil || len(got) != 4 || got[0].Target != "api" || got[3].CheckedAt != round2[0].CheckedAt {
		t.Errorf("ResultsSince(t0) = %d results (%v), want all 4 oldest first", len(got), err)
	}
	got, err = db.TargetResults(ctx, "api", t0, t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(round1[:1], got); diff != "" {
		t.Errorf("TargetResults, end excluded (-want +got):\n%s", diff)
	}
}

func monitorAlertState(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	// What an incident showed is kept: its titles are worded for it.
	open_ := monitor.Incident{ID: "blocked-1", Kind: monitor.KindBlocked, Targets: []string{"web"}, Started: t0, Notified: t0.Add(10 * time.Minute),
		Opened: monitor.SituationOwnNetwork, Seen: monitor.SituationOwnNetwork | monitor.SituationCloudflare}
	old := monitor.Incident{ID: "down-0", Kind: monitor.KindDown, Targets: []string{"api", "web"}, Started: t0.Add(-48 * time.Hour), Notified: t0.Add(-48 * time.Hour), Ended: t0.Add(-47 * time.Hour)}
	recent := monitor.Incident{ID: "down-1", Kind: monitor.KindDown, Targets: []string{"api"}, Started: t0.Add(-3 * time.Hour), Notified: t0.Add(-3 * time.Hour), Ended: t0.Add(-2 * time.Hour),
		Opened: monitor.SituationDown | monitor.SituationOwnNetwork, Seen: monitor.SituationDown | monitor.SituationOwnNetwork | monitor.SituationRateLimited}
	states := []monitor.TargetState{
		{Target: "web", Verdict: cloudflare.Blocked1020, Since: t0, Failures: 4, Kind: monitor.KindBlocked, FailingSince: t0, Incident: "blocked-1"},
		{Target: "api", Verdict: cloudflare.Up, Since: t0.Add(-2 * time.Hour), Successes: 30},
	}
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{open_, old, recent}); err != nil {
		t.Fatal(err)
	}
	gotStates, err := db.AlertState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]monitor.TargetState{states[1], states[0]}, gotStates); diff != "" {
		t.Errorf("AlertState (-want +got):\n%s", diff)
	}
	got, err := db.Incidents(ctx, t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]monitor.Incident{open_, recent}, got); diff != "" {
		t.Errorf("Incidents, open and recent (-want +got):\n%s", diff)
	}

	// The thread reference survives later saves of the same incident
	// (an upsert, not a replace that would cascade to it).
	if err := db.SaveNoticeRef(ctx, "blocked-1", "slack", "C1", "1725264000.000100"); err != nil {
		t.Fatal(err)
	}
	open_.Targets = append(open_.Targets, "api")
	open_.Ended = t0.Add(time.Hour)
	states[0].Incident, states[0].Failures = "", 0
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{open_}); err != nil {
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
	if diff := gocmp.Diff([]monitor.Incident{open_, recent}, got); diff != "" {
		t.Errorf("Incidents after resolving (-want +got):\n%s", diff)
	}

	// Targets no longer configured are forgotten, unless an open
	// incident still needs them.
	states = append(states, monitor.TargetState{Target: "gone", Verdict: cloudflare.Up}, monitor.TargetState{Target: "gone-open", Incident: "down-2"})
	down2 := monitor.Incident{ID: "down-2", Kind: monitor.KindDown, Targets: []string{"gone-open"}, Started: t0, Notified: t0}
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{down2}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneAlertStates(ctx, []string{"web", "api"}); err != nil || n != 1 {
		t.Errorf("PruneAlertStates = %d, %v; want 1", n, err)
	}
	gotStates, _ = db.AlertState(ctx)
	var names []string
	for _, s := range gotStates {
		names = append(names, s.Target)
	}
	if diff := gocmp.Diff([]string{"api", "gone-open", "web"}, names); diff != "" {
		t.Errorf("targets after pruning (-want +got):\n%s", diff)
	}
	if n, err := db.PruneAlertStates(ctx, nil); err != nil || n != 2 {
		t.Errorf("PruneAlertStates(none configured) = %d, %v; want 2", n, err)
	}
}

func monitorPrune(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	var rs []monitor.Result
	for i := range 5 {
		rs = append(rs, monitor.Result{Target: "api", Kind: "api", Verdict: cloudflare.Up, CheckedAt: t0.Add(time.Duration(i) * 24 * time.Hour)})
	}
	if err := db.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	ended := monitor.Incident{ID: "down-0", Kind: monitor.KindDown, Targets: []string{"api"}, Started: t0, Notified: t0, Ended: t0.Add(time.Hour)}
	open_ := monitor.Incident{ID: "blocked-0", Kind: monitor.KindBlocked, Targets: []string{"web"}, Started: t0, Notified: t0}
	if err := db.SaveAlertState(ctx, nil, []monitor.Incident{ended, open_}); err != nil {
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

// monitorOddText: a probe's detail and a status page's incident name come
// from outside; a NUL byte or invalid UTF-8 in them is stored (possibly
// replaced) rather than failing the round.
func monitorOddText(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	odd := "bad\x00byte \xff end"
	r := monitor.Result{Target: "status", Kind: "status", Verdict: cloudflare.Up, Status: 200, Detail: odd, CheckedAt: t0,
		Official: &monitor.Official{Indicator: "minor", Incidents: []monitor.StatusIncident{{Name: odd}}}}
	if err := db.RecordResults(ctx, []monitor.Result{r}); err != nil {
		t.Fatalf("a result with a NUL byte and invalid UTF-8: %v", err)
	}
	got, err := db.LatestResults(ctx, "status", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("read back: %v, %v", got, err)
	}
	if !strings.HasPrefix(got[0].Detail, "bad") || !strings.HasSuffix(got[0].Detail, " end") || got[0].Official == nil || got[0].Official.Indicator != "minor" {
		t.Errorf("read back %+v", got[0])
	}
	if err := db.SaveNoticeRef(ctx, "x\x00", "slack", "C\xff", "ts"); err == nil {
		// No incident "x\x00": a foreign key may refuse it; what matters
		// is that the store answers rather than hangs or panics.
		_, _ = db.NoticeRef(ctx, "x\x00", "slack", "C\xff")
	}
}

// RandomHistory is two days of rounds from start at irregular times,
// with every kind of result the rollups must tell apart.
func RandomHistory(start time.Time) [][]monitor.Result {
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

// WantCounts tallies rs from since the slow way, in the order Counts
// returns them.
func WantCounts(rs []monitor.Result, since time.Time) []monitor.Count {
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
	slices.SortFunc(out, func(a, b monitor.Count) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Verdict, b.Verdict),
			cmp.Compare(boolN(a.Offline), boolN(b.Offline)), cmp.Compare(a.Official, b.Official))
	})
	return out
}

func boolN(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Rollups: for windows starting on and between hours, the counts and
// latency percentiles read from the rollups are those of the raw results
// in the window; pruning removes rollups by whole hours.
func Rollups(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	start := time.Date(2026, 3, 8, 10, 17, 3, 0, time.UTC)
	var all []monitor.Result
	for _, rs := range RandomHistory(start) {
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
		if diff := gocmp.Diff(WantCounts(all, since), got); diff != "" {
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

func monitorNotices(t *testing.T, open Open) {
	ctx := context.Background()
	db, _ := openAt(t, open)
	inc := monitor.Incident{ID: "down-7", Kind: monitor.KindDown, Targets: []string{"api"}, Started: t0, Notified: t0}
	states := []monitor.TargetState{{Target: "api", Verdict: cloudflare.OriginError, Since: t0, Failures: 3, Kind: monitor.KindDown, FailingSince: t0, Incident: inc.ID}}
	key, _ := monitor.NoticeKey("slack", "C1", monitor.Notice{Incident: inc.ID, Phase: monitor.PhaseOpened})
	item := delivery.Outbound{Key: key, Platform: "slack", Lane: "C1", Kind: delivery.KindNotice, Body: []byte("ChatGPT is down"), Created: t0}
	if err := db.SaveAlertState(ctx, states, []monitor.Incident{inc}, item); err != nil {
		t.Fatal(err)
	}
	if st, _, err := db.Lookup(ctx, key); err != nil || st != delivery.Pending {
		t.Fatalf("opening notice in the outbox: %q, %v; want pending", st, err)
	}
	if ref, err := db.NoticeRef(ctx, inc.ID, "slack", "C1"); err != nil || ref != "" {
		t.Errorf("NoticeRef before the notice was sent = %q, %v; want none", ref, err)
	}
	out, ok, err := db.NextOut(ctx, delivery.Lane{Platform: "slack", Name: "C1"})
	if err != nil || !ok || out.Key != key {
		t.Fatalf("NextOut = %+v, %v, %v; want the opening notice", out, ok, err)
	}
	if err := db.Sent(ctx, out.Seq, "1725264000.000200"); err != nil {
		t.Fatal(err)
	}
	if ref, err := db.NoticeRef(ctx, inc.ID, "slack", "C1"); err != nil || ref != "1725264000.000200" {
		t.Errorf("NoticeRef after the notice was sent = %q, %v; want its ts from the outbox", ref, err)
	}
	if ref, err := db.NoticeRef(ctx, inc.ID, "slack", "C2"); err != nil || ref != "" {
		t.Errorf("NoticeRef in another channel = %q, %v; want none", ref, err)
	}
	// The same notice saved again (a retried save) is one item.
	if err := db.SaveAlertState(ctx, states, nil, item); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.NextOut(ctx, delivery.Lane{Platform: "slack", Name: "C1"}); err != nil || ok {
		t.Errorf("a second item pending after saving the same notice again: %v, %v", ok, err)
	}
	// Once found, the ref is kept with the incident: an incident may last
	// longer than the outbox keeps what it sent.
	if _, err := db.Prune(ctx, t0.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ref, err := db.NoticeRef(ctx, inc.ID, "slack", "C1"); err != nil || ref != "1725264000.000200" {
		t.Errorf("NoticeRef after the outbox was pruned = %q, %v; want the ts found before", ref, err)
	}
}
