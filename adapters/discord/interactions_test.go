package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/delivery"
)

func TestCommandsAreRegistered(t *testing.T) {
	t.Parallel()
	for _, guild := range []string{"", "1100000000000000100"} {
		t.Run("guild="+guild, func(t *testing.T) {
			t.Parallel()
			h := start(t, nil, setup{opts: func(o *Options) { o.GuildID = guild }})
			cmds := h.fake.Commands(guild)
			if len(cmds) != 1 || cmds[0].Name != "gptaccess" {
				t.Fatalf("commands = %+v, want /gptaccess", cmds)
			}
			var subs []string
			for _, o := range cmds[0].Options {
				subs = append(subs, o.Name)
				if o.Type != discordgo.ApplicationCommandOptionSubCommand {
					t.Errorf("option %s has type %v", o.Name, o.Type)
				}
				if o.Name == "ask" && (len(o.Options) != 1 || o.Options[0].Name != "question" || !o.Options[0].Required ||
					o.Options[0].Type != discordgo.ApplicationCommandOptionString) {
					t.Errorf("ask options = %+v, want a required string question", o.Options)
				}
			}
			want := []string{"help", "status", "diagnose", "ask", "subscribe", "unsubscribe", "stats"}
			if diff := cmp.Diff(want, subs); diff != "" {
				t.Errorf("subcommands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEachSubcommandDefersThenEdits(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	for _, tc := range []struct {
		sub  string
		opts map[string]string
		text string
	}{
		{"help", nil, "help"},
		{"status", nil, "status"},
		{"diagnose", nil, "diagnose"},
		{"ask", map[string]string{"question": " why does chatgpt say access denied? "}, "why does chatgpt say access denied?"},
		{"subscribe", nil, "subscribe"},
		{"unsubscribe", nil, "unsubscribe"},
		{"stats", nil, "stats"},
	} {
		t.Run(tc.sub, func(t *testing.T) {
			ix := f.SendCommand(discordtest.Command{User: alice, Sub: tc.sub, Options: tc.opts})
			r := h.callbacks(t, ix.ID, 1)[0]
			if r.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || r.Data == nil || r.Data.Flags != discordgo.MessageFlagsEphemeral {
				t.Errorf("initial response = %+v, want an ephemeral deferral (type 5, flags 64)", r)
			}
			edit := h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)[0]
			if edit.Params["message"] != "@original" {
				t.Errorf("edited %s, want @original", edit.Params["message"])
			}
			if content, _, _ := editContent(t, edit); content != "echo: "+tc.text {
				t.Errorf("edited to %q", content)
			}
			got := h.h.next(t)
			want := bot.Message{Platform: bot.Discord, Channel: f.ChannelID, User: alice.ID, Text: tc.text, Command: true, Shared: true}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if id, ok := f.Original(ix.ID); !ok {
				t.Error("no original response")
			} else if m, _ := f.Message(id); m.Flags != discordgo.MessageFlagsEphemeral {
				t.Errorf("original flags = %v, want ephemeral only (loading cleared)", m.Flags)
			}
		})
	}
}

func TestCommandReplies(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 900)
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		switch m.Text {
		case "subscribe":
			return bot.Reply{Text: "This channel will now get alerts.", Public: true}, nil
		case "stats":
			return bot.Reply{Ignore: true}, nil
		case "help":
			return bot.Reply{Text: long}, nil
		}
		return bot.Reply{Text: "answer to " + m.Text}, nil
	}), setup{})
	f := h.fake

	t.Run("public reply", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{User: alice, Sub: "subscribe"})
		fu := h.waitWebhook(t, discordtest.RouteFollowup, ix.Token, 1)[0]
		if content, flags, _ := editContent(t, fu); content != "This channel will now get alerts." || flags != 0 {
			t.Errorf("follow-up = %q flags %v, want a public message", content, flags)
		}
		h.waitWebhook(t, discordtest.RouteDelWebhookMsg, ix.Token, 1)
	})
	t.Run("ignore", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{User: alice, Sub: "stats"})
		h.waitWebhook(t, discordtest.RouteDelWebhookMsg, ix.Token, 1)
		if n := len(h.webhookCalls(discordtest.RouteEditWebhookMsg, ix.Token)); n != 0 {
			t.Errorf("%d edits, want none", n)
		}
	})
	t.Run("long reply", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{User: alice, Sub: "help"})
		edit := h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)[0]
		fus := h.waitWebhook(t, discordtest.RouteFollowup, ix.Token, 2)
		parts := []string{}
		c, _, _ := editContent(t, edit)
		parts = append(parts, c)
		for _, fu := range fus {
			c, flags, _ := editContent(t, fu)
			if flags != discordgo.MessageFlagsEphemeral {
				t.Errorf("follow-up flags = %v, want ephemeral", flags)
			}
			parts = append(parts, c)
		}
		if got := strings.Join(parts, " "); got != strings.TrimSpace(long) {
			t.Errorf("parts do not add up (%d vs %d chars)", len(got), len(long))
		}
	})
	t.Run("in a DM", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{DM: true, User: bob, Sub: "status"})
		r := h.callbacks(t, ix.ID, 1)[0]
		if r.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || (r.Data != nil && r.Data.Flags != 0) {
			t.Errorf("response = %+v, want a plain deferral", r)
		}
		h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)
		var got bot.Message
		for _, m := range h.h.messages() {
			if m.User == bob.ID {
				got = m
			}
		}
		want := bot.Message{Platform: bot.Discord, Channel: f.DMChannel(bob.ID), User: bob.ID, Text: "status", Command: true, DM: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("message (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown subcommand", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{User: alice, Sub: "bogus"})
		r := h.callbacks(t, ix.ID, 1)[0]
		if r.Type != discordgo.InteractionResponseChannelMessageWithSource || r.Data.Flags != discordgo.MessageFlagsEphemeral {
			t.Errorf("response = %+v, want an ephemeral note", r)
		}
	})
	t.Run("duplicate delivery", func(t *testing.T) {
		ix := f.SendCommand(discordtest.Command{User: alice, Sub: "diagnose"})
		h.callbacks(t, ix.ID, 1)
		f.SendInteraction(ix)
		h.logs.wait(t, "duplicate delivery")
		h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)
		if n := len(h.callsFor(discordtest.RouteCallback, map[string]string{"id": ix.ID})); n != 1 {
			t.Errorf("%d callbacks, want 1", n)
		}
	})
}

