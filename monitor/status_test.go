package monitor_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	termbot "gptaccess/adapters/console"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// clock is an injected clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestStatus(t *testing.T) {
	var webHits atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webHits.Add(1)
		w.Header().Set("Cf-Ray", "8a1b2c3d4e5f6789-FRA")
		w.WriteHeader(403)
		w.Write(readFixture(t, "cf:1020.html"))
	}))
	defer web.Close()
	api := serve(t, answer{401, cfHeaders(), readFixture(t, "api-401.json")})
	status := serve(t, answer{200, nil, readFixture(t, "summary-major.json")})

	clk := &clock{t: time.Date(2025, 9, 2, 8, 0, 0, 0, time.UTC)}
	m, err := monitor.New(monitor.Options{
		Targets: []monitor.Target{
			{Name: "api", Kind: monitor.TargetAPI, URL: api.URL},
			{Name: "web", Kind: monitor.TargetWeb, URL: web.URL},
			{Name: "status", Kind: monitor.TargetStatus, URL: status.URL},
		},
		Schedule: "@every 5m", Timezone: "UTC", Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	// No results yet: Status checks afresh.
	rep, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bot.StatusReport{Blocked: true, OfficialIncident: true, Text: rep.Text}, rep); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	want := `**ChatGPT is blocked from our network**
- api: up (HTTP 401, 0 ms), since 08:00 UTC
- web: blocked (Cloudflare error 1020) — Cloudflare error 1020: access denied by a firewall rule (HTTP 403, Ray ID 8a1b2c3d4e5f6789, data centre FRA, 0 ms), since 08:00 UTC
- status: up (HTTP 200, 0 ms), since 08:00 UTC
Official status: Partial System Outage (major); degraded: ChatGPT partial outage, Login partial outage; incidents: "Elevated errors on ChatGPT" (major) https://status.openai.com/incidents/01K4MAJOR
Checked at 08:00 UTC.`
	// Latencies vary; compare with them masked.
	if diff := cmp.Diff(want, maskLatency(rep.Text)); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}

	// Within the interval the latest results answer; after it, a fresh check.
	clk.Add(4 * time.Minute)
	if _, err := m.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := webHits.Load(); got != 1 {
		t.Errorf("web probed %d times within the interval, want 1", got)
	}
	clk.Add(2 * time.Minute)
	if _, err := m.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := webHits.Load(); got != 2 {
		t.Errorf("web probed %d times after the interval, want 2", got)
	}
}

// maskLatency writes every latency ("83 ms", "1.2 s") as "0 ms".
func maskLatency(s string) string {
	return latencyRE.ReplaceAllString(s, "0 ms")
}

var latencyRE = regexp.MustCompile(`\b[0-9.]+ m?s\b`)

func TestStatusDown(t *testing.T) {
	api := serve(t, answer{503, cfHeaders(), []byte("upstream connect error")})
	m, err := monitor.New(monitor.Options{Targets: []monitor.Target{{Name: "api", Kind: monitor.TargetAPI, URL: api.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Down || rep.Blocked || rep.OfficialIncident || !strings.Contains(rep.Text, "ChatGPT looks down from here") {
		t.Errorf("report %+v", rep)
	}
}

// TestRestartMidIncident: a new Monitor over the same database neither
// re-alerts the open incident nor forgets it; its recovery goes into the
// thread the first monitor opened.
func TestRestartMidIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {b20, b20, b20, b20, b20, up, up}}}
		rec := &recorder{platform: "slack"}
		first := newRig(t, s, db, rec)
		first.ticks(4)

		second := newRig(t, s, db, rec) // the restart
		rep, err := second.m.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(rep.Text, "Open alert: ChatGPT is blocked from our network since 00:00 UTC (web)") {
			t.Errorf("restarted monitor forgot the incident:\n%s", rep.Text)
		}
		second.ticks(3)
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindBlocked, "web", ""},
			{"C-ALERTS", monitor.PhaseResolved, monitor.KindBlocked, "web", "C-ALERTS-msg-1"},
		}
		got := rec.all()
		if diff := cmp.Diff(want, summarise(got)); diff != "" {
			t.Fatalf("notices (-want +got):\n%s", diff)
		}
		// Bad from minute 0; the status check at minute 20 used a scripted
		// result without moving the counters, so the good checks at 20
		// and 25 resolve it.
		if d := got[1].Notice.Duration; d != 25*time.Minute {
			t.Errorf("duration across the restart = %v, want 25m", d)
		}
	})
}

// TestEgressAfterRestart: where our traffic reaches Cloudflare is kept with
// the round's results, so a monitor started afresh on the same database (a
// restart, or a replica that does not lead) says it before any check of its
// own.
func TestEgressAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {up}}}
		first := newRig(t, s, db, nil)
		monitor.SetProbes(first.m, s.probe, func() monitor.Canary {
			return monitor.Canary{OK: true, Target: "https://www.cloudflare.com/cdn-cgi/trace", DataCenter: "FRA", Country: "DE", NameResolved: true}
		})
		monitor.Tick(first.ctx, first.m)

		second := newRig(t, s, db, nil) // the restart
		rep, ok := second.m.Latest(t.Context())
		if !ok {
			t.Fatal("no latest status from the saved results")
		}
		if !strings.Contains(rep.Text, "Our traffic reaches Cloudflare in FRA (DE).") {
			t.Errorf("the restarted monitor does not say where our traffic reaches Cloudflare:\n%s", rep.Text)
		}
	})
}

