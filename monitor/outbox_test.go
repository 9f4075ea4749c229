package monitor_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"gptaccess/cloudflare"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

// outboxer is a fake Outboxer and its Outbox: it renders a notice as an
// item and records the items it is told were committed.
type outboxer struct {
	mu        sync.Mutex
	committed []delivery.Outbound
}

func (o *outboxer) Platform() string { return "slack" }

func (o *outboxer) NoticeItem(channel string, n monitor.Notice) (delivery.Outbound, error) {
	key, parent := monitor.NoticeKey("slack", channel, n)
	return delivery.Outbound{Key: key, Parent: parent, Platform: "slack", Lane: channel, Body: []byte(n.Title)}, nil
}

func (o *outboxer) Committed(items []delivery.Outbound) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.committed = append(o.committed, items...)
}

func (o *outboxer) items() []delivery.Outbound {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.committed)
}

// saves is a Store that records what each SaveAlertState carried, and
// fails while told to.
type saves struct {
	monitor.Store

	mu    sync.Mutex
	fail  bool
	calls []saved
}

type saved struct {
	incidents []monitor.Incident
	notices   []delivery.Outbound
}

func (s *saves) SaveAlertState(ctx context.Context, states []monitor.TargetState, incidents []monitor.Incident, notices ...delivery.Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("disk full")
	}
	s.calls = append(s.calls, saved{slices.Clone(incidents), slices.Clone(notices)})
	return s.Store.SaveAlertState(ctx, states, incidents, notices...)
}

func (s *saves) failing(f bool) { s.mu.Lock(); s.fail = f; s.mu.Unlock() }

func (s *saves) withIncidents() []saved {
	return s.where(func(c saved) bool { return len(c.incidents) > 0 })
}

func (s *saves) withNotices() []saved {
	return s.where(func(c saved) bool { return len(c.notices) > 0 })
}

func (s *saves) where(keep func(saved) bool) []saved {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []saved
	for _, c := range s.calls {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// TestNoticesCommittedWithTheirState: for an Outboxer the monitor writes
// each notice as an outbox item in the same SaveAlertState as the
// incident change that made it, and wakes the outbox only after the
// commit. When the save fails nothing is sent, and the next check, which
// reads the state again, raises the alert: it is neither lost nor sent
// twice.
func TestNoticesCommittedWithTheirState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, down, down, down, up, up, up}}}
		st := &saves{Store: monitor.NewMemStore()}
		ob := &outboxer{}
		r := newRig(t, s, st, nil, func(o *monitor.Options) { o.Outboxers, o.Outbox = []monitor.Outboxer{ob}, ob })

		r.ticks(2) // two bad results: below the threshold
		st.failing(true)
		r.ticks(1) // the third would open the incident, but the save fails
		if got := ob.items(); len(got) != 0 {
			t.Fatalf("items committed although the save failed: %v", keys(got))
		}
		st.failing(false)
		r.ticks(1) // read again, decided again: the incident opens now

		calls := st.withNotices()
		if len(calls) != 1 {
			t.Fatalf("%d saves carried notices, want 1", len(calls))
		}
		open := calls[0]
		if len(open.incidents) != 1 || len(open.notices) != 1 {
			t.Fatalf("the opening save carried %d incidents and %d notices, want 1 and 1", len(open.incidents), len(open.notices))
		}
		key, _ := monitor.NoticeKey("slack", "C-ALERTS", monitor.Notice{Incident: open.incidents[0].ID, Phase: monitor.PhaseOpened})
		if n := open.notices[0]; n.Key != key || n.Kind != delivery.KindNotice || n.Created.IsZero() || n.Lane != "C-ALERTS" {
			t.Errorf("opening item = %+v, want key %s, kind notice, a creation time, lane C-ALERTS", n, key)
		}
		if got := keys(ob.items()); !slices.Equal(got, []string{key}) {
			t.Errorf("committed %v, want the opening notice", got)
		}

		r.ticks(4) // down once more, then up twice: resolved
		calls = st.withNotices()
		if len(calls) != 2 {
			t.Fatalf("%d saves carried notices, want 2 (opening, recovery)", len(calls))
		}
		resolved := calls[1]
		if len(resolved.incidents) != 1 || resolved.incidents[0].Open() || len(resolved.notices) != 1 {
			t.Fatalf("the recovery save carried %+v", resolved)
		}
		if p := resolved.notices[0].Parent; p != key {
			t.Errorf("recovery's parent = %q, want the opening notice %q (its thread)", p, key)
		}
		if n := len(ob.items()); n != 2 {
			t.Errorf("%d items committed, want 2", n)
		}
	})
}

