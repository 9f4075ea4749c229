package sqlite

import (
	"context"
	"fmt"
	"time"

	"gptaccess/bot"
)

// Forgotten counts what Forget deleted.
type Forgotten = bot.Forgotten

// Forget deletes everything kept about one person, who is "platform:id"
// (e.g. "slack:U0123ABCD"): their conversations and the messages of theirs
// that the bot could not answer. Outcomes and check history hold nothing
// that identifies anyone and stay.
func (d *DB) Forget(ctx context.Context, who string) (Forgotten, error) {
	var f Forgotten
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("forget: %w", explain(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE user_id = ?`, who)
	if err != nil {
		return f, fmt.Errorf("forget conversations: %w", explain(err))
	}
	f.Conversations, _ = res.RowsAffected()
	res, err = tx.ExecContext(ctx, `DELETE FROM unanswered WHERE user_id = ?`, who)
	if err != nil {
		return f, fmt.Errorf("forget unanswered: %w", explain(err))
	}
	f.Unanswered, _ = res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return f, fmt.Errorf("forget: %w", explain(err))
	}
	d.scrub.soon()
	return f, nil
}

// PruneUnanswered deletes unanswered messages kept since before cutoff:
// the privacy retention.
func (d *DB) PruneUnanswered(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM unanswered WHERE at < ?`, unix(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune unanswered: %w", explain(err))
	}
	n, err := res.RowsAffected()
	if n > 0 {
		d.scrub.soon()
	}
	return n, err
}
