package monitor

import (
	"context"
)

// Hooks for the external tests (package monitor_test), compiled only with
// the tests.

// SetProbes replaces the network probes with scripted ones, so the state
// machine can be driven inside a synctest bubble, which must not do real
// network I/O.
func SetProbes(m *Monitor, probe func(Target) Result, canary func() Canary) {
	m.probeFn = func(_ context.Context, t Target) (Result, string) {
		r := probe(t)
		r.Target, r.Kind = t.Name, t.Kind
		if r.CheckedAt.IsZero() {
			r.CheckedAt = m.now()
		}
		return r, ""
	}
	if canary != nil {
		m.canaryFn = func(context.Context) Canary { return canary() }
	}
}

// Tick runs one scheduled check, as cron would.
func Tick(ctx context.Context, m *Monitor) { m.tick(ctx) }

// WaitDeliveries waits until the delivery goroutines have ended (after
// their ctx is done).
func WaitDeliveries(m *Monitor) { m.workers.Wait() }

// DigestNotice builds the digest now.
func DigestNotice(ctx context.Context, m *Monitor) (Notice, error) { return m.digestNotice(ctx) }

// NewMemStore returns the in-memory Store used when Options.Store is nil.
func NewMemStore() Store { return newMemStore() }
