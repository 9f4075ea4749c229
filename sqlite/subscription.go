package sqlite

import (
	"context"
	"fmt"
)

// Subscribe implements bot.Subscriptions: channel receives alerts from now on.
func (d *DB) Subscribe(ctx context.Context, platform, channel string) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO subscriptions (platform, channel, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		platform, channel, unix(d.Now()))
	if err != nil {
		return fmt.Errorf("subscribe: %w", explain(err))
	}
	return nil
}

// Unsubscribe implements bot.Subscriptions.
func (d *DB) Unsubscribe(ctx context.Context, platform, channel string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE platform = ? AND channel = ?`, platform, channel); err != nil {
		return fmt.Errorf("unsubscribe: %w", explain(err))
	}
	return nil
}

// Subscribers lists the channels of platform that subscribed at run time.
func (d *DB) Subscribers(ctx context.Context, platform string) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT channel FROM subscriptions WHERE platform = ? ORDER BY since, channel`, platform)
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", explain(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("list subscribers: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
