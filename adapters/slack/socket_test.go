package slack

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/delivery/deliverytest"
	"gptaccess/monitor"
)

func newFake(t *testing.T) *slacktest.Server {
	return slacktest.New(t, slacktest.Config{})
}

func TestMentionRepliesInThread(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	ts := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> hello there"})
	posts := h.sync("C1")
	if len(posts) != 1 {
		t.Fatalf("%d posts for one mention (app_mention + message), want 1: %+v", len(posts), posts)
	}
	if p := posts[0]; p.ThreadTS != ts || p.Text != "Hi! Ask me about ChatGPT error 1020." {
		t.Errorf("reply = %+v, want in thread %s", p, ts)
	}
	want := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: ts, User: "U1", Text: "hello there", Mention: true, Shared: true}
	if diff := cmp.Diff(want, h.h.messages()[0]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

func TestDirectMessage(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})
	p := fake.WaitPosts(t, 1, waitFor)[0]
	if p.Channel != "D1" || p.ThreadTS != "" {
		t.Errorf("reply = %+v, want top level in D1", p)
	}
	want := bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", Text: "hi", DM: true}
	if diff := cmp.Diff(want, h.h.messages()[0]); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	// A DM in a thread is answered in that thread.
	root := fake.WaitPosts(t, 1, waitFor)[0].TS
	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "again", ThreadTS: root})
	if p := fake.WaitPosts(t, 2, waitFor)[1]; p.ThreadTS != root {
		t.Errorf("threaded DM reply = %+v", p)
	}
}

func TestThreadFollowUpWithoutMention(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> I get error 1020"})
	q1 := fake.WaitPosts(t, 1, waitFor)[0]
	if q1.ThreadTS != root || len(q1.Buttons()) != 3 {
		t.Fatalf("question = %+v", q1)
	}
	// Typed answer in the thread, no mention.
	h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "yes", ThreadTS: root})
	q2 := fake.WaitPosts(t, 2, waitFor)[1]
	if q2.ThreadTS != root || !strings.Contains(q2.Text, "private window") {
		t.Errorf("follow-up answer = %+v", q2)
	}
	got := h.h.messages()[1]
	if got.Mention || got.Thread != root || got.Text != "yes" || got.Key() != h.h.messages()[0].Key() {
		t.Errorf("follow-up message = %+v", got)
	}
	// Someone else's thread the bot is not in: offered, ignored.
	other := h.say(slacktest.Say{Channel: "C1", User: "U2", Text: "lunch?"})
	h.say(slacktest.Say{Channel: "C1", User: "U2", Text: "sure", ThreadTS: other})
	if posts := h.sync("C1"); len(posts) != 2 {
		t.Errorf("posts = %+v, want only the two questions", posts)
	}
}

func TestListenChannel(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket, withOptions(func(o *Options) { o.ListenChannels = []string{"CHELP"} }))

	ts := h.say(slacktest.Say{Channel: "CHELP", User: "U1", Text: "ChatGPT shows error 1020 access denied"})
	p := fake.WaitPosts(t, 1, waitFor)[0]
	if p.Channel != "CHELP" || p.ThreadTS != ts || !strings.Contains(p.Text, "*Error 1020*") {
		t.Errorf("confident answer = %+v", p)
	}
	if m := h.h.messages()[0]; !m.Listen || m.Mention || m.Thread != ts {
		t.Errorf("message = %+v", m)
	}
	h.say(slacktest.Say{Channel: "CHELP", User: "U2", Text: "good morning everyone"})
	if posts := h.sync("CHELP"); len(posts) != 1 {
		t.Errorf("small talk was answered: %+v", posts)
	}
	// Outside listen channels, top-level chatter never reaches the engine.
	n := len(h.h.messages())
	h.say(slacktest.Say{Channel: "C9", User: "U2", Text: "error 1020 again"})
	h.sync("C9")
	if got := h.h.messages()[n:]; len(got) != 1 || got[0].User != "USYNC" {
		t.Errorf("engine saw %+v, want only the sentinel", got)
	}
}

