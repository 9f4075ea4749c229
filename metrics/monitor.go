package metrics

import (
	"context"

	"gptaccess/delivery"
	"gptaccess/monitor"
)

// WrapStore returns s counting the probe results that go through
// RecordResults (by target and verdict, and their latency) and keeping
// gptaccess_open_incidents up to date from the alert state the monitor
// reads at start and saves after every scheduled check.
//
// The result has only monitor.Store's methods: hand the unwrapped store
// to whatever needs its other capabilities.
func (m *Metrics) WrapStore(s monitor.Store) monitor.Store { return &store{Store: s, m: m} }

type store struct {
	monitor.Store
	m *Metrics
}

// RecordResults counts results whether or not they could be stored: the
// probes ran either way.
func (s *store) RecordResults(ctx context.Context, rs []monitor.Result) error {
	for _, r := range rs {
		s.m.probeResults.WithLabelValues(r.Target, verdictLabel(r.Verdict)).Inc()
		if r.Latency > 0 {
			s.m.probeTime.WithLabelValues(r.Target).Observe(r.Latency.Seconds())
		}
	}
	return s.Store.RecordResults(ctx, rs)
}

func (s *store) AlertState(ctx context.Context) ([]monitor.TargetState, error) {
	states, err := s.Store.AlertState(ctx)
	if err == nil {
		s.m.openIncidents.Set(float64(openIncidents(states)))
	}
	return states, err
}

// SaveAlertState sets the gauge once the state is saved. The monitor
// saves every configured target's state, and an incident is open exactly
// while a target still points at it.
func (s *store) SaveAlertState(ctx context.Context, states []monitor.TargetState, incidents []monitor.Incident, notices ...delivery.Outbound) error {
	if err := s.Store.SaveAlertState(ctx, states, incidents, notices...); err != nil {
		return err
	}
	s.m.openIncidents.Set(float64(openIncidents(states)))
	return nil
}

func openIncidents(states []monitor.TargetState) int {
	open := map[string]bool{}
	for _, st := range states {
		if st.Incident != "" {
			open[st.Incident] = true
		}
	}
	return len(open)
}

// WrapNotifier returns n counting delivered and failed alert notices by
// its platform: one call per notice and channel. The platforms with an
// outbox are not Notifiers (monitor.Outboxer): the delivery core counts
// each attempt to post their notices (Attempted).
func (m *Metrics) WrapNotifier(n monitor.Notifier) monitor.Notifier {
	return &notifier{Notifier: n, m: m}
}

type notifier struct {
	monitor.Notifier
	m *Metrics
}

func (n *notifier) Notify(ctx context.Context, channel string, notice monitor.Notice) (string, error) {
	ref, err := n.Notifier.Notify(ctx, channel, notice)
	p := platformLabel(n.Platform())
	if err != nil {
		n.m.alertsFailed.WithLabelValues(p).Inc()
	} else {
		n.m.alertsSent.WithLabelValues(p).Inc()
	}
	return ref, err
}
