package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gptaccess/delivery"
)

func openMem(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	return d
}

func TestInboxSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	in := delivery.Inbound{ID: "discord:msg:1", Platform: "discord", Lane: "C1", Body: []byte("{}"), Received: time.Now()}
	if added, err := d.Put(ctx, in); !added || err != nil {
		t.Fatalf("first put = %v, %v", added, err)
	}
	d.Close()
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if added, err := d.Put(ctx, in); added || err != nil {
		t.Errorf("put after restart = %v, %v; want false", added, err)
	}
	if got, ok, err := d.NextIn(ctx, delivery.Lane{Platform: "discord", Name: "C1"}); !ok || err != nil || got.ID != in.ID {
		t.Errorf("pending after restart = %+v, %v, %v", got, ok, err)
	}
}

func TestOpenErrorsAreClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	corrupt := filepath.Join(dir, "corrupt.db")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("this is not sqlite ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, corrupt); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt file: err = %v, want one that says corrupt", err)
	}

	missingDir := filepath.Join(dir, "no", "such", "dir", "g.db")
	if _, err := Open(ctx, missingDir); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("missing directory: err = %v, want one that says cannot write", err)
	}

	if os.Geteuid() != 0 { // root ignores file modes
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if _, err := Open(ctx, filepath.Join(ro, "g.db")); err == nil {
			t.Error("read-only directory: want an error")
		}
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	for i := 0; i < 2; i++ {
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
}
