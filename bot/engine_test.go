package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/sqlite"
)

func newEngine(t testing.TB, store bot.Store) *bot.Engine {
	return bottest.Engine(t, bot.Options{Store: store})
}

func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTwoPeopleNeverShareADiagnosis: in a shared channel thread, each
// person's answers go to their own diagnosis.
func TestTwoPeopleNeverShareADiagnosis(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, openDB(t))
	msg := func(user, text string) bot.Message {
		return bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "111.1", User: user, Text: text, Mention: true, Shared: true}
	}
	r, _ := e.Handle(ctx, msg("ana", "chatgpt says error 1020"))
	if r.Question == nil || r.Question.Fact != "vpn" {
		t.Fatalf("ana's report: %+v", r)
	}
	// Bob says "yes" in the same thread: it is not an answer to Ana's question.
	r, _ = e.Handle(ctx, msg("bob", "yes"))
	if r.Diagnosis != nil {
		t.Fatalf("bob's yes concluded a diagnosis: %+v", r.Diagnosis)
	}
	// Bob cannot click Ana's button either.
	r, _ = e.Handle(ctx, bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "111.1", User: "bob", Shared: true,
		Answer: &bot.Answer{Question: "whatever", Choice: "yes"}})
	if !r.Private || r.Diagnosis != nil {
		t.Errorf("foreign click: %+v", r)
	}
	r, _ = e.Handle(ctx, msg("ana", "yes"))
	if r.Diagnosis == nil || r.Diagnosis.Cause != "vpn-proxy" {
		t.Errorf("ana's yes: %+v", r.Diagnosis)
	}
}

func TestUnaddressedMessages(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, openDB(t))
	base := bot.Message{Platform: bot.Slack, Channel: "C1", User: "ana", Shared: true}

	// Not mentioned, not a listen channel, no conversation: ignored.
	m := base
	m.Thread, m.Text = "1.1", "chatgpt says access denied 1020"
	if r, _ := e.Handle(ctx, m); !r.Ignore {
		t.Errorf("unaddressed message answered: %q", r.Text)
	}
	// A listen channel: small talk ignored, a confident question answered.
	m.Listen = true
	for _, text := range []string{"lol", "anyone for lunch?", "the 1020 bus was late again", "thanks!"} {
		m.Thread, m.Text = "2."+text, text
		if r, _ := e.Handle(ctx, m); !r.Ignore {
			t.Errorf("listen channel small talk %q answered: %q", text, r.Text)
		}
	}
	m.Thread, m.Text = "3.1", "why does chatgpt keep showing me error 1020 access denied?"
	if r, _ := e.Handle(ctx, m); r.Ignore {
		t.Error("listen channel: a clear question was ignored")
	}
	// Once the bot answered a mention in a thread, follow-ups need no mention.
	m = base
	m.Thread, m.Text, m.Mention = "4.1", "what is error 1020?", true
	if r, _ := e.Handle(ctx, m); r.Ignore || r.Entry != "what-is" {
		t.Fatalf("mention: %+v", r)
	}
	m.Mention, m.Text = false, "and how do I prevent it?"
	if r, _ := e.Handle(ctx, m); r.Ignore || r.Entry != "prevent" {
		t.Errorf("thread follow-up: ignore=%v entry=%s", r.Ignore, r.Entry)
	}
}

func TestBadInputGetsAPoliteReply(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, openDB(t))
	for name, text := range map[string]string{
		"huge":    strings.Repeat("error 1020 ", 1000),
		"binary":  "\x00\x01\x02\xff\xfe",
		"invalid": string([]byte{0xc3, 0x28}),
	} {
		r, err := e.Handle(ctx, bot.Message{Platform: bot.Console, Channel: "t", User: "u", DM: true, Text: text})
		if err != nil || r.Entry != "none" || r.Text == "" || r.Question != nil {
			t.Errorf("%s: reply %+v, err %v", name, r, err)
		}
		// Not addressed to the bot (a listen channel): no reply at all.
		r, err = e.Handle(ctx, bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "u", Shared: true, Listen: true, Text: text})
		if err != nil || !r.Ignore {
			t.Errorf("%s in a listen channel: reply %+v, err %v", name, r, err)
		}
	}
}

// TestSideQuestionAndResume: a new question mid-diagnosis is answered and
// the diagnosis resumes where it was.
func TestSideQuestionAndResume(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, openDB(t))
	m := bot.Message{Platform: bot.Discord, Channel: "D1", User: "u", DM: true}
	say := func(text string) bot.Reply {
		m.Text = text
		r, err := e.Handle(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := say("I keep getting error 1020 on chatgpt")
	side := say("is my data at risk?")
	if side.Entry != "data-risk" || !strings.Contains(side.Text, "resume") {
		t.Errorf("side question: entry %s, text %q", side.Entry, side.Text)
	}
	again := say("resume")
	if again.Question == nil || again.Question.Fact != first.Question.Fact || again.Question.ID != first.Question.ID {
		t.Errorf("resume asked %+v, want %+v", again.Question, first.Question)
	}
}

// BenchmarkHandle measures Engine.Handle with the state round trip through
// SQLite: each iteration is two messages, a report that starts a diagnosis
// and its first answer; ns/msg is the figure per message.
func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, openDB(b))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: fmt.Sprint(i), User: "u", Mention: true, Shared: true,
			Text: "chatgpt says access denied 1020"}
		if _, err := e.Handle(ctx, m); err != nil {
			b.Fatal(err)
		}
		m.Text = "nope"
		if _, err := e.Handle(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/msg")
}

