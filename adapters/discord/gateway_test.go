package discord

import (
	"encoding/json"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/delivery"
)

func TestMentionGetsAReply(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	id := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + "  chatgpt says access denied 1020"})

	got := h.h.next(t)
	want := bot.Message{Platform: bot.Discord, Channel: f.ChannelID, Thread: id, User: alice.ID,
		Text: "chatgpt says access denied 1020", Mention: true, Shared: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	r := h.replies(t, f.ChannelID, 1)[0]
	if r.Content != "echo: chatgpt says access denied 1020" {
		t.Errorf("reply = %q", r.Content)
	}
	if r.Reference == nil || r.Reference.MessageID != id {
		t.Errorf("reply references %+v, want message %s", r.Reference, id)
	}
	if r.AllowedMentions == nil || len(r.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions = %+v, want no parsed mentions", r.AllowedMentions)
	}
	if !h.a.Connected() {
		t.Error("Connected() = false while connected")
	}
}

func TestIntents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		content bool
		want    discordgo.Intent
	}{
		{"without message content", false, discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentDirectMessages},
		{"with message content", true, discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentDirectMessages | discordgo.IntentMessageContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, setup{
				fake: discordtest.Options{PrivilegedIntents: discordgo.IntentMessageContent},
				opts: func(o *Options) { o.MessageContent = tc.content },
			})
			hs := h.fake.Handshakes()
			if len(hs) != 1 || hs[0].Intents != tc.want || hs[0].Resume {
				t.Errorf("handshakes = %+v, want one IDENTIFY with intents %d", hs, tc.want)
			}
			if !tc.content {
				h.logs.wait(t, "message content intent off")
			}
		})
	}
}

func TestDirectMessage(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{DM: true, Author: alice, Content: "hi, is chatgpt down?"})
	dm := f.DMChannel(alice.ID)

	got := h.h.next(t)
	want := bot.Message{Platform: bot.Discord, Channel: dm, User: alice.ID, Text: "hi, is chatgpt down?", DM: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	r := h.replies(t, dm, 1)[0]
	if r.Content != "echo: hi, is chatgpt down?" || r.Reference != nil {
		t.Errorf("reply = %q (reference %+v), want a plain message", r.Content, r.Reference)
	}
}

func TestUnaddressedMessages(t *testing.T) {
	t.Parallel()
	listen := "1100000000000000222"
	h := start(t, nil, setup{
		fake: discordtest.Options{PrivilegedIntents: discordgo.IntentMessageContent},
		opts: func(o *Options) { o.MessageContent = true; o.ListenChannels = []string{listen} },
	})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: "lunch anyone?"})                                   // not addressed: never seen
	f.SendMessage(discordtest.Message{Author: discordtest.User{ID: "9", Bot: true}, Content: f.Mention() + " x"}) // a bot
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " pinned", Type: 6})                  // a system message
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " hook", WebhookID: "77"})            // a webhook
	id := f.SendMessage(discordtest.Message{ChannelID: listen, Author: bob, Content: "chatgpt error 1020 again"})

	got := h.h.next(t)
	want := bot.Message{Platform: bot.Discord, Channel: listen, Thread: id, User: bob.ID,
		Text: "chatgpt error 1020 again", Listen: true, Shared: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first message the bot saw (-want +got):\n%s", diff)
	}
	h.replies(t, listen, 1)
	if n := len(h.h.messages()); n != 1 {
		t.Errorf("handler saw %d messages, want 1: %+v", n, h.h.messages())
	}
}

func TestWithoutMessageContentMentionsStillWork(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: "chatgpt error 1020"}) // content withheld by Discord
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " status"})
	if got := h.h.next(t); got.Text != "status" || !got.Mention {
		t.Errorf("first message seen = %+v, want the mention", got)
	}
	h.replies(t, f.ChannelID, 1)
	if n := len(h.h.messages()); n != 1 {
		t.Errorf("handler saw %d messages, want 1", n)
	}
}

