package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/storetest"
)

// TestLimiterAcrossReplicas: two replicas (two pools) share one user's
// bucket: burst 3 and one per 10 s hold for the sum of what both let
// through, only the first refusal warns, and the bucket refills.
func TestLimiterAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	url := pgtestURL(t)
	clock := storetest.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	var limiters []bot.Limiter
	for range 2 {
		d := openURL(t, url)
		d.Now = clock.Now
		limiters = append(limiters, d.Limiter(3, 6))
	}
	take := func(i int, key string) (bool, bool) {
		ok, warn, err := limiters[i%2].Take(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok, warn
	}
	var got [][2]bool
	for i := range 6 {
		ok, warn := take(i, "slack:U1")
		got = append(got, [2]bool{ok, warn})
	}
	want := [][2]bool{{true, false}, {true, false}, {true, false}, {false, true}, {false, false}, {false, false}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("take %d (ok, warn) = %v, want %v", i, got[i], want[i])
		}
	}
	if ok, _ := take(0, "slack:U2"); !ok {
		t.Error("another user was limited")
	}
	clock.Set(clock.Now().Add(10 * time.Second))
	if ok, _ := take(1, "slack:U1"); !ok {
		t.Error("no token after 10 s at 6 per minute")
	}
	if ok, warn := take(0, "slack:U1"); ok || !warn {
		t.Errorf("after the refilled token: ok=%v warn=%v, want a new warning", ok, warn)
	}
}

// TestLimiterConcurrentTakes: many takes at once from both replicas let
// through exactly the burst.
func TestLimiterConcurrentTakes(t *testing.T) {
	ctx := context.Background()
	url := pgtestURL(t)
	var limiters []bot.Limiter
	for range 2 {
		d := openURL(t, url)
		d.Now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
		limiters = append(limiters, d.Limiter(5, 1))
	}
	var (
		wg            sync.WaitGroup
		mu            sync.Mutex
		allowed, warn int
	)
	for i := range 40 {
		wg.Go(func() {
			ok, w, err := limiters[i%2].Take(ctx, "discord:42")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				allowed++
			}
			if w {
				warn++
			}
		})
	}
	wg.Wait()
	if allowed != 5 || warn != 1 {
		t.Errorf("%d allowed and %d warned of 40, want 5 and 1", allowed, warn)
	}
}