// dialog is a small stand-in for the bot's diagnosis: two questions, then
// a conclusion. Clicks on a question that is not the open one in the
// clicker's conversation are refused privately, as the real engine does.
type dialog struct {
	mu    sync.Mutex
	convs map[string]*conv
	n     int
	slow  chan struct{} // when set, clicks wait for it
}

type conv struct {
	id      string
	turn    int
	answers []string
}

var questions = []string{"Are you connected through a VPN or proxy?", "Do people on other networks see the error too?"}

func (d *dialog) Handle(_ context.Context, m bot.Message) (bot.Reply, error) {
	if m.Answer != nil && d.slow != nil {
		<-d.slow
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := m.Key()
	c := d.convs[key]
	if m.Answer == nil {
		d.n++
		c = &conv{id: fmt.Sprintf("c%d", d.n)}
		d.convs[key] = c
		return ask(c), nil
	}
	if c == nil || m.Answer.Question != fmt.Sprintf("%s:%d", c.id, c.turn) {
		return bot.Reply{Private: true, Text: "That question is no longer open."}, nil
	}
	c.answers = append(c.answers, m.Answer.Choice)
	c.turn++
	if c.turn == len(questions) {
		delete(d.convs, key)
		return bot.Reply{Text: "**Diagnosis:** your answers were " + strings.Join(c.answers, ", ") + "\n- step one\n- step two",
			Diagnosis: &bot.Diagnosis{Cause: "vpn-proxy", Steps: []string{"fix-vpn"}}}, nil
	}
	return ask(c), nil
}

func ask(c *conv) bot.Reply {
	q := questions[c.turn]
	return bot.Reply{Text: q + " (yes / no / not sure)", Question: &bot.Question{
		ID: fmt.Sprintf("%s:%d", c.id, c.turn), Fact: "f", Text: q, Choices: []string{"yes", "no", "not sure"}}}
}

// buttonIDs lists the custom ids of a message's buttons.
func buttonIDs(comps []discordgo.MessageComponent) (ids []string, disabled []bool) {
	for _, b := range buttons(&discordgo.Message{Components: comps}) {
		ids = append(ids, b.CustomID)
		disabled = append(disabled, b.Disabled)
	}
	return ids, disabled
}

func TestDialogByButtons(t *testing.T) {
	t.Parallel()
	d := &dialog{convs: map[string]*conv{}}
	h := start(t, newRecorder(d.Handle), setup{})
	f := h.fake
	root := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " chatgpt 1020"})
	first := h.h.next(t)

	q1 := h.replies(t, f.ChannelID, 1)[0]
	ids, _ := buttonIDs(q1.Components)
	if diff := cmp.Diff([]string{"c1:0|yes", "c1:0|no", "c1:0|not sure"}, ids); diff != "" {
		t.Fatalf("buttons (-want +got):\n%s", diff)
	}
	q1msg := f.BotMessages(f.ChannelID)[0]

	// Alice answers the first question.
	ix := f.SendClick(discordtest.Click{MessageID: q1msg.ID, CustomID: "c1:0|yes", User: alice})
	content, comps := h.editedQuestion(t, ix)
	if !strings.Contains(content, "✔ <@"+alice.ID+"> answered: **yes**") || !strings.HasPrefix(content, q1.Content) {
		t.Errorf("updated question = %q", content)
	}
	if _, dis := buttonIDs(comps); !cmp.Equal(dis, []bool{true, true, true}) {
		t.Errorf("buttons disabled = %v, want all", dis)
	}
	click := h.h.next(t)
	wantClick := bot.Message{Platform: bot.Discord, Channel: f.ChannelID, Thread: root, User: alice.ID, Text: "yes",
		Shared: true, Answer: &bot.Answer{Question: "c1:0", Choice: "yes"}}
	if diff := cmp.Diff(wantClick, click); diff != "" {
		t.Errorf("click (-want +got):\n%s", diff)
	}
	if click.Key() != first.Key() {
		t.Errorf("click key %q, want the conversation's %q", click.Key(), first.Key())
	}
	q2 := h.replies(t, f.ChannelID, 2)[1]
	if q2.Reference == nil || q2.Reference.MessageID != root || !strings.Contains(q2.Content, questions[1]) {
		t.Errorf("second question = %q replying to %+v, want a reply to %s", q2.Content, q2.Reference, root)
	}
	q2msg := f.BotMessages(f.ChannelID)[1]

	// Bob clicks Alice's question: refused privately, the question stays.
	ix = f.SendClick(discordtest.Click{MessageID: q2msg.ID, CustomID: "c1:1|no", User: bob})
	h.privateNote(t, ix)
	if m, _ := f.Message(q2msg.ID); m.EditedTimestamp != nil {
		t.Error("bob's click changed alice's question")
	}
	h.h.next(t)

	// Alice answers the second question: the conclusion follows.
	ix = f.SendClick(discordtest.Click{MessageID: q2msg.ID, CustomID: "c1:1|not sure", User: alice})
	h.editedQuestion(t, ix)
	h.h.next(t)
	final := h.replies(t, f.ChannelID, 3)[2]
	if !strings.Contains(final.Content, "your answers were yes, not sure") || len(final.Components) != 0 {
		t.Errorf("conclusion = %q (%d component rows)", final.Content, len(final.Components))
	}

	// A stale click on the first question is refused privately.
	ix = f.SendClick(discordtest.Click{MessageID: q1msg.ID, CustomID: "c1:0|no", User: alice})
	h.privateNote(t, ix)
}

