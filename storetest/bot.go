package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
)

// Conversations: a conversation reads back as saved; saves and deletes are
// compare-and-set on the version, so of two writers holding one version
// exactly one wins; pruning goes by the last update.
func Conversations(t *testing.T, open Open) {
	ctx := context.Background()
	d, clock := openAt(t, open)
	if _, ok, err := d.Conversation(ctx, "k"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	c := bot.Conversation{Key: "k", ID: "abc", Facts: map[string]string{"vpn": "yes"}, Asked: []string{"vpn"}, Pending: "fixed",
		Page: &bot.ErrorPage{Code: 1020, RayID: "7afa59eb3bb7abf6"}, User: "slack:U1", Started: now, Updated: now}
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
	// A delete holding an old version loses too, and keeps the row.
	if err := d.DeleteConversation(ctx, "k", stale.Version); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("stale delete: err = %v, want ErrConflict", err)
	}
	if _, ok, _ := d.Conversation(ctx, "k"); !ok {
		t.Fatal("a stale delete deleted the conversation")
	}
	if err := d.DeleteConversation(ctx, "k", got.Version); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.Conversation(ctx, "k"); ok {
		t.Error("conversation still there after delete")
	}
	if err := d.DeleteConversation(ctx, "k", got.Version); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("delete of a deleted conversation: err = %v, want ErrConflict", err)
	}

	// Pruning goes by the time of the last save.
	old := bot.Conversation{Key: "old"}
	if err := d.SaveConversation(ctx, &old); err != nil {
		t.Fatal(err)
	}
	clock.Set(now.Add(2 * time.Hour))
	recent := bot.Conversation{Key: "recent"}
	if err := d.SaveConversation(ctx, &recent); err != nil {
		t.Fatal(err)
	}
	if n, err := d.PruneConversations(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneConversations = %d, %v; want 1", n, err)
	}
	if _, ok, _ := d.Conversation(ctx, "recent"); !ok {
		t.Error("the recent conversation was pruned")
	}
}

// Stats: outcomes (a later one per key replaces the earlier) and
// unanswered messages, counted, with samples only from channels.
func Stats(t *testing.T, open Open) {
	ctx := context.Background()
	d, _ := openAt(t, open)
	at := now
	for _, o := range []bot.Outcome{
		{Key: "a", Platform: "slack", Cause: "vpn-proxy", Questions: 0, Resolved: "unknown", At: at},
		{Key: "a", Platform: "slack", Cause: "vpn-proxy", Questions: 0, Resolved: "yes", At: at}, // replaces the first
		{Key: "b", Platform: "slack", Cause: "browser-cache", Questions: 2, Resolved: "no", HandedOver: true, At: at},
		{Key: "c", Platform: "discord", Cause: "unknown", Questions: 5, Resolved: "unknown", At: at},
		{Key: "old", Platform: "slack", Cause: "server", Questions: 1, Resolved: "yes", At: at.Add(-10 * 24 * time.Hour)},
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
	if n, err := d.PruneOutcomes(ctx, at.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneOutcomes = %d, %v; want 1", n, err)
	}
}

// Subscriptions: subscribing twice is once; unsubscribing ends it; each
// platform has its own.
func Subscriptions(t *testing.T, open Open) {
	ctx := context.Background()
	d, clock := openAt(t, open)
	for i, c := range []string{"C1", "C2", "C1", "C0"} {
		clock.Set(now.Add(time.Duration(i) * time.Minute))
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
	// In the order they subscribed.
	if diff := cmp.Diff([]string{"C1", "C0"}, got); diff != "" {
		t.Errorf("subscribers (-want +got):\n%s", diff)
	}
	got, err = d.Subscribers(ctx, "discord")
	if err != nil || len(got) != 1 || got[0] != "123" {
		t.Errorf("discord subscribers = %v, %v", got, err)
	}
}

// Privacy: forget deletes one person's conversations, unanswered messages
// and (in a store that keeps them) rate-limit bucket, and nobody else's;
// the retention prunes unanswered messages; kept text is bounded on a rune
// boundary; Ping writes.
func Privacy(t *testing.T, open Open) {
	ctx := context.Background()
	d, _ := openAt(t, open)
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
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
		u.At = now
		if err := d.RecordUnanswered(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	want := bot.Forgotten{Conversations: 2, Unanswered: 2}
	// A store that keeps rate-limit buckets (PostgreSQL) keeps one per
	// "platform:id": U1's goes, U2's empty bucket stays.
	rl, keepsBuckets := d.(interface {
		Limiter(burst, perMinute int) bot.Limiter
	})
	var lim bot.Limiter
	if keepsBuckets {
		lim = rl.Limiter(1, 1)
		for _, who := range []string{"slack:U1", "slack:U2"} {
			if ok, _, err := lim.Take(ctx, who); !ok || err != nil {
				t.Fatalf("first take for %s: %v, %v", who, ok, err)
			}
		}
		want.RateLimits = 1
	}
	got, err := d.Forget(ctx, "slack:U1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forgotten (-want +got):\n%s", diff)
	}
	if keepsBuckets {
		if ok, _, _ := lim.Take(ctx, "slack:U1"); !ok {
			t.Error("U1's rate-limit bucket survived forget")
		}
		if ok, _, _ := lim.Take(ctx, "slack:U2"); ok {
			t.Error("forget emptied U2's rate-limit bucket too")
		}
	}
	for key, want := range map[string]bool{"slack:D1:": false, "slack:C1:1.2:U1": false, "slack:C1:1.2:U2": true, "discord:9::": true} {
		if _, ok, _ := d.Conversation(ctx, key); ok != want {
			t.Errorf("conversation %s kept = %v, want %v", key, ok, want)
		}
	}
	s, err := d.Stats(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.UnansweredCount != 1 || len(s.Unanswered) != 1 || s.Unanswered[0].Text != "how do i print" {
		t.Errorf("after forget: %d unanswered, samples %+v", s.UnansweredCount, s.Unanswered)
	}

	// The retention.
	for _, age := range []time.Duration{40 * 24 * time.Hour, 29 * 24 * time.Hour} {
		if err := d.RecordUnanswered(ctx, bot.Unmatched{Platform: "slack", User: "U3", Text: "x", At: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.PruneUnanswered(ctx, now.Add(-30*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}

	// Kept text is bounded, and stays valid UTF-8 when cut.
	if err := d.RecordUnanswered(ctx, bot.Unmatched{Platform: "slack", User: "U4", Text: strings.Repeat("é", 400), At: now}); err != nil {
		t.Fatal(err)
	}
	s, _ = d.Stats(ctx, now.Add(-time.Hour))
	var long string
	for _, u := range s.Unanswered {
		if strings.HasPrefix(u.Text, "éé") {
			long = u.Text
		}
	}
	if len(long) == 0 || len(long) > 300 || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("kept %d bytes: %q", len(long), long)
	}
}
