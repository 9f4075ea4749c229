package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/web"
)

// TestStatusPageAgreesWithTheResults renders the page at a time between
// hours, so every window starts in the middle of an hour, from eight
// days of history at a 2-minute schedule, and checks each availability
// figure and each hourly bar against a count of the raw results.
func TestStatusPageAgreesWithTheResults(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	fillHistoryEvery(t, db, 8, 2*time.Minute)
	pageNow := now.Add(17*time.Minute + 23*time.Second)
	h := web.StatusPage(web.StatusOptions{Store: db, Targets: monitor.DefaultTargets(), Location: time.UTC, Now: func() time.Time { return pageNow }})
	code, body := page(t, h)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	doc := parseHTML(t, body)

	raw, err := db.ResultsSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	barsStart := pageNow.Truncate(time.Hour).Add(time.Hour - 24*time.Hour)
	want, got := map[string]string{}, map[string]string{}
	type tally struct{ up, n int }
	count := map[string]*tally{}
	add := func(key string, up bool) {
		if count[key] == nil {
			count[key] = &tally{}
		}
		count[key].n++
		if up {
			count[key].up++
		}
	}
	for _, r := range raw {
		if r.Offline {
			continue
		}
		up := r.Verdict == cloudflare.Up
		if !r.CheckedAt.Before(pageNow.Add(-7 * 24 * time.Hour)) {
			add(r.Target+" 7d", up)
		}
		if !r.CheckedAt.Before(pageNow.Add(-24 * time.Hour)) {
			add(r.Target+" 24h", up)
		}
		if h := int(r.CheckedAt.Sub(barsStart) / time.Hour); !r.CheckedAt.Before(barsStart) && h < 24 {
			add(fmt.Sprintf("%s bar %02d", r.Target, h), up)
		}
	}
	for k, c := range count {
		want[k] = fmt.Sprintf("%d/%d", c.up, c.n)
	}
	for _, e := range doc.all("data-window") {
		got[e.attr["data-target"]+" "+e.attr["data-window"]] = e.attr["value"]
	}
	checks := regexp.MustCompile(`\((\d+) of (\d+) checks\)`)
	for _, target := range []string{"api", "web", "status"} {
		card := doc.one(t, "data-target", target, "class", "card")
		for i, bar := range card.children("rect") {
			if m := checks.FindStringSubmatch(bar.text); m != nil {
				got[fmt.Sprintf("%s bar %02d", target, i)] = m[1] + "/" + m[2]
			}
		}
	}
	if len(want) < 3*(2+23) { // the current hour has no checks yet

		t.Fatalf("only %d figures to compare: the history does not cover the page", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("figures on the page against the raw results (-want +got):\n%s", diff)
	}
}

// countingStore counts the page's renders (one Latencies read each) and
// can hold a render until released.
type countingStore struct {
	monitor.Store
	renders  atomic.Int32
	inFlight atomic.Int32
	maxIn    atomic.Int32
	// When hold is set, each render tells entered it reached the store
	// and waits for a value on hold.
	hold, entered chan struct{}
}

func (s *countingStore) Latencies(ctx context.Context, since time.Time) ([]monitor.HourLatency, error) {
	s.renders.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxIn.Load()
		if n <= m || s.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	if s.hold != nil {
		s.entered <- struct{}{}
		select {
		case <-s.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Latencies(ctx, since)
}

func request(t *testing.T, h http.Handler, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestStatusPageRenderedOncePerChange: many requests, one render; a new
// round or a new minute renders again; conditional requests get 304
// while the page is the same, and the new page once it changed.
func TestStatusPageRenderedOncePerChange(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	store := &countingStore{Store: db}
	if err := db.RecordResults(ctx, []monitor.Result{{Target: "api", Kind: "api", Verdict: cloudflare.Up, Status: 401, Latency: 80 * time.Millisecond, CheckedAt: now.Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	var version atomic.Uint64
	clock := now.Add(10 * time.Second)
	var mu sync.Mutex
	h := web.StatusPage(web.StatusOptions{Store: store, Location: time.UTC, Version: version.Load,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})

	first := request(t, h)
	etag, modified := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	if first.Code != 200 || etag == "" || modified != "Tue, 10 Mar 2026 12:00:10 GMT" {
		t.Fatalf("first GET: %d, ETag %q, Last-Modified %q", first.Code, etag, modified)
	}
	for range 20 {
		if rec := request(t, h); rec.Code != 200 || rec.Header().Get("ETag") != etag || rec.Body.String() != first.Body.String() {
			t.Fatalf("a repeated GET: %d, ETag %q", rec.Code, rec.Header().Get("ETag"))
		}
	}
	if rec := request(t, h, "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match with the current ETag: %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
	if rec := request(t, h, "If-Modified-Since", modified); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since the page's time: %d, want 304", rec.Code)
	}
	if n := store.renders.Load(); n != 1 {
		t.Errorf("%d renders for 23 requests, want 1", n)
	}

	// A round is recorded: the next request shows it.
	if err := db.RecordResults(ctx, []monitor.Result{{Target: "api", Kind: "api", Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, CheckedAt: now}}); err != nil {
		t.Fatal(err)
	}
	version.Add(1)
	rec := request(t, h, "If-None-Match", etag)
	if rec.Code != 200 || rec.Header().Get("ETag") == etag || !regexp.MustCompile(`Blocked from our network`).MatchString(rec.Body.String()) {
		t.Errorf("after a new round: %d, ETag %q (was %q), new verdict shown: %v", rec.Code, rec.Header().Get("ETag"), etag,
			regexp.MustCompile(`Blocked from our network`).MatchString(rec.Body.String()))
	}
	if n := store.renders.Load(); n != 2 {
		t.Errorf("%d renders after a new round, want 2", n)
	}
	etag = rec.Header().Get("ETag")

	// Within the minute nothing changes; the next minute renders again
	// (the page's relative times move).
	mu.Lock()
	clock = clock.Add(40 * time.Second)
	mu.Unlock()
	request(t, h)
	mu.Lock()
	clock = clock.Add(20 * time.Second)
	mu.Unlock()
	rec = request(t, h)
	if n := store.renders.Load(); n != 3 {
		t.Errorf("%d renders after a minute, want 3", n)
	}
	if rec.Header().Get("ETag") == etag {
		t.Error("the next minute's page has the same ETag although its times moved")
	}
}

// TestStatusPageBoundsRenders: 20 clients at once while the first render
// waits on the store: one render runs, and every client gets its result.
// Once a page exists, clients that come during a render get it at once.
func TestStatusPageBoundsRenders(t *testing.T) {
	db := openDB(t)
	if err := db.RecordResults(context.Background(), []monitor.Result{{Target: "api", Kind: "api", Verdict: cloudflare.Up, Status: 401, Latency: time.Millisecond, CheckedAt: now.Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: db, hold: make(chan struct{}), entered: make(chan struct{})}
	var version atomic.Uint64
	h := web.StatusPage(web.StatusOptions{Store: store, Location: time.UTC, Version: version.Load, Now: func() time.Time { return now }})

	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = request(t, h).Code })
	}
	<-store.entered
	store.hold <- struct{}{}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("client %d: %d", i, c)
		}
	}
	if n, m := store.renders.Load(), store.maxIn.Load(); n != 1 || m != 1 {
		t.Errorf("%d renders, %d at once; want 1 and 1", n, m)
	}

	// A change: one client renders (held), the others get the previous
	// page without waiting.
	version.Add(1)
	done := make(chan int)
	go func() { done <- request(t, h).Code }()
	<-store.entered
	for range 10 {
		if rec := request(t, h); rec.Code != 200 {
			t.Errorf("during a render: %d", rec.Code)
		}
	}
	store.hold <- struct{}{}
	if c := <-done; c != 200 {
		t.Errorf("the rendering client: %d", c)
	}
	if n := store.renders.Load(); n != 2 {
		t.Errorf("%d renders, want 2", n)
	}
}