func TestRepliesToTheBotContinueTheConversation(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	root := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " access denied"})
	h.h.next(t)
	h.replies(t, f.ChannelID, 1)
	b1 := f.BotMessages(f.ChannelID)[0].ID

	// A reply to the bot, without mentioning it: Discord pings the bot
	// (the replied-to author), so content is delivered.
	u2 := f.SendMessage(discordtest.Message{Author: alice, Content: "yes, NordVPN", ReplyTo: b1})
	got := h.h.next(t)
	want := bot.Message{Platform: bot.Discord, Channel: f.ChannelID, Thread: root, User: alice.ID, Text: "yes, NordVPN", Mention: true, Shared: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("follow-up (-want +got):\n%s", diff)
	}
	r := h.replies(t, f.ChannelID, 2)[1]
	if r.Reference == nil || r.Reference.MessageID != u2 {
		t.Errorf("second reply references %+v, want %s", r.Reference, u2)
	}
	b2 := f.BotMessages(f.ChannelID)[1].ID

	// After a restart the adapter has forgotten the chain: it walks it
	// through REST and finds the same conversation.
	h.restart(t, setup{})
	f.SendMessage(discordtest.Message{Author: alice, Content: "still broken", ReplyTo: b2})
	got = h.h.next(t)
	if got.Thread != root || !got.Mention {
		t.Errorf("after restart: thread %q mention %v, want %q true", got.Thread, got.Mention, root)
	}
	if len(f.Calls(discordtest.RouteGetMessage)) == 0 {
		t.Error("no GET of the reply chain after a restart")
	}
}

func TestMessageInThread(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	thread := f.NewThread(f.ChannelID) // created after GUILD_CREATE: found through REST
	f.SendMessage(discordtest.Message{ChannelID: thread, Author: alice, Content: f.Mention() + " help"})
	got := h.h.next(t)
	if got.Channel != thread || got.Thread != thread || !got.Mention {
		t.Errorf("message = %+v, want channel and thread %s", got, thread)
	}
	h.replies(t, thread, 1)
	if n := len(f.Calls(discordtest.RouteGetChannel)); n != 1 {
		t.Errorf("%d channel lookups, want 1", n)
	}
	// The kind of channel is cached.
	f.SendMessage(discordtest.Message{ChannelID: thread, Author: alice, Content: f.Mention() + " again"})
	h.h.next(t)
	h.replies(t, thread, 2)
	if n := len(f.Calls(discordtest.RouteGetChannel)); n != 1 {
		t.Errorf("%d channel lookups, want 1 (cached)", n)
	}
}

func TestThreadKnownFromGuildCreate(t *testing.T) {
	t.Parallel()
	// Threads that exist at connection time arrive with GUILD_CREATE and
	// need no lookup.
	var thread string
	h := start(t, nil, setup{before: func(f *discordtest.Server) { thread = f.NewThread(f.ChannelID) }})
	f := h.fake
	f.SendMessage(discordtest.Message{ChannelID: thread, Author: alice, Content: f.Mention() + " help"})
	if got := h.h.next(t); got.Thread != thread {
		t.Errorf("thread = %q, want %q", got.Thread, thread)
	}
	h.replies(t, thread, 1)
	if n := len(f.Calls(discordtest.RouteGetChannel)); n != 0 {
		t.Errorf("%d channel lookups, want 0", n)
	}
}

func TestLongReplyIsSplitInOrder(t *testing.T) {
	t.Parallel()
	var text strings.Builder
	for i := range 120 {
		text.WriteString("- step " + strings.Repeat("x", 30) + " " + string(rune('A'+i%26)) + "\n")
	}
	long := strings.TrimSpace(text.String())
	h := start(t, newRecorder(func(context.Context, bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: long}, nil
	}), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " fix"})
	parts := h.replies(t, f.ChannelID, 3)
	var joined []string
	for i, p := range parts {
		if n := len16(p.Content); n > maxContent {
			t.Errorf("part %d has %d characters", i, n)
		}
		if (p.Reference != nil) != (i == 0) {
			t.Errorf("part %d reference = %+v; only the first part replies", i, p.Reference)
		}
		joined = append(joined, p.Content)
	}
	if got := strings.Join(joined, "\n"); got != long {
		t.Errorf("parts do not add up to the reply (len %d vs %d)", len(got), len(long))
	}
}

