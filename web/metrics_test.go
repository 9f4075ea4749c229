package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/metrics"
	"gptaccess/monitor"
	"gptaccess/web"
)

// TestMetricsRoute serves /metrics from the metrics package next to the
// status page, the way cmd wires them, and scrapes it over HTTP.
func TestMetricsRoute(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	db := openDB(t)
	store := m.WrapStore(db)
	if err := store.RecordResults(ctx, []monitor.Result{
		{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, Latency: 40 * time.Millisecond, CheckedAt: now.Add(-time.Minute)},
	}); err != nil {
		t.Fatal(err)
	}
	m.Reconnect("slack")

	srv := httptest.NewServer(web.Handler(web.Options{
		Metrics: m.Handler(),
		Status:  web.StatusPage(web.StatusOptions{Store: db, Now: func() time.Time { return now }}),
		Logger:  slog.New(slog.DiscardHandler),
	}))
	defer srv.Close()

	body := get(t, srv.URL+"/metrics", 200)
	for _, want := range []string{
		`gptaccess_probe_results_total{target="api",verdict="blocked-1020"} 1`,
		`gptaccess_probe_duration_seconds_count{target="api"} 1`,
		`gptaccess_platform_reconnects_total{platform="slack"} 1`,
		"\ngo_goroutines ",
		"\nprocess_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The result went through the decorator into the database: the page
	// shows it.
	if page := get(t, srv.URL+"/", 200); !strings.Contains(page, "Blocked from our network (Cloudflare 1020)") {
		t.Error("the status page does not show the recorded result")
	}

	res, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", res.StatusCode)
	}
}

// TestNoMetricsRoute: without Options.Metrics there is no /metrics.
func TestNoMetricsRoute(t *testing.T) {
	srv := httptest.NewServer(web.Handler(web.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	get(t, srv.URL+"/metrics", 404)
	get(t, srv.URL+"/", 404)
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Errorf("GET %s: %d, want %d", url, res.StatusCode, want)
	}
	return string(b)
}