func TestDialogFromSlashCommandStaysEphemeral(t *testing.T) {
	t.Parallel()
	d := &dialog{convs: map[string]*conv{}}
	h := start(t, newRecorder(d.Handle), setup{})
	f := h.fake
	ix := f.SendCommand(discordtest.Command{User: alice, Sub: "diagnose"})
	h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)
	orig, ok := f.Original(ix.ID)
	if !ok {
		t.Fatal("no original response")
	}
	m, _ := f.Message(orig)
	if m.Flags&discordgo.MessageFlagsEphemeral == 0 || len(buttons(m)) != 3 {
		t.Fatalf("question = %+v, want an ephemeral message with 3 buttons", m)
	}
	h.h.next(t)

	click := f.SendClick(discordtest.Click{MessageID: orig, CustomID: "c1:0|no", User: alice})
	h.editedQuestion(t, click)
	if got := h.h.next(t); got.Thread != "" || got.Answer == nil {
		t.Errorf("click = %+v, want the channel-level conversation", got)
	}
	fu := h.waitWebhook(t, discordtest.RouteFollowup, click.Token, 1)[0]
	content, flags, comps := editContent(t, fu)
	if flags != discordgo.MessageFlagsEphemeral || !strings.Contains(content, questions[1]) || len(comps) == 0 {
		t.Fatalf("next question = %q flags %v, want an ephemeral follow-up with buttons", content, flags)
	}
	var q2 string
	for _, m := range f.Messages(f.ChannelID) {
		if m.Flags&discordgo.MessageFlagsEphemeral != 0 && strings.Contains(m.Content, questions[1]) {
			q2 = m.ID
		}
	}
	click = f.SendClick(discordtest.Click{MessageID: q2, CustomID: "c1:1|yes", User: alice})
	h.callbacks(t, click.ID, 1)
	fu = h.waitWebhook(t, discordtest.RouteFollowup, click.Token, 1)[0]
	if content, _, _ := editContent(t, fu); !strings.Contains(content, "your answers were no, yes") {
		t.Errorf("conclusion = %q", content)
	}
}

