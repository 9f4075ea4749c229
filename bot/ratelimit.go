package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Handler answers messages; *Engine implements it, decorators such as
// RateLimit (and the metrics' WrapHandler) wrap it, and the adapters and the
// delivery core call it. It is declared once, here.
type Handler interface {
	Handle(ctx context.Context, m Message) (Reply, error)
}

// RateLimit limits how many replies one user gets: a token bucket per
// platform+user holding burst tokens, refilled at perMinute. Past the limit
// the user gets one polite note, then silence until tokens refill, so a
// person (or a loop with another bot) cannot flood a channel. Button clicks
// count too. perMinute <= 0 disables the limit.
//
// Memory is bounded however many people write: the buckets live in an LRU
// cache of at most maxBuckets users, and a user's bucket is forgotten once
// it would have refilled completely (forgetting it then loses nothing).
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
	every := rate.Limit(float64(perMinute) / 60)
	// A bucket untouched for this long is full again (a second more
	// absorbs rounding).
	refill := time.Duration(float64(burst) / float64(every) * float64(time.Second))
	users, _ := simplelru.NewLRU[string, *bucket](maxBuckets, nil) // fails only for a size <= 0
	return Limit(h, &limiter{burst: burst, every: every, idle: refill + time.Second, now: now, users: users}, nil)
}

// Limiter keeps a token bucket per key ("platform:user"). Take takes a
// token; when there is none, warn says whether this is the first refusal
// since the key's last allowed message. RateLimit keeps the buckets in
// memory; the postgres package keeps them in the database, so that the
// limit holds across replicas.
type Limiter interface {
	Take(ctx context.Context, key string) (ok, warn bool, err error)
}

// Limit limits the replies each user gets from h with l (see RateLimit).
// When l fails (its database is down), the message goes through and the
// error is logged: a broken limiter must not silence the bot. A nil log
// means slog.Default().
func Limit(h Handler, l Limiter, log *slog.Logger) Handler {
	if log == nil {
		log = slog.Default()
	}
	return &limited{h: h, l: l, log: log.With("component", "ratelimit")}
}

type limited struct {
	h   Handler
	l   Limiter
	log *slog.Logger
}

func (l *limited) Handle(ctx context.Context, m Message) (Reply, error) {
	ok, warn, err := l.l.Take(ctx, m.Platform+":"+m.User)
	switch {
	case err != nil:
		l.log.Warn("rate limit unavailable; letting the message through", "err", err)
		return l.h.Handle(ctx, m)
	case ok:
		return l.h.Handle(ctx, m)
	case warn:
		return Reply{Entry: "none", Private: true,
			Text: "You're sending messages faster than I can help. Please wait a minute, then try again."}, nil
	}
	return Reply{Entry: "none", Ignore: true}, nil
}

// limiter is the in-memory Limiter of RateLimit. Buckets expire on its
// clock, lazily, as users write: the least recently active come first in
// the LRU, so each Take drops the idle ones from that end without looking
// at anyone else, and no goroutine outlives the limiter.
type limiter struct {
	burst int
	every rate.Limit
	idle  time.Duration // a bucket untouched this long is full again
	now   func() time.Time

	mu    sync.Mutex // users (not safe for concurrent use) and bucket fields
	users *simplelru.LRU[string, *bucket]
}

type bucket struct {
	lim    *rate.Limiter
	warned bool
	seen   time.Time // the user's last message
}

// maxBuckets bounds memory when very many users talk at once; past it the
// least recently active user is forgotten.
const maxBuckets = 10000

// Take implements Limiter.
func (l *limiter) Take(_ context.Context, key string) (ok, warn bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for {
		_, oldest, found := l.users.GetOldest()
		if !found || now.Sub(oldest.seen) < l.idle {
			break
		}
		l.users.RemoveOldest()
	}
	b, found := l.users.Get(key) // now the most recently active
	if !found {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.users.Add(key, b)
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		b.warned = false
		return true, false, nil
	}
	warn = !b.warned
	b.warned = true
	return false, warn, nil
}