func TestDuplicateDeliveriesGetOneReply(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake

	// The same MESSAGE_CREATE twice (new sequence numbers, same id).
	id := f.NewID()
	f.SendMessage(discordtest.Message{ID: id, Author: alice, Content: f.Mention() + " one"})
	m, _ := f.Message(id)
	f.Dispatch("MESSAGE_CREATE", m)
	// A sentinel after both: the channel's queue is FIFO, so once it is
	// answered the duplicate has been dealt with.
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sentinel"})
	h.replies(t, f.ChannelID, 2)

	// A RESUME that replays events the client already had.
	before := f.Seq()
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " two"})
	h.replies(t, f.ChannelID, 3)
	f.ReplayOnResume(before + 1)
	f.Reconnect()
	f.WaitHandshakes(t, 2)
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sentinel 2"})
	h.replies(t, f.ChannelID, 4)

	var texts []string
	for _, m := range h.h.messages() {
		texts = append(texts, m.Text)
	}
	if diff := cmp.Diff([]string{"one", "sentinel", "two", "sentinel 2"}, texts); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if n := len(f.Calls(discordtest.RouteCreateMessage)); n != 4 {
		t.Errorf("%d messages posted, want 4", n)
	}
}

// After a restart the inbox remembers what was answered: a replayed
// message gets no second reply, and a message left pending by the crash
// is answered once.
func TestRestartRemembersAndResumes(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	id := f.NewID()
	f.SendMessage(discordtest.Message{ID: id, Author: alice, Content: f.Mention() + " answered before"})
	h.replies(t, f.ChannelID, 1)
	h.restart(t, setup{})

	// Received by the run that crashed, not yet answered.
	pending := f.NewID()
	raw, _ := json.Marshal(map[string]any{"id": pending, "channel_id": f.ChannelID, "guild_id": f.GuildID, "type": 0,
		"content": f.Mention() + " left pending", "author": map[string]any{"id": alice.ID, "username": alice.Name},
		"mentions": []any{map[string]any{"id": f.BotID, "username": "gptaccess", "bot": true}}})
	in := inbound("msg:"+pending, f.ChannelID, eventMessage, raw)
	in.Received = time.Now()
	if _, err := h.store.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	h.restart(t, setup{})
	m, _ := f.Message(id)
	f.Dispatch("MESSAGE_CREATE", m) // replayed
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sentinel"})
	h.replies(t, f.ChannelID, 3)
	var texts []string
	for _, m := range h.h.messages() {
		texts = append(texts, m.Text)
	}
	if diff := cmp.Diff([]string{"answered before", "left pending", "sentinel"}, texts); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	// The replay is a duplicate, and so is each message that the
	// catch-up after the new session (backfill.go) read again.
	if dup, _, _ := h.obs.Counts("discord"); dup < 1 {
		t.Errorf("duplicates = %d, want at least the replay", dup)
	}
}

