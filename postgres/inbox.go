package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"gptaccess/bot"
	"gptaccess/delivery"
)

var _ delivery.Store = (*DB)(nil)

// LaneHold is how long a replica keeps a lane it took (one channel's
// inbox or outbox) without renewing it. The holder renews it on each
// NextIn or NextOut and, while KeepLanes runs, every LaneRenew whatever
// it is doing (answering, waiting out a Retry-After); once it passes,
// another replica may take the lane. So a replica that dies (kill -9, a
// crashed host) leaves its pending work to the others within LaneHold,
// and one that stops cleanly (ReleaseLanes) at once. A live replica
// loses a lane only if it cannot reach the database for LaneHold.
const LaneHold = 10 * time.Second

// LaneRenew is how often KeepLanes renews this replica's lanes: a fifth
// of LaneHold, so that a few slow round trips do not lose them.
const LaneRenew = LaneHold / 5

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

// nonNil keeps an empty body from being stored as NULL, which marks a
// finished item.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// replicaID names this process among the replicas taking lanes.
func replicaID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Put implements delivery.Store.
func (d *DB) Put(ctx context.Context, in delivery.Inbound) (bool, error) {
	tag, err := d.pool.Exec(ctx,
		`INSERT INTO inbox (id, platform, lane, body, received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
		text(in.ID), text(in.Platform), text(in.Lane), nonNil(in.Body), millis(in.Received))
	if err != nil {
		return false, fmt.Errorf("inbox put: %w", explain(err))
	}
	return tag.RowsAffected() == 1, nil
}

// NextIn implements delivery.Store: the oldest pending item of lane, and
// the lane with it for LaneHold. When another replica holds the lane, it
// reports none: the lane is being worked, in order, elsewhere.
func (d *DB) NextIn(ctx context.Context, l delivery.Lane) (delivery.Inbound, bool, error) {
	in := delivery.Inbound{Platform: l.Platform, Lane: l.Name}
	var received int64
	ok, err := d.take(ctx, "inbox", l, `SELECT seq, taken_by, taken_until, id, body, received_at FROM inbox
		WHERE seq = (SELECT MIN(seq) FROM inbox WHERE platform = $1 AND lane = $2 AND status = 'pending')
		AND status = 'pending' FOR UPDATE SKIP LOCKED`,
		&in.ID, &in.Body, &received)
	if err != nil || !ok {
		return delivery.Inbound{}, false, err
	}
	in.Received = fromMillis(received)
	return in, true, nil
}

// KeepLanes renews the holds of the lanes this replica works every
// LaneRenew until ctx ends. Run it while the delivery core runs on d, and
// call ReleaseLanes once the core stopped.
func (d *DB) KeepLanes(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(LaneRenew)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := d.RenewLanes(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("cannot renew this replica's hold on its channels; another replica takes them over if this lasts", "lane_hold", LaneHold.String(), "err", err)
			failing = true
		case err == nil && failing:
			log.Info("renewing the hold on this replica's channels again")
			failing = false
		}
	}
}

// RenewLanes extends, by LaneHold from now, the hold of every lane this
// replica holds (the pending items it took).
func (d *DB) RenewLanes(ctx context.Context) error {
	until := millis(d.Now().Add(LaneHold))
	for _, table := range []string{"inbox", "outbox"} {
		if _, err := d.pool.Exec(ctx, `UPDATE `+table+` SET taken_until = $1 WHERE taken_by = $2 AND status = 'pending'`,
			until, d.replica); err != nil {
			return fmt.Errorf("%s renew: %w", table, explain(err))
		}
	}
	return nil
}

// ReleaseLanes lets go of every lane this replica holds, so that another
// replica takes them over at once rather than when their holds pass. Call
// it only once this replica's delivery core stopped: a lane let go while
// the core still made its call could see the call made twice.
func (d *DB) ReleaseLanes(ctx context.Context) error {
	for _, table := range []string{"inbox", "outbox"} {
		if _, err := d.pool.Exec(ctx, `UPDATE `+table+` SET taken_by = '', taken_until = 0 WHERE taken_by = $1 AND status = 'pending'`,
			d.replica); err != nil {
			return fmt.Errorf("%s release: %w", table, explain(err))
		}
	}
	return nil
}

// take reads the oldest pending item of l in table with query (which
// selects seq, taken_by and taken_until, then the columns for dest) and
// takes it for this replica, unless another replica holds it still. The
// query locks only the lane's oldest item, FOR UPDATE SKIP LOCKED: a
// replica that finds another taking it at that moment moves on at once
// rather than wait, and never takes the lane's next item out of turn;
// the status is checked again on the row it locks, which another replica
// may have finished meanwhile.
func (d *DB) take(ctx context.Context, table string, l delivery.Lane, query string, dest ...any) (bool, error) {
	var taken bool
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var (
			seq, until int64
			by         string
		)
		err := tx.QueryRow(ctx, query, text(l.Platform), text(l.Name)).Scan(append([]any{&seq, &by, &until}, dest...)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		now := d.Now()
		if by != "" && by != d.replica && until > millis(now) {
			return nil // another replica works this lane
		}
		taken = true
		_, err = tx.Exec(ctx, `UPDATE `+table+` SET taken_by = $1, taken_until = $2 WHERE seq = $3`,
			d.replica, millis(now.Add(LaneHold)), seq)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s next: %w", table, explain(err))
	}
	return taken, nil
}

// Finish implements delivery.Store: the conversation writes, the outbox
// items and the inbox item's end commit together or not at all.
func (d *DB) Finish(ctx context.Context, id string, w delivery.Writes, out []delivery.Outbound) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE inbox SET status = 'done', body = NULL WHERE id = $1 AND status = 'pending'`, text(id))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return delivery.ErrNotPending
		}
		if err := d.applyWrites(ctx, tx, w); err != nil {
			return err
		}
		return enqueue(ctx, tx, out)
	})
	if err != nil {
		return fmt.Errorf("inbox finish: %w", explain(err))
	}
	return nil
}

