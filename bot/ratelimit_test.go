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

// TestRateLimitForgetsIdleUsers: memory stays bounded however many people
// talk; users whose bucket refilled are forgotten first.
func TestRateLimitForgetsIdleUsers(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inner := &countHandler{}
	h := bot.RateLimit(inner, 1, 60, func() time.Time { return now })
	ctx := context.Background()
	for i := range bot.MaxBuckets {
		h.Handle(ctx, bot.Message{Platform: bot.Slack, User: fmt.Sprint("U", i)})
	}
	// Everyone's bucket refills; a newcomer makes room by forgetting them,
	// and a forgotten user starts with a full bucket again.
	now = now.Add(time.Minute)
	h.Handle(ctx, bot.Message{Platform: bot.Slack, User: "newcomer"})
	if n := bot.Buckets(h); n != 1 {
		t.Errorf("%d buckets after pruning, want 1", n)
	}
	if r, _ := h.Handle(ctx, bot.Message{Platform: bot.Slack, User: "U0"}); r.Ignore || r.Private {
		t.Errorf("a forgotten user was limited: %+v", r)
	}
}
