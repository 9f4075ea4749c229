package bot

import (
	"context"
	"sync"
	"time"
)

// Handler answers messages; *Engine implements it, and decorators such as
// RateLimit wrap it.
type Handler interface {
	Handle(ctx context.Context, m Message) (Reply, error)
}

// RateLimit limits how many replies one user gets: a token bucket per
// platform+user holding burst tokens, refilled at perMinute. Past the limit
// the user gets one polite note, then silence until tokens refill, so a
// person (or a loop with another bot) cannot flood a channel. Button clicks
// count too. perMinute <= 0 disables the limit.
func RateLimit(h Handler, burst, perMinute int, now func() time.Time) Handler {
	if perMinute <= 0 {
		return h
	}
	if burst <= 0 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{h: h, burst: float64(burst), rate: float64(perMinute) / 60, now: now, buckets: map[string]*bucket{}}
}

type limiter struct {
	h     Handler
	burst float64
	rate  float64 // tokens per second
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
	warned bool
}

// maxBuckets bounds memory when very many users talk at once; past it,
// full buckets are dropped (their users have not been limited recently).
const maxBuckets = 10000

func (l *limiter) Handle(ctx context.Context, m Message) (Reply, error) {
	if !l.allow(m.Platform + ":" + m.User) {
		if l.warnOnce(m.Platform + ":" + m.User) {
			return Reply{Entry: "none", Private: true,
				Text: "You're sending messages faster than I can help. Please wait a minute, then try again."}, nil
		}
		return Reply{Entry: "none", Ignore: true}, nil
	}
	return l.h.Handle(ctx, m)
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	b.warned = false
	return true
}

func (l *limiter) warnOnce(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || b.warned {
		return false
	}
	b.warned = true
	return true
}

// prune drops buckets that have refilled completely.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
