package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gptaccess/bot"
)

var _ bot.Store = (*DB)(nil)
var _ bot.StatsReader = (*DB)(nil)
var _ bot.Subscriptions = (*DB)(nil)

// Conversation implements bot.Store.
func (d *DB) Conversation(ctx context.Context, key string) (bot.Conversation, bool, error) {
	var (
		c       bot.Conversation
		version int64
		state   string
	)
	err := d.db.QueryRowContext(ctx, `SELECT version, state FROM conversations WHERE key = ?`, key).Scan(&version, &state)
	if isNoRows(err) {
		return bot.Conversation{}, false, nil
	}
	if err != nil {
		return bot.Conversation{}, false, fmt.Errorf("read conversation: %w", explain(err))
	}
	if err := json.Unmarshal([]byte(state), &c); err != nil {
		return bot.Conversation{}, false, fmt.Errorf("decode conversation %q: %w", key, err)
	}
	// The document holds the version it was saved from; the column is the truth.
	c.Key, c.Version = key, version
	return c, true, nil
}

// SaveConversation implements bot.Store with a compare-and-set on version.
func (d *DB) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	if err := saveConversation(ctx, d.db, c, d.Now()); err != nil {
		return err
	}
	c.Version++
	return nil
}

// execer is what the write statements need: the database or a
// transaction (delivery's Finish writes conversations with the outbox).
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// saveConversation stores c if its version matches (bot.ErrConflict
// otherwise); it leaves c.Version alone.
func saveConversation(ctx context.Context, ex execer, c *bot.Conversation, at time.Time) error {
	state, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode conversation: %w", err)
	}
	now := unix(at)
	var res sql.Result
	if c.Version == 0 {
		res, err = ex.ExecContext(ctx,
			`INSERT INTO conversations (key, version, state, updated_at, user_id) VALUES (?, 1, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			c.Key, string(state), now, c.User)
	} else {
		res, err = ex.ExecContext(ctx,
			`UPDATE conversations SET version = version + 1, state = ?, updated_at = ?, user_id = ? WHERE key = ? AND version = ?`,
			string(state), now, c.User, c.Key, c.Version)
	}
	if err != nil {
		return fmt.Errorf("save conversation: %w", explain(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("save conversation: %w", err)
	}
	if n == 0 {
		return bot.ErrConflict
	}
	return nil
}

// DeleteConversation implements bot.Store with a compare-and-delete on
// version.
func (d *DB) DeleteConversation(ctx context.Context, key string, version int64) error {
	return deleteConversation(ctx, d.db, key, version)
}

func deleteConversation(ctx context.Context, ex execer, key string, version int64) error {
	res, err := ex.ExecContext(ctx, `DELETE FROM conversations WHERE key = ? AND version = ?`, key, version)
	if err != nil {
		return fmt.Errorf("delete conversation: %w", explain(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	} else if n == 0 {
		return bot.ErrConflict
	}
	return nil
}

// PruneConversations deletes conversations idle since before cutoff.
func (d *DB) PruneConversations(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM conversations WHERE updated_at < ?`, unix(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune conversations: %w", explain(err))
	}
	return res.RowsAffected()
}

// RecordOutcome implements bot.Store; a later outcome for the same key
// replaces the earlier one, so each diagnosis counts once.
func (d *DB) RecordOutcome(ctx context.Context, o bot.Outcome) error {
	return recordOutcome(ctx, d.db, o)
}

func recordOutcome(ctx context.Context, ex execer, o bot.Outcome) error {
	handed := 0
	if o.HandedOver {
		handed = 1
	}
	_, err := ex.ExecContext(ctx,
		`INSERT INTO outcomes (key, platform, cause, questions, resolved, handed_over, at) VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (key) DO UPDATE SET cause = excluded.cause, questions = excluded.questions,
		   resolved = excluded.resolved, handed_over = excluded.handed_over, at = excluded.at`,
		o.Key, o.Platform, o.Cause, o.Questions, o.Resolved, handed, unix(o.At))
	if err != nil {
		return fmt.Errorf("record outcome: %w", explain(err))
	}
	return nil
}

// PruneOutcomes forgets how diagnoses ended before cutoff (bot.outcome_retention).
func (d *DB) PruneOutcomes(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM outcomes WHERE at < ?`, unix(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune outcomes: %w", explain(err))
	}
	return res.RowsAffected()
}

// maxUnansweredText bounds what is kept of an unmatched message.
const maxUnansweredText = 300

// RecordUnanswered implements bot.Store. The text arrives redacted (and
// empty for direct messages); it is cut to maxUnansweredText on a rune
// boundary.
func (d *DB) RecordUnanswered(ctx context.Context, u bot.Unmatched) error {
	return recordUnanswered(ctx, d.db, u)
}

func recordUnanswered(ctx context.Context, ex execer, u bot.Unmatched) error {
	text := u.Text
	if len(text) > maxUnansweredText {
		text = strings.ToValidUTF8(text[:maxUnansweredText], "")
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO unanswered (platform, text, at, user_id) VALUES (?, ?, ?, ?)`,
		u.Platform, text, unix(u.At), u.Platform+":"+u.User)
	if err != nil {
		return fmt.Errorf("record unanswered: %w", explain(err))
	}
	return nil
}

// Stats implements bot.StatsReader.
func (d *DB) Stats(ctx context.Context, since time.Time) (bot.Stats, error) {
	s := bot.Stats{Since: since.UTC(), ByCause: map[string]int{}, Unanswered: []bot.Unanswered{}}
	rows, err := d.db.QueryContext(ctx, `SELECT cause, questions, resolved, handed_over FROM outcomes WHERE at >= ?`, unix(since))
	if err != nil {
		return s, fmt.Errorf("read outcomes: %w", explain(err))
	}
	var outcomes []bot.Outcome
	for rows.Next() {
		var (
			o      bot.Outcome
			handed int
		)
		if err := rows.Scan(&o.Cause, &o.Questions, &o.Resolved, &handed); err != nil {
			rows.Close()
			return s, fmt.Errorf("read outcomes: %w", err)
		}
		o.HandedOver = handed != 0
		outcomes = append(outcomes, o)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return s, fmt.Errorf("read outcomes: %w", err)
	}
	rows.Close()
	s.Tally(outcomes)

	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM unanswered WHERE at >= ?`, unix(since)).Scan(&s.UnansweredCount); err != nil {
		return s, fmt.Errorf("read unanswered: %w", explain(err))
	}
	// Direct messages are stored without text: counted above, never sampled.
	rows, err = d.db.QueryContext(ctx,
		`SELECT lower(trim(text)) AS t, COUNT(*) AS n FROM unanswered WHERE at >= ? AND text != '' GROUP BY t ORDER BY n DESC, t LIMIT 10`, unix(since))
	if err != nil {
		return s, fmt.Errorf("read unanswered: %w", explain(err))
	}
	defer rows.Close()
	for rows.Next() {
		var u bot.Unanswered
		if err := rows.Scan(&u.Text, &u.Count); err != nil {
			return s, fmt.Errorf("read unanswered: %w", err)
		}
		s.Unanswered = append(s.Unanswered, u)
	}
	return s, rows.Err()
}
