package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gptaccess/postgres"
)

// replica is one replica's part in a lease test: its lease and how many
// of its work runs are going on.
type replica struct {
	lease   *postgres.Lease
	running atomic.Int32
	stop    context.CancelFunc
	done    chan struct{}
}

func startReplicas(t *testing.T, url string, n int) []*replica {
	t.Helper()
	var out []*replica
	for range n {
		d := openURL(t, url)
		r := &replica{lease: d.Lease("leader", postgres.LeaseOptions{Retry: 100 * time.Millisecond, Check: 100 * time.Millisecond}), done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		r.stop = cancel
		go func() {
			defer close(r.done)
			r.lease.Lead(ctx, func(ctx context.Context) error {
				r.running.Add(1)
				defer r.running.Add(-1)
				<-ctx.Done()
				return nil
			})
		}()
		t.Cleanup(func() { cancel(); <-r.done })
		out = append(out, r)
	}
	return out
}

// leader waits until exactly one replica of rs runs its work, and
// returns it; two at once fail the test.
func leader(t *testing.T, rs []*replica, within time.Duration) *replica {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var lead []*replica
		for _, r := range rs {
			if r.running.Load() > 0 {
				lead = append(lead, r)
			}
		}
		if len(lead) > 1 {
			t.Fatalf("%d replicas lead at once", len(lead))
		}
		if len(lead) == 1 && lead[0].lease.Leading() {
			return lead[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no leader within %s", within)
	return nil
}

// TestLeaseOneLeaderAndFailover: of three replicas exactly one leads;
// when it stops, another leads within the retry interval; Held is true
// only on the leader.
func TestLeaseOneLeaderAndFailover(t *testing.T) {
	rs := startReplicas(t, pgtestURL(t), 3)
	first := leader(t, rs, 5*time.Second)
	for _, r := range rs {
		if got := r.lease.Held(context.Background()); got != (r == first) {
			t.Errorf("Held = %v on a replica that leads: %v", got, r == first)
		}
	}
	start := time.Now()
	first.stop()
	<-first.done
	var rest []*replica
	for _, r := range rs {
		if r != first {
			rest = append(rest, r)
		}
	}
	leader(t, rest, 5*time.Second)
	t.Logf("took over in %s", time.Since(start).Round(time.Millisecond))
	if first.running.Load() != 0 || first.lease.Leading() {
		t.Error("the stopped replica still leads")
	}
}

// TestLeaseLostWithTheSession: when the leader's database session is
// killed (pg_terminate_backend: a network cut, a server restart), the
// leader stops its work and another replica takes over.
func TestLeaseLostWithTheSession(t *testing.T) {
	ctx := context.Background()
	url := pgtestURL(t)
	rs := startReplicas(t, url, 2)
	first := leader(t, rs, 5*time.Second)
	admin := openURL(t, url)
	n, err := admin.TerminateLeaseSessions(ctx, "leader")
	if err != nil || n != 1 {
		t.Fatalf("terminated %d sessions (%v), want the leader's", n, err)
	}
	for deadline := time.Now().Add(5 * time.Second); first.running.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if first.running.Load() > 0 {
		t.Fatal("the leader kept working after its session was killed")
	}
	// The old leader may win the lease back; what matters is one leader.
	leader(t, rs, 5*time.Second)
}
