package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gptaccess/bot"
)

var (
	_ bot.Store         = (*DB)(nil)
	_ bot.StatsReader   = (*DB)(nil)
	_ bot.Subscriptions = (*DB)(nil)
)

// Conversation implements bot.Store.
func (d *DB) Conversation(ctx context.Context, key string) (bot.Conversation, bool, error) {
	var (
		c       bot.Conversation
		version int64
		state   []byte
	)
	err := d.pool.QueryRow(ctx, `SELECT version, state FROM conversations WHERE key = $1`, text(key)).Scan(&version, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.Conversation{}, false, nil
	}
	if err != nil {
		return bot.Conversation{}, false, fmt.Errorf("read conversation: %w", explain(err))
	}
	if err := json.Unmarshal(state, &c); err != nil {
		return bot.Conversation{}, false, fmt.Errorf("decode conversation %q: %w", key, err)
	}
	// The document holds the version it was saved from; the column is the truth.
	c.Key, c.Version = key, version
	return c, true, nil
}

// SaveConversation implements bot.Store with a compare-and-set on
// version: of two replicas that read the same version, one wins and the
// other gets bot.ErrConflict.
func (d *DB) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	if err := saveConversation(ctx, d.pool, c, d.Now()); err != nil {
		return err
	}
	c.Version++
	return nil
}

// execer is what the write statements need: the pool or a transaction
// (the inbox's Finish writes conversations with the outbox).
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// saveConversation stores c if its version matches (bot.ErrConflict
// otherwise); it leaves c.Version alone.
func saveConversation(ctx context.Context, ex execer, c *bot.Conversation, at time.Time) error {
	state, err := jsonb(c)
	if err != nil {
		return fmt.Errorf("encode conversation: %w", err)
	}
	now := unix(at)
	var tag pgconn.CommandTag
	if c.Version == 0 {
		tag, err = ex.Exec(ctx,
			`INSERT INTO conversations (key, version, state, updated_at, user_id) VALUES ($1, 1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`,
			text(c.Key), state, now, text(c.User))
	} else {
		tag, err = ex.Exec(ctx,
			`UPDATE conversations SET version = version + 1, state = $1, updated_at = $2, user_id = $3 WHERE key = $4 AND version = $5`,
			state, now, text(c.User), text(c.Key), c.Version)
	}
	if err != nil {
		return fmt.Errorf("save conversation: %w", explain(err))
	}
	if tag.RowsAffected() == 0 {
		return bot.ErrConflict
	}
	return nil
}

// DeleteConversation implements bot.Store with a compare-and-delete on
// version.
func (d *DB) DeleteConversation(ctx context.Context, key string, version int64) error {
	return deleteConversation(ctx, d.pool, key, version)
}

func deleteConversation(ctx context.Context, ex execer, key string, version int64) error {
	tag, err := ex.Exec(ctx, `DELETE FROM conversations WHERE key = $1 AND version = $2`, text(key), version)
	if err != nil {
		return fmt.Errorf("delete conversation: %w", explain(err))
	}
	if tag.RowsAffected() == 0 {
		return bot.ErrConflict
	}
	return nil
}

// PruneConversations deletes conversations idle since before cutoff.
func (d *DB) PruneConversations(ctx context.Context, cutoff time.Time) (int64, error) {
	return d.prune(ctx, "conversations", `DELETE FROM conversations WHERE updated_at < $1`, unix(cutoff))
}

// prune runs one retention DELETE and says how many rows it removed.
func (d *DB) prune(ctx context.Context, what, query string, args ...any) (int64, error) {
	tag, err := d.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", what, explain(err))
	}
	return tag.RowsAffected(), nil
}

// RecordOutcome implements bot.Store; a later outcome for the same key
// replaces the earlier one, so each diagnosis counts once.
func (d *DB) RecordOutcome(ctx context.Context, o bot.Outcome) error {
	return recordOutcome(ctx, d.pool, o)
}

func recordOutcome(ctx context.Context, ex execer, o bot.Outcome) error {
	_, err := ex.Exec(ctx,
		`INSERT INTO outcomes (key, platform, cause, questions, resolved, handed_over, at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (key) DO UPDATE SET cause = excluded.cause, questions = excluded.questions,
		   resolved = excluded.resolved, handed_over = excluded.handed_over, at = excluded.at`,
		text(o.Key), text(o.Platform), text(o.Cause), o.Questions, text(o.Resolved), o.HandedOver, unix(o.At))
	if err != nil {
		return fmt.Errorf("record outcome: %w", explain(err))
	}
	return nil
}

// PruneOutcomes forgets how diagnoses ended before cutoff (bot.outcome_retention).
func (d *DB) PruneOutcomes(ctx context.Context, cutoff time.Time) (int64, error) {
	return d.prune(ctx, "outcomes", `DELETE FROM outcomes WHERE at < $1`, unix(cutoff))
}

// maxUnansweredText bounds what is kept of an unmatched message, as in
// the sqlite store.
const maxUnansweredText = 300

// RecordUnanswered implements bot.Store. The text arrives redacted (and
// empty for direct messages); it is cut to maxUnansweredText bytes on a
// rune boundary.
func (d *DB) RecordUnanswered(ctx context.Context, u bot.Unmatched) error {
	return recordUnanswered(ctx, d.pool, u)
}

func recordUnanswered(ctx context.Context, ex execer, u bot.Unmatched) error {
	t := u.Text
	if len(t) > maxUnansweredText {
		t = strings.ToValidUTF8(t[:maxUnansweredText], "")
	}
	_, err := ex.Exec(ctx, `INSERT INTO unanswered (platform, text, at, user_id) VALUES ($1, $2, $3, $4)`,
		text(u.Platform), text(t), unix(u.At), text(u.Platform+":"+u.User))
	if err != nil {
		return fmt.Errorf("record unanswered: %w", explain(err))
	}
	return nil
}

// Stats implements bot.StatsReader.
func (d *DB) Stats(ctx context.Context, since time.Time) (bot.Stats, error) {
	s := bot.Stats{Since: since.UTC(), ByCause: map[string]int{}, Unanswered: []bot.Unanswered{}}
	rows, err := d.pool.Query(ctx, `SELECT cause, questions, resolved, handed_over FROM outcomes WHERE at >= $1`, unix(since))
	if err != nil {
		return s, fmt.Errorf("read outcomes: %w", explain(err))
	}
	var (
		outcomes []bot.Outcome
		o        bot.Outcome
	)
	_, err = pgx.ForEachRow(rows, []any{&o.Cause, &o.Questions, &o.Resolved, &o.HandedOver}, func() error {
		outcomes = append(outcomes, o)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("read outcomes: %w", explain(err))
	}
	s.Tally(outcomes)

	if err := d.pool.QueryRow(ctx, `SELECT COUNT(*) FROM unanswered WHERE at >= $1`, unix(since)).Scan(&s.UnansweredCount); err != nil {
		return s, fmt.Errorf("read unanswered: %w", explain(err))
	}
	// Direct messages are stored without text: counted above, never sampled.
	rows, err = d.pool.Query(ctx,
		`SELECT lower(trim(text)) AS t, COUNT(*) AS n FROM unanswered WHERE at >= $1 AND text <> '' GROUP BY t ORDER BY n DESC, t LIMIT 10`, unix(since))
	if err != nil {
		return s, fmt.Errorf("read unanswered: %w", explain(err))
	}
	var u bot.Unanswered
	_, err = pgx.ForEachRow(rows, []any{&u.Text, &u.Count}, func() error {
		s.Unanswered = append(s.Unanswered, u)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("read unanswered: %w", explain(err))
	}
	return s, nil
}
