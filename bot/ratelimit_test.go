package bot_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gptaccess/bot"
)

type countHandler struct{ n int }

func (c *countHandler) Handle(context.Context, bot.Message) (bot.Reply, error) {
	c.n++
	return bot.Reply{Text: "answer", Entry: "what-is"}, nil
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inner := &countHandler{}
	h := bot.RateLimit(inner, 3, 6, func() time.Time { return now }) // burst 3, one per 10 s
	ctx := context.Background()
	ana := bot.Message{Platform: bot.Slack, User: "U1", Text: "hi"}
	bob := bot.Message{Platform: bot.Slack, User: "U2", Text: "hi"}

	var got []string
	for i := 0; i < 6; i++ {
		r, _ := h.Handle(ctx, ana)
		switch {
		case r.Ignore:
			got = append(got, "silent")
		case r.Private:
			got = append(got, "note")
		default:
			got = append(got, "answer")
		}
	}
	want := []string{"answer", "answer", "answer", "note", "silent", "silent"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("replies = %v, want %v", got, want)
		}
	}
	// Someone else is not affected.
	if r, _ := h.Handle(ctx, bob); r.Ignore || r.Private {
		t.Errorf("another user was limited: %+v", r)
	}
	// Ten seconds later one more answer is allowed, and the note can come again.
	now = now.Add(10 * time.Second)
	if r, _ := h.Handle(ctx, ana); r.Ignore || r.Private {
		t.Errorf("after refill: %+v", r)
	}
	if r, _ := h.Handle(ctx, ana); !r.Private {
		t.Errorf("limited again: want the note, got %+v", r)
	}
	if inner.n != 5 {
		t.Errorf("inner handler called %d times, want 5", inner.n)
	}
}

func TestRateLimitDisabled(t *testing.T) {
	inner := &countHandler{}
	h := bot.RateLimit(inner, 1, 0, nil)
	for i := 0; i < 100; i++ {
		h.Handle(context.Background(), bot.Message{User: "U1"})
	}
	if inner.n != 100 {
		t.Errorf("disabled limiter passed %d of 100", inner.n)
	}
}

// TestRateLimitMemoryIsBounded: 100,000 distinct users, none of whom has
// refilled their bucket, cost no more than maxBuckets remembered users,
// and a new user never waits on a scan of everyone else.
func TestRateLimitMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inner := &countHandler{}
	h := bot.RateLimit(inner, 1, 1, func() time.Time { return now }) // one message, then one a minute
	ctx := context.Background()
	const users = 100_000
	start := time.Now()
	for i := range users {
		if r, _ := h.Handle(ctx, bot.Message{Platform: bot.Discord, User: fmt.Sprint(i)}); r.Ignore || r.Private {
			t.Fatalf("user %d limited on their first message", i)
		}
	}
	elapsed := time.Since(start)
	if n := bot.Buckets(h); n > bot.MaxBuckets {
		t.Errorf("%d users remembered, want at most %d", n, bot.MaxBuckets)
	}
	if inner.n != users {
		t.Errorf("%d answered, want %d", inner.n, users)
	}
	// The most recent user is still remembered and still limited.
	last := bot.Message{Platform: bot.Discord, User: fmt.Sprint(users - 1)}
	if r, _ := h.Handle(ctx, last); !r.Private {
		t.Errorf("a recent user's second message: %+v, want the note", r)
	}
	t.Logf("%d distinct users in %v (%v each)", users, elapsed, elapsed/users)
}

// TestRateLimitForgetsIdleUsers: a user's bucket is forgotten once it
// would have refilled (so memory shrinks when people go quiet), and not
// before (so a limited user cannot get a fresh bucket by waiting less).
func TestRateLimitForgetsIdleUsers(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inner := &countHandler{}
	h := bot.RateLimit(inner, 1, 1, func() time.Time { return now }) // one message, then one a minute
	ctx := context.Background()
	for i := range 100 {
		h.Handle(ctx, bot.Message{Platform: bot.Slack, User: fmt.Sprint("U", i)})
	}
	if n := bot.Buckets(h); n != 100 {
		t.Fatalf("%d users remembered, want 100", n)
	}

	// Half a minute on, U0 is still limited: the empty bucket was kept.
	now = now.Add(30 * time.Second)
	if r, _ := h.Handle(ctx, bot.Message{Platform: bot.Slack, User: "U0"}); !r.Private {
		t.Errorf("U0 again after 30 s: %+v, want the note (the bucket forgotten too soon)", r)
	}

	// Once every bucket would be full again, they are all forgotten: only
	// the user who writes now is remembered.
	now = now.Add(2 * time.Minute)
	if r, _ := h.Handle(ctx, bot.Message{Platform: bot.Slack, User: "U-new"}); r.Ignore || r.Private {
		t.Fatalf("a new user: %+v", r)
	}
	if n := bot.Buckets(h); n != 1 {
		t.Errorf("%d users remembered after all went quiet, want 1", n)
	}
	if inner.n != 101 {
		t.Errorf("inner handler called %d times, want 101", inner.n)
	}
}