// TestQuietFollowUps: in a thread the bot is part of, chatter that is not
// for it gets no reply; a thank-you addressed to it gets a short one.
func TestQuietFollowUps(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, openDB(t))
	m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "9.1", User: "ana", Shared: true, Mention: true, Text: "what is error 1020?"}
	if r, _ := e.Handle(ctx, m); r.Entry != "what-is" {
		t.Fatalf("mention: %+v", r)
	}
	m.Mention = false
	for _, text := range []string{"ok", "thanks!", "brb, lunch"} {
		m.Text = text
		if r, _ := e.Handle(ctx, m); !r.Ignore {
			t.Errorf("un-addressed %q in the thread got %q", text, r.Text)
		}
	}
	m.Mention, m.Text = true, "thanks!"
	if r, _ := e.Handle(ctx, m); r.Ignore || !strings.Contains(r.Text, "welcome") {
		t.Errorf("addressed thanks: %+v", r)
	}
}

// TestStatsCommand: "stats" (and /gptaccess stats) reports the recorded
// outcomes in words, to the asker only, without quoting anyone.
func TestStatsCommand(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	e := bottest.Engine(t, bot.Options{Store: db, Stats: db})
	m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "u", Mention: true, Shared: true}
	// The VPN named in the report concludes the cause at once; "yes"
	// answers "Did this fix it?".
	for _, text := range []string{"I'm on a VPN and chatgpt says error 1020", "yes", "where is the printer"} {
		m.Text = text
		if _, err := e.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	m.Text, m.Command, m.Thread = "stats", true, ""
	r, err := e.Handle(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Diagnoses in the last 7 days:** 1", "resolved: 1", "resolution rate 100%", "- vpn-proxy: 1", "could not answer:** 1"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("stats reply lacks %q:\n%s", want, r.Text)
		}
	}
	if r.Public || !r.Private {
		t.Error("stats should be private to the asker")
	}
	if strings.Contains(r.Text, "printer") {
		t.Errorf("stats in chat quotes what someone wrote:\n%s", r.Text)
	}
}

// racingStore is a store where, before each of the engine's first
// writes, another replica updates the same conversation: the engine's
// write then meets a newer version.
type racingStore struct {
	bot.Store
	races int // writes still to be raced
}

func (s *racingStore) race(ctx context.Context, key string) error {
	if s.races == 0 {
		return nil
	}
	s.races--
	c, ok, err := s.Store.Conversation(ctx, key)
	if err != nil || !ok {
		return err
	}
	c.Turn += 100 // the other replica's update, which must not be lost
	return s.Store.SaveConversation(ctx, &c)
}

func (s *racingStore) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	if err := s.race(ctx, c.Key); err != nil {
		return err
	}
	return s.Store.SaveConversation(ctx, c)
}

func (s *racingStore) DeleteConversation(ctx context.Context, key string, version int64) error {
	if err := s.race(ctx, key); err != nil {
		return err
	}
	return s.Store.DeleteConversation(ctx, key, version)
}

// TestConflictsAreRetriedNotApologisedFor: another replica changing the
// conversation between the engine's read and write several times in a
// row costs re-reads, never an apology, and neither update is lost.
func TestConflictsAreRetriedNotApologisedFor(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	store := &racingStore{Store: db}
	e := newEngine(t, store)
	m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Text: "I keep getting 1020, is my account at risk?"}
	if _, err := e.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	store.races = 5
	r, err := e.Handle(ctx, m)
	if err != nil || strings.Contains(r.Text, "Sorry, something went wrong") {
		t.Fatalf("after 5 conflicts: err = %v, reply %q", err, r.Text)
	}
	c, _, err := db.Conversation(ctx, m.Key())
	if err != nil {
		t.Fatal(err)
	}
	// Two messages (one offer each) and five updates of the other replica.
	if c.Turn != 2+5*100 {
		t.Errorf("turn = %d, want %d: an update was lost", c.Turn, 2+5*100)
	}

	// "cancel" deletes the conversation, checked against the version read.
	store.races = 2
	r, err = e.Handle(ctx, bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Text: "cancel"})
	if err != nil || strings.Contains(r.Text, "Sorry, something went wrong") {
		t.Fatalf("cancel after conflicts: err = %v, reply %q", err, r.Text)
	}
	if _, ok, _ := db.Conversation(ctx, m.Key()); ok {
		t.Error("conversation still stored after cancel")
	}
}

// TestUnansweredRecordedOnceDespiteConflicts: what a turn records (here
// the message it could not answer) is recorded once, after the
// conversation's state is stored, however often the turn is redone.
func TestUnansweredRecordedOnceDespiteConflicts(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	store := &racingStore{Store: db}
	e := newEngine(t, store)
	m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true}
	// A diagnosis paused by a side question: a message it cannot answer
	// is recorded and the paused diagnosis saved with it.
	for _, text := range []string{"chatgpt says access denied 1020", "what is error 1020?"} {
		m.Text = text
		if _, err := e.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	store.races = 3
	m.Text = "the printer on floor 2 is down"
	if _, err := e.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if store.races != 0 {
		t.Fatalf("%d races left: the turn did not write", store.races)
	}
	s, err := db.Stats(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.UnansweredCount != 1 {
		t.Errorf("unanswered recorded %d times, want once", s.UnansweredCount)
	}
}
