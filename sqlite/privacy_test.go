package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
)

// TestForget deletes one person's conversations and unanswered messages,
// and nobody else's.
func TestForget(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	for _, c := range []bot.Conversation{
		{Key: "slack:D1:", User: "slack:U1"},
		{Key: "slack:C1:1.2:U1", User: "slack:U1"},
		{Key: "slack:C1:1.2:U2", User: "slack:U2"},
		{Key: "discord:9::", User: "discord:U1"}, // same id, other platform
	} {
		if err := d.SaveConversation(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []bot.Unmatched{
		{Platform: "slack", User: "U1", Text: "where is lunch"},
		{Platform: "slack", User: "U1", Text: ""},
		{Platform: "slack", User: "U2", Text: "how do I print"},
	} {
		u.At = d.Now()
		if err := d.RecordUnanswered(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Forget(ctx, "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Forgotten{Conversations: 2, Unanswered: 2}, got); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	for key, want := range map[string]bool{"slack:D1:": false, "slack:C1:1.2:U1": false, "slack:C1:1.2:U2": true, "discord:9::": true} {
		if _, ok, _ := d.Conversation(ctx, key); ok != want {
			t.Errorf("conversation %s kept = %v, want %v", key, ok, want)
		}
	}
	s, err := d.Stats(ctx, d.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.UnansweredCount != 1 || len(s.Unanswered) != 1 || s.Unanswered[0].Text != "how do i print" {
		t.Errorf("after forget: %d unanswered, samples %+v", s.UnansweredCount, s.Unanswered)
	}
}

// TestPruneUnanswered enforces the retention.
func TestPruneUnanswered(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	now := d.Now()
	for _, age := range []time.Duration{40 * 24 * time.Hour, 29 * 24 * time.Hour} {
		if err := d.RecordUnanswered(ctx, bot.Unmatched{Platform: "slack", User: "U1", Text: "x", At: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := d.PruneUnanswered(ctx, now.Add(-30*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	s, _ := d.Stats(ctx, now.Add(-365*24*time.Hour))
	if s.UnansweredCount != 1 {
		t.Errorf("%d left, want 1", s.UnansweredCount)
	}
}

// TestUnansweredTextIsBounded keeps valid UTF-8 when cutting.
func TestUnansweredTextIsBounded(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	if err := d.RecordUnanswered(ctx, bot.Unmatched{Platform: "slack", User: "U1", Text: strings.Repeat("é", 400), At: d.Now()}); err != nil {
		t.Fatal(err)
	}
	s, _ := d.Stats(ctx, d.Now().Add(-time.Hour))
	if got := s.Unanswered[0].Text; len(got) > maxUnansweredText || !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("kept %d bytes: %q", len(got), got)
	}
}

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