func TestIgnoresBotsEditsJoinsAndDeletes(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket, withOptions(func(o *Options) { o.ListenChannels = []string{"CHELP"} }))

	ts := fake.NewTS()
	for _, inner := range []map[string]any{
		{"type": "message", "user": "UBOT", "bot_id": "BBOT", "text": "my own 1020 answer", "ts": fake.NewTS(), "channel": "CHELP", "channel_type": "channel"},
		{"type": "message", "subtype": "bot_message", "bot_id": "B9", "text": "1020 from CI", "ts": fake.NewTS(), "channel": "CHELP", "channel_type": "channel"},
		{"type": "app_mention", "user": "U9", "bot_id": "B9", "text": "<@UBOT> 1020", "ts": fake.NewTS(), "channel": "CHELP"},
		{"type": "message", "subtype": "message_changed", "channel": "CHELP", "channel_type": "channel", "ts": fake.NewTS(),
			"message": map[string]any{"type": "message", "user": "U1", "text": "<@UBOT> 1020 edited", "ts": ts}},
		{"type": "message", "subtype": "message_deleted", "channel": "CHELP", "channel_type": "channel", "ts": fake.NewTS(), "deleted_ts": ts},
		{"type": "message", "subtype": "channel_join", "user": "U1", "text": "<@U1> has joined the channel", "ts": fake.NewTS(), "channel": "CHELP", "channel_type": "channel"},
		{"type": "message", "subtype": "channel_leave", "user": "U1", "text": "<@U1> has left the channel", "ts": fake.NewTS(), "channel": "CHELP", "channel_type": "channel"},
	} {
		h.deliver(fake.NewEvent(inner))
	}
	if posts := h.sync("CHELP"); len(posts) != 0 {
		t.Errorf("answered %+v", posts)
	}
	if got := h.h.messages(); len(got) != 1 {
		t.Errorf("engine saw %+v, want only the sentinel", got)
	}
}

func TestSlashCommands(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	tests := []struct {
		text, wantText, wantType string
		wantMsg                  string
	}{
		{"help", "*Commands*\n• `/gptaccess status`\n• `/gptaccess diagnose`", "ephemeral", "help"},
		{"", "*Commands*\n• `/gptaccess status`\n• `/gptaccess diagnose`", "ephemeral", "help"},
		{"nonsense", "*Commands*\n• `/gptaccess status`\n• `/gptaccess diagnose`", "ephemeral", "help"},
		{"status", "ChatGPT is *up* from here.", "ephemeral", "status"},
		{"ask is my VPN the problem?", "About that: is my VPN the problem?", "ephemeral", "is my VPN the problem?"},
		{"subscribe", "This channel now gets reachability alerts.", "in_channel", "subscribe"},
		{"unsubscribe", "No more alerts here.", "in_channel", "unsubscribe"},
		{"stats", "3 diagnoses, 2 resolved.", "ephemeral", "stats"},
		{"diagnose", "Let's find out why.\n\n*Are you connected through a VPN or proxy?*\n*1.* yes  *2.* no  *3.* not sure\n_Click a button or type your answer._", "ephemeral", "diagnose"},
	}
	for i, tt := range tests {
		h.command("C1", "U1", tt.text)
		r := fake.WaitResponses(t, i+1, waitFor)[i]
		if r.Text != tt.wantText || r.ResponseType != tt.wantType || r.ReplaceOriginal {
			t.Errorf("/gptaccess %s: response %+v", tt.text, r)
		}
		m := h.h.messages()[i]
		want := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: tt.wantMsg, Command: true, Shared: true}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("/gptaccess %s: message (-want +got):\n%s", tt.text, diff)
		}
	}
	if r := fake.Responses()[len(tests)-1]; len(r.Buttons()) != 3 {
		t.Errorf("diagnose has no buttons: %+v", r)
	}
	// Acks carry no payload: the answer goes through response_url.
	for _, a := range fake.Acks() {
		if a.Payload != nil {
			t.Errorf("ack with payload %s", a.Payload)
		}
	}
}

