package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadOnlyDatabaseRefusedAtStart: SQLite opens a file it cannot write
// read-only and every read still works, so only a write proves the
// database usable. mode=ro puts the connection in exactly that state
// (file modes cannot, for root).
func TestReadOnlyDatabaseRefusedAtStart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = open(ctx, path, busyTimeout, "mode=ro")
	if err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("read-only database: err = %v, want one that says it cannot write", err)
	}
}

// TestPingFailsWhileWritesFail: /readyz turns unready while another
// process holds the write lock, and ready again when it lets go.
func TestPingFailsWhileWritesFail(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := open(ctx, path, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("healthy database: %v", err)
	}
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(ctx); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("while locked: Ping = %v, want a locked error", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(ctx); err != nil {
		t.Errorf("after the lock: %v", err)
	}
}