// Every click is acknowledged with a deferred update before the bot is
// asked (Discord allows 3 s), then the question is edited.
func TestSlowClickIsDeferred(t *testing.T) {
	t.Parallel()
	d := &dialog{convs: map[string]*conv{}, slow: make(chan struct{})}
	h := start(t, newRecorder(d.Handle), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " 1020"})
	h.replies(t, f.ChannelID, 1)
	q1 := f.BotMessages(f.ChannelID)[0]
	ix := f.SendClick(discordtest.Click{MessageID: q1.ID, CustomID: "c1:0|yes", User: alice})
	if r := h.callbacks(t, ix.ID, 1)[0]; r.Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Fatalf("response type = %v, want 6 (deferred update)", r.Type)
	}
	close(d.slow)
	edit := h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)[0]
	if content, _, comps := editContent(t, edit); !strings.Contains(content, "answered: **yes**") || len(comps) == 0 {
		t.Errorf("edited question = %q", content)
	}
	h.replies(t, f.ChannelID, 2)
	if m, _ := f.Message(q1.ID); !strings.Contains(m.Content, "answered") {
		t.Errorf("question message now %q", m.Content)
	}
}

func TestUnknownButton(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " hi"})
	h.replies(t, f.ChannelID, 1)
	msg := f.BotMessages(f.ChannelID)[0]
	for _, id := range []string{"garbage", "bad id!|yes", "q1|", "q1#7", strings.Repeat("x", 200)} {
		ix := f.SendClick(discordtest.Click{MessageID: msg.ID, CustomID: id, User: alice})
		if note := h.privateNote(t, ix); note != bot.UnusableButton {
			t.Errorf("custom id %.20q: note %q", id, note)
		}
	}
	h.logs.wait(t, "unknown button")
	if n := len(h.h.messages()); n != 1 {
		t.Errorf("handler saw %d messages, want only the mention", n)
	}
}

