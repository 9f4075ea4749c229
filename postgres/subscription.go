package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Subscribe implements bot.Subscriptions: channel receives alerts from now on.
func (d *DB) Subscribe(ctx context.Context, platform, channel string) error {
	_, err := d.pool.Exec(ctx,
		`INSERT INTO subscriptions (platform, channel, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		text(platform), text(channel), unix(d.Now()))
	if err != nil {
		return fmt.Errorf("subscribe: %w", explain(err))
	}
	return nil
}

// Unsubscribe implements bot.Subscriptions.
func (d *DB) Unsubscribe(ctx context.Context, platform, channel string) error {
	if _, err := d.pool.Exec(ctx, `DELETE FROM subscriptions WHERE platform = $1 AND channel = $2`, text(platform), text(channel)); err != nil {
		return fmt.Errorf("unsubscribe: %w", explain(err))
	}
	return nil
}

// Subscribers lists the channels of platform that subscribed at run time.
func (d *DB) Subscribers(ctx context.Context, platform string) ([]string, error) {
	rows, err := d.pool.Query(ctx, `SELECT channel FROM subscriptions WHERE platform = $1 ORDER BY since, channel`, text(platform))
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", explain(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list subscribers: %w", explain(err))
	}
	return out, nil
}
