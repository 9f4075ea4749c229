package slack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/delivery"
)

// TestPlaceOfMessages: a mention reaches the bot as app_mention alone in a
// group DM (the app does not subscribe to message.mpim), without a
// channel_type, and modern workspaces give group DMs and private channels
// "C…" ids like public channels. The adapter asks Slack then, and only a
// public channel's message is not Private (whose text may be kept).
func TestPlaceOfMessages(t *testing.T) {
	fake := slacktest.New(t, slacktest.Config{})
	for _, c := range []slacktest.Conversation{
		{ID: "C0MPIM", Type: slacktest.TypeMPIM},
		{ID: "C0PRIV", Type: slacktest.TypeGroup},
		{ID: "C0PUB", Type: slacktest.TypeChannel},
	} {
		fake.AddConversation(c)
	}
	h := startAdapter(t, fake, ModeSocket)

	mention := func(channel, text string) {
		t.Helper()
		for _, e := range fake.UserMessage(slacktest.Say{Channel: channel, User: "U1", Text: "<@UBOT> " + text}) {
			if e.Inner["type"] == "app_mention" {
				h.deliver(e)
			}
		}
	}
	mention("C0MPIM", "1020 in a group DM")
	mention("C0MPIM", "1020 again in the group DM")
	mention("C0PRIV", "1020 in a private channel")
	mention("C0PUB", "1020 in a public channel")
	mention("G0OLD", "1020 in an old private channel")
	mention("Q0GONE", "1020 somewhere Slack will not describe")
	h.command("C0MPIM", "U1", "ask 1020 in a group DM")
	h.command("C0PUB", "U1", "ask 1020 in a public channel")
	eventually(t, "every message handled", func() bool { return len(h.h.messages()) == 8 })

	private := map[string]bool{}
	for _, m := range h.h.messages() {
		private[m.Text] = m.Private
	}
	want := map[string]bool{
		"1020 in a group DM":                     true,
		"1020 again in the group DM":             true,
		"1020 in a private channel":              true,
		"1020 in a public channel":               false,
		"1020 in an old private channel":         true,
		"1020 somewhere Slack will not describe": true,
	}
	for text, priv := range want {
		if got, ok := private[text]; !ok || got != priv {
			t.Errorf("%q: Private %v (seen %v), want %v", text, got, ok, priv)
		}
	}
	// The slash commands' Text is the question.
	if !private["1020 in a group DM"] || private["1020 in a public channel"] {
		t.Errorf("slash commands: %v", private)
	}

	// Slack is asked once per channel whose kind the payload did not say:
	// not for the "G…" channel, nor for the command in the group DM
	// (channel_name "mpdm-…").
	asked := map[string]int{}
	for _, c := range fake.Calls("conversations.info") {
		asked[c.Channel]++
	}
	wantAsked := map[string]int{"C0MPIM": 1, "C0PRIV": 1, "C0PUB": 1, "Q0GONE": 1}
	if len(asked) != len(wantAsked) {
		t.Errorf("conversations.info asked about %v, want %v", asked, wantAsked)
	}
	for ch, n := range wantAsked {
		if asked[ch] != n {
			t.Errorf("conversations.info asked %d times about %s, want %d (all: %v)", asked[ch], ch, n, asked)
		}
	}
}

