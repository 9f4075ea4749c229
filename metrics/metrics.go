// Package metrics exposes gptaccess's Prometheus metrics. It collects them
// through decorators around the interfaces the other packages already
// have (the bot's handler, the monitor's store and notifiers) and as the
// delivery core's Observer, so no other package knows about Prometheus;
// cmd does the wiring.
//
// Every metric lives in a private registry (no global state), together
// with the Go runtime and process collectors. Label values are bounded:
// platforms, entries, causes and verdicts outside their fixed sets are
// counted as "other". Targets come from the operator's configuration and
// are used as they are.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gptaccess/delivery"
)

const namespace = "gptaccess"

// Metrics holds the registry and every gptaccess metric. Its methods and
// the decorators it returns are safe for concurrent use.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	// Bot conversations.
	received     *prometheus.CounterVec   // platform
	replies      *prometheus.CounterVec   // platform
	handleErrors *prometheus.CounterVec   // platform
	answerTime   *prometheus.HistogramVec // platform
	answers      *prometheus.CounterVec   // entry
	diagnoses    *prometheus.CounterVec   // cause
	handovers    prometheus.Counter
	feedback     *prometheus.CounterVec // outcome

	// Monitor.
	probeResults  *prometheus.CounterVec   // target, verdict
	probeTime     *prometheus.HistogramVec // target
	openIncidents prometheus.Gauge
	alertsSent    *prometheus.CounterVec // platform
	alertsFailed  *prometheus.CounterVec // platform

	// Adapters.
	duplicates    *prometheus.CounterVec // platform
	stale         *prometheus.CounterVec // platform
	undelivered   *prometheus.CounterVec // platform, kind
	reconnects    *prometheus.CounterVec // platform
	rateWaits     *prometheus.CounterVec // platform
	rateWaitTotal *prometheus.CounterVec // platform
}

// New returns Metrics with a fresh registry holding every gptaccess
// metric and the Go and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	platform := []string{"platform"}

	m.received = m.counterVec("messages_received_total", "Messages (and button clicks) handed to the bot, by platform.", platform)
	m.replies = m.counterVec("replies_sent_total", "Replies the bot gave the adapters to send (ignored messages excluded), by platform.", platform)
	m.handleErrors = m.counterVec("handle_errors_total", "Messages whose handling failed (the user got an apology), by platform.", platform)
	m.answerTime = m.histogramVec("answer_duration_seconds", "Time the bot took to answer one message, by platform.",
		[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, platform)
	m.answers = m.counterVec("answers_total", "Replies by the knowledge-base entry they were built from (none: not understood).", []string{"entry"})
	m.diagnoses = m.counterVec("diagnoses_total", "Guided diagnoses that concluded, by cause.", []string{"cause"})
	m.handovers = m.counter("handovers_total", "Diagnoses handed over to a human supporter.")
	m.feedback = m.counterVec("diagnosis_feedback_total", `Answers to "Did this fix it?" after a diagnosis, by outcome (yes, no).`, []string{"outcome"})

	m.probeResults = m.counterVec("probe_results_total", "Probe results by target and verdict.", []string{"target", "verdict"})
	m.probeTime = m.histogramVec("probe_duration_seconds", "Probe latency by target (until the answer, or until the probe failed).",
		[]float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30}, []string{"target"})
	m.openIncidents = m.gauge("open_incidents", "Alert incidents currently open.")
	m.alertsSent = m.counterVec("alerts_sent_total", "Alert notices delivered, by platform.", platform)
	m.alertsFailed = m.counterVec("alerts_failed_total", "Alert notice deliveries that failed (each attempt), by platform.", platform)

	m.duplicates = m.counterVec("duplicate_deliveries_total", "Platform deliveries dropped as already processed (retries, duplicates), by platform.", platform)
	m.stale = m.counterVec("stale_deliveries_total", "Deliveries left pending (by a restart or a backlog) until older than bot.pending_freshness, dropped unanswered, by platform.", platform)
	m.undelivered = m.counterVec("undelivered_total", "Outbound calls (replies, hand-overs, notices) that failed for good, by platform and kind.", []string{"platform", "kind"})
	m.reconnects = m.counterVec("platform_reconnects_total", "Reconnections of a platform connection (Socket Mode, gateway), by platform.", platform)
	m.rateWaits = m.counterVec("rate_limit_waits_total", "Times a platform's rate limit made the bot wait, by platform.", platform)
	m.rateWaitTotal = m.counterVec("rate_limit_wait_seconds_total", "Time spent waiting on platform rate limits, by platform.", platform)

	// Series that exist from the start, so rate() sees their first
	// increment and dashboards show zeros rather than gaps.
	for _, e := range entries {
		m.answers.WithLabelValues(e)
	}
	m.answers.WithLabelValues(other)
	for _, c := range causes {
		m.diagnoses.WithLabelValues(c)
	}
	m.diagnoses.WithLabelValues(other)
	m.feedback.WithLabelValues("yes")
	m.feedback.WithLabelValues("no")

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		// Reading /proc is most of a scrape's cost; once a second is
		// fresh enough for any scrape interval, and keeps /metrics cheap
		// however often it is asked.
		newCachedCollector(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), time.Second, time.Now),
	)
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return m
}