// The envelope is acknowledged while the engine is still thinking.
func TestSlashCommandAckFirst(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)
	h.h.block = make(chan struct{})

	form := fake.SlashCommand("C1", "U1", "", "status")
	env := fake.DeliverSlashCommand(form)
	fake.WaitAck(t, env, waitFor)
	if n := len(fake.Responses()); n != 0 {
		t.Fatalf("%d responses before the engine answered", n)
	}
	close(h.h.block)
	if r := fake.WaitResponses(t, 1, waitFor)[0]; r.Text != "ChatGPT is *up* from here." {
		t.Errorf("response = %+v", r)
	}
}

// A whole diagnosis by buttons: each click replaces the buttons with who
// answered what, and the next step arrives in the thread.
func TestButtonDialog(t *testing.T) {
	for _, mode := range []string{ModeSocket, ModeHTTP} {
		t.Run(mode, func(t *testing.T) {
			fake := newFake(t)
			h := startAdapter(t, fake, mode)

			root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> chatgpt says access denied 1020"})
			q1 := fake.WaitPosts(t, 1, waitFor)[0]
			q1m, _ := fake.Message("C1", q1.TS)
			if q1m.ThreadTS != root || len(q1m.Buttons()) != 3 {
				t.Fatalf("first question = %+v", q1m)
			}
			h.click(q1m, "U1", "yes")
			q2 := fake.WaitPosts(t, 2, waitFor)[1]
			if q2.ThreadTS != root || !strings.Contains(q2.Text, "private window") || len(q2.Buttons()) != 3 {
				t.Fatalf("second question = %+v", q2)
			}
			after, _ := fake.Message("C1", q1.TS)
			if len(after.Buttons()) != 0 || after.Edits != 1 {
				t.Errorf("first question still has buttons after the click: %+v", after)
			}
			if texts := after.BlockTexts(); len(texts) != 2 || texts[1] != "✔ <@U1> answered: *yes*" || !strings.Contains(texts[0], "VPN") {
				t.Errorf("updated question shows %q", texts)
			}

			q2m, _ := fake.Message("C1", q2.TS)
			h.click(q2m, "U1", "no")
			end := fake.WaitPosts(t, 3, waitFor)[2]
			if end.ThreadTS != root || end.Text != "*Likely cause:* your VPN.\n• turn it off\n• reload ChatGPT" || end.Blocks != nil {
				t.Errorf("conclusion = %+v", end)
			}
			if after, _ := fake.Message("C1", q2.TS); len(after.Buttons()) != 0 {
				t.Errorf("second question keeps its buttons")
			}
			msgs := h.h.messages()
			if len(msgs) != 3 {
				t.Fatalf("engine saw %d messages", len(msgs))
			}
			click := msgs[1]
			want := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: root, User: "U1", Text: "yes", Shared: true,
				Answer: &bot.Answer{Question: "c1:vpn:1", Choice: "yes"}}
			if diff := cmp.Diff(want, click); diff != "" {
				t.Errorf("click (-want +got):\n%s", diff)
			}

			// Clicking an answered question again (a stale client) is told
			// off privately and changes nothing.
			p, err := fake.ClickButton(q1m, "U1", q1m.Buttons()[1])
			if err != nil {
				t.Fatal(err)
			}
			h.interact(p)
			eph := fake.WaitCalls(t, "chat.postEphemeral", 1, waitFor)[0]
			if eph.User != "U1" || !strings.Contains(eph.Text, "expired") || eph.ThreadTS != root {
				t.Errorf("expired click note = %+v", eph)
			}
			if n := len(fake.Calls("chat.update")); n != 2 {
				t.Errorf("%d updates, want 2", n)
			}
		})
	}
}

