package sqlite

import (
	"context"
	"fmt"
	"time"
)

// Claim records that the delivery named key (e.g. "slack:event:Ev123") is
// being processed. It returns true for the first claim and false for every
// later one, across restarts, so adapters reply exactly once.
func (d *DB) Claim(ctx context.Context, key string) (bool, error) {
	res, err := d.db.ExecContext(ctx, `INSERT INTO deliveries (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, unix(d.Now()))
	if err != nil {
		return false, fmt.Errorf("claim delivery: %w", explain(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim delivery: %w", err)
	}
	return n == 1, nil
}

// PruneDeliveries forgets deliveries seen before cutoff; platforms stop
// retrying long before (Slack within an hour, Discord at once).
func (d *DB) PruneDeliveries(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM deliveries WHERE seen_at < ?`, unix(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", explain(err))
	}
	return res.RowsAffected()
}
