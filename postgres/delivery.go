package postgres

import (
	"context"
	"fmt"
	"time"
)

// Claim records that the delivery named key (e.g. "slack:event:Ev123") is
// being processed. It returns true for the first claim and false for every
// later one, whichever replica makes it, so a delivery that reaches two
// replicas (a Slack retry, a Socket Mode redelivery) is answered once.
func (d *DB) Claim(ctx context.Context, key string) (bool, error) {
	tag, err := d.pool.Exec(ctx, `INSERT INTO deliveries (key, seen_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, text(key), unix(d.Now()))
	if err != nil {
		return false, fmt.Errorf("claim delivery: %w", explain(err))
	}
	return tag.RowsAffected() == 1, nil
}

// PruneDeliveries forgets deliveries seen before cutoff; platforms stop
// retrying long before (Slack within an hour, Discord at once).
func (d *DB) PruneDeliveries(ctx context.Context, cutoff time.Time) (int64, error) {
	return d.prune(ctx, "deliveries", `DELETE FROM deliveries WHERE seen_at < $1`, unix(cutoff))
}
