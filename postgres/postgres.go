// Package postgres stores gptaccess state in PostgreSQL (jackc/pgx), for
// several replicas sharing one database: the same conversations, delivery
// inbox and outbox, outcomes, subscriptions and monitor history as the sqlite
// package, plus what only several replicas need: a rate limit shared by
// all of them (Limiter) and a leader lease for what must happen once
// (Lease). README.md ("Running several replicas") says what is shared and
// how fast it fails over.
//
// Its schema is its own (migration/*.sql): times are BIGINT unix
// seconds, ids are identity columns, structured values are jsonb. The
// migrations run under an advisory lock, so replicas that start together
// do not race. The database's search_path picks the schema, so several
// installations (or test runs) can share one database.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migration/*.sql
var migrations embed.FS

// DB is an open gptaccess database on PostgreSQL. It is safe for
// concurrent use.
type DB struct {
	pool *pgxpool.Pool
	// conn is the configuration of the pool's connections, for the
	// dedicated connections of leases.
	conn *pgx.ConnConfig

	// Now is the clock; tests replace it. It is never nil after Open.
	Now func() time.Time

	// replica names this process when it takes an inbox or outbox lane.
	replica string
}

// defaultMaxConns is the pool size when the URL sets none
// (pool_max_conns): enough for a replica's concurrent replies and its
// monitor, small enough for three replicas on PostgreSQL's default limit
// of 100 connections.
const defaultMaxConns = 16

// Open connects to the database at url (postgres://user:password@host/db,
// with any libpq parameters, e.g. search_path or sslmode) and brings its
// schema up to date. Errors never contain the password.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's error already hides the password; say what to fix.
		return nil, fmt.Errorf("database.url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", where(cfg.ConnConfig), err)
	}
	d := &DB{pool: pool, conn: cfg.ConnConfig, Now: time.Now, replica: replicaID()}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", where(cfg.ConnConfig), explain(err))
	}
	if err := d.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", where(cfg.ConnConfig), err)
	}
	return d, nil
}

// where names the database for an operator without its credentials.
func where(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// explain turns PostgreSQL's errors into ones an operator can act on.
func explain(err error) error {
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("cannot connect (is PostgreSQL running, and database.url right?): %w", err)
	case errors.As(err, &pe) && pe.Code == "25006": // read_only_sql_transaction
		return fmt.Errorf("cannot write (a read-only standby? point database.url at the primary): %w", err)
	case errors.As(err, &pe) && (pe.Code == "42501" || pe.Code == "3F000"): // insufficient_privilege, invalid_schema_name
		return fmt.Errorf("cannot create the schema (check the user's privileges and search_path): %w", err)
	}
	return err
}

// Close closes every connection of the pool.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Ping reports whether the database takes writes; /readyz uses it. A
// read-only standby answers reads and would fail every reply.
func (d *DB) Ping(ctx context.Context) error {
	_, err := d.pool.Exec(ctx,
		`INSERT INTO heartbeat (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, unix(d.Now()))
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("write check: no write within the deadline: %w", err)
	}
	if err != nil {
		return fmt.Errorf("write check: %w", explain(err))
	}
	return nil
}

// lockClass is the first key of every advisory lock gptaccess takes
// ("gpta"); the second is a hash of the schema and what is locked, so
// installations in different schemas of one database never wait for
// each other.
const lockClass = 0x67707461

// lockKey is the SQL for the second key of the advisory lock named name.
const lockKey = `hashtext(current_schema() || ':' || $2::text)`

// migrate applies every embedded migration not yet applied, each in its
// own transaction, in file-name order, while holding an advisory lock:
// replicas starting together take turns, and the later ones find the
// work done.
func (d *DB) migrate(ctx context.Context) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, `+lockKey+`)`, lockClass, "migrate"); err != nil {
		return fmt.Errorf("lock for migrations: %w", err)
	}
	defer func() {
		// Unlocked even when ctx ended: the lock belongs to the session,
		// which the pool keeps.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, `+lockKey+`)`, lockClass, "migrate"); err != nil {
			conn.Conn().Close(uctx) // a closed session lets go of its locks
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := d.apply(ctx, conn.Conn(), name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func (d *DB) apply(ctx context.Context, conn *pgx.Conn, name string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM migrations WHERE name = $1`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO migrations (name, applied_at) VALUES ($1, $2)`, name, unix(d.Now())); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// unix converts t to the integer seconds stored in the database.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix converts stored seconds back to a UTC time.
func fromUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

// text makes s storable in a PostgreSQL text column, which refuses NUL
// bytes and invalid UTF-8 (SQLite keeps both): text from outside (a
// probe's detail, a platform id) must never make a write fail.
func text(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// jsonb encodes v for a jsonb column, which refuses the escaped NUL
// (\u0000) that encoding/json writes for a NUL in a string. (A string
// that held the six characters \u0000 itself keeps them as \ufffd: text
// from a status page, never anything the bot relies on.)
func jsonb(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(b), `\u0000`, `\ufffd`), nil
}