// applyWrites applies what the bot wrote while answering one item.
func (d *DB) applyWrites(ctx context.Context, tx pgx.Tx, w delivery.Writes) error {
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
		_, err := ex.Exec(ctx,
			`INSERT INTO outbox (key, platform, lane, kind, parent, body, attempts, rate_limited, not_before, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO NOTHING`,
			text(o.Key), text(o.Platform), text(o.Lane), text(o.Kind), text(o.Parent), nonNil(o.Body), o.Attempts,
			o.RateLimited, millis(o.NotBefore), millis(o.Created))
		if err != nil {
			return fmt.Errorf("outbox add: %w", err)
		}
	}
	return nil
}

// Drop implements delivery.Store.
func (d *DB) Drop(ctx context.Context, id string) error {
	if _, err := d.pool.Exec(ctx, `UPDATE inbox SET status = 'dropped', body = NULL WHERE id = $1 AND status = 'pending'`, text(id)); err != nil {
		return fmt.Errorf("inbox drop: %w", explain(err))
	}
	return nil
}

// Enqueue implements delivery.Store.
func (d *DB) Enqueue(ctx context.Context, out []delivery.Outbound) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return enqueue(ctx, tx, out) })
	if err != nil {
		return fmt.Errorf("outbox add: %w", explain(err))
	}
	return nil
}

