package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockedDatabaseIsAClearError: another process holding the write lock
// makes start-up fail with an error that says so, after the busy timeout.
func TestLockedDatabaseIsAClearError(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	holder, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	// A fresh file needs the write lock for its migrations table check;
	// use a schema change to be sure the second opener must write.
	if _, err := conn.ExecContext(ctx, "CREATE TABLE hold (x)"); err != nil {
		t.Fatal(err)
	}
	_, err = open(ctx, path, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Errorf("locked database: err = %v, want one that says it is locked", err)
	}
}
