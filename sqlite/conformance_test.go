package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/sqlite"
	"gptaccess/storetest"
)

// TestConformance runs the store suite on a file database (WAL, as in
// production).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		return db
	})
}

// BenchmarkReplicas is postgres's BenchmarkReplicas with the one replica
// SQLite allows: a file database (WAL), with 4 and 32 clients at once.
func BenchmarkReplicas(b *testing.B) {
	for _, clients := range []int{4, 32} {
		b.Run(fmt.Sprintf("replicas=1/clients=%d", clients), func(b *testing.B) {
			db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "g.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			storetest.BenchEngines(b, []bot.Store{db}, clients)
		})
	}
}
