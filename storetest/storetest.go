// Package storetest is the conformance suite of gptaccess's stores. Every
// store the bot can run on (sqlite, postgres) passes the same tests, run
// from its own package's tests against a real database:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store { ... })
//	}
//
// Each function here (Conversations, Stats, Subscriptions, Privacy,
// Monitor, Rollups, Engines, and Delivery for the inbox and outbox) checks
// one area and may be run on
// its own. A store that passes can replace another under the bot without
// a difference a user would notice, several replicas included: Engines
// has two engines answer one conversation at once through one store.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

// Store is everything a gptaccess store does for the running bot.
type Store interface {
	bot.Store
	bot.StatsReader
	bot.Subscriptions
	monitor.Store
	delivery.Store

	// Subscribers lists the channels of platform subscribed at run time.
	Subscribers(ctx context.Context, platform string) ([]string, error)
	// Forget deletes what is kept about one "platform:id".
	Forget(ctx context.Context, who string) (bot.Forgotten, error)
	// Ping proves the store takes writes.
	Ping(ctx context.Context) error

	PruneConversations(ctx context.Context, cutoff time.Time) (int64, error)
	PruneOutcomes(ctx context.Context, cutoff time.Time) (int64, error)
	PruneUnanswered(ctx context.Context, cutoff time.Time) (int64, error)
	PruneResults(ctx context.Context, cutoff time.Time) (int64, error)
	PruneAlertStates(ctx context.Context, keep []string) (int64, error)
}

// Open returns a new, empty store whose clock is now, and closes it when
// t ends.
type Open func(t *testing.T, now func() time.Time) Store

// Run runs every test of the suite against stores from open.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, Open)
	}{
		{"Conversations", Conversations},
		{"Delivery", func(t *testing.T, open Open) {
			Delivery(t, func(t *testing.T) delivery.Store { return open(t, time.Now) })
		}},
		{"Stats", Stats},
		{"Subscriptions", Subscriptions},
		{"Privacy", Privacy},
		{"Monitor", Monitor},
		{"Rollups", Rollups},
		{"Engines", Engines},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// Clock is a settable clock for stores under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the time shown.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set shows t from now on.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// now is the time the suite's stores start at.
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// openAt opens a store whose clock starts at now.
func openAt(t *testing.T, open Open) (Store, *Clock) {
	t.Helper()
	c := NewClock(now)
	return open(t, c.Now), c
}
