// Package sqlite stores gptaccess state in an embedded SQLite database
// (pure Go, modernc.org/sqlite): conversations, delivery records, outcomes,
// subscriptions, and the monitor's history and alert state.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migration/*.sql
var migrations embed.FS

// DB is an open gptaccess database.
type DB struct {
	db    *sql.DB
	path  string
	scrub *scrubber // nil for :memory:, which has no WAL

	// Now is the clock; tests replace it. It is never nil after Open.
	Now func() time.Time
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date. path ":memory:" gives a private in-memory database. A locked,
// read-only or corrupt file gives an error that says so.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, busyTimeout)
}

// busyTimeout is how long a statement waits for another process's lock
// before failing with "database is locked".
const busyTimeout = 5 * time.Second

// open opens path; params are extra URI parameters (tests use mode=ro,
// which is the state SQLite falls back to for a file it cannot write).
func open(ctx context.Context, path string, busy time.Duration, params ...string) (*DB, error) {
	// secure_delete: what is deleted or set NULL (a DM's words in a
	// finished inbox row, a response_url in a sent reply) is overwritten,
	// not left readable in the file's free space (README, "Security and
	// privacy"). Fully on, not "fast": fast leaves freed overflow pages
	// as they were, and a body over a page (a Slack click carries the
	// clicked message's blocks) spills into those. The bot writes little,
	// so the extra I/O does not matter.
	dsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_txlock=immediate", path, busy.Milliseconds())
	for _, p := range params {
		dsn += "&" + p
	}
	if path != ":memory:" {
		dsn += fmt.Sprintf("&_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=journal_size_limit(%d)", journalSizeLimit)
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if path == ":memory:" {
		// Every connection to :memory: is a new empty database; keep one.
		sdb.SetMaxOpenConns(1)
	}
	d := &DB{db: sdb, path: path, Now: time.Now}
	if path != ":memory:" {
		d.scrub = newScrubber(sdb, scrubDelay)
	}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, explain(err))
	}
	// SQLite opens a file it may not write read-only, without a word, and
	// migrations already applied need no write: prove one now, so a bot
	// that cannot keep state refuses to start instead of apologising for
	// every message.
	if err := d.Ping(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return d, nil
}

// explain turns SQLite's terse errors into ones an operator can act on.
func explain(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked"):
		return fmt.Errorf("locked by another process (is another gptaccess running on the same file?): %w", err)
	case strings.Contains(msg, "readonly") || strings.Contains(msg, "read-only") || strings.Contains(msg, "unable to open"):
		return fmt.Errorf("cannot write (check the path and its permissions): %w", err)
	case strings.Contains(msg, "not a database") || strings.Contains(msg, "malformed") || strings.Contains(msg, "SQLITE_CORRUPT"):
		return fmt.Errorf("corrupt or not a SQLite file (restore a backup or move it away): %w", err)
	case strings.Contains(msg, "disk is full") || strings.Contains(msg, "SQLITE_FULL"):
		return fmt.Errorf("disk full: %w", err)
	}
	return err
}

// Close closes the database, checkpointing the WAL.
func (d *DB) Close() error {
	if d.path != ":memory:" {
		d.scrub.stop()
		// Fold the WAL back into the main file so a copied .db is complete.
		_, _ = d.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return d.db.Close()
}

// Ping reports whether the database takes writes; /readyz uses it. A
// database that still answers reads but refuses writes (a read-only file,
// a full disk, a lock another process holds) is not ready: every message
// would get "Sorry, something went wrong".
func (d *DB) Ping(ctx context.Context) error {
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, unix(d.Now()))
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("write check: no write within the deadline (locked by another process, or the disk hangs): %w", err)
	}
	if err != nil {
		return fmt.Errorf("write check: %w", explain(err))
	}
	return nil
}

// migrate applies every embedded migration not yet applied, each in its own
// transaction, in file-name order.
func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := d.apply(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// goStep is the part of a migration that SQL cannot do, run in the
// migration's transaction right after its SQL; nil when there is none.
func goStep(name string) func(ctx context.Context, tx *sql.Tx) error {
	switch name {
	case "migration/0004_rollups.sql":
		return backfillLatency
	}
	return nil
}

func (d *DB) apply(ctx context.Context, name string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if step := goStep(name); step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// unix converts t to the integer seconds stored in the database.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix converts stored seconds back to a UTC time.
func fromUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// isNoRows reports whether err says a query found nothing.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
