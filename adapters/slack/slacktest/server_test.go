package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"gptaccess/adapters/slack/slacktest"
)

const wait = 5 * time.Second

// Slack's documented example ("Verifying requests from Slack").
func TestSignMatchesSlackTestVector(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := slacktest.Sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body))
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// The signer and slack-go's verifier agree on a fresh timestamp.
func TestSignAcceptedBySecretsVerifier(t *testing.T) {
	body := []byte(`{"type":"url_verification"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", slacktest.Sign("s3cret", ts, body))
	sv, err := slack.NewSecretsVerifier(h, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

func TestWebAPI(t *testing.T) {
	s := slacktest.New(t, slacktest.Config{})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()

	at, err := api.AuthTestContext(ctx)
	if err != nil || at.UserID != "UBOT" || at.BotID != "BBOT" {
		t.Fatalf("auth.test = %+v, %v", at, err)
	}
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Posts()[0]
	if c.Bearer || c.Token != s.Config().BotToken || c.Text != "hi" || c.TS != ts {
		t.Errorf("recorded %+v", c)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message("C1", ts); m.Text != "edited" || m.Edits != 1 {
		t.Errorf("message after update = %+v", m)
	}

	// Wrong token, rate limit and injected errors, as slack-go sees them.
	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	var se slack.SlackErrorResponse
	if _, err := bad.AuthTestContext(ctx); !errors.As(err, &se) || se.Err != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	s.RateLimit("chat.postMessage", "C1", 7, 1)
	var rl *slack.RateLimitedError
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Errorf("rate limited: %v", err)
	}
	s.Fail("chat.postMessage", "C2", "channel_not_found", 1)
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false)); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("injected error: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after the injected error: %v", err)
	}
	// Slack refuses blocks it cannot render.
	bigLabel := slack.NewButtonBlockElement("a", "v", slack.NewTextBlockObject(slack.PlainTextType, string(make([]byte, 80)), false, false))
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(slack.NewActionBlock("b", bigLabel))); !errors.As(err, &se) || se.Err != "invalid_blocks" {
		t.Errorf("oversized button label: %v", err)
	}
}

func TestResponseURL(t *testing.T) {
	s := slacktest.New(t, slacktest.Config{})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()))
	form := s.SlashCommand("C1", "U1", "", "help")
	u := form.Get("response_url")
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("one", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("", slack.MsgOptionReplaceOriginal(u), slack.MsgOptionText("two", false)); err != nil {
		t.Fatal(err)
	}
	rs := s.Responses()
	if len(rs) != 2 || rs[0].ResponseType != "ephemeral" || !rs[1].ReplaceOriginal || rs[0].TS != rs[1].TS {
		t.Fatalf("responses = %+v", rs)
	}
	if m, _ := s.Message("C1", rs[0].TS); !m.Ephemeral || m.Text != "two" || m.User != "U1" {
		t.Errorf("message = %+v", m)
	}
	for range 3 {
		_, _, _ = api.PostMessage("", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("more", false))
	}
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("sixth", false)); err == nil {
		t.Error("a sixth use of a response_url succeeded")
	}
}

// The real socketmode client connects, gets envelopes, acks them, is
// redelivered what it did not ack, and reconnects on disconnect.
func TestSocketMode(t *testing.T) {
	s := slacktest.New(t, slacktest.Config{AckTimeout: 200 * time.Millisecond, PingInterval: time.Second})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(s.Config().AppToken))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	events := make(chan socketmode.Event, 100)
	go func() {
		for {
			select {
			case e := <-sm.Events:
				events <- e
			case <-ctx.Done():
				return
			}
		}
	}()
	next := func(typ socketmode.EventType) socketmode.Event {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case e := <-events:
				if e.Type == typ {
					return e
				}
			case <-timeout:
				t.Fatalf("no %s event", typ)
			}
		}
	}
	next(socketmode.EventTypeHello)

	evs := s.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> hello"})
	if len(evs) != 2 || evs[0].Inner["type"] != "app_mention" {
		t.Fatalf("events = %+v", evs)
	}
	env := s.Deliver(evs[0])
	e := next(socketmode.EventTypeEventsAPI)
	if e.Request.EnvelopeID != env {
		t.Fatalf("envelope %q, want %q", e.Request.EnvelopeID, env)
	}
	api2 := e.Data.(slackevents.EventsAPIEvent)
	if m, ok := api2.InnerEvent.Data.(*slackevents.AppMentionEvent); !ok || m.Text != "<@UBOT> hello" {
		t.Fatalf("inner = %#v", api2.InnerEvent.Data)
	}
	// Not acked: redelivered with retry_attempt 1.
	e = next(socketmode.EventTypeEventsAPI)
	if e.Request.EnvelopeID != env || e.Request.RetryAttempt != 1 || e.Request.RetryReason != "timeout" {
		t.Fatalf("redelivery = %+v", e.Request)
	}
	if err := sm.Ack(*e.Request); err != nil {
		t.Fatal(err)
	}
	s.WaitAck(t, env, wait)

	// Slash command and interaction payloads parse.
	s.DeliverSlashCommand(s.SlashCommand("C1", "U1", "", "status"))
	if cmd := next(socketmode.EventTypeSlashCommand).Data.(slack.SlashCommand); cmd.Text != "status" || cmd.ResponseURL == "" {
		t.Errorf("slash = %+v", cmd)
	}
	_, ts, err := api.PostMessage("C1", slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "q?", false, false), nil, nil),
		slack.NewActionBlock("blk", slack.NewButtonBlockElement("act", "v1", slack.NewTextBlockObject(slack.PlainTextType, "yes", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message("C1", ts)
	payload, err := s.Click(m, "U1", "yes")
	if err != nil {
		t.Fatal(err)
	}
	s.DeliverInteraction(payload)
	ic := next(socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if len(ic.ActionCallback.BlockActions) != 1 || ic.ActionCallback.BlockActions[0].Value != "v1" || ic.Container.MessageTs != ts {
		t.Errorf("interaction = %+v", ic)
	}
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil || raw["message"] == nil {
		t.Errorf("payload has no message: %s", payload)
	}

	// disconnect: the client opens a new connection.
	s.Disconnect("refresh_requested")
	s.WaitConnections(t, 2, wait)
	if s.Opens() != 2 {
		t.Errorf("apps.connections.open called %d times, want 2", s.Opens())
	}
	s.Deliver(s.NewEvent(map[string]any{"type": "app_mention", "user": "U1", "text": "again", "ts": s.NewTS(), "channel": "C1"}))
	next(socketmode.EventTypeEventsAPI)
}

// conversations.info describes each kind of place as Slack's conversation
// object does, read through slack-go's own types.
func TestConversationInfo(t *testing.T) {
	s := slacktest.New(t, slacktest.Config{})
	s.AddConversation(slacktest.Conversation{ID: "C0MPIM", Type: slacktest.TypeMPIM})
	s.AddConversation(slacktest.Conversation{ID: "C0PRIV", Type: slacktest.TypeGroup, Name: "secret-project"})
	api := slack.New(s.Config().BotToken, slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	type kind struct{ Channel, Group, IM, MPIM, Private bool }
	for id, want := range map[string]kind{
		"C1":     {Channel: true},
		"C0PRIV": {Channel: true, Private: true},
		"G0OLD":  {Group: true, Private: true},
		"C0MPIM": {MPIM: true, Private: true},
		"D0DM":   {IM: true},
	} {
		ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		got := kind{ch.IsChannel, ch.IsGroup, ch.IsIM, ch.IsMpIM, ch.IsPrivate}
		if ch.ID != id || got != want {
			t.Errorf("%s: id %q, %+v; want %+v", id, ch.ID, got, want)
		}
	}
	var se slack.SlackErrorResponse
	if _, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "Q0GONE"}); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("unknown conversation: %v", err)
	}
	if f := s.SlashCommand("C0PRIV", "U1", "", "help"); f.Get("channel_name") != "privategroup" {
		t.Errorf("slash command in a private channel: channel_name %q", f.Get("channel_name"))
	}
	if f := s.SlashCommand("C0MPIM", "U1", "", "help"); f.Get("channel_name") != "mpdm-ana--bo--cy-1" {
		t.Errorf("slash command in a group DM: channel_name %q", f.Get("channel_name"))
	}
}
