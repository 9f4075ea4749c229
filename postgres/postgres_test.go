package postgres_test

import (
	"context"
	"testing"
	"time"

	"gptaccess/postgres"
	"gptaccess/postgres/pgtest"
	"gptaccess/storetest"
)

// openURL opens the database at url, closed when t ends.
func openURL(t *testing.T, url string) *postgres.DB {
	t.Helper()
	d, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// open opens a store in a new schema of its own.
func open(t *testing.T) *postgres.DB { return openURL(t, pgtest.URL(t)) }

func pgtestURL(t *testing.T) string { return pgtest.URL(t) }

// TestConformance runs the store suite, each test in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		d := open(t)
		d.Now = now
		return d
	})
}

// TestTwoReplicasOneConversation: two engines, each with its own
// connection pool (as two replicas have), answer messages in one
// conversation at once: no apology, no lost update.
func TestTwoReplicasOneConversation(t *testing.T) {
	url := pgtest.URL(t)
	storetest.EnginesOn(t, openURL(t, url), openURL(t, url), 4, 50)
}
