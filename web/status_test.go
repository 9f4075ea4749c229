package web_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
	"gptaccess/web"
)

// now is the fixed clock of these tests: a whole second, as the store
// keeps unix seconds.
var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const every = 5 * time.Minute // the default schedule

func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkTime is the time of the k-th check before now: the newest (k = 0)
// 30 seconds ago, then one every 5 minutes. The last 24 hours hold k =
// 0…287, the last 7 days k = 0…2015.
func checkTime(k int) time.Time { return now.Add(-30*time.Second - time.Duration(k)*every) }

func page(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec.Code, rec.Body.String()
}

// TestStatusPageNumbers fills a real database with a week of known
// history and checks the numbers the page shows. It is kept whole, long
// as it is, because the comments on the history work out each figure that
// the checks below it expect.
func TestStatusPageNumbers(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var rs []monitor.Result
	for k := range 2016 {
		at := checkTime(k)
		// api: in the last 24 h every tenth check is blocked (1020), and
		// 8 checks ran while our own network was offline, which do not
		// count: 252 up of 280 = 90%. Before that, 200 origin-down
		// checks: 7 days = (252 + 1528) of 2008 = 88.6%.
		api := monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401,
			Latency: 80 * time.Millisecond, CheckedAt: at}
		switch {
		case k >= 100 && k < 108:
			api.Verdict, api.Status, api.Offline, api.Detail = cloudflare.Unreachable, 0, true, "timed out after 10s"
		case k < 288 && k%10 == 3:
			api.Verdict, api.Code, api.Status, api.RayID, api.DataCenter = cloudflare.Blocked1020, 1020, 403, "8a1b2c3d4e5f6789", "FRA"
		case k >= 1000 && k < 1200:
			api.Verdict, api.Code, api.Status = cloudflare.OriginDown, 522, 522
		}
		// web: blocked for the last 48 checks (4 hours): 24 h = 240 of
		// 288 = 83.3%, 7 days = 1968 of 2016 = 97.6%.
		webR := monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.Up, Status: 200,
			Latency: 150 * time.Millisecond, CheckedAt: at}
		if k < 48 {
			webR.Verdict, webR.Code, webR.Status, webR.Detail = cloudflare.Blocked1020, 1020, 403, "Cloudflare error 1020: access denied by a firewall rule"
			webR.RayID, webR.DataCenter = fmt.Sprintf("9c0ffee0%08x", k), "AMS"
		}
		// status: its JSON could not be read 20 times, 5 days ago:
		// 24 h = 100%, 7 days = 1996 of 2016 = 99%.
		st := monitor.Result{Target: "status", Kind: monitor.TargetStatus, Verdict: cloudflare.Up, Status: 200,
			Latency: 60 * time.Millisecond, CheckedAt: at, Official: &monitor.Official{Indicator: "none", Description: "All Systems Operational"}}
		switch {
		case k == 0:
			st.Official = &monitor.Official{Indicator: "minor", Description: "Partially Degraded Service",
				Components: map[string]string{"Login": "degraded_performance", "API": "operational"},
				Incidents:  []monitor.StatusIncident{{Name: "Elevated errors on Login", Impact: "minor", Link: "https://status.openai.com/incidents/01JABC"}}}
		case k >= 1440 && k < 1460:
			st.Verdict, st.Official, st.Detail = cloudflare.Unexpected, nil, "status unknown: the status page did not answer with its JSON"
		}
		rs = append(rs, api, webR, st)
	}
	if err := db.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	blockedSince := now.Add(-6 * time.Hour) // the alert state knows more than the week read
	err := db.SaveAlertState(ctx,
		[]monitor.TargetState{{Target: "web", Verdict: cloudflare.Blocked1020, Since: blockedSince, Failures: 48, Kind: monitor.KindBlocked, Incident: "blocked-1"}},
		[]monitor.Incident{
			{ID: "blocked-1", Kind: monitor.KindBlocked, Targets: []string{"web"}, Started: checkTime(47), Notified: checkTime(45)},
			{ID: "down-1", Kind: monitor.KindDown, Targets: []string{"api"}, Started: checkTime(1199), Notified: checkTime(1197), Ended: checkTime(1199).Add(100 * time.Minute)},
			{ID: "down-0", Kind: monitor.KindDown, Targets: []string{"api", "web"}, Started: now.Add(-10 * 24 * time.Hour), Notified: now.Add(-10 * 24 * time.Hour), Ended: now.Add(-9 * 24 * time.Hour)},
		})
	if err != nil {
		t.Fatal(err)
	}

	h := web.StatusPage(web.StatusOptions{
		Store: db, Targets: monitor.DefaultTargets(), Location: time.UTC,
		Now: func() time.Time { return now }, NextCheck: func() time.Time { return now.Add(4*time.Minute + 30*time.Second) },
	})
	start := time.Now()
	code, body := page(t, h)
	t.Logf("rendered a week of history (%d results) in %v", len(rs), time.Since(start))
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	doc := parseHTML(t, body)

	avail := map[string]string{}
	for _, e := range doc.all("data-window") {
		avail[e.attr["data-target"]+" "+e.attr["data-window"]] = e.text + " = " + e.attr["value"]
	}
	wantAvail := map[string]string{
		"api 24h":    "90% = 252/280",
		"api 7d":     "88.6% = 1780/2008",
		"web 24h":    "83.3% = 240/288",
		"web 7d":     "97.6% = 1968/2016",
		"status 24h": "100% = 288/288",
		"status 7d":  "99% = 1996/2016",
	}
	if diff := cmp.Diff(wantAvail, avail); diff != "" {
		t.Errorf("availability (-want +got):\n%s", diff)
	}

	verdicts := map[string]string{}
	for _, e := range doc.find("data-field", "verdict") {
		verdicts[e.attr["data-target"]] = e.text
	}
	wantVerdicts := map[string]string{"api": "Up", "web": "Blocked from our network (Cloudflare 1020)", "status": "Up"}
	if diff := cmp.Diff(wantVerdicts, verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	since := map[string]string{}
	for _, e := range doc.find("data-field", "since") {
		since[e.attr["data-target"]] = e.attr["datetime"]
	}
	wantSince := map[string]string{
		"api":    checkTime(2).Format(time.RFC3339), // after the blocked check k = 3, from the history
		"web":    blockedSince.Format(time.RFC3339), // from the alert state
		"status": checkTime(1439).Format(time.RFC3339),
	}
	if diff := cmp.Diff(wantSince, since); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}

	type incident struct{ State, Duration string }
	incidents := map[string]incident{}
	for _, e := range doc.all("data-incident") {
		d := e.child("data-field", "duration")
		if d == nil {
			t.Fatalf("incident %s has no duration", e.attr["data-incident"])
		}
		incidents[e.attr["data-incident"]] = incident{e.attr["data-state"], d.text}
	}
	wantIncidents := map[string]incident{
		"blocked-1": {"open", "3h 55m"}, // since k = 47: 30 s + 47 × 5 min ago
		"down-1":    {"resolved", "1h 40m"},
	}
	if diff := cmp.Diff(wantIncidents, incidents); diff != "" {
		t.Errorf("incidents (-want +got):\n%s", diff)
	}

	if o := doc.one(t, "data-field", "official"); o.attr["data-indicator"] != "minor" || o.text != "Partially Degraded Service" {
		t.Errorf("official status: %q %q", o.attr["data-indicator"], o.text)
	}
	links := doc.one(t, "data-field", "official-incidents").children("a")
	if len(links) != 1 || links[0].attr["href"] != "https://status.openai.com/incidents/01JABC" || links[0].text != "Elevated errors on Login" {
		t.Errorf("official incidents: %+v", links)
	}
	if !strings.Contains(body, "Login: degraded performance") {
		t.Error("the degraded component is not named")
	}
	if n := doc.one(t, "data-field", "next-check"); n.text != "12:04 UTC" || n.attr["datetime"] != "2026-03-10T12:04:30Z" {
		t.Errorf("next check: %q at %s", n.text, n.attr["datetime"])
	}
	if o := doc.one(t, "data-overall", "blocked"); o.text != "ChatGPT is blocked from our network" {
		t.Errorf("headline: %q", o.text)
	}
	// The Ray ID of the newest blocked check is evidence for IT.
	if !strings.Contains(body, "Ray ID 9c0ffee000000000, data centre AMS") {
		t.Error("no Ray ID shown for the blocked web target")
	}
	// Every target has a latency chart with a median line.
	for _, target := range []string{"api", "web", "status"} {
		card := doc.one(t, "data-target", target, "class", "card")
		if len(card.children("polyline")) == 0 {
			t.Errorf("%s: no latency line", target)
		}
		if got := len(card.children("rect")); got != 24 {
			t.Errorf("%s: %d hourly bars, want 24", target, got)
		}
	}
}

