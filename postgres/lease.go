package postgres

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeaseOptions configure a Lease. Zero values mean the defaults.
type LeaseOptions struct {
	// Retry is how often a replica that does not lead tries to take the
	// lease; default 5 s. Once the leader's session ends, another replica
	// leads within Retry.
	Retry time.Duration
	// Check is how often the leader proves its session alive; default
	// 5 s. A leader that cannot reach the database for Check stops its
	// work, before the server lets another replica take over (the server
	// drops a silent session after about 20 s of TCP keepalives).
	Check time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Lease is leadership among the replicas sharing the database: at most
// one holds it at a time. It is a session-level advisory lock
// (pg_try_advisory_lock) held on a connection of its own, outside the
// pool, so it lasts exactly as long as that session: a leader that exits,
// crashes or is killed loses it at once (the server sees the connection
// close), one whose network fails loses it when the server's TCP
// keepalives give up. It needs a direct connection or a session-mode
// pooler; a transaction-mode pooler (PgBouncer's default) would hand the
// lock to whichever client runs next on that server connection.
type Lease struct {
	d       *DB
	name    string
	retry   time.Duration
	check   time.Duration
	log     *slog.Logger
	leading atomic.Bool

	mu   sync.Mutex // the session is not safe for concurrent use
	conn *pgx.Conn  // while leading
}

// Lease returns the lease called name (one name per kind of work that
// must happen once). Run Lead to take part.
func (d *DB) Lease(name string, o LeaseOptions) *Lease {
	l := &Lease{d: d, name: name, retry: o.Retry, check: o.Check, log: o.Logger}
	if l.retry <= 0 {
		l.retry = 5 * time.Second
	}
	if l.check <= 0 {
		l.check = 5 * time.Second
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l.log = l.log.With("component", "lease", "lease", name)
	return l
}

// Leading reports whether this replica holds the lease now, as last
// checked (at most Check ago).
func (l *Lease) Leading() bool { return l.leading.Load() }

// Held proves, with a round trip on the lease's session, that this
// replica holds the lease right now. Work that must happen once checks it
// just before acting (the monitor before it saves an alert and sends it),
// which narrows the window in which a leader that lost its session
// without knowing yet could act next to its successor from Check to a
// round trip.
func (l *Lease) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || !l.leading.Load() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, l.check)
	defer cancel()
	return l.conn.Ping(ctx) == nil
}

// Lead runs work whenever this replica holds the lease, until ctx ends:
// work's context ends when the lease is lost (or ctx ends), and Lead
// waits for work to return before it lets the lease go. After a loss it
// tries again every Retry. It returns nil when ctx ends, and work's error
// when work fails on its own (a platform refusing the bot's token): the
// same failure would follow the lease to every replica.
func (l *Lease) Lead(ctx context.Context, work func(ctx context.Context) error) error {
	var (
		conn    *pgx.Conn
		standby bool // said that another replica leads
	)
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	for {
		if conn == nil {
			c, err := l.connect(ctx)
			if err != nil && ctx.Err() == nil {
				l.log.Warn("cannot reach the database to take the lease; will retry", "retry_in", l.retry, "err", explain(err))
			}
			conn = c
		}
		if conn != nil {
			var held bool
			err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, `+lockKey+`)`, lockClass, l.name).Scan(&held)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					l.log.Warn("cannot take the lease; will retry", "retry_in", l.retry, "err", explain(err))
				}
				closeConn(conn)
				conn = nil
			case !held && !standby:
				l.log.Info("another replica leads; standing by", "retry_every", l.retry)
				standby = true
			case held:
				standby = false
				err := l.hold(ctx, conn, work)
				// Closing the session lets go of the lock, whatever state
				// the connection is in.
				closeConn(conn)
				conn = nil
				if err != nil {
					return err
				}
			}
		}
		t := time.NewTimer(l.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// connect opens the lease's own session, with TCP keepalives short
// enough that the server drops it (and the lock) within about 20 s when
// the leader's host goes silent.
func (l *Lease) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg := l.d.conn.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["tcp_keepalives_idle"] = "5"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "5"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	cfg.RuntimeParams["application_name"] = "gptaccess lease " + l.name
	return pgx.ConnectConfig(ctx, cfg)
}

// hold runs work while conn's session (and so the lock) is alive. It
// returns work's error when work failed on its own.
func (l *Lease) hold(ctx context.Context, conn *pgx.Conn, work func(ctx context.Context) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	l.mu.Lock()
	l.conn = conn
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.conn = nil
		l.mu.Unlock()
	}()
	l.leading.Store(true)
	l.log.Info("leading")
	go func() { done <- work(wctx) }()

	t := time.NewTicker(l.check)
	defer t.Stop()
	stop := func(why string, err error) {
		l.leading.Store(false)
		cancel()
		<-done
		if ctx.Err() == nil {
			l.log.Warn("no longer leading: "+why, "err", err)
		}
	}
	for {
		select {
		case err := <-done:
			l.leading.Store(false)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return err
			}
			l.log.Warn("work under the lease ended; letting the lease go")
			return nil
		case <-ctx.Done():
			stop("shutting down", nil)
			return nil
		case <-t.C:
			l.mu.Lock()
			pctx, pcancel := context.WithTimeout(ctx, l.check)
			err := conn.Ping(pctx)
			pcancel()
			l.mu.Unlock()
			if err != nil {
				stop("lost the database session", explain(err))
				return nil
			}
		}
	}
}

// closeConn ends a session; an error means it was gone already.
func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// TerminateLeaseSessions ends the database sessions holding the lease
// called name in this schema, as a network cut or a server restart would:
// for tests and for an operator who must move the leadership by hand. It
// returns how many sessions it ended.
func (d *DB) TerminateLeaseSessions(ctx context.Context, name string) (int, error) {
	rows, err := d.pool.Query(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2
		AND objid::bigint = (`+lockKey+`)::bigint & 4294967295`, lockClass, name)
	if err != nil {
		return 0, explain(err)
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return 0, explain(err)
	}
	n := 0
	for _, e := range ended {
		if e {
			n++
		}
	}
	return n, nil
}