// /gptaccess diagnose answers ephemerally through response_url; its buttons
// still work, and the ephemeral question is replaced through response_url.
func TestSlashDiagnoseByButtons(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	h.command("C1", "U1", "diagnose")
	r1 := fake.WaitResponses(t, 1, waitFor)[0]
	q1, _ := fake.Message("C1", r1.TS)
	if !q1.Ephemeral || len(q1.Buttons()) != 3 {
		t.Fatalf("question = %+v", q1)
	}
	h.click(q1, "U1", "no")
	rs := fake.WaitResponses(t, 3, waitFor)
	if !rs[1].ReplaceOriginal || rs[1].TS != q1.TS || len(rs[1].Buttons()) != 0 || rs[1].Text != "✔ <@U1> answered: *no*" {
		t.Errorf("replacement = %+v", rs[1])
	}
	if rs[2].ReplaceOriginal || rs[2].ResponseType != "ephemeral" || !strings.Contains(rs[2].Text, "private window") {
		t.Errorf("next question = %+v", rs[2])
	}
	q2, _ := fake.Message("C1", rs[2].TS)
	h.click(q2, "U1", "yes")
	rs = fake.WaitResponses(t, 5, waitFor)
	if !strings.HasPrefix(rs[4].Text, "*Likely cause:*") {
		t.Errorf("conclusion = %+v", rs[4])
	}
	msgs := h.h.messages()
	for _, m := range msgs[1:] {
		if m.Key() != msgs[0].Key() {
			t.Errorf("click keyed %q, command keyed %q", m.Key(), msgs[0].Key())
		}
	}
	if n := len(fake.Posts()); n != 0 {
		t.Errorf("%d public posts for an ephemeral diagnosis", n)
	}
}

// A DM dialog by buttons keeps the DM's conversation key.
func TestDMButtons(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "error 1020"})
	q1 := fake.WaitPosts(t, 1, waitFor)[0]
	m, _ := fake.Message("D1", q1.TS)
	h.click(m, "U1", "not sure")
	q2 := fake.WaitPosts(t, 2, waitFor)[1]
	if q2.ThreadTS != "" || !strings.Contains(q2.Text, "private window") {
		t.Errorf("second question = %+v", q2)
	}
	msgs := h.h.messages()
	if !msgs[1].DM || msgs[1].Shared || msgs[1].Key() != msgs[0].Key() {
		t.Errorf("click = %+v", msgs[1])
	}
}

func TestUnusableButtons(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> 1020"})
	q := fake.WaitPosts(t, 1, waitFor)[0]
	m, _ := fake.Message("C1", q.TS)
	for i, b := range []slacktest.Button{
		{ActionID: "delete_everything", BlockID: "x", Value: "q|yes", Text: "boom"},
		{ActionID: "gptaccess_choice_1", BlockID: "gptaccess_q:s:" + root, Value: "no-separator", Text: "yes"},
	} {
		p, err := fake.ClickButton(m, "U1", b)
		if err != nil {
			t.Fatal(err)
		}
		h.interact(p)
		eph := fake.WaitCalls(t, "chat.postEphemeral", i+1, waitFor)[i]
		if eph.User != "U1" || eph.Text != bot.UnusableButton {
			t.Errorf("note = %+v", eph)
		}
	}
	if n := len(h.h.messages()); n != 1 {
		t.Errorf("engine saw %d messages; unusable clicks must not reach it", n)
	}
	if cur, _ := fake.Message("C1", q.TS); len(cur.Buttons()) != 3 {
		t.Errorf("the question lost its buttons")
	}
}

func TestDuplicateAndRetriedDeliveries(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	evs := fake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> hi"})
	env := fake.Deliver(evs[0])
	fake.WaitAck(t, env, waitFor)
	fake.Redeliver(env, "timeout") // Slack did not see the ack
	fake.Deliver(evs[1])           // the message event for the same mention
	fake.Deliver(evs[0])           // the same event in a new envelope
	if posts := h.sync("C1"); len(posts) != 1 {
		t.Errorf("%d replies, want 1: %+v", len(posts), posts)
	}
	// A slash command envelope redelivered is answered once.
	cmd := fake.DeliverSlashCommand(fake.SlashCommand("C2", "U1", "", "status"))
	fake.WaitAck(t, cmd, waitFor)
	fake.Redeliver(cmd, "")
	fake.WaitAck(t, fake.DeliverSlashCommand(fake.SlashCommand("C2", "U1", "", "help")), waitFor)
	fake.WaitResponses(t, 2, waitFor) // the redelivery's response would come before this one's
	if n := len(fake.Responses()); n != 2 {
		t.Errorf("%d responses to one slash command", n)
	}
}