func keys(items []delivery.Outbound) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Key)
	}
	return out
}

// TestAddOutboxer: an Outboxer added after the monitor was built gets
// the notices from then on; one without an Outbox to send its items is
// refused, by New as by AddOutboxer.
func TestAddOutboxer(t *testing.T) {
	if _, err := monitor.New(monitor.Options{Outboxers: []monitor.Outboxer{&outboxer{}}}); err == nil {
		t.Error("New took Outboxers without an Outbox")
	}
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, down}}}
		r := newRig(t, s, nil, nil)
		ob := &outboxer{}
		if err := r.m.AddOutboxer(nil, ob); err == nil {
			t.Error("AddOutboxer(nil) succeeded")
		}
		if err := r.m.AddOutboxer(ob, nil); err == nil {
			t.Error("AddOutboxer without an Outbox succeeded")
		}
		if err := r.m.AddOutboxer(ob, ob); err != nil {
			t.Fatal(err)
		}
		r.ticks(3)
		if got := ob.items(); len(got) != 1 || got[0].Lane != "C-ALERTS" {
			t.Errorf("committed %v, want the opening notice for C-ALERTS", keys(got))
		}
	})
}

// failingSubscribers lists subscribed channels, or fails while told to.
type failingSubscribers struct {
	mu    sync.Mutex
	fail  bool
	chans []string
}

func (f *failingSubscribers) Subscribers(context.Context, string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errors.New("database is locked")
	}
	return f.chans, nil
}

func (f *failingSubscribers) failing(b bool) { f.mu.Lock(); f.fail = b; f.mu.Unlock() }

// TestSubscribersUnreadSavesNothing: when the subscribed channels cannot
// be listed, the incident is not saved without their notices (those
// channels would never get them): nothing is saved, and the next check
// decides again and alerts every channel.
func TestSubscribersUnreadSavesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, down, down}}}
		st := &saves{Store: monitor.NewMemStore()}
		subs := &failingSubscribers{chans: []string{"C-SUBSCRIBED"}}
		ob := &outboxer{}
		r := newRig(t, s, st, nil, func(o *monitor.Options) {
			o.Outboxers, o.Outbox, o.Subscribers = []monitor.Outboxer{ob}, ob, subs
		})
		r.ticks(2)
		subs.failing(true)
		r.ticks(1) // the third bad result would open the incident
		if calls := st.withIncidents(); len(calls) != 0 {
			t.Fatalf("%d saves carried incidents although the channels could not be listed", len(calls))
		}
		if got := ob.items(); len(got) != 0 {
			t.Fatalf("items committed although the channels could not be listed: %v", keys(got))
		}
		subs.failing(false)
		r.ticks(1)
		calls := st.withIncidents()
		if len(calls) != 1 || len(calls[0].incidents) != 1 {
			t.Fatalf("%d saves carried incidents, want 1 opening one", len(calls))
		}
		var lanes []string
		for _, it := range calls[0].notices {
			lanes = append(lanes, it.Lane)
		}
		if want := []string{"C-ALERTS", "C-SUBSCRIBED"}; !slices.Equal(lanes, want) {
			t.Errorf("the opening save's notices went to %v, want %v", lanes, want)
		}
	})
}
