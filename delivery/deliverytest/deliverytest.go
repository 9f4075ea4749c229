// Package deliverytest helps adapters' tests run an adapter on a delivery
// core: together, as the bot runs them, and over either store.
package deliverytest

import (
	"context"
	"path/filepath"
	"testing"

	"gptaccess/delivery"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

// Run runs core and an adapter's run until ctx ends or run returns (an
// adapter that stops on a fatal error stops the core too, as serve stops
// everything); done gets run's error once both have returned.
func Run(ctx context.Context, core *delivery.Core, run func(context.Context) error, done chan<- error) {
	coreCtx, stopCore := context.WithCancel(ctx)
	coreDone := make(chan error, 1)
	go func() { coreDone <- core.Run(coreCtx) }()
	go func() {
		err := run(ctx)
		stopCore()
		<-coreDone
		done <- err
	}()
}

// Store is a way to open an empty delivery.Store for a benchmark.
type Store struct {
	Name string
	Open func(tb testing.TB) delivery.Store
}

// Stores are the inbox and outbox the bot can run on: in memory, and in
// SQLite on a WAL file as the bot runs it.
var Stores = []Store{
	{"memory", func(testing.TB) delivery.Store { return delivery.NewMemory() }},
	{"sqlite", SQLite},
}

// SQLite opens a fresh database file in tb's temporary directory.
func SQLite(tb testing.TB) delivery.Store {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Notify sends the monitor notice n to channel as the bot does: o renders
// it as an outbox item (monitor.Outboxer) and core delivers it. It waits
// until the item is posted and returns the ref of the incident's alert
// message (n.Thread for a later notice), or fails with an error that
// delivery.IsPermanent reports when the channel cannot take it.
func Notify(ctx context.Context, core *delivery.Core, o monitor.Outboxer, channel string, n monitor.Notice) (string, error) {
	out, err := o.NoticeItem(channel, n)
	if err != nil {
		return "", err
	}
	ref, err := core.Deliver(ctx, out)
	switch {
	case err != nil:
		return "", err
	case n.Thread != "":
		return n.Thread, nil
	}
	return ref, nil
}