// Socket Mode envelopes slack-go cannot parse are acknowledged (so Slack
// stops redelivering them) and dropped; the adapter carries on.
func TestMalformedEnvelopes(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	bad := []string{
		fake.DeliverRaw("events_api", []byte(`{"type":"event_callback","event":{"type":"no_such_event"}}`)),
		fake.DeliverRaw("events_api", []byte(`"not an object"`)),
		fake.DeliverRaw("interactive", []byte(`{"type":"block_actions","actions":"nope"}`)),
		fake.DeliverRaw("mystery", []byte(`{}`)),
	}
	for _, env := range bad {
		fake.WaitAck(t, env, waitFor)
	}
	if posts := h.sync("C1"); len(posts) != 0 {
		t.Errorf("posts = %+v", posts)
	}
	if n := len(h.h.messages()); n != 1 {
		t.Errorf("engine saw %d messages", n)
	}
}

func TestRateLimitedRepliesArriveInOrder(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket, withManualClock())
	obs := h.obs

	fake.RateLimit("chat.postMessage", "C1", 3, 1)
	first := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> first"})
	second := h.say(slacktest.Say{Channel: "C1", User: "U2", Text: "<@UBOT> second"})
	other := h.say(slacktest.Say{Channel: "C2", User: "U3", Text: "<@UBOT> elsewhere"})

	if d := <-h.waits; d < 2900*time.Millisecond || d > 3*time.Second {
		t.Errorf("waited %v, want Retry-After 3s", d)
	}
	// C1 is held back; C2 is not.
	fake.WaitPosts(t, 1, waitFor)
	if p := fake.Posts(); len(p) != 1 || p[0].ThreadTS != other {
		t.Fatalf("while waiting: %+v", p)
	}
	h.release <- time.Now()
	posts := fake.WaitPosts(t, 3, waitFor)
	if posts[1].ThreadTS != first || posts[2].ThreadTS != second {
		t.Errorf("order after the wait: %s, %s; want %s, %s", posts[1].ThreadTS, posts[2].ThreadTS, first, second)
	}
	var c1 []int
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Channel == "C1" {
			c1 = append(c1, c.Status)
		}
	}
	if diff := cmp.Diff([]int{429, 200, 200}, c1); diff != "" {
		t.Errorf("calls to C1 (-want +got):\n%s", diff)
	}
	if waits := obs.Waits("slack"); !cmp.Equal(waits, []time.Duration{3 * time.Second}) {
		t.Errorf("observer saw rate-limit waits %v, want [3s]", waits)
	}
}

func TestRateLimitGivesUpLoudly(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)

	fake.RateLimit("chat.postMessage", "C1", 1, -1)
	h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> hi"})
	fake.WaitCalls(t, "chat.postMessage", 10, waitFor)
	eventually(t, "give-up logged", func() bool { return strings.Contains(h.logs.String(), "still rate limited; giving up") })
	// The core counts the item undelivered just after it logs giving up.
	eventually(t, "undelivered counted", func() bool { _, _, n := h.obs.Counts("slack"); return n != 0 })
	if _, _, undelivered := h.obs.Counts("slack"); undelivered != 1 {
		t.Errorf("undelivered = %d, want 1", undelivered)
	}
}

