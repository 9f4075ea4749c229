package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
)

// TestPrivacyOfUnansweredMessages: what the bot could not answer is kept
// redacted for the operator's CLI, direct and group direct messages only as
// a count, and `stats` in chat shows aggregates to the asker alone.
func TestPrivacyOfUnansweredMessages(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	e := bottest.Engine(t, bot.Options{Store: db, Stats: db})

	dm := bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", DM: true,
		Text: "my printer jams, mail me at ana@example.com, password is Tr0ub4dor&3"}
	inChannel := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U2", Mention: true, Shared: true,
		Text: "my printer jams, mail me at bo@example.com, password is Sw0rdf1sh!"}
	groupDM := bot.Message{Platform: bot.Slack, Channel: "G1", User: "U4", Mention: true, Shared: true, Private: true,
		Text: "my printer jams, mail me at cy@example.com, password is Hunter22!"}
	for _, m := range []bot.Message{dm, inChannel, groupDM} {
		r, err := e.Handle(ctx, m)
		if err != nil || r.Entry != "none" {
			t.Fatalf("%q: entry %q, err %v; the test needs a message the bot cannot answer", m.Text, r.Entry, err)
		}
	}

	// The operator's view: the channel message redacted, the DM counted only.
	s, err := db.Stats(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.UnansweredCount != 3 || len(s.Unanswered) != 1 {
		t.Fatalf("count %d, samples %+v; want 3 and only the channel message", s.UnansweredCount, s.Unanswered)
	}
	sample := s.Unanswered[0].Text
	for _, private := range []string{"ana@", "bo@example.com", "cy@", "Tr0ub4dor", "Sw0rdf1sh", "Hunter22"} {
		if strings.Contains(sample, private) {
			t.Errorf("sample keeps %q: %q", private, sample)
		}
	}
	if !strings.Contains(sample, "printer jams") || !strings.Contains(sample, "[email]") {
		t.Errorf("sample lost its wording: %q", sample)
	}

	// In chat: private, aggregates only.
	r, err := e.Handle(ctx, bot.Message{Platform: bot.Slack, Channel: "C2", User: "U3", Mention: true, Shared: true, Text: "stats"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Private || r.Public {
		t.Errorf("stats reply is not private: %+v", r)
	}
	if strings.Contains(r.Text, "printer") || strings.Contains(r.Text, "[email]") {
		t.Errorf("stats in chat shows what people wrote:\n%s", r.Text)
	}
	if !strings.Contains(r.Text, "could not answer:** 3") {
		t.Errorf("stats in chat lacks the count:\n%s", r.Text)
	}
}

// TestConversationsKnowTheirUser so that `gptaccess forget` finds them.
func TestConversationsKnowTheirUser(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	e := newEngine(t, db)
	m := bot.Message{Platform: bot.Discord, Channel: "9", User: "42", DM: true, Text: "chatgpt says access denied 1020"}
	if _, err := e.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Conversation(ctx, m.Key()); !ok {
		t.Fatal("no conversation saved")
	}
	f, err := db.Forget(ctx, "discord:42")
	if err != nil || f.Conversations != 1 {
		t.Fatalf("forget: %+v, %v", f, err)
	}
	if _, ok, _ := db.Conversation(ctx, m.Key()); ok {
		t.Error("conversation survived forget")
	}
}
