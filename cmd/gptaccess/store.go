package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/delivery"
	"gptaccess/monitor"
	"gptaccess/postgres"
	"gptaccess/sqlite"
	"gptaccess/textfile"
)

// store is where the program keeps its state: the embedded SQLite file
// (database.path, the default) or PostgreSQL (database.url), which
// several replicas can share. sqlite.DB and postgres.DB implement it.
type store interface {
	bot.Store
	bot.StatsReader
	bot.Subscriptions
	monitor.Store
	monitor.Subscribers
	delivery.Store
	pruner
	Forget(ctx context.Context, who string) (bot.Forgotten, error)
	Ping(ctx context.Context) error
	Close() error
}

// pruner enforces each table's retention (the janitor).
type pruner interface {
	Prune(ctx context.Context, cutoff time.Time) (int64, error) // inbox and outbox
	PruneConversations(ctx context.Context, cutoff time.Time) (int64, error)
	PruneOutcomes(ctx context.Context, cutoff time.Time) (int64, error)
	PruneUnanswered(ctx context.Context, cutoff time.Time) (int64, error)
	PruneResults(ctx context.Context, cutoff time.Time) (int64, error)
	PruneAlertStates(ctx context.Context, keep []string) (int64, error)
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// openStore opens the configured database.
// checkDatabasePath is `config validate`'s check of database.path: SQLite
// needs a regular file there, or none yet, in a directory it can write,
// since it keeps its -wal and -shm files beside the database. It creates
// nothing that stays.
func checkDatabasePath(path string) error {
	if path == ":memory:" {
		return nil
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("database.path: %s is a %s, not a database file", path, textfile.Kind(st.Mode()))
	case err == nil:
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("database.path: cannot write: %w", err)
		}
		f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database.path: %w", err)
	}
	dir := filepath.Dir(path)
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database.path: the directory %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("database.path: %w", err)
	case !st.IsDir():
		return fmt.Errorf("database.path: %s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".gptaccess-validate-*")
	if err != nil {
		return fmt.Errorf("database.path: cannot create files in %s (SQLite keeps its -wal and -shm files there): %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

func openStore(ctx context.Context, cfg *config.Config) (store, error) {
	if cfg.Database.Postgres() {
		return postgres.Open(ctx, cfg.Database.URL.Reveal())
	}
	return sqlite.Open(ctx, cfg.Database.Path)
}

// leader runs work that must happen once among the replicas (the
// monitor's schedule, the janitor, the Discord gateway) only while this
// replica leads. postgres.Lease implements it.
type leader interface {
	// Lead runs work while this replica leads, until ctx ends.
	Lead(ctx context.Context, work func(ctx context.Context) error) error
	// Leading reports whether this replica leads now.
	Leading() bool
	// Held proves that this replica leads right now.
	Held(ctx context.Context) bool
}

// alone is the leader of a process that has the database to itself
// (SQLite): it always leads.
type alone struct{}

func (alone) Lead(ctx context.Context, work func(ctx context.Context) error) error { return work(ctx) }
func (alone) Leading() bool                                                        { return true }
func (alone) Held(context.Context) bool                                            { return true }

// leaseFor returns the lease called name among the replicas sharing st,
// or alone when st is not shared.
func leaseFor(st store, name string, log *slog.Logger) leader {
	if db, ok := st.(*postgres.DB); ok {
		return db.Lease(name, postgres.LeaseOptions{Logger: log})
	}
	return alone{}
}

// rescanOf is how often the delivery core looks for work that other
// replicas sharing st left pending (a dead replica's backlog, taken over
// once its hold passes: postgres.LaneHold); never when st is this
// process's alone.
func rescanOf(st store) time.Duration {
	if _, ok := st.(*postgres.DB); ok {
		return 5 * time.Second
	}
	return 0
}

// runCore runs the delivery core on st. When replicas share st, this one
// renews its hold on the channels it works while the core runs, and lets
// them go once the core stopped, so that another replica carries on
// with them at once rather than when the hold passes.
func runCore(core *delivery.Core, st store, log *slog.Logger) func(ctx context.Context) error {
	db, ok := st.(*postgres.DB)
	if !ok {
		return core.Run
	}
	return func(ctx context.Context) error {
		kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		kept := make(chan struct{})
		go func() {
			defer close(kept)
			db.KeepLanes(kctx, log)
		}()
		err := core.Run(ctx)
		stop()
		<-kept
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := db.ReleaseLanes(rctx); rerr != nil {
			log.Warn("cannot let go of this replica's channels; the others take them over when the hold passes", "err", rerr)
		}
		return err
	}
}

// limiter is where the per-user limit keeps its buckets: in PostgreSQL
// when the replicas share it, so that the limit holds across them; nil (the
// delivery core's memory) otherwise.
func limiter(st store, rl config.RateLimit) bot.Limiter {
	if db, ok := st.(*postgres.DB); ok && rl.PerMinute > 0 {
		return db.Limiter(rl.Burst, rl.PerMinute)
	}
	return nil
}