// TestStatusPageLatencyGaps: hours without checks are gaps in the
// latency line, and an hour with no neighbour is a dot.
func TestStatusPageLatencyGaps(t *testing.T) {
	db := openDB(t)
	dayStart := now.Add(-24 * time.Hour)
	var rs []monitor.Result
	for h := range 24 {
		if h >= 6 && h < 10 && h != 8 {
			continue
		}
		for m := range 12 {
			rs = append(rs, monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401,
				Latency: 80 * time.Millisecond, CheckedAt: dayStart.Add(time.Duration(h)*time.Hour + time.Duration(m)*every + time.Minute)})
		}
	}
	if err := db.RecordResults(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	h := web.StatusPage(web.StatusOptions{Store: db, Location: time.UTC, Now: func() time.Time { return now }})
	code, body := page(t, h)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	card := parseHTML(t, body).one(t, "data-target", "api", "class", "card")
	var lines []string
	for _, p := range card.children("polyline") {
		if p.attr["class"] == "p50" {
			lines = append(lines, p.attr["points"])
		}
	}
	if len(lines) != 2 || strings.Count(lines[0], ",") != 6 || strings.Count(lines[1], ",") != 14 {
		t.Errorf("median lines %q, want hours 0-5 and 10-23", lines)
	}
	if dots := card.children("circle"); len(dots) != 1 {
		t.Errorf("%d dots, want 1 (hour 8)", len(dots))
	}
	var labels []string
	for _, e := range card.children("text") {
		labels = append(labels, e.text)
	}
	want := []string{"0", "25 ms", "50 ms", "75 ms", "100 ms", "−24h", "−18h", "−12h", "−6h", "now"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("axis labels (-want +got):\n%s", diff)
	}
}