func TestInteractionResponseIsJSONOfTheRightShape(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	ix := f.SendCommand(discordtest.Command{User: alice, Sub: "help"})
	h.callbacks(t, ix.ID, 1)
	c := h.callsFor(discordtest.RouteCallback, map[string]string{"id": ix.ID})[0]
	var raw map[string]any
	if err := json.Unmarshal(c.Body, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["type"] != float64(5) {
		t.Errorf("type = %v", raw["type"])
	}
	if c.Header.Get("Authorization") != "Bot "+f.Token {
		t.Errorf("authorization header missing or wrong")
	}
}

// TestEditBeforeTheDeferralLandsIsRetried: the edit of a deferred response
// can reach Discord before the deferral does (another worker, or another
// replica, answers the inbox item while the interaction is still being
// acknowledged); Discord then knows no original message yet. A fresh
// interaction's edit is tried again for 30 s after the interaction (README,
// "Discord"), however many tries that takes: more than the outbox's 5
// attempts for a failing call.
func TestEditBeforeTheDeferralLandsIsRetried(t *testing.T) {
	t.Parallel()
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: "echo: " + m.Text}, nil
	}), setup{core: func(o *delivery.Options) { o.Backoff = 20 * time.Millisecond }})
	f := h.fake
	const unknown = 7
	f.Inject(discordtest.Fault{Route: discordtest.RouteEditWebhookMsg, Times: unknown, Status: http.StatusNotFound, Code: 10008, Message: "Unknown Message"})
	ix := f.SendCommand(discordtest.Command{User: alice, Sub: "help"})
	edits := h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, unknown+1)
	for i, e := range edits[:unknown] {
		if e.Status != http.StatusNotFound {
			t.Errorf("edit %d answered %d; want 404 (no original yet)", i+1, e.Status)
		}
	}
	if last := edits[unknown]; last.Status != http.StatusOK {
		t.Errorf("edit %d answered %d; want 200", unknown+1, last.Status)
	} else if content, _, _ := editContent(t, last); content != "echo: help" {
		t.Errorf("edited to %q", content)
	}
}

// TestEditOfAnOldInteractionIsNotRetried: 30 s after the interaction, an
// edit Discord knows nothing of is given up at once: the deferral is not
// coming any more.
func TestEditOfAnOldInteractionIsNotRetried(t *testing.T) {
	t.Parallel()
	undelivered := make(chan string, 10)
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: "echo: " + m.Text}, nil
	}), setup{
		core: func(o *delivery.Options) {
			o.Backoff = 20 * time.Millisecond
			o.Observer = givenUp(undelivered)
		},
		opts: func(o *Options) { o.Now = func() time.Time { return time.Now().Add(ackGrace) } },
	})
	f := h.fake
	f.Inject(discordtest.Fault{Route: discordtest.RouteEditWebhookMsg, Status: http.StatusNotFound, Code: 10008, Message: "Unknown Message"})
	ix := f.SendCommand(discordtest.Command{User: alice, Sub: "help"})
	select {
	case <-undelivered:
	case <-time.After(10 * time.Second):
		t.Fatal("the edit was not given up")
	}
	if edits := h.webhookCalls(discordtest.RouteEditWebhookMsg, ix.Token); len(edits) != 1 {
		t.Errorf("%d edits; want 1, given up at once", len(edits))
	}
}

// givenUp is a delivery.Observer that reports each call given up on ch.
type givenUp chan string

func (givenUp) Duplicate(string)                    {}
func (givenUp) Stale(string)                        {}
func (givenUp) RateLimitWait(string, time.Duration) {}
func (g givenUp) Undelivered(_, kind string)        { g <- kind }
func (givenUp) Reconnect(string)                    {}
func (givenUp) Attempted(string, string, bool)      {}
