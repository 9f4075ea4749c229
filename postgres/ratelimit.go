package postgres

import (
	"context"
	"fmt"
	"time"

	"gptaccess/bot"
)

// Limiter returns a bot.Limiter whose token buckets (burst replies at
// once, perMinute sustained, per "platform:user") live in the database,
// so the limit holds however the messages are spread over the replicas.
// Each Take is one statement: the refill, the take and the refusal count
// happen under the row's lock. The replicas' clocks feed the refill; a
// clock behind the others refills nothing rather than going back.
func (d *DB) Limiter(burst, perMinute int) bot.Limiter {
	if burst <= 0 {
		burst = 1
	}
	return &limiter{d: d, burst: float64(burst), perMs: float64(perMinute) / 60000}
}

type limiter struct {
	d     *DB
	burst float64
	perMs float64 // tokens added per millisecond
}

// refilled is the bucket's tokens now ($3 ms), before this take.
const refilled = `LEAST($2::float8, b.tokens + GREATEST(0, $3::bigint - b.at_ms) * $4::float8)`

// epsilon absorbs the rounding of the refill, so that a token due at an
// exact time is there at that time.
const epsilon = 1e-9

// Take implements bot.Limiter.
func (l *limiter) Take(ctx context.Context, key string) (ok, warn bool, err error) {
	var refusals int
	err = l.d.pool.QueryRow(ctx, `INSERT INTO rate_buckets AS b (key, tokens, at_ms, refusals) VALUES ($1, $2::float8 - 1, $3::bigint, 0)
		ON CONFLICT (key) DO UPDATE SET
			tokens = `+refilled+` - CASE WHEN `+refilled+` >= 1 - $5::float8 THEN 1 ELSE 0 END,
			refusals = CASE WHEN `+refilled+` >= 1 - $5::float8 THEN 0 ELSE b.refusals + 1 END,
			at_ms = GREATEST(b.at_ms, $3::bigint)
		RETURNING refusals`,
		text(key), l.burst, l.d.Now().UnixMilli(), l.perMs, epsilon).Scan(&refusals)
	if err != nil {
		return false, false, fmt.Errorf("rate limit: %w", explain(err))
	}
	return refusals == 0, refusals == 1, nil
}

// PruneRateLimits forgets the buckets untouched since before cutoff: a
// bucket idle that long is full again (at any allowed setting a bucket
// refills within 17 hours), and forgetting it loses nothing.
func (d *DB) PruneRateLimits(ctx context.Context, cutoff time.Time) (int64, error) {
	return d.prune(ctx, "rate limits", `DELETE FROM rate_buckets WHERE at_ms < $1`, cutoff.UnixMilli())
}
