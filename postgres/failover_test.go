package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gptaccess/monitor"
	"gptaccess/postgres"
)

// notices records what every replica's monitor sent, as one chat
// channel would show it.
type notices struct {
	mu   sync.Mutex
	sent []sentNotice
}

type sentNotice struct {
	replica int
	n       monitor.Notice
	ref     string
}

// notifier is one replica's Notifier into the shared channel.
type notifier struct {
	replica int
	out     *notices
}

func (n notifier) Platform() string { return "slack" }

func (n notifier) Notify(_ context.Context, _ string, nt monitor.Notice) (string, error) {
	n.out.mu.Lock()
	defer n.out.mu.Unlock()
	ref := fmt.Sprintf("ts-%d", len(n.out.sent)+1)
	n.out.sent = append(n.out.sent, sentNotice{n.replica, nt, ref})
	return ref, nil
}

func (n *notices) of(phase monitor.Phase) []sentNotice {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []sentNotice
	for _, s := range n.sent {
		if s.n.Phase == phase {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
	}
}

// TestMonitorFailover: two replicas run the monitor under one lease on one
// database. An outage opens one incident, announced once; the leader dies
// (its context ends and its connections close); the other replica takes
// over within 30 seconds, carries on with the open incident from the
// database without announcing it again, and sends exactly one recovery,
// in the incident's thread.
func TestMonitorFailover(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer target.Close()

	url := pgtestURL(t)
	out := &notices{}
	type replicaRun struct {
		lease *postgres.Lease
		stop  context.CancelFunc
		done  chan struct{}
	}
	var replicas []*replicaRun
	for i := range 2 {
		db, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		lease := db.Lease("leader", postgres.LeaseOptions{Retry: 200 * time.Millisecond, Check: 200 * time.Millisecond})
		mon, err := monitor.New(monitor.Options{
			Targets:  []monitor.Target{{Name: "site", Kind: monitor.TargetHTTP, URL: target.URL, Timeout: 2 * time.Second}},
			Schedule: "@every 1s", FailureThreshold: 2, SuccessThreshold: 2,
			Channels: map[string][]string{"slack": {"C1"}}, Notifiers: []monitor.Notifier{notifier{i, out}},
			Store: db, Leading: lease.Held,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replicaRun{lease: lease, stop: cancel, done: make(chan struct{})}
		go func() {
			defer close(r.done)
			lease.Lead(ctx, mon.Run)
			db.Close() // the process ends: every connection goes
		}()
		t.Cleanup(func() { cancel(); <-r.done })
		replicas = append(replicas, r)
	}
	leaderIndex := func() int {
		for i, r := range replicas {
			if r.lease.Leading() {
				return i
			}
		}
		return -1
	}
	waitFor(t, 10*time.Second, "a leader", func() bool { return leaderIndex() >= 0 })
	first := leaderIndex()

	status.Store(http.StatusServiceUnavailable)
	waitFor(t, 10*time.Second, "the opening alert", func() bool { return len(out.of(monitor.PhaseOpened)) > 0 })
	time.Sleep(2500 * time.Millisecond) // more failing checks: no second alert

	killed := time.Now()
	replicas[first].stop()
	<-replicas[first].done
	waitFor(t, 30*time.Second, "the other replica leading", func() bool { return leaderIndex() == 1-first })
	t.Logf("took over %s after the leader died", time.Since(killed).Round(time.Millisecond))
	time.Sleep(2500 * time.Millisecond) // the new leader's checks still fail: no new alert

	status.Store(http.StatusOK)
	waitFor(t, 10*time.Second, "the recovery", func() bool { return len(out.of(monitor.PhaseResolved)) > 0 })
	time.Sleep(2500 * time.Millisecond) // good checks go on: no second recovery

	opened, resolved := out.of(monitor.PhaseOpened), out.of(monitor.PhaseResolved)
	if len(opened) != 1 {
		t.Fatalf("%d opening alerts, want 1: %+v", len(opened), opened)
	}
	if len(resolved) != 1 {
		t.Fatalf("%d recoveries, want 1: %+v", len(resolved), resolved)
	}
	if opened[0].replica != first || resolved[0].replica != 1-first {
		t.Errorf("opened by replica %d, resolved by %d; want %d then %d", opened[0].replica, resolved[0].replica, first, 1-first)
	}
	if resolved[0].n.Incident != opened[0].n.Incident || resolved[0].n.Thread != opened[0].ref {
		t.Errorf("recovery of %q in thread %q; want incident %q in thread %q",
			resolved[0].n.Incident, resolved[0].n.Thread, opened[0].n.Incident, opened[0].ref)
	}
}