// TestStatusPageEmpty is a fresh install: no check has run yet, and the
// monitor is not running in this process.
func TestStatusPageEmpty(t *testing.T) {
	h := web.StatusPage(web.StatusOptions{
		Store: openDB(t), Targets: monitor.DefaultTargets(), Location: time.UTC,
		Now: func() time.Time { return now }, NextCheck: func() time.Time { return time.Time{} },
	})
	code, body := page(t, h)
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	doc := parseHTML(t, body)
	if e := doc.one(t, "data-field", "empty"); !strings.Contains(e.text, "No checks yet") {
		t.Errorf("empty notice: %q", e.text)
	}
	for _, e := range doc.find("data-field", "verdict") {
		if e.text != "No checks yet" {
			t.Errorf("%s: verdict %q", e.attr["data-target"], e.text)
		}
	}
	for _, e := range doc.all("data-window") {
		if e.text != "no checks" {
			t.Errorf("%s %s: availability %q", e.attr["data-target"], e.attr["data-window"], e.text)
		}
	}
	if n := doc.one(t, "data-field", "next-check"); !strings.Contains(n.text, "no check is scheduled") {
		t.Errorf("next check: %q", n.text)
	}
	doc.one(t, "data-field", "no-incidents")
	if o := doc.one(t, "data-field", "official"); o.attr["data-indicator"] != "unknown" {
		t.Errorf("official: %+v", o)
	}
	if strings.Contains(body, "polyline") {
		t.Error("a latency line without data")
	}
}

// failingStore fails the page's first query.
type failingStore struct {
	monitor.Store
}

func (failingStore) Counts(context.Context, time.Time) ([]monitor.Count, error) {
	return nil, errors.New("read results: database is locked (another process holds it) at /var/lib/gptaccess/secret.db")
}