// NextOut implements delivery.Store, taking the lane as NextIn does: a
// channel's calls are made by one replica at a time, in order.
func (d *DB) NextOut(ctx context.Context, l delivery.Lane) (delivery.Outbound, bool, error) {
	o := delivery.Outbound{Platform: l.Platform, Lane: l.Name}
	var notBefore, created int64
	ok, err := d.take(ctx, "outbox", l, `SELECT seq, taken_by, taken_until, seq, key, kind, parent, body, attempts, rate_limited, not_before, created_at
		FROM outbox WHERE seq = (SELECT MIN(seq) FROM outbox WHERE platform = $1 AND lane = $2 AND status = 'pending')
		AND status = 'pending' FOR UPDATE SKIP LOCKED`,
		&o.Seq, &o.Key, &o.Kind, &o.Parent, &o.Body, &o.Attempts, &o.RateLimited, &notBefore, &created)
	if err != nil || !ok {
		return delivery.Outbound{}, false, err
	}
	o.NotBefore, o.Created = fromMillis(notBefore), fromMillis(created)
	return o, true, nil
}

// Sent implements delivery.Store.
func (d *DB) Sent(ctx context.Context, seq int64, ref string) error {
	if _, err := d.pool.Exec(ctx, `UPDATE outbox SET status = 'sent', ref = $1, body = NULL WHERE seq = $2 AND status = 'pending'`,
		text(ref), seq); err != nil {
		return fmt.Errorf("outbox sent: %w", explain(err))
	}
	return nil
}

// Failed implements delivery.Store.
func (d *DB) Failed(ctx context.Context, seq int64, reason string) error {
	if _, err := d.pool.Exec(ctx, `UPDATE outbox SET status = 'failed', error = $1, body = NULL WHERE seq = $2 AND status = 'pending'`,
		text(reason), seq); err != nil {
		return fmt.Errorf("outbox failed: %w", explain(err))
	}
	return nil
}

// Retry implements delivery.Store.
func (d *DB) Retry(ctx context.Context, seq int64, attempts, rateLimited int, notBefore time.Time) error {
	if _, err := d.pool.Exec(ctx, `UPDATE outbox SET attempts = $1, rate_limited = $2, not_before = $3 WHERE seq = $4 AND status = 'pending'`,
		attempts, rateLimited, millis(notBefore), seq); err != nil {
		return fmt.Errorf("outbox retry: %w", explain(err))
	}
	return nil
}

// Lookup implements delivery.Store.
func (d *DB) Lookup(ctx context.Context, key string) (delivery.Status, string, error) {
	var st, ref string
	err := d.pool.QueryRow(ctx, `SELECT status, ref FROM outbox WHERE key = $1`, text(key)).Scan(&st, &ref)
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := d.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("pending lanes: %w", explain(err))
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery.Lane, error) {
		var l delivery.Lane
		err := r.Scan(&l.Platform, &l.Name)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("pending lanes: %w", explain(err))
	}
	return ls, nil
}

// Heard implements delivery.Store.
func (d *DB) Heard(ctx context.Context, platform, prefix string, since time.Time) (time.Time, []string, error) {
	var newest int64
	err := d.pool.QueryRow(ctx,
		`SELECT received_at FROM inbox WHERE platform = $1 AND starts_with(id, $2) ORDER BY received_at DESC LIMIT 1`,
		text(platform), text(prefix)).Scan(&newest)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil, nil
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	rows, err := d.pool.Query(ctx,
		`SELECT lane FROM inbox WHERE platform = $1 AND starts_with(id, $2) AND received_at >= $3
		 GROUP BY lane ORDER BY MAX(received_at) DESC, lane`,
		text(platform), text(prefix), millis(since))
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("inbox heard: %w", explain(err))
	}
	return fromMillis(newest), lanes, nil
}

// Prune implements delivery.Store. An inbox item's id is what keeps a
// platform's retry from being answered twice, so the janitor keeps
// finished items as long as platforms retry (README, "Data kept").
func (d *DB) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	in, err := d.prune(ctx, "inbox", `DELETE FROM inbox WHERE status <> 'pending' AND received_at < $1`, millis(cutoff))
	if err != nil {
		return in, err
	}
	out, err := d.prune(ctx, "outbox", `DELETE FROM outbox WHERE status <> 'pending' AND created_at < $1`, millis(cutoff))
	return in + out, err
}
