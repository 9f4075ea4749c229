package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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