func TestAlertAndRecoveryInThread(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)
	ctx := context.Background()

	ref, err := deliverytest.Notify(ctx, h.a.core, h.a, "CALERT", monitor.Notice{Incident: "i1", Kind: monitor.KindBlocked, Phase: monitor.PhaseOpened,
		Title: "ChatGPT is blocked from our network", Text: "Cloudflare answers **1020** to our office."})
	if err != nil {
		t.Fatal(err)
	}
	opened := fake.Posts()[0]
	if opened.TS != ref || opened.ThreadTS != "" || !strings.HasPrefix(opened.Text, ":no_entry: *ChatGPT is blocked") {
		t.Errorf("opening notice = %+v, ref %q", opened, ref)
	}
	ref2, err := deliverytest.Notify(ctx, h.a.core, h.a, "CALERT", monitor.Notice{Incident: "i1", Phase: monitor.PhaseReminder, Title: "Still blocked", Thread: ref})
	if err != nil || ref2 != ref {
		t.Fatalf("reminder: %q, %v", ref2, err)
	}
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, "CALERT", monitor.Notice{Incident: "i1", Phase: monitor.PhaseResolved, Title: "ChatGPT is reachable again", Duration: 42 * time.Minute, Thread: ref}); err != nil {
		t.Fatal(err)
	}
	thread := fake.Thread("CALERT", ref)
	if len(thread) != 2 || !strings.Contains(thread[1].Text, "reachable again") || !thread[1].Broadcast || thread[0].Broadcast {
		t.Errorf("thread = %+v", thread)
	}

	for _, code := range []string{"channel_not_found", "not_in_channel", "is_archived"} {
		fake.Fail("chat.postMessage", "CGONE", code, 1)
		_, err := deliverytest.Notify(ctx, h.a.core, h.a, "CGONE", monitor.Notice{ID: code, Phase: monitor.PhaseOpened, Title: "x"})
		if !delivery.IsPermanent(err) || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: err = %v, want a permanent failure", code, err)
		}
	}
	// Slack's own trouble is retried by the outbox: the alert gets out.
	fake.Fail("chat.postMessage", "CFLAKY", "internal_error", 1)
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, "CFLAKY", monitor.Notice{Phase: monitor.PhaseOpened, Title: "x"}); err != nil {
		t.Errorf("internal_error once: %v, want the retry to post it", err)
	}
	if p := fake.Messages("CFLAKY"); len(p) != 1 {
		t.Errorf("CFLAKY has %d messages, want 1", len(p))
	}
	if !strings.Contains(h.logs.String(), "invite it") {
		t.Errorf("not_in_channel was not explained in the log")
	}
}

func TestDisconnectReconnects(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)
	obs := h.obs

	fake.Disconnect("refresh_requested")
	fake.WaitConnections(t, 2, waitFor)
	eventually(t, "connected again", h.a.Connected)
	h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> still there?"})
	fake.WaitPosts(t, 1, waitFor)

	fake.DropConnections() // a network failure
	fake.WaitConnections(t, 3, waitFor)
	h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> and now?"})
	fake.WaitPosts(t, 2, waitFor)
	if fake.Opens() != 3 {
		t.Errorf("apps.connections.open called %d times, want 3", fake.Opens())
	}
	if n := obs.Reconnects("slack"); n != 2 {
		t.Errorf("observer saw %d reconnects, want 2", n)
	}
}

// The bot restarts in the middle of a diagnosis: the new adapter (same
// inbox and outbox, same engine state) answers the click made while it was down,
// ignores the redelivered mention, and the dialog goes on.
func TestRestartMidConversation(t *testing.T) {
	fake := newFake(t)
	engine, claims := newDialogHandler(), delivery.NewMemory()
	h1 := startAdapter(t, fake, ModeSocket, withState(engine, claims))

	evs := fake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> 1020 again"})
	mention := fake.Deliver(evs[0])
	fake.WaitAck(t, mention, waitFor)
	q1 := fake.WaitPosts(t, 1, waitFor)[0]
	h1.stop()
	fake.Wait(t, waitFor, "old connection closed", func() bool { return fake.OpenConnections() == 0 })

	// While the bot is down: a click, and Slack redelivers the mention.
	m, _ := fake.Message("C1", q1.TS)
	p, _ := fake.Click(m, "U1", "no")
	click := fake.DeliverInteraction(p)
	fake.Redeliver(mention, "connection")

	h2 := startAdapter(t, fake, ModeSocket, withState(engine, claims))
	fake.WaitAck(t, click, waitFor)
	q2 := fake.WaitPosts(t, 2, waitFor)[1]
	if !strings.Contains(q2.Text, "private window") || q2.ThreadTS != evs[0].Inner["ts"] {
		t.Fatalf("after restart = %+v", q2)
	}
	m2, _ := fake.Message("C1", q2.TS)
	h2.click(m2, "U1", "yes")
	fake.WaitPosts(t, 3, waitFor)
	if posts := h2.sync("C1"); len(posts) != 3 {
		t.Errorf("posts = %d, want question, question, conclusion", len(posts))
	}
}

