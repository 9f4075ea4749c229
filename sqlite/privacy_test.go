package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"gptaccess/delivery"
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

// TestFinishedBodiesLeaveNoTrace: once an inbox item is answered its body
// (a DM's words) is set NULL, and so is a sent reply's (a response_url);
// with secure_delete SQLite also overwrites the bytes they occupied, so
// neither can be read back from the file, or its WAL, with a hex editor.
func TestFinishedBodiesLeaveNoTrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const (
		dm      = "zebraprinter jams again, my password is Tr0ub4dor&3"
		respURL = "https://hooks.slack.com/commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA"
	)
	// Each body is larger than a page, as a Slack click carrying the
	// clicked message's blocks is: part of it lives in overflow pages.
	for i, id := range []string{"slack:msg:D1:1.1", "slack:msg:D1:1.2"} {
		in := delivery.Inbound{ID: id, Platform: "slack", Lane: "D1", Received: time.Now(),
			Body: []byte(fmt.Sprintf(`{"text":%q,"n":%d,"blocks":%q}`, dm, i, strings.Repeat(dm+" ", 200)))}
		if _, err := d.Put(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	out := delivery.Outbound{Key: "slack:msg:D1:1.1#0", Platform: "slack", Lane: "D1", Kind: delivery.KindReply,
		Body: []byte(`{"url":"` + respURL + `"}`), Created: time.Now()}
	if err := d.Finish(ctx, "slack:msg:D1:1.1", delivery.Writes{}, []delivery.Outbound{out}); err != nil {
		t.Fatal(err)
	}
	if err := d.Drop(ctx, "slack:msg:D1:1.2"); err != nil {
		t.Fatal(err)
	}
	sent, ok, err := d.NextOut(ctx, delivery.Lane{Platform: "slack", Name: "D1"})
	if err != nil || !ok {
		t.Fatalf("NextOut: %v, %v", ok, err)
	}
	if err := d.Sent(ctx, sent.Seq, "1.3"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"zebraprinter", "Tr0ub4dor", "Zx9KqW3mPbT7vLs2NcY8dRfA"} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s still holds %q", filepath.Base(f), secret)
			}
		}
	}
}

// TestFinishedBodiesLeaveTheWALSoon: while the bot runs, every earlier
// version of a changed page stays in the -wal file until a checkpoint
// resets it, secure_delete or not. Within scrubDelay of an answered DM the
// WAL is checkpointed and truncated: neither it nor the main file still
// holds the DM's words, with the database still open.
func TestFinishedBodiesLeaveTheWALSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "g.db")
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		const dm = "zebraprinter jams again, my password is Tr0ub4dor&3"
		holding := func() []string {
			t.Helper()
			var files []string
			for _, f := range []string{path, path + "-wal"} {
				data, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if bytes.Contains(data, []byte("zebraprinter")) || bytes.Contains(data, []byte("Tr0ub4dor")) {
					files = append(files, filepath.Base(f))
				}
			}
			return files
		}
		for i, id := range []string{"slack:msg:D1:1.1", "slack:msg:D1:1.2"} {
			in := delivery.Inbound{ID: id, Platform: "slack", Lane: "D1", Received: time.Now(),
				Body: []byte(fmt.Sprintf(`{"text":%q,"n":%d,"blocks":%q}`, dm, i, strings.Repeat(dm+" ", 200*i)))}
			if _, err := d.Put(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Finish(ctx, "slack:msg:D1:1.1", delivery.Writes{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Drop(ctx, "slack:msg:D1:1.2"); err != nil {
			t.Fatal(err)
		}
		// Right after, the WAL still holds the words (else this test
		// proves nothing).
		if got := holding(); len(got) == 0 {
			t.Fatal("the DM's words are in no file even before the checkpoint; the test cannot tell anything")
		}
		time.Sleep(scrubDelay)
		synctest.Wait()
		if got := holding(); len(got) > 0 {
			t.Errorf("%v still hold the DM's words %v after the body was dropped", got, scrubDelay)
		}
		if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
			t.Errorf("-wal after the checkpoint: %v, %v; want an empty file", fi, err)
		}
	})
}

// TestCloseDisarmsTheCheckpoint: a checkpoint armed when the database
// closes does not run on the closed database (Close does the last one).
func TestCloseDisarmsTheCheckpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		d, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"))
		if err != nil {
			t.Fatal(err)
		}
		ran := 0
		d.scrub.done = func(error) { ran++ }
		if err := d.Drop(ctx, "slack:none"); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * scrubDelay)
		synctest.Wait()
		if ran != 0 {
			t.Errorf("%d checkpoints ran after Close", ran)
		}
	})
}