// Leader exports gptaccess_leader: 1 while leading() says this replica
// leads (runs the scheduled checks, digests, reminders and the janitor),
// else 0. Call it once.
func (m *Metrics) Leader(leading func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "leader",
		Help: "1 while this replica leads (scheduled checks, digests, reminders, janitor), else 0.",
	}, func() float64 {
		if leading() {
			return 1
		}
		return 0
	}))
}

// Registry returns the registry, for tests and for registering further
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format, for
// GET /metrics.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Reconnect counts a reconnection of platform's connection (Slack Socket
// Mode, the Discord gateway). Adapters call it.
func (m *Metrics) Reconnect(platform string) {
	m.reconnects.WithLabelValues(platformLabel(platform)).Inc()
}

// Duplicate counts a delivery the inbox already had (a platform retry, the
// second event for one message); the delivery core calls it.
func (m *Metrics) Duplicate(platform string) {
	m.duplicates.WithLabelValues(platformLabel(platform)).Inc()
}

// Stale counts a pending delivery dropped as too old to answer.
func (m *Metrics) Stale(platform string) {
	m.stale.WithLabelValues(platformLabel(platform)).Inc()
}

// Undelivered counts an outbound call that failed for good.
func (m *Metrics) Undelivered(platform, kind string) {
	m.undelivered.WithLabelValues(platformLabel(platform), bounded(kind, kinds)).Inc()
}

// Attempted counts each attempt to post an alert notice (an outbox item
// of kind notice), by how it went: alerts_sent_total and
// alerts_failed_total. The delivery core calls it for every outbound call.
func (m *Metrics) Attempted(platform, kind string, ok bool) {
	if kind != delivery.KindNotice {
		return
	}
	if ok {
		m.alertsSent.WithLabelValues(platformLabel(platform)).Inc()
	} else {
		m.alertsFailed.WithLabelValues(platformLabel(platform)).Inc()
	}
}

// RateLimitWait counts a wait of d that platform's rate limit imposed.
// The delivery core calls it.
func (m *Metrics) RateLimitWait(platform string, d time.Duration) {
	p := platformLabel(platform)
	m.rateWaits.WithLabelValues(p).Inc()
	if d > 0 {
		m.rateWaitTotal.WithLabelValues(p).Add(d.Seconds())
	}
}

func (m *Metrics) counterVec(name, help string, labels []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	m.reg.MustRegister(g)
	return g
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(h)
	return h
}

// cachedCollector collects c at most once per ttl and hands out the same
// metrics in between; one collection runs at a time.
type cachedCollector struct {
	c   prometheus.Collector
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric // nil until the first collection
}

func newCachedCollector(c prometheus.Collector, ttl time.Duration, now func() time.Time) *cachedCollector {
	return &cachedCollector{c: c, ttl: ttl, now: now}
}

// Describe implements prometheus.Collector.
func (c *cachedCollector) Describe(ch chan<- *prometheus.Desc) { c.c.Describe(ch) }

// Collect implements prometheus.Collector. The process collector's
// metrics are constant values, so handing them out again is safe.
func (c *cachedCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if now := c.now(); c.metrics == nil || now.Sub(c.at) >= c.ttl {
		inner := make(chan prometheus.Metric, 16)
		go func() {
			c.c.Collect(inner)
			close(inner)
		}()
		fresh := []prometheus.Metric{} // a new slice: earlier callers may still be sending the old one
		for m := range inner {
			fresh = append(fresh, m)
		}
		c.metrics, c.at = fresh, now
	}
	metrics := c.metrics
	c.mu.Unlock()
	for _, m := range metrics {
		ch <- m
	}
}
