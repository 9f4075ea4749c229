package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/postgres"
	"gptaccess/postgres/pgtest"
	"gptaccess/storetest"
)

// openURL opens the database at url, closed when t ends.
func openURL(t *testing.T, url string) *postgres.DB {
	t.Helper()
	d, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// open opens a store in a new schema of its own.
func open(t *testing.T) *postgres.DB { return openURL(t, pgtest.URL(t)) }

func pgtestURL(t *testing.T) string { return pgtest.URL(t) }

// TestConformance runs the store suite, each test in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		d := open(t)
		d.Now = now
		return d
	})
}

// TestTwoReplicasOneConversation: two engines, each with its own
// connection pool (as two replicas have), answer messages in one
// conversation at once: no apology, no lost update.
func TestTwoReplicasOneConversation(t *testing.T) {
	url := pgtest.URL(t)
	storetest.EnginesOn(t, openURL(t, url), openURL(t, url), 4, 50)
}

// TestReplicasStartingTogether: five replicas opening a fresh schema at
// once all succeed; the migrations ran once (under the advisory lock).
func TestReplicasStartingTogether(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			d, err := postgres.Open(ctx, url)
			if err == nil {
				d.Close()
			}
			errs <- err
		}()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
	}
	d := openURL(t, url)
	if err := d.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOpenErrorsHideThePassword: a server that cannot be reached, or a
// URL that does not parse, is a clear error without the password.
func TestOpenErrorsHideThePassword(t *testing.T) {
	const pw = "Hunter2-very-secret"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, url := range []string{
		"postgres://bot:" + pw + "@127.0.0.1:1/gptaccess?connect_timeout=2",
		"postgres://bot:" + pw + "@127.0.0.1:5432/g?sslmode=bogus",
	} {
		_, err := postgres.Open(ctx, url)
		if err == nil {
			t.Fatalf("opened %s", strings.ReplaceAll(url, pw, "PW"))
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	_, err := postgres.Open(ctx, "postgres://bot:"+pw+"@127.0.0.1:1/gptaccess?connect_timeout=2")
	if !strings.Contains(err.Error(), "cannot connect") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("unreachable server: %v", err)
	}
}

// BenchmarkReplicas: messages answered per second, and the time to
// answer one, by one and by three replicas (engines with their own
// pools) sharing one PostgreSQL, with 4 and 32 clients at once.
func BenchmarkReplicas(b *testing.B) {
	for _, c := range []struct{ replicas, clients int }{{1, 4}, {3, 4}, {1, 32}, {3, 32}} {
		n := c.replicas
		b.Run(fmt.Sprintf("replicas=%d/clients=%d", n, c.clients), func(b *testing.B) {
			url := pgtest.URL(b)
			var stores []bot.Store
			for range n {
				d, err := postgres.Open(context.Background(), url)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { d.Close() })
				stores = append(stores, d)
			}
			storetest.BenchEngines(b, stores, c.clients)
		})
	}
}

// TestLaneTakenByOneReplica: a channel's inbox is worked by one replica at
// a time, in order; when that replica stops touching it (it died), another
// takes the lane over once the hold has passed, and finds the item where
// it was left.
func TestLaneTakenByOneReplica(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	now := time.Now()
	a.Now = func() time.Time { return now }
	b.Now = func() time.Time { return now }
	ctx := context.Background()
	lane := delivery.Lane{Platform: "slack", Name: "C1"}
	for _, id := range []string{"ev1", "ev2"} {
		if _, err := a.Put(ctx, delivery.Inbound{ID: id, Platform: "slack", Lane: "C1", Body: []byte("{}"), Received: now}); err != nil {
			t.Fatal(err)
		}
	}
	in, ok, err := a.NextIn(ctx, lane)
	if err != nil || !ok || in.ID != "ev1" {
		t.Fatalf("replica a: NextIn = %+v, %v, %v; want ev1", in, ok, err)
	}
	if in, ok, err := b.NextIn(ctx, lane); err != nil || ok {
		t.Fatalf("replica b while a works the lane: NextIn = %+v, %v, %v; want none", in, ok, err)
	}
	if in, ok, _ := a.NextIn(ctx, lane); !ok || in.ID != "ev1" {
		t.Fatalf("replica a again: %+v, %v; want ev1 (its own lane)", in, ok)
	}
	// a dies without finishing; after the hold, b takes the lane from ev1.
	later := now.Add(3 * time.Minute)
	b.Now = func() time.Time { return later }
	if in, ok, err := b.NextIn(ctx, lane); err != nil || !ok || in.ID != "ev1" {
		t.Fatalf("replica b after the hold: NextIn = %+v, %v, %v; want ev1", in, ok, err)
	}
	if err := b.Finish(ctx, "ev1", delivery.Writes{}, nil); err != nil {
		t.Fatal(err)
	}
	if in, ok, _ := b.NextIn(ctx, lane); !ok || in.ID != "ev2" {
		t.Fatalf("replica b next: %+v, %v; want ev2", in, ok)
	}
}