// placeAdapter is an adapter against fake whose clock the test moves.
func placeAdapter(t *testing.T, fake *slacktest.Server) (*Adapter, *time.Time, *bottest.Buffer) {
	t.Helper()
	logs := &bottest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	core, err := delivery.New(delivery.Options{Store: delivery.NewMemory(), Handler: newDialogHandler(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// Only the test's goroutine calls a.private (Run is not started).
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a, err := New(Options{
		BotToken: fake.Config().BotToken, SigningSecret: "s", APIURL: fake.APIURL(), Core: core, Logger: log,
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, &now, logs
}

// TestPrivateIsRemembered: what Slack said is remembered for an hour; a
// failed lookup is private and remembered for a minute only; a lookup cut
// short by shutdown leaves the item pending.
func TestPrivateIsRemembered(t *testing.T) {
	ctx := context.Background()
	fake := slacktest.New(t, slacktest.Config{})
	a, now, logs := placeAdapter(t, fake)
	calls := func() int { return len(fake.Calls("conversations.info")) }
	check := func(channel string, want bool, wantCalls int) {
		t.Helper()
		priv, err := a.private(ctx, channel)
		if err != nil || priv != want {
			t.Errorf("private(%s) = %v, %v; want %v", channel, priv, err, want)
		}
		if n := calls(); n != wantCalls {
			t.Errorf("after private(%s): %d conversations.info calls, want %d", channel, n, wantCalls)
		}
	}

	check("C1", false, 1)
	check("C1", false, 1)
	*now = now.Add(placeTTL)
	check("C1", false, 2)

	fake.Fail("conversations.info", "C2", "internal_error", 1)
	check("C2", true, 3)
	check("C2", true, 3)
	*now = now.Add(placeFailTTL)
	check("C2", false, 4)

	fake.Fail("conversations.info", "C3", "missing_scope", 1)
	check("C3", true, 5)
	if !strings.Contains(logs.String(), "channels:read, groups:read, mpim:read and im:read") {
		t.Errorf("a missing scope is not named in the log:\n%s", logs)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.private(cancelled, "C4"); !errors.Is(err, delivery.ErrNotReady) {
		t.Errorf("private with a cancelled context: %v, want ErrNotReady", err)
	}
}

// TestMessageAsksForOlderItems: an inbox item stored before items said
// what they knew of their place (or whose place is unknown) is asked
// about, whatever Private flag it carries.
func TestMessageAsksForOlderItems(t *testing.T) {
	fake := slacktest.New(t, slacktest.Config{})
	fake.AddConversation(slacktest.Conversation{ID: "C0MPIM", Type: slacktest.TypeMPIM})
	a, _, _ := placeAdapter(t, fake)
	for _, tt := range []struct {
		body string
		want bool
	}{
		{`{"kind":0,"msg":{"Platform":"slack","Channel":"C0MPIM","User":"U1","Text":"1020","Mention":true,"Shared":true}}`, true},
		{`{"kind":0,"msg":{"Platform":"slack","Channel":"C1","User":"U1","Text":"1020","Mention":true,"Shared":true}}`, false},
		{`{"kind":0,"place":"public","msg":{"Platform":"slack","Channel":"C0MPIM","User":"U1","Text":"1020","Mention":true,"Shared":true,"Private":true}}`, false},
		{`{"kind":0,"place":"private","msg":{"Platform":"slack","Channel":"C1","User":"U1","Text":"1020","Mention":true,"Shared":true}}`, true},
	} {
		turn, ok, err := a.Message(context.Background(), delivery.Inbound{ID: "slack:x", Platform: bot.Slack, Body: []byte(tt.body)})
		if err != nil || !ok || turn.Message.Private != tt.want {
			t.Errorf("%s: Private %v (ok %v, err %v), want %v", tt.body, turn.Message.Private, ok, err, tt.want)
		}
	}
}

// TestPlacesAreBounded: the cache forgets the least recently asked
// channel past its size.
func TestPlacesAreBounded(t *testing.T) {
	p := newPlaces(2)
	now := time.Now()
	for _, ch := range []string{"C1", "C2", "C3"} {
		p.put(ch, placeEntry{until: now.Add(time.Hour)})
	}
	if _, ok := p.get("C1", now); ok {
		t.Error("C1 still remembered past the cache's size")
	}
	for _, ch := range []string{"C2", "C3"} {
		if _, ok := p.get(ch, now); !ok {
			t.Errorf("%s forgotten", ch)
		}
	}
	if _, ok := p.get("C3", now.Add(time.Hour)); ok {
		t.Error("C3 remembered past its time")
	}
}