// console is the real terminal adapter as the monitor's notifier, reporting
// each notice it printed so the test can wait for it.
type console struct {
	term *termbot.Adapter
	out  *bottest.Buffer
	got  chan monitor.Notice
}

func (c *console) Platform() string { return c.term.Platform() }

func (c *console) Notify(ctx context.Context, channel string, n monitor.Notice) (string, error) {
	ref, err := c.term.Notify(ctx, channel, n)
	c.got <- n
	return ref, err
}

// TestDemonstration: real local targets flip from up to blocked by 1020
// and back; the team gets one alert, then one recovery.
func TestDemonstration(t *testing.T) {
	var blocked atomic.Bool
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "cloudflare")
		w.Header().Set("Cf-Ray", "8f2e6b1c9d0a4e37-AMS")
		if blocked.Load() {
			w.WriteHeader(403)
			w.Write(readFixture(t, "cf:1020.html"))
			return
		}
		w.Write([]byte("<!doctype html><title>ChatGPT</title>"))
	}))
	defer web.Close()
	api := serve(t, answer{401, cfHeaders(), readFixture(t, "api-401.json")})

	out := &bottest.Buffer{}
	term := &console{term: termbot.New(termbot.Options{Out: out}), out: out, got: make(chan monitor.Notice, 4)}
	m, err := monitor.New(monitor.Options{
		Targets: []monitor.Target{
			{Name: "api", Kind: monitor.TargetAPI, URL: api.URL},
			{Name: "web", Kind: monitor.TargetWeb, URL: web.URL},
		},
		Timezone: "UTC", Channels: map[string][]string{bot.Console: {"terminal"}}, Notifiers: []monitor.Notifier{term},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); monitor.WaitDeliveries(m) }()
	wait := func(phase monitor.Phase) monitor.Notice {
		t.Helper()
		select {
		case n := <-term.got:
			if n.Phase != phase {
				t.Fatalf("got %s notice %q, want %s", n.Phase, n.Title, phase)
			}
			return n
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s notice", phase)
		}
		return monitor.Notice{}
	}

	for _, b := range []bool{false, false, true, true, true} {
		blocked.Store(b)
		monitor.Tick(ctx, m)
	}
	opened := wait(monitor.PhaseOpened)
	for range 2 {
		blocked.Store(false)
		monitor.Tick(ctx, m)
	}
	resolved := wait(monitor.PhaseResolved)
	if opened.Title != "ChatGPT is blocked from our network" || resolved.Title != "ChatGPT was blocked from our network" {
		t.Errorf("titles %q, %q", opened.Title, resolved.Title)
	}
	transcript := out.String()
	for _, want := range []string{"[ALERT] ChatGPT is blocked from our network", "• web: Cloudflare error 1020", "Ray ID 8f2e6b1c9d0a4e37, data centre AMS", "[RECOVERED] ChatGPT was blocked from our network"} {
		if !strings.Contains(transcript, want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript)
		}
	}
	t.Logf("what the terminal showed:\n%s", transcript)
}

// TestLatestNeverProbes: the diagnosis asks Latest, which answers only from
// recent results and never runs a check itself.
func TestLatestNeverProbes(t *testing.T) {
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer api.Close()
	clk := &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	m, err := monitor.New(monitor.Options{Targets: []monitor.Target{{Name: "api", Kind: monitor.TargetAPI, URL: api.URL}}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Latest(t.Context()); ok || hits.Load() != 0 {
		t.Fatalf("no results yet: ok=%v, probes=%d; want false, 0", ok, hits.Load())
	}
	if _, err := m.Status(t.Context()); err != nil { // one real check
		t.Fatal(err)
	}
	rep, ok := m.Latest(t.Context())
	if !ok || !rep.Down || hits.Load() != 1 {
		t.Errorf("after a check: ok=%v down=%v probes=%d; want true, true, 1", ok, rep.Down, hits.Load())
	}
	clk.Add(31 * time.Minute)
	if _, ok := m.Latest(t.Context()); ok || hits.Load() != 1 {
		t.Errorf("stale results: ok=%v probes=%d; want false, 1", ok, hits.Load())
	}
}

// TestShutdownIsNoError: a check that starts as the program stops (the
// terminal's input ended) finds the database calls cancelled; that is not
// an error worth an ERROR line.
func TestShutdownIsNoError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var logs bytes.Buffer
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {up}}}
		r := newRig(t, s, db, nil, func(o *monitor.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		monitor.Tick(ctx, r.m)
		_, _ = r.m.Status(ctx)
		if strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("shutdown logged an error:\n%s", logs.String())
		}
	})
}
