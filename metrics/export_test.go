package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors for testutil.ToFloat64 in the external tests.

func AnswersCounter(m *Metrics, entry string) prometheus.Counter {
	return m.answers.WithLabelValues(entry)
}
func OpenIncidentsGauge(m *Metrics) prometheus.Gauge { return m.openIncidents }

// NewCachedCollector exposes the caching wrapper to the external tests.
func NewCachedCollector(c prometheus.Collector, ttl time.Duration, now func() time.Time) prometheus.Collector {
	return newCachedCollector(c, ttl, now)
}
