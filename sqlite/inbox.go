package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gptaccess/bot"
	"gptaccess/delivery"
)

var _ delivery.Store = (*DB)(nil)

// millis converts t to the unix milliseconds the inbox and outbox store:
// seconds are too coarse to order a backlog or time a Retry-After.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Put implements delivery.Store.
func (d *DB) Put(ctx context.Context, in delivery.Inbound) (bool, error) {
	res, err := d.db.ExecContext(ctx,
		`INSERT INTO inbox (id, platform, lane, body, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.Platform, in.Lane, nonNil(in.Body), millis(in.Received))
	if err != nil {
		return false, fmt.Errorf("inbox put: %w", explain(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox put: %w", err)
	}
	return n == 1, nil
}

// nonNil keeps an empty body from being stored as NULL, which marks a
// finished item.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// NextIn implements delivery.Store.
func (d *DB) NextIn(ctx context.Context, l delivery.Lane) (delivery.Inbound, bool, error) {
	in := delivery.Inbound{Platform: l.Platform, Lane: l.Name}
	var received int64
	err := d.db.QueryRowContext(ctx,
		`SELECT id, body, received_at FROM inbox WHERE platform = ? AND lane = ? AND status = 'pending' ORDER BY seq LIMIT 1`,
		l.Platform, l.Name).Scan(&in.ID, &in.Body, &received)
	if isNoRows(err) {
		return delivery.Inbound{}, false, nil
	}
	if err != nil {
		return delivery.Inbound{}, false, fmt.Errorf("inbox next: %w", explain(err))
	}
	in.Received = fromMillis(received)
	return in, true, nil
}

// Finish implements delivery.Store: the conversation writes, the outbox
// items and the inbox item's end commit together or not at all.
func (d *DB) Finish(ctx context.Context, id string, w delivery.Writes, out []delivery.Outbound) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("inbox finish: %w", explain(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE inbox SET status = 'done', body = NULL WHERE id = ? AND status = 'pending'`, id)
	if err != nil {
		return fmt.Errorf("inbox finish: %w", explain(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("inbox finish: %w", err)
		}
		return delivery.ErrNotPending
	}
	if err := d.applyWrites(ctx, tx, w); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, out); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("inbox finish: %w", explain(err))
	}
	d.scrub.soon() // the item's body is gone: from the WAL too, soon
	return nil
}

// applyWrites applies what the bot wrote while answering one item.
func (d *DB) applyWrites(ctx context.Context, tx *sql.Tx, w delivery.Writes) error {
	now := d.Now()
	return w.Apply(delivery.WriteOps{
		Delete:     func(k delivery.Deletion) error { return deleteConversation(ctx, tx, k.Key, k.Version) },
		Save:       func(c *bot.Conversation) error { return saveConversation(ctx, tx, c, now) },
		Outcome:    func(o bot.Outcome) error { return recordOutcome(ctx, tx, o) },
		Unanswered: func(u bot.Unmatched) error { return recordUnanswered(ctx, tx, u) },
	})
}

func enqueue(ctx context.Context, ex execer, out []delivery.Outbound) error {
	for _, o := range out {
		_, err := ex.ExecContext(ctx,
			`INSERT INTO outbox (key, platform, lane, kind, parent, body, attempts, rate_limited, not_before, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			o.Key, o.Platform, o.Lane, o.Kind, o.Parent, nonNil(o.Body), o.Attempts, o.RateLimited, millis(o.NotBefore), millis(o.Created))
		if err != nil {
			return fmt.Errorf("outbox add: %w", explain(err))
		}
	}
	return nil
}

// Drop implements delivery.Store.
func (d *DB) Drop(ctx context.Context, id string) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE inbox SET status = 'dropped', body = NULL WHERE id = ? AND status = 'pending'`, id); err != nil {
		return fmt.Errorf("inbox drop: %w", explain(err))
	}
	d.scrub.soon()
	return nil
}

// Enqueue implements delivery.Store.
func (d *DB) Enqueue(ctx context.Context, out []delivery.Outbound) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox add: %w", explain(err))
	}
	defer tx.Rollback()
	if err := enqueue(ctx, tx, out); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox add: %w", explain(err))
	}
	return nil
}

