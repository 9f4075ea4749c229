package postgres

import (
	"context"
	"fmt"
	"time"

	"gptaccess/bot"
)

// Forget deletes everything kept about one person, who is "platform:id"
// (e.g. "slack:U0123ABCD"): their conversations, the messages of theirs
// that the bot could not answer and their rate-limit bucket, in one
// transaction. Outcomes and check history hold nothing that identifies
// anyone and stay.
func (d *DB) Forget(ctx context.Context, who string) (bot.Forgotten, error) {
	var f bot.Forgotten
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return f, fmt.Errorf("forget: %w", explain(err))
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `DELETE FROM conversations WHERE user_id = $1`, text(who))
	if err != nil {
		return f, fmt.Errorf("forget conversations: %w", explain(err))
	}
	f.Conversations = tag.RowsAffected()
	tag, err = tx.Exec(ctx, `DELETE FROM unanswered WHERE user_id = $1`, text(who))
	if err != nil {
		return f, fmt.Errorf("forget unanswered: %w", explain(err))
	}
	f.Unanswered = tag.RowsAffected()
	tag, err = tx.Exec(ctx, `DELETE FROM rate_buckets WHERE key = $1`, text(who))
	if err != nil {
		return f, fmt.Errorf("forget rate limit: %w", explain(err))
	}
	f.RateLimits = tag.RowsAffected()
	if err := tx.Commit(ctx); err != nil {
		return f, fmt.Errorf("forget: %w", explain(err))
	}
	return f, nil
}

// PruneUnanswered deletes unanswered messages kept since before cutoff:
// the privacy retention.
func (d *DB) PruneUnanswered(ctx context.Context, cutoff time.Time) (int64, error) {
	return d.prune(ctx, "unanswered", `DELETE FROM unanswered WHERE at < $1`, unix(cutoff))
}
