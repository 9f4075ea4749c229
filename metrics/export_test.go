package metrics

import "github.com/prometheus/client_golang/prometheus"

// Collectors for testutil.ToFloat64 in the external tests.

func AnswersCounter(m *Metrics, entry string) prometheus.Counter {
	return m.answers.WithLabelValues(entry)
}
func OpenIncidentsGauge(m *Metrics) prometheus.Gauge { return m.openIncidents }