// NextOut implements delivery.Store.
func (d *DB) NextOut(ctx context.Context, l delivery.Lane) (delivery.Outbound, bool, error) {
	o := delivery.Outbound{Platform: l.Platform, Lane: l.Name}
	var notBefore, created int64
	err := d.db.QueryRowContext(ctx,
		`SELECT seq, key, kind, parent, body, attempts, rate_limited, not_before, created_at FROM outbox
		 WHERE platform = ? AND lane = ? AND status = 'pending' ORDER BY seq LIMIT 1`,
		l.Platform, l.Name).Scan(&o.Seq, &o.Key, &o.Kind, &o.Parent, &o.Body, &o.Attempts, &o.RateLimited, &notBefore, &created)
	if isNoRows(err) {
		return delivery.Outbound{}, false, nil
	}
	if err != nil {
		return delivery.Outbound{}, false, fmt.Errorf("outbox next: %w", explain(err))
	}
	o.NotBefore, o.Created = fromMillis(notBefore), fromMillis(created)
	return o, true, nil
}

// Sent implements delivery.Store.
func (d *DB) Sent(ctx context.Context, seq int64, ref string) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE outbox SET status = 'sent', ref = ?, body = NULL WHERE seq = ? AND status = 'pending'`, ref, seq); err != nil {
		return fmt.Errorf("outbox sent: %w", explain(err))
	}
	d.scrub.soon()
	return nil
}

// Failed implements delivery.Store.
func (d *DB) Failed(ctx context.Context, seq int64, reason string) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE outbox SET status = 'failed', error = ?, body = NULL WHERE seq = ? AND status = 'pending'`, reason, seq); err != nil {
		return fmt.Errorf("outbox failed: %w", explain(err))
	}
	d.scrub.soon()
	return nil
}

// Retry implements delivery.Store.
func (d *DB) Retry(ctx context.Context, seq int64, attempts, rateLimited int, notBefore time.Time) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE outbox SET attempts = ?, rate_limited = ?, not_before = ? WHERE seq = ? AND status = 'pending'`,
		attempts, rateLimited, millis(notBefore), seq); err != nil {
		return fmt.Errorf("outbox retry: %w", explain(err))
	}
	return nil
}

// Lookup implements delivery.Store.
func (d *DB) Lookup(ctx context.Context, key string) (delivery.Status, string, error) {
	var st, ref string
	err := d.db.QueryRowContext(ctx, `SELECT status, ref FROM outbox WHERE key = ?`, key).Scan(&st, &ref)
	if isNoRows(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("outbox lookup: %w", explain(err))
	}
	return delivery.Status(st), ref, nil
}

// Lanes implements delivery.Store.
func (d *DB) Lanes(ctx context.Context) (in, out []delivery.Lane, err error) {
	in, err = d.lanes(ctx, `SELECT DISTINCT platform, lane FROM inbox WHERE status = 'pending'`)
	if err != nil {
		return nil, nil, err
	}
	out, err = d.lanes(ctx, `SELECT DISTINCT platform, lane FROM outbox WHERE status = 'pending'`)
	return in, out, err
}

func (d *DB) lanes(ctx context.Context, q string) ([]delivery.Lane, error) {
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pending lanes: %w", explain(err))
	}
	defer rows.Close()
	var ls []delivery.Lane
	for rows.Next() {
		var l delivery.Lane
		if err := rows.Scan(&l.Platform, &l.Name); err != nil {
			return nil, fmt.Errorf("pending lanes: %w", err)
		}
		ls = append(ls, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending lanes: %w", err)
	}
	return ls, nil
}

// Heard implements delivery.Store.
func (d *DB) Heard(ctx context.Context, platform, prefix string, since time.Time) (time.Time, []string, error) {
	var newest int64
	err := d.db.QueryRowContext(ctx,
		`SELECT received_at FROM inbox WHERE platform = ? AND instr(id, ?) = 1 ORDER BY received_at DESC LIMIT 1`,
		platform, prefix).Scan(&newest)
	if isNoRows(err) {
		return time.Time{}, nil, nil
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	rows, err := d.db.QueryContext(ctx,
		`SELECT lane FROM inbox WHERE platform = ? AND instr(id, ?) = 1 AND received_at >= ?
		 GROUP BY lane ORDER BY MAX(received_at) DESC, lane`,
		platform, prefix, millis(since))
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	defer rows.Close()
	var lanes []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
		}
		lanes = append(lanes, l)
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	return fromMillis(newest), lanes, nil
}

// Prune implements delivery.Store. An inbox item's id is what keeps a
// platform's retry from being answered twice, so the janitor keeps
// finished items as long as platforms retry (README, "Data kept").
func (d *DB) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM inbox WHERE status != 'pending' AND received_at < ?`,
		`DELETE FROM outbox WHERE status != 'pending' AND created_at < ?`,
	} {
		res, err := d.db.ExecContext(ctx, q, millis(cutoff))
		if err != nil {
			return total, fmt.Errorf("prune deliveries: %w", explain(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if total > 0 {
		d.scrub.soon()
	}
	return total, nil
}
