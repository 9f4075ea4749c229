package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
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

func TestConversationRoundTripAndConflict(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	if _, ok, err := d.Conversation(ctx, "k"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	c := bot.Conversation{Key: "k", ID: "abc", Facts: map[string]string{"vpn": "yes"}, Asked: []string{"vpn"}, Pending: "fixed",
		Page: &bot.ErrorPage{Code: 1020, RayID: "7afa59eb3bb7abf6"}}
	if err := d.SaveConversation(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 {
		t.Errorf("version after insert = %d, want 1", c.Version)
	}
	got, ok, err := d.Conversation(ctx, "k")
	if err != nil || !ok {
		t.Fatalf("read: ok=%v err=%v", ok, err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// A second writer holding the old version loses.
	stale := got
	got.Pending = ""
	if err := d.SaveConversation(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if err := d.SaveConversation(ctx, &stale); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("stale save: err = %v, want ErrConflict", err)
	}
	// Two new conversations under one key: the second is a conflict too.
	fresh := bot.Conversation{Key: "k"}
	if err := d.SaveConversation(ctx, &fresh); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("duplicate insert: err = %v, want ErrConflict", err)
	}

	if err := d.DeleteConversation(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.Conversation(ctx, "k"); ok {
		t.Error("conversation still there after delete")
	}
}

// TestInboxSurvivesReopen: what the inbox took before a restart is known
// after it, so a redelivery is not answered twice.
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

func TestStats(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	at := d.Now()
	for _, o := range []bot.Outcome{
		{Key: "a", Cause: "vpn-proxy", Questions: 0, Resolved: "unknown", At: at},
		{Key: "a", Cause: "vpn-proxy", Questions: 0, Resolved: "yes", At: at}, // replaces the first
		{Key: "b", Cause: "browser-cache", Questions: 2, Resolved: "no", HandedOver: true, At: at},
		{Key: "c", Cause: "unknown", Questions: 5, Resolved: "unknown", At: at},
		{Key: "old", Cause: "server", Questions: 1, Resolved: "yes", At: at.Add(-10 * 24 * time.Hour)},
	} {
		if err := d.RecordOutcome(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []string{"Where is lunch", "where is lunch ", "how do I print", ""} {
		if err := d.RecordUnanswered(ctx, bot.Unmatched{Platform: "slack", User: "U1", Text: text, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	since := at.Add(-7 * 24 * time.Hour)
	got, err := d.Stats(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	want := bot.Stats{
		Since: since, Diagnoses: 3,
		ByCause:  map[string]int{"vpn-proxy": 1, "browser-cache": 1, "unknown": 1},
		Resolved: 1, Unresolved: 1, NoFeedback: 1, ResolutionRate: 0.5, HandedOver: 1, MedianQuestions: 2,
		// The direct message ("") is counted, never sampled.
		UnansweredCount: 4,
		Unanswered:      []bot.Unanswered{{Text: "where is lunch", Count: 2}, {Text: "how do i print", Count: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestSubscriptions(t *testing.T) {
	ctx := context.Background()
	d := openMem(t)
	for _, c := range []string{"C1", "C2", "C1"} {
		if err := d.Subscribe(ctx, "slack", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Subscribe(ctx, "discord", "123"); err != nil {
		t.Fatal(err)
	}
	if err := d.Unsubscribe(ctx, "slack", "C2"); err != nil {
		t.Fatal(err)
	}
	got, err := d.Subscribers(ctx, "slack")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"C1"}, got); diff != "" {
		t.Errorf("subscribers (-want +got):\n%s", diff)
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