func TestMalformedPayloadsAreLoggedAndSkipped(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake

	f.SendRaw(t, `{"op":0,"t":"MESSAGE_CREATE","s":`) // not even JSON
	f.DispatchRaw("MESSAGE_CREATE", []byte(`{"id":"5","channel_id":"6","author":"mallory"}`))
	f.DispatchRaw("MESSAGE_CREATE", []byte(`{"id":"5","channel_id":"6"}`))
	f.DispatchRaw("INTERACTION_CREATE", []byte(`{"type":2,"data":[]}`))
	f.DispatchRaw("UNKNOWN_EVENT", []byte(`{}`))
	// A real interaction with app_permissions as a number: discordgo
	// cannot decode it; the user still hears back.
	ix := f.CommandInteraction(discordtest.Command{User: alice, Sub: "help", Mutate: func(p map[string]any) {
		p["app_permissions"] = 2248473465835073
	}})
	f.SendInteraction(ix)
	r := h.callbacks(t, ix.ID, 1)[0]
	if r.Type != discordgo.InteractionResponseChannelMessageWithSource || r.Data.Flags != discordgo.MessageFlagsEphemeral ||
		!strings.Contains(r.Data.Content, "couldn't read") {
		t.Errorf("response = %+v %+v, want an ephemeral note", r, r.Data)
	}
	h.logs.wait(t, "ignoring malformed MESSAGE_CREATE")
	h.logs.wait(t, "malformed interaction")

	// Still working.
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " still there?"})
	if got := h.h.next(t); got.Text != "still there?" {
		t.Errorf("next message = %q", got.Text)
	}
	h.replies(t, f.ChannelID, 1)
	if !f.Connected() {
		t.Error("the gateway connection dropped")
	}
}

func TestReconnectOp7Resumes(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.Reconnect()
	// Sent while the client reconnects: replayed on RESUME.
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " during"})
	hs := f.WaitHandshakes(t, 2)
	if !hs[1].Resume || !hs[1].Accepted || hs[1].SessionID != hs[0].SessionID {
		t.Errorf("second handshake = %+v, want an accepted RESUME of %s", hs[1], hs[0].SessionID)
	}
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " after"})
	h.replies(t, f.ChannelID, 2)
	var texts []string
	for _, m := range h.h.messages() {
		texts = append(texts, m.Text)
	}
	if diff := cmp.Diff([]string{"during", "after"}, texts); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	h.fake.Await(t, "connected", h.a.Connected)
}

func TestInvalidSessionReidentifies(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.InvalidSession(false)
	hs := f.WaitHandshakes(t, 2)
	if hs[1].Resume || !hs[1].Accepted {
		t.Errorf("second handshake = %+v, want an IDENTIFY", hs[1])
	}
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " hi"})
	h.replies(t, f.ChannelID, 1)
}

func TestClosedConnectionResumes(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	obs := h.obs
	f := h.fake
	f.CloseGateway(4000, "Unknown error.")
	hs := f.WaitHandshakes(t, 2)
	if !hs[1].Resume || !hs[1].Accepted {
		t.Errorf("second handshake = %+v, want a RESUME", hs[1])
	}
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " hi"})
	h.replies(t, f.ChannelID, 1)
	h.logs.wait(t, "gateway connection lost; reconnecting")
	if n := obs.Reconnects("discord"); n != 1 {
		t.Errorf("observer saw %d reconnects, want 1", n)
	}
}

func TestRefusedStartStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    setup
		code string
	}{
		{"4014 disallowed intents", setup{noWait: true, opts: func(o *Options) { o.MessageContent = true }}, "4014"},
		{"4004 bad token", setup{noWait: true, opts: func(o *Options) { o.Token = "wrong" }}, "4004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, tc.s)
			select {
			case err := <-h.done:
				if err == nil || !strings.Contains(err.Error(), tc.code) {
					t.Fatalf("Run = %v, want an error about %s", err, tc.code)
				}
				h.done <- err // for the cleanup
			case <-time.After(10 * time.Second):
				t.Fatal("Run kept going after the gateway refused the bot")
			}
			if n := len(h.fake.Handshakes()); n != 1 {
				t.Errorf("%d handshakes, want 1 (no reconnect storm)", n)
			}
			if h.a.Connected() {
				t.Error("Connected() = true")
			}
		})
	}
}

func TestTokenResetMidSessionStops(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.RejectGateway(4004)
	f.CloseGateway(4004, "Authentication failed.")
	select {
	case err := <-h.done:
		if err == nil || !strings.Contains(err.Error(), "4004") {
			t.Fatalf("Run = %v, want a 4004 error", err)
		}
		h.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after 4004")
	}
}

func TestShutdownIsClean(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
		h.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if h.a.Connected() {
		t.Error("Connected() = true after shutdown")
	}
	h.fake.Await(t, "the fake to see the socket close", func() bool { return !h.fake.Connected() })
}