func TestFatalAuthStopsRun(t *testing.T) {
	run := func(t *testing.T, fake *slacktest.Server, mode string) error {
		cfg := fake.Config()
		a, err := New(Options{BotToken: cfg.BotToken, AppToken: cfg.AppToken, SigningSecret: cfg.SigningSecret, APIURL: fake.APIURL(), Mode: mode, Core: newCore(t), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- a.Run(context.Background()) }()
		select {
		case err := <-done:
			return err
		case <-time.After(waitFor):
			t.Fatal("Run did not stop")
			return nil
		}
	}
	t.Run("auth.test", func(t *testing.T) {
		fake := newFake(t)
		fake.Fail("auth.test", "", "invalid_auth", -1)
		if err := run(t, fake, ModeSocket); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("Run = %v", err)
		}
	})
	t.Run("apps.connections.open", func(t *testing.T) {
		fake := newFake(t)
		fake.Fail("apps.connections.open", "", "account_inactive", -1)
		if err := run(t, fake, ModeSocket); err == nil || !strings.Contains(err.Error(), "account_inactive") {
			t.Errorf("Run = %v", err)
		}
	})
	t.Run("token revoked while running", func(t *testing.T) {
		fake := newFake(t)
		h := startAdapter(t, fake, ModeSocket)
		fake.Fail("chat.postMessage", "", "token_revoked", -1)
		fake.Deliver(fake.UserMessage(slacktest.Say{Channel: "C1", ChannelType: "im", User: "U1", Text: "hi"})[0])
		select {
		case err := <-h.done:
			if err == nil || !strings.Contains(err.Error(), "token_revoked") {
				t.Errorf("Run = %v", err)
			}
			h.cancel()
			h.cancel = nil
		case <-time.After(waitFor):
			t.Fatal("Run did not stop")
		}
	})
}

func TestHandover(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket, withSupport("CSUP", "S123"))

	root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> I need a human"})
	posts := fake.WaitPosts(t, 2, waitFor)
	// The channels are independent lanes: either may be first.
	if posts[0].Channel == "CSUP" {
		posts[0], posts[1] = posts[1], posts[0]
	}
	if posts[0].ThreadTS != root || posts[0].Text != "I'll get a human." {
		t.Errorf("reply = %+v", posts[0])
	}
	if posts[1].Channel != "CSUP" || !strings.HasPrefix(posts[1].Text, "<!subteam^S123> ") || !strings.Contains(posts[1].Text, "<@U1> in <#C1>") || !strings.Contains(posts[1].Text, "|thread>") {
		t.Errorf("handover = %+v", posts[1])
	}
}

func TestHandlerErrorGetsAPoliteReply(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket)
	h.h.fail = true
	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})
	if p := fake.WaitPosts(t, 1, waitFor)[0]; !strings.Contains(p.Text, "something went wrong") {
		t.Errorf("reply = %+v", p)
	}
}

func TestNewValidates(t *testing.T) {
	h := newCore(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"nothing", Options{}, "bot token is required"},
		{"no core", Options{BotToken: "x", AppToken: "y"}, "delivery core is required"},
		{"socket without app token", Options{BotToken: "x", Mode: ModeSocket, Core: h}, "app-level token"},
		{"http without secret", Options{BotToken: "x", Core: h}, "signing secret"},
		{"bad mode", Options{BotToken: "x", Mode: "rtm", Core: h}, `mode "rtm"`},
		{"bad url", Options{BotToken: "x", AppToken: "y", APIURL: "slack.com", Core: h}, "api url"},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	a, err := New(Options{BotToken: "x", AppToken: "y", Core: h})
	if err != nil || a.mode != ModeSocket || a.Platform() != bot.Slack {
		t.Errorf("defaults: %+v, %v", a, err)
	}
}
