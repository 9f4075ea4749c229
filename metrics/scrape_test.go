package metrics_test

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"gptaccess/metrics"
)

// countingCollector is a gauge that counts how often it was collected.
type countingCollector struct {
	desc  *prometheus.Desc
	calls atomic.Int64
}

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countingCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.calls.Add(1)
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}

// TestCachedCollector: within the time to live every scrape gets the
// values of one collection; after it, a fresh one.
func TestCachedCollector(t *testing.T) {
	inner := &countingCollector{desc: prometheus.NewDesc("collections", "How often the collector ran.", nil, nil)}
	clock := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c := metrics.NewCachedCollector(inner, time.Second, func() time.Time { return clock })
	for range 5 {
		if got := testutil.ToFloat64(c); got != 1 {
			t.Fatalf("scrape within the second: %v, want the first collection's 1", got)
		}
	}
	clock = clock.Add(time.Second)
	if got := testutil.ToFloat64(c); got != 2 {
		t.Errorf("scrape a second later: %v, want 2", got)
	}
	if n := inner.calls.Load(); n != 2 {
		t.Errorf("%d collections for 6 scrapes, want 2", n)
	}
}

// BenchmarkScrape is one GET /metrics.
func BenchmarkScrape(b *testing.B) {
	h := metrics.New().Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