func TestStatusPageStoreError(t *testing.T) {
	var logs bytes.Buffer
	h := web.StatusPage(web.StatusOptions{Store: failingStore{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	code, body := page(t, h)
	if code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", code)
	}
	if !strings.Contains(body, "The status page is unavailable right now") || !strings.Contains(body, "<!doctype html>") {
		t.Errorf("not the polite error page:\n%s", body)
	}
	if strings.Contains(body, "secret.db") || strings.Contains(body, "database is locked") {
		t.Error("the page shows the internal error")
	}
	if !strings.Contains(logs.String(), "database is locked") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the error was not logged: %s", logs.String())
	}
}

// TestStatusRoute mounts the page at exactly / on the bot's server.
func TestStatusRoute(t *testing.T) {
	srv := httptest.NewServer(web.Handler(web.Options{
		Status: web.StatusPage(web.StatusOptions{Store: openDB(t), Now: func() time.Time { return now }}),
		Logger: slog.New(slog.DiscardHandler),
	}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", 200},
		{"HEAD", "/", 200},
		{"GET", "/nope", 404},
		{"POST", "/", 405},
		{"GET", "/healthz", 200},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
		}
		if tc.path == "/" && tc.want == 200 {
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP %q allows fetching", csp)
			}
		}
	}
}

// fillHistory records days of plausible history at the default schedule
// for the three default targets: api mostly up with a short outage, web
// blocked by 1020 every afternoon, the status page up. It returns the
// number of results.
func fillHistory(tb testing.TB, db *sqlite.DB, days int) int {
	return fillHistoryEvery(tb, db, days, every)
}

// fillHistoryEvery is fillHistory at another schedule: one round every
// interval, the newest 30 seconds before now.
func fillHistoryEvery(tb testing.TB, db *sqlite.DB, days int, interval time.Duration) int {
	tb.Helper()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	checkAt := func(k int) time.Time { return now.Add(-30*time.Second - time.Duration(k)*interval) }
	perWeek := int(7 * 24 * time.Hour / interval)
	outage := int(time.Hour / interval) // an hour's outage every week
	n := days * 24 * int(time.Hour/interval)
	rs := make([]monitor.Result, 0, 3*min(n, 20000))
	var incidents []monitor.Incident
	total := 0
	flush := func() {
		if err := db.RecordResults(ctx, rs); err != nil {
			tb.Fatal(err)
		}
		total += len(rs)
		rs = rs[:0]
	}
	for k := n - 1; k >= 0; k-- {
		at := checkAt(k)
		jitter := func(base int) time.Duration {
			return time.Duration(base+rnd.IntN(base/2)+int(30*float64(base)/100*float64(at.Hour()%12)/12)) * time.Millisecond
		}
		api := monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401, Latency: jitter(90),
			RayID: fmt.Sprintf("%016x", rnd.Uint64()), DataCenter: "FRA", Detail: "API front door answers (401 invalid_request_error)", CheckedAt: at}
		if k%perWeek >= 700*perWeek/2016 && k%perWeek < 700*perWeek/2016+outage {
			api.Verdict, api.Code, api.Status, api.Detail = cloudflare.OriginDown, 522, 522, "Cloudflare cannot reach OpenAI's servers (error 522)"
		}
		w := monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.Up, Status: 200, Latency: jitter(180),
			RayID: fmt.Sprintf("%016x", rnd.Uint64()), DataCenter: "FRA", Detail: "HTTP 200", CheckedAt: at}
		if h := at.Hour(); h >= 14 && h < 16 || k < 30 {
			w.Verdict, w.Code, w.Status, w.Detail = cloudflare.Blocked1020, 1020, 403, "Cloudflare error 1020: access denied by a firewall rule"
		}
		st := monitor.Result{Target: "status", Kind: monitor.TargetStatus, Verdict: cloudflare.Up, Status: 200, Latency: jitter(60),
			Detail: "official status: none", CheckedAt: at,
			Official: &monitor.Official{Indicator: "none", Description: "All Systems Operational",
				Components: map[string]string{"APIs": "operational", "ChatGPT": "operational", "Login": "operational", "Sora": "operational"}}}
		if k == 0 {
			st.Detail = "official status: minor"
			st.Official = &monitor.Official{Indicator: "minor", Description: "Minor Service Outage",
				Components: map[string]string{"Login": "partial_outage", "APIs": "operational"},
				Incidents:  []monitor.StatusIncident{{Name: "Increased login errors for some users", Impact: "minor", Link: "https://status.openai.com/incidents/01JXYZ"}}}
		}
		if rnd.IntN(500) == 0 { // the odd check while our own network was down
			api.Offline, w.Offline, st.Offline = true, true, true
			api.Verdict, api.Status, api.Detail = cloudflare.Unreachable, 0, "timed out after 10s"
		}
		rs = append(rs, api, w, st)
		if len(rs) >= 20000 {
			flush()
		}
		if k%perWeek == 700*perWeek/2016+outage-1 {
			incidents = append(incidents, monitor.Incident{ID: fmt.Sprintf("down-%d", k), Kind: monitor.KindDown, Targets: []string{"api"},
				Started: checkAt(k + outage - 1), Notified: checkAt(k + outage - 3), Ended: checkAt(k - 2)})
		}
		if k == 27 {
			incidents = append(incidents, monitor.Incident{ID: "blocked-now", Kind: monitor.KindBlocked, Targets: []string{"web"},
				Started: checkAt(29), Notified: checkAt(27)})
		}
	}
	flush()
	states := []monitor.TargetState{
		{Target: "api", Verdict: cloudflare.Up, Since: checkAt(699 * perWeek / 2016), Successes: 500}, // after the last weekly outage
		{Target: "web", Verdict: cloudflare.Blocked1020, Since: checkAt(29), Failures: 30, Kind: monitor.KindBlocked, Incident: "blocked-now"},
		{Target: "status", Verdict: cloudflare.Up, Since: checkAt(n - 1), Successes: 500},
	}
	if err := db.SaveAlertState(ctx, states, incidents); err != nil {
		tb.Fatal(err)
	}
	return total
}

