package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slackapi "github.com/slack-go/slack"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"**Cause:** your VPN", "*Cause:* your VPN"},
		{"- turn off the VPN\n- reload", "• turn off the VPN\n• reload"},
		{"  * nested item", "  • nested item"},
		{"1. first\n2. second", "1. first\n2. second"},
		{"## Fix it", "*Fix it*"},
		{"see [the guide](https://example.com/a?b=1&c=2)", "see <https://example.com/a?b=1&amp;c=2|the guide>"},
		{"a <!channel> & <b>", "a &lt;!channel&gt; &amp; &lt;b&gt;"},
		{"run `curl -H 'x: **y**' <url>`", "run `curl -H 'x: **y**' &lt;url&gt;`"},
		{"```\n**not bold** <x>\n```", "```\n**not bold** &lt;x&gt;\n```"},
		{"~~old~~ and __new__", "~old~ and *new*"},
		{"2 ** 3", "2 ** 3"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := mrkdwn(tt.in); got != tt.want {
			t.Errorf("mrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// blocksJSON renders blocks the way slack-go sends them.
func blocksJSON(t *testing.T, blocks []slackapi.Block) any {
	t.Helper()
	if blocks == nil {
		return nil
	}
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func parseJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	return v
}

func TestRender(t *testing.T) {
	thread := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Shared: true}
	tests := []struct {
		name       string
		reply      bot.Reply
		m          bot.Message
		wantText   string
		wantBlocks string // JSON; "" for none
	}{
		{
			name:     "plain text",
			reply:    bot.Reply{Text: "**Error 1020** means Cloudflare blocked the request.\n- check your VPN"},
			m:        thread,
			wantText: "*Error 1020* means Cloudflare blocked the request.\n• check your VPN",
		},
		{
			name: "question with buttons",
			reply: bot.Reply{Text: "Let's find the cause.", Question: &bot.Question{
				ID: "c1:vpn:1", Fact: "vpn", Text: "Are you on a VPN or proxy?", Choices: []string{"yes", "no", "not sure"}}},
			m:        thread,
			wantText: "Let's find the cause.\n\n*Are you on a VPN or proxy?*\n*1.* yes  *2.* no  *3.* not sure\n_Click a button or type your answer._",
			wantBlocks: `[
				{"type":"section","text":{"type":"mrkdwn","text":"Let's find the cause.\n\n*Are you on a VPN or proxy?*"}},
				{"type":"actions","block_id":"gptaccess_q:s:1.1","elements":[
					{"type":"button","action_id":"gptaccess_choice_1","value":"c1:vpn:1|yes","text":{"type":"plain_text","text":"yes","emoji":true}},
					{"type":"button","action_id":"gptaccess_choice_2","value":"c1:vpn:1|no","text":{"type":"plain_text","text":"no","emoji":true}},
					{"type":"button","action_id":"gptaccess_choice_3","value":"c1:vpn:1|not sure","text":{"type":"plain_text","text":"not sure","emoji":true}}]}]`,
		},
		{
			name:     "question text already in the reply; DM scope",
			reply:    bot.Reply{Text: "Are you on a VPN?", Question: &bot.Question{ID: "q1", Text: "Are you on a VPN?", Choices: []string{"yes", "no"}}},
			m:        bot.Message{Channel: "D1", User: "U1", DM: true},
			wantText: "Are you on a VPN?\n*1.* yes  *2.* no\n_Click a button or type your answer._",
			wantBlocks: `[
				{"type":"section","text":{"type":"mrkdwn","text":"Are you on a VPN?"}},
				{"type":"actions","block_id":"gptaccess_q:d:","elements":[
					{"type":"button","action_id":"gptaccess_choice_1","value":"q1|yes","text":{"type":"plain_text","text":"yes","emoji":true}},
					{"type":"button","action_id":"gptaccess_choice_2","value":"q1|no","text":{"type":"plain_text","text":"no","emoji":true}}]}]`,
		},
		{
			name:     "question without a usable id: typed answers only",
			reply:    bot.Reply{Text: "Q?", Question: &bot.Question{ID: "", Text: "Q?", Choices: []string{"yes", "no"}}},
			m:        thread,
			wantText: "Q?\n*1.* yes  *2.* no\n_Click a button or type your answer._",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(tt.reply, tt.m)
			if out.Text != tt.wantText {
				t.Errorf("text = %q\nwant   %q", out.Text, tt.wantText)
			}
			var want any
			if tt.wantBlocks != "" {
				want = parseJSON(t, tt.wantBlocks)
			}
			if diff := cmp.Diff(want, blocksJSON(t, out.Blocks)); diff != "" {
				t.Errorf("blocks (-want +got):\n%s", diff)
			}
			if out.Blocks != nil {
				b, _ := json.Marshal(out.Blocks)
				if err := slacktest.ValidateBlocks(b); err != nil {
					t.Errorf("Slack would refuse the blocks: %v", err)
				}
			}
		})
	}
}

// Long texts, many and long choices stay within Slack's limits.
func TestRenderLimits(t *testing.T) {
	var choices []string
	for i := range 30 {
		choices = append(choices, strings.Repeat("x", 100)+string(rune('a'+i%26)))
	}
	long := strings.Repeat("word ", 2000) + "\n" + strings.Repeat("line\n", 800)
	out := render(bot.Reply{Text: long, Question: &bot.Question{ID: "q1", Text: "Pick", Choices: choices}}, bot.Message{Shared: true})
	b, _ := json.Marshal(out.Blocks)
	if err := slacktest.ValidateBlocks(b); err != nil {
		t.Fatalf("Slack would refuse the blocks: %v", err)
	}
	if n := len(slacktest.Message{Blocks: b}.Buttons()); n != maxButtons {
		t.Errorf("%d buttons, want %d", n, maxButtons)
	}
}

func TestAnswered(t *testing.T) {
	q := render(bot.Reply{Text: "Are you on a VPN?", Question: &bot.Question{ID: "q1", Choices: []string{"yes", "no"}}}, bot.Message{Shared: true, Thread: "1.1"})
	// The blocks come back from Slack in the click payload.
	b, _ := json.Marshal(q.Blocks)
	var back slackapi.Blocks
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got := answered(back.BlockSet, "U1", "yes <b>")
	want := parseJSON(t, `[
		{"type":"section","text":{"type":"mrkdwn","text":"Are you on a VPN?"}},
		{"type":"context","elements":[{"type":"mrkdwn","text":"✔ <@U1> answered: *yes &lt;b&gt;*"}]}]`)
	if diff := cmp.Diff(want, blocksJSON(t, got.Blocks)); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if got.Text != "Are you on a VPN?\n✔ <@U1> answered: *yes &lt;b&gt;*" {
		t.Errorf("text = %q", got.Text)
	}
	// Ephemeral messages come without blocks: the note stands alone.
	if got := answered(nil, "U1", "no"); len(got.Blocks) != 1 || got.Text != "✔ <@U1> answered: *no*" {
		t.Errorf("without original: %+v", got)
	}
}

func TestRenderNotice(t *testing.T) {
	tests := []struct {
		n    monitor.Notice
		want string
	}{
		{monitor.Notice{Phase: monitor.PhaseOpened, Kind: monitor.KindBlocked, Title: "ChatGPT is blocked from our network", Text: "Cloudflare answers **1020**.\n- contact IT"},
			":no_entry: *ChatGPT is blocked from our network*\nCloudflare answers *1020*.\n• contact IT"},
		{monitor.Notice{Phase: monitor.PhaseOpened, Kind: monitor.KindDown, Title: "ChatGPT is down"}, ":rotating_light: *ChatGPT is down*"},
		{monitor.Notice{Phase: monitor.PhaseReminder, Title: "Still down"}, ":hourglass_flowing_sand: *Still down*"},
		{monitor.Notice{Phase: monitor.PhaseResolved, Title: "ChatGPT is reachable again", Duration: 65 * time.Minute}, ":white_check_mark: *ChatGPT is reachable again*\n_Lasted 1h 5m._"},
		{monitor.Notice{Phase: monitor.PhaseResolved, Duration: 42 * time.Second}, ":white_check_mark: *Resolved*\n_Lasted 42s._"},
		{monitor.Notice{Phase: monitor.PhaseDigest, Title: "Daily digest <x>"}, ":bar_chart: *Daily digest &lt;x&gt;*"},
	}
	for _, tt := range tests {
		if got := renderNotice(tt.n); got != tt.want {
			t.Errorf("renderNotice(%+v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestRenderHandover(t *testing.T) {
	h := bot.Handover{Platform: bot.Slack, Channel: "C1", Thread: "1700000001.000100", User: "U1", Summary: "**VPN:** yes\n- private window: no"}
	got := renderHandover(h, "S1", "https://test.slack.com/")
	want := "<!subteam^S1> :raising_hand: *Someone needs a human* — <@U1> in <#C1> (<https://test.slack.com/archives/C1/p1700000001000100|thread>)\n*VPN:* yes\n• private window: no"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	h.Channel = "D1"
	if got := renderHandover(h, "", ""); got != ":raising_hand: *Someone needs a human* — <@U1> (in a direct message with me)\n*VPN:* yes\n• private window: no" {
		t.Errorf("DM: %q", got)
	}
}

func TestPlan(t *testing.T) {
	mention := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Shared: true}
	dm := bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", DM: true}
	cmd := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Command: true, Shared: true}
	clickIn := func(ephemeral bool) origin {
		m := mention
		m.Answer = &bot.Answer{Question: "q1", Choice: "yes"}
		return origin{kind: fromClick, msg: m, responseURL: "https://r", click: click{channel: "C1", messageTS: "2.2", ephemeral: ephemeral, responseURL: "https://r", choice: "yes"}}
	}
	text := bot.Reply{Text: "hi"}
	type step struct {
		Kind                          string
		Channel, Thread, User, TS     string
		InChannel, Replace, Broadcast bool
		Text                          string
	}
	summarise := func(acts []action) []step {
		var out []step
		for _, a := range acts {
			out = append(out, step{a.kind.String(), a.channel, a.thread, a.user, a.ts, a.inChannel, a.replace, a.broadcast, a.out.Text})
		}
		return out
	}
	tests := []struct {
		name  string
		reply bot.Reply
		o     origin
		want  []step
	}{
		{"ignore", bot.Reply{Ignore: true, Text: "x"}, origin{kind: fromEvent, msg: mention}, nil},
		{"mention: thread reply", text, origin{kind: fromEvent, msg: mention}, []step{{Kind: "chat.postMessage", Channel: "C1", Thread: "1.1", Text: "hi"}}},
		{"private in a channel: ephemeral", bot.Reply{Text: "hi", Private: true}, origin{kind: fromEvent, msg: mention},
			[]step{{Kind: "chat.postEphemeral", Channel: "C1", Thread: "1.1", User: "U1", Text: "hi"}}},
		{"DM", text, origin{kind: fromEvent, msg: dm}, []step{{Kind: "chat.postMessage", Channel: "D1", Text: "hi"}}},
		{"command: ephemeral response", text, origin{kind: fromCommand, msg: cmd, responseURL: "https://r"},
			[]step{{Kind: "response_url", Channel: "C1", Text: "hi"}}},
		{"command: public response", bot.Reply{Text: "hi", Public: true}, origin{kind: fromCommand, msg: cmd, responseURL: "https://r"},
			[]step{{Kind: "response_url", Channel: "C1", InChannel: true, Text: "hi"}}},
		{"click: update, then reply in thread", text, clickIn(false), []step{
			{Kind: "chat.update", Channel: "C1", TS: "2.2", Text: "✔ <@U1> answered: *yes*"},
			{Kind: "chat.postMessage", Channel: "C1", Thread: "1.1", Text: "hi"}}},
		{"click on an ephemeral question", text, clickIn(true), []step{
			{Kind: "response_url", Channel: "C1", Replace: true, Text: "✔ <@U1> answered: *yes*"},
			{Kind: "response_url", Channel: "C1", Text: "hi"}}},
		{"click on an expired question", bot.Reply{Text: "expired", Private: true}, clickIn(false), []step{
			{Kind: "chat.postEphemeral", Channel: "C1", Thread: "1.1", User: "U1", Text: "expired"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acts := plan(tt.reply, tt.o)
			if diff := cmp.Diff(tt.want, summarise(acts)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// The outbox keeps each call as it was planned.
			var back []action
			for _, act := range acts {
				var w wireAction
				if err := json.Unmarshal(act.outbound().Body, &w); err != nil {
					t.Fatal(err)
				}
				back = append(back, w.action())
			}
			if diff := cmp.Diff(summarise(acts), summarise(back)); diff != "" {
				t.Errorf("outbox round trip (-planned +kept):\n%s", diff)
			}
		})
	}
}

// TestHandoverPlacement checks where Adapter.Handover puts a summary once
// the delivery core routed it.
func TestHandoverPlacement(t *testing.T) {
	a := &Adapter{now: time.Now}
	mention := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Shared: true}
	h := bot.Handover{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Summary: "vpn: no"}
	in := a.inbound("msg:C1:1.1", origin{kind: fromEvent, msg: mention})
	ephemeralClick := a.inbound("trigger:1", origin{kind: fromClick, msg: mention, click: click{channel: "C1", ephemeral: true}})
	for _, tc := range []struct {
		name       string
		in         delivery.Inbound
		to         delivery.Route
		wantLane   string
		wantThread string
		wantText   string
	}{
		{"support channel", in, delivery.Route{Channel: "CSUP", Mention: "S1"}, "CSUP", "",
			"<!subteam^S1> :raising_hand: *Someone needs a human* — <@U1> in <#C1>\nvpn: no"},
		{"in the thread", in, delivery.Route{Channel: "C1", Thread: "1.1", InPlace: true, Mention: "S1"}, "C1", "1.1",
			"<!subteam^S1> :raising_hand: *Someone needs a human* — <@U1> in <#C1>\nvpn: no"},
		{"in the channel for a private question", ephemeralClick, delivery.Route{Channel: "C1", Thread: "1.1", InPlace: true, Mention: "S1"}, "C1", "",
			"<!subteam^S1> :raising_hand: *Someone needs a human* — <@U1> in <#C1>\nvpn: no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := a.Handover(tc.in, mention, h, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var w wireAction
			if err := json.Unmarshal(out.Body, &w); err != nil {
				t.Fatal(err)
			}
			if out.Lane != tc.wantLane || w.Channel != tc.wantLane || w.Thread != tc.wantThread || w.Text != tc.wantText {
				t.Errorf("got lane %s, %+v; want %s thread %q text %q", out.Lane, w, tc.wantLane, tc.wantThread, tc.wantText)
			}
		})
	}
}
