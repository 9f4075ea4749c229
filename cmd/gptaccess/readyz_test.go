package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReadinessIsCheckedOncePerSecond: /readyz is unauthenticated and its
// database check writes a row, so within readyEvery every request gets the
// last check's answer (a failure too) instead of making another write; a
// check cut short by its caller's deadline is not remembered.
func TestReadinessIsCheckedOncePerSecond(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var (
		calls int
		fail  error
	)
	check := oncePer(readyEvery, func(ctx context.Context) error {
		calls++
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail
	}, func() time.Time { return now })

	for range 100 {
		if err := check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("100 requests within a second made %d checks, want 1", calls)
	}

	fail = errors.New("write check: locked")
	now = now.Add(readyEvery - time.Millisecond)
	if err := check(ctx); err != nil || calls != 1 {
		t.Errorf("within the second: %v after %d checks; want the cached nil", err, calls)
	}
	now = now.Add(time.Millisecond)
	if err := check(ctx); err == nil || calls != 2 {
		t.Errorf("a second later: %v after %d checks; want the failure, checked again", err, calls)
	}
	fail = nil
	if err := check(ctx); err == nil || calls != 2 {
		t.Errorf("a failure is remembered for the second too: %v after %d checks", err, calls)
	}

	now = now.Add(readyEvery)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := check(gone); err == nil || calls != 3 {
		t.Errorf("with the caller gone: %v after %d checks", err, calls)
	}
	if err := check(ctx); err != nil || calls != 4 {
		t.Errorf("after a caller gave up: %v after %d checks; want a fresh check", err, calls)
	}
}