// BenchmarkStatusPage renders the page from 30 days of history for the
// three default targets, in a real database, at the shortest schedule
// (30 s) and the default one (5 min). Every request renders: the
// history's version changes each time, as after every check round.
func BenchmarkStatusPage(b *testing.B) {
	for _, interval := range []time.Duration{30 * time.Second, 5 * time.Minute} {
		b.Run(interval.String(), func(b *testing.B) {
			db := openDB(b)
			n := fillHistoryEvery(b, db, 30, interval)
			var version uint64
			h := web.StatusPage(web.StatusOptions{
				Store: db, Targets: monitor.DefaultTargets(), Location: time.UTC, Version: func() uint64 { return version },
				Now: func() time.Time { return now }, NextCheck: func() time.Time { return now.Add(4 * time.Minute) },
			})
			b.ReportMetric(float64(n), "results")
			b.ReportAllocs()
			for b.Loop() {
				version++
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkStatusPageCached is a request between two changes: the page
// comes from memory.
func BenchmarkStatusPageCached(b *testing.B) {
	db := openDB(b)
	fillHistoryEvery(b, db, 30, 30*time.Second)
	h := web.StatusPage(web.StatusOptions{Store: db, Targets: monitor.DefaultTargets(), Location: time.UTC, Now: func() time.Time { return now }})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

const chromiumPath = "/usr/bin/chromium"

// TestStatusPageInChromium renders the page in headless Chromium at a
// phone's width, light and dark, keeps the screenshots in
// testdata/artifacts/ and checks them, and checks the DOM Chromium built.
// Chromium only ever loads the test server's URL: the page has no
// external assets, its CSP forbids fetching, and host resolution is
// disabled for everything else. It is long because its browser helpers
// are closures over its one server and window size, and its last check
// compares the screenshots its subtests took.
func TestStatusPageInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found (apt-get install chromium): %v", chromiumPath, err)
	}
	if testing.Short() {
		t.Skip("runs a browser")
	}
	db := openDB(t)
	fillHistory(t, db, 8)
	srv := httptest.NewServer(web.StatusPage(web.StatusOptions{
		Store: db, Targets: monitor.DefaultTargets(), Location: time.UTC,
		Now: func() time.Time { return now }, NextCheck: func() time.Time { return now.Add(4 * time.Minute) },
	}))
	defer srv.Close()

	artifacts := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	const width, height = 390, 1200
	run := func(t *testing.T, extra ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		args := append([]string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-default-apps", "--disable-extensions", "--no-default-browser-check", "--hide-scrollbars",
			"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
			"--user-data-dir=" + t.TempDir(),
			fmt.Sprintf("--window-size=%d,%d", width, height),
		}, extra...)
		args = append(args, srv.URL+"/")
		cmd := exec.CommandContext(ctx, chromiumPath, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 2000))
		}
		return stdout.Bytes()
	}
	shoot := func(t *testing.T, name string, extra ...string) image.Image {
		path, err := filepath.Abs(filepath.Join(artifacts, name))
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(path)
		run(t, append(extra, "--screenshot="+path)...)
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		if w := img.Bounds().Dx(); w != width {
			t.Errorf("screenshot %s is %d px wide, want %d", name, w, width)
		}
		if colours := distinctColours(img, 10); colours < 10 {
			t.Errorf("screenshot %s has %d colours: blank?", name, colours)
		}
		t.Logf("screenshot: %s", path)
		return img
	}

	t.Run("dom", func(t *testing.T) {
		dom := string(run(t, "--dump-dom"))
		for _, want := range []string{`data-target="api"`, `data-target="web"`, `data-target="status"`, "<polyline", "ChatGPT is blocked from our network"} {
			if !strings.Contains(dom, want) {
				t.Errorf("rendered DOM lacks %q", want)
			}
		}
	})
	var light, dark image.Image
	t.Run("light", func(t *testing.T) { light = shoot(t, "status-390-light.png") })
	t.Run("dark", func(t *testing.T) {
		dark = shoot(t, "status-390-dark.png", "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
	})
	if light == nil || dark == nil {
		return
	}
	// The page background is near the bottom-left corner, under the
	// footer's text margin.
	lb, db2 := luminance(light.At(2, height-3)), luminance(dark.At(2, height-3))
	if lb < 0.8 || db2 > 0.2 {
		t.Errorf("background luminance: light %.2f, dark %.2f: prefers-color-scheme: dark not honoured", lb, db2)
	}
}

// distinctColours counts colours in img, stopping at limit.
func distinctColours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func luminance(c interface{ RGBA() (r, g, b, a uint32) }) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// elem is one element of a parsed page: its attributes and all the text
// inside it.
type elem struct {
	name  string
	attr  map[string]string
	text  string
	inner []*elem // every descendant
}

type document struct{ elems []*elem }

// parseHTML reads the page with encoding/xml in its lenient HTML mode,
// which is enough for markup we generate ourselves.
func parseHTML(t *testing.T, body string) document {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(body))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var doc document
	var stack []*elem
	var texts []*strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parsing the page: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &elem{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				name := a.Name.Local
				if a.Name.Space != "" {
					name = a.Name.Space + ":" + name
				}
				e.attr[name] = a.Value
			}
			for _, p := range stack {
				p.inner = append(p.inner, e)
			}
			doc.elems = append(doc.elems, e)
			stack = append(stack, e)
			texts = append(texts, &strings.Builder{})
		case xml.CharData:
			for _, b := range texts {
				b.Write(tok)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			i := len(stack) - 1
			stack[i].text = strings.Join(strings.Fields(texts[i].String()), " ")
			stack, texts = stack[:i], texts[:i]
		}
	}
	return doc
}

// find returns the elements having every attribute name=value pair.
func (d document) find(pairs ...string) []*elem { return match(d.elems, pairs) }

// all returns the elements having the attribute.
func (d document) all(attr string) []*elem {
	var out []*elem
	for _, e := range d.elems {
		if _, ok := e.attr[attr]; ok {
			out = append(out, e)
		}
	}
	return out
}

func (d document) one(t *testing.T, pairs ...string) *elem {
	t.Helper()
	es := d.find(pairs...)
	if len(es) != 1 {
		t.Fatalf("%d elements with %v, want 1", len(es), pairs)
	}
	return es[0]
}

func (e *elem) child(pairs ...string) *elem {
	if es := match(e.inner, pairs); len(es) > 0 {
		return es[0]
	}
	return nil
}

func (e *elem) children(name string) []*elem {
	var out []*elem
	for _, c := range e.inner {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func match(es []*elem, pairs []string) []*elem {
	var out []*elem
next:
	for _, e := range es {
		for i := 0; i+1 < len(pairs); i += 2 {
			if e.attr[pairs[i]] != pairs[i+1] {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}