// TestLaneHoldRenewedAndReleased: a replica that is alive keeps its lanes
// however long one item takes (a slow answer, a long Retry-After), since
// it renews their hold; one that died leaves them after LaneHold, not
// minutes; one that stops cleanly leaves them at once. Inbox and outbox
// alike.
func TestLaneHoldRenewedAndReleased(t *testing.T) {
	url := pgtest.URL(t)
	a, b := openURL(t, url), openURL(t, url)
	now := time.Now()
	clock := func(d *postgres.DB, at time.Time) { d.Now = func() time.Time { return at } }
	clock(a, now)
	clock(b, now)
	ctx := context.Background()
	lane := delivery.Lane{Platform: "slack", Name: "C1"}
	if _, err := a.Put(ctx, delivery.Inbound{ID: "ev1", Platform: "slack", Lane: "C1", Body: []byte("{}"), Received: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.Enqueue(ctx, []delivery.Outbound{{Key: "k1", Platform: "slack", Lane: "C1", Kind: delivery.KindNotice, Body: []byte("x"), Created: now}}); err != nil {
		t.Fatal(err)
	}
	takes := func(d *postgres.DB) (in, out bool) {
		t.Helper()
		_, in, err := d.NextIn(ctx, lane)
		if err != nil {
			t.Fatal(err)
		}
		_, out, err = d.NextOut(ctx, lane)
		if err != nil {
			t.Fatal(err)
		}
		return in, out
	}
	if in, out := takes(a); !in || !out {
		t.Fatalf("replica a takes the free lanes: inbox %v, outbox %v", in, out)
	}

	// a works one item for three holds, renewing as it goes: b never
	// gets the lanes.
	at := now
	for range 3 * postgres.LaneHold / postgres.LaneRenew {
		at = at.Add(postgres.LaneRenew)
		clock(a, at)
		clock(b, at)
		if err := a.RenewLanes(ctx); err != nil {
			t.Fatal(err)
		}
		if in, out := takes(b); in || out {
			t.Fatalf("%s in, replica b took a lane a renews: inbox %v, outbox %v", at.Sub(now), in, out)
		}
	}

	// a dies: just before LaneHold has passed the lanes are still its,
	// just after they are b's.
	clock(b, at.Add(postgres.LaneHold-time.Millisecond))
	if in, out := takes(b); in || out {
		t.Fatalf("replica b within the hold of a dead replica: inbox %v, outbox %v", in, out)
	}
	at = at.Add(postgres.LaneHold + time.Millisecond)
	clock(a, at)
	clock(b, at)
	if in, out := takes(b); !in || !out {
		t.Fatalf("replica b after the hold of a dead replica: inbox %v, outbox %v", in, out)
	}
	if in, out := takes(a); in || out {
		t.Fatalf("replica a back after b took its lanes over: inbox %v, outbox %v; want none", in, out)
	}

	// b stops cleanly: a takes the lanes at once.
	if err := b.ReleaseLanes(ctx); err != nil {
		t.Fatal(err)
	}
	if in, out := takes(a); !in || !out {
		t.Fatalf("replica a after b let its lanes go: inbox %v, outbox %v", in, out)
	}
}