func TestHandover(t *testing.T) {
	t.Parallel()
	support := "1100000000000000777"
	handover := func(context.Context, bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: "I've asked a human to help.", Handover: &bot.Handover{User: alice.ID, Summary: "- cause: unknown\n- tried: fix-vpn"}}, nil
	}
	t.Run("support channel", func(t *testing.T) {
		t.Parallel()
		h := start(t, newRecorder(handover), setup{core: func(o *delivery.Options) {
			o.Support = map[string]delivery.Support{bot.Discord: {Channel: support, Mention: "555"}}
		}})
		f := h.fake
		f.AddChannel(discordtest.Channel{ID: support, GuildID: f.GuildID, Type: discordgo.ChannelTypeGuildText})
		id := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " help"})
		m := h.replies(t, support, 1)[0]
		for _, want := range []string{"<@&555>", "<@" + alice.ID + ">", "cause: unknown", "/channels/" + f.GuildID + "/" + f.ChannelID + "/" + id} {
			if !strings.Contains(m.Content, want) {
				t.Errorf("handover %q lacks %q", m.Content, want)
			}
		}
		if m.AllowedMentions == nil || !cmp.Equal(m.AllowedMentions.Roles, []string{"555"}) {
			t.Errorf("allowed mentions = %+v, want role 555", m.AllowedMentions)
		}
	})
	t.Run("role in place", func(t *testing.T) {
		t.Parallel()
		h := start(t, newRecorder(handover), setup{core: func(o *delivery.Options) {
			o.Support = map[string]delivery.Support{bot.Discord: {Mention: "555"}}
		}})
		f := h.fake
		f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " help"})
		ms := h.replies(t, f.ChannelID, 2)
		if !strings.Contains(ms[1].Content, "<@&555>") {
			t.Errorf("handover = %q", ms[1].Content)
		}
	})
	t.Run("nowhere", func(t *testing.T) {
		t.Parallel()
		h := start(t, newRecorder(handover), setup{})
		f := h.fake
		f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " help"})
		h.replies(t, f.ChannelID, 1)
		h.logs.wait(t, "no support channel (or, outside DMs, support group or role)")
	})
}

func TestBotErrorsGetAnApology(t *testing.T) {
	t.Parallel()
	h := start(t, newRecorder(func(context.Context, bot.Message) (bot.Reply, error) {
		return bot.Reply{}, errors.New("boom")
	}), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " hi"})
	if r := h.replies(t, f.ChannelID, 1)[0]; r.Content != bot.Sorry {
		t.Errorf("reply = %q, want the apology", r.Content)
	}
	h.logs.wait(t, "bot failed")
}

func TestIgnoreSendsNothing(t *testing.T) {
	t.Parallel()
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		if m.Text == "ignore me" {
			return bot.Reply{Ignore: true}, nil
		}
		return bot.Reply{Text: "ok"}, nil
	}), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " ignore me"})
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sentinel"})
	h.replies(t, f.ChannelID, 1)
	if n := len(f.Calls(discordtest.RouteCreateMessage)); n != 1 {
		t.Errorf("%d messages posted, want 1", n)
	}
}

func TestSilentGatewayTimesOutAndRetries(t *testing.T) {
	t.Parallel()
	// A gateway that accepts the socket and never says HELLO.
	dialed := make(chan struct{}, 100)
	hold := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v9/gateway", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"url":"ws://%s"}`, r.Host)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		dialed <- struct{}{}
		<-hold
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(hold)

	logs := newLogSink()
	a, err := New(Options{Token: "t", APIURL: srv.URL + "/", Core: newCore(t),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.openTimeout = 50 * time.Millisecond
	a.backoffMin = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	logs.wait(t, "gateway handshake took longer than 50ms")
	for range 2 { // the first attempt and a retry
		select {
		case <-dialed:
		case <-time.After(10 * time.Second):
			t.Fatal("no retry after the handshake timed out")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
