package slack

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"gptaccess/bot"
)

var testSelf = identity{UserID: "UBOT", BotID: "BBOT", URL: "https://test.slack.com/"}

func messageEvent(t *testing.T, js string) *slackevents.MessageEvent {
	t.Helper()
	var ev slackevents.MessageEvent
	if err := json.Unmarshal([]byte(js), &ev); err != nil {
		t.Fatal(err)
	}
	return &ev
}

func TestToMessage(t *testing.T) {
	listen := map[string]bool{"CHELP": true}
	type want struct {
		m  bot.Message
		at place
		ts string
		ok bool
	}
	tests := []struct {
		name  string
		inner func(t *testing.T) any
		want  want
	}{
		{
			name: "mention at top level replies in a thread under it",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{Type: "app_mention", User: "U1", Text: "<@UBOT> I get   error 1020", TimeStamp: "1.1", Channel: "C1"}
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "I get error 1020", Mention: true, Shared: true, Private: true}, placeUnknown, "1.1", true},
		},
		{
			name: "mention in a thread stays in the thread",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{User: "U1", Text: "<@UBOT|gptaccess> still broken", TimeStamp: "1.5", ThreadTimeStamp: "1.1", Channel: "C1"}
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "still broken", Mention: true, Shared: true, Private: true}, placeUnknown, "1.5", true},
		},
		{
			name: "mention by a bot is ignored",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{User: "U2", BotID: "B2", Text: "<@UBOT> hi", TimeStamp: "1.1", Channel: "C1"}
			},
		},
		{
			name: "edited mention is ignored",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{User: "U1", Text: "<@UBOT> hi", TimeStamp: "1.1", Channel: "C1", Edited: &slackevents.Edited{User: "U1", TimeStamp: "2.2"}}
			},
		},
		{
			name: "channel message that mentions the bot equals the app_mention",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"<@UBOT> I get error 1020","ts":"1.1","channel":"C1","channel_type":"channel"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "I get error 1020", Mention: true, Shared: true}, placePublic, "1.1", true},
		},
		{
			name: "direct message",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"access denied &amp; 1020","ts":"3.1","channel":"D1","channel_type":"im"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", Text: "access denied & 1020", DM: true}, placeDM, "3.1", true},
		},
		{
			name: "direct message in a thread",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"yes","ts":"3.2","thread_ts":"3.1","channel":"D1","channel_type":"im"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "D1", Thread: "3.1", User: "U1", Text: "yes", DM: true}, placeDM, "3.2", true},
		},
		{
			name: "mention in a group DM: answered like a channel, its text kept private",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{User: "U1", Text: "<@UBOT> 1020 again", TimeStamp: "6.1", Channel: "G1"}
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "G1", Thread: "6.1", User: "U1", Text: "1020 again", Mention: true, Shared: true, Private: true}, placePrivate, "6.1", true},
		},
		{
			name: "group DM message that mentions the bot",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"<@UBOT> 1020 again","ts":"6.1","channel":"C7","channel_type":"mpim"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C7", Thread: "6.1", User: "U1", Text: "1020 again", Mention: true, Shared: true, Private: true}, placePrivate, "6.1", true},
		},
		{
			name: "mention in a group DM with a C… id: the event cannot tell, so private until Slack says",
			inner: func(*testing.T) any {
				return &slackevents.AppMentionEvent{User: "U1", Text: "<@UBOT> 1020 again", TimeStamp: "6.3", Channel: "C0MPIM"}
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C0MPIM", Thread: "6.3", User: "U1", Text: "1020 again", Mention: true, Shared: true, Private: true}, placeUnknown, "6.3", true},
		},
		{
			name: "mention in a private channel",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"<@UBOT> 1020","ts":"6.4","channel":"C0PRIV","channel_type":"group"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C0PRIV", Thread: "6.4", User: "U1", Text: "1020", Mention: true, Shared: true, Private: true}, placePrivate, "6.4", true},
		},
		{
			name: "message without channel_type in a C… channel",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"<@UBOT> 1020","ts":"6.5","channel":"C1"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "6.5", User: "U1", Text: "1020", Mention: true, Shared: true, Private: true}, placeUnknown, "6.5", true},
		},
		{
			name: "message without channel_type in a D… channel",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"1020","ts":"6.6","channel":"D1"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", Text: "1020", DM: true}, placeDM, "6.6", true},
		},
		{
			name: "group DM message not for the bot",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"lunch?","ts":"6.2","channel":"C7","channel_type":"mpim"}`)
			},
		},
		{
			name: "thread follow-up without a mention",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"no","ts":"1.7","thread_ts":"1.1","channel":"C1","channel_type":"channel"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "no", Shared: true}, placePublic, "1.7", true},
		},
		{
			name: "thread reply also sent to the channel",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","subtype":"thread_broadcast","user":"U1","text":"no","ts":"1.7","thread_ts":"1.1","channel":"C1","channel_type":"channel"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "no", Shared: true}, placePublic, "1.7", true},
		},
		{
			name: "top-level message in a listen channel",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"chatgpt says access denied","ts":"4.1","channel":"CHELP","channel_type":"channel"}`)
			},
			want: want{bot.Message{Platform: bot.Slack, Channel: "CHELP", Thread: "4.1", User: "U1", Text: "chatgpt says access denied", Shared: true, Listen: true}, placePublic, "4.1", true},
		},
		{
			name: "top-level message elsewhere is not for the bot",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U1","text":"lunch?","ts":"4.1","channel":"C9","channel_type":"channel"}`)
			},
		},
		{
			name: "the bot's own message",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"UBOT","bot_id":"BBOT","text":"hi","ts":"4.1","channel":"D1","channel_type":"im"}`)
			},
		},
		{
			name: "another bot",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","subtype":"bot_message","bot_id":"B7","username":"ci","text":"1020","ts":"4.1","channel":"CHELP","channel_type":"channel"}`)
			},
		},
		{
			name: "another bot with a user id",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","user":"U7","bot_id":"B7","text":"<@UBOT> 1020","ts":"4.1","channel":"C1","channel_type":"channel"}`)
			},
		},
		{
			name: "edit",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","subtype":"message_changed","channel":"D1","channel_type":"im","ts":"5.1","message":{"type":"message","user":"U1","text":"edited","ts":"4.1"}}`)
			},
		},
		{
			name: "delete",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","subtype":"message_deleted","channel":"D1","channel_type":"im","ts":"5.1","deleted_ts":"4.1"}`)
			},
		},
		{
			name: "join",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","subtype":"channel_join","user":"U1","text":"<@U1> has joined the channel","ts":"5.1","channel":"CHELP","channel_type":"channel"}`)
			},
		},
		{
			name: "message without a user",
			inner: func(t *testing.T) any {
				return messageEvent(t, `{"type":"message","text":"hm","ts":"5.1","channel":"D1","channel_type":"im"}`)
			},
		},
		{
			name:  "other event types",
			inner: func(*testing.T) any { return &slackevents.ReactionAddedEvent{User: "U1"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, at, ts, ok := toMessage(tt.inner(t), testSelf, listen)
			if diff := cmp.Diff(tt.want, want{m, at, ts, ok}, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("toMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@UBOT> hello", "hello"},
		{"<@UBOT|gptaccess>   why  1020?", "why 1020?"},
		{"see <https://chatgpt.com|chatgpt.com> and <https://x.test/a?b=1&amp;c=2>", "see chatgpt.com and https://x.test/a?b=1&c=2"},
		{"in <#C123|help> ask <!subteam^S1|@support> or <!here>", "in #help ask @support or @here"},
		{"mail <mailto:a@b.c|a@b.c>", "mail a@b.c"},
		{"1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"},
		{"line one  \n\n  line two", "line one\n\nline two"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCommandMessage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", "help"},
		{"help", "help"},
		{"STATUS", "status"},
		{"diagnose", "diagnose"},
		{"diagnose now please", "diagnose"},
		{"ask why do I get 1020?", "why do I get 1020?"},
		{"ask", "help"},
		{"  ask   is my VPN the problem ", "is my VPN the problem"},
		{"subscribe", "subscribe"},
		{"unsubscribe", "unsubscribe"},
		{"stats", "stats"},
		{"frobnicate", "help"},
		{"why 1020", "help"},
	}
	for _, tt := range tests {
		got, _ := commandMessage(slackapi.SlashCommand{Command: "/gptaccess", Text: tt.text, ChannelID: "C1", ChannelName: "general", UserID: "U1"})
		want := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: tt.want, Command: true, Shared: true, Private: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("commandMessage(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}

// TestCommandMessagePlace: a command typed in a direct message is a DM;
// one in a group DM or a private channel is private; in a channel known
// only by its name, the place is unknown (private until Slack says it is
// public). The unanswered-message store keeps no text of a private one
// (bot/privacy.go).
func TestCommandMessagePlace(t *testing.T) {
	const q = "ask mail ana@example.com about 1020"
	const text = "mail ana@example.com about 1020"
	tests := []struct {
		name, channel, channelName string
		want                       bot.Message
		at                         place
	}{
		{"direct message", "D1", "directmessage",
			bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", Text: text, Command: true, DM: true}, placeDM},
		{"direct message, by name only", "Q1", "directmessage",
			bot.Message{Platform: bot.Slack, Channel: "Q1", User: "U1", Text: text, Command: true, DM: true}, placeDM},
		{"group DM", "C7", "mpdm-ana--bo--cy-1",
			bot.Message{Platform: bot.Slack, Channel: "C7", User: "U1", Text: text, Command: true, Shared: true, Private: true}, placePrivate},
		{"private channel", "C8", "privategroup",
			bot.Message{Platform: bot.Slack, Channel: "C8", User: "U1", Text: text, Command: true, Shared: true, Private: true}, placePrivate},
		{"legacy group DM id", "G7", "privategroup",
			bot.Message{Platform: bot.Slack, Channel: "G7", User: "U1", Text: text, Command: true, Shared: true, Private: true}, placePrivate},
		{"legacy private channel id with its name", "G8", "secret-project",
			bot.Message{Platform: bot.Slack, Channel: "G8", User: "U1", Text: text, Command: true, Shared: true, Private: true}, placePrivate},
		{"channel", "C1", "general",
			bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: text, Command: true, Shared: true, Private: true}, placeUnknown},
	}
	for _, tt := range tests {
		got, at := commandMessage(slackapi.SlashCommand{Command: "/gptaccess", Text: q, ChannelID: tt.channel, ChannelName: tt.channelName, UserID: "U1"})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if at != tt.at {
			t.Errorf("%s: place %q, want %q", tt.name, at, tt.at)
		}
	}
}

func interaction(t *testing.T, js string) slackapi.InteractionCallback {
	t.Helper()
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(js), &ic); err != nil {
		t.Fatal(err)
	}
	return ic
}

func TestToClick(t *testing.T) {
	const base = `"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"response_url":"https://hooks.test/r1"`
	tests := []struct {
		name    string
		payload string
		want    bot.Message
		err     error
	}{
		{
			name:    "thread under a mention",
			payload: `{` + base + `,"container":{"type":"message","channel_id":"C1","message_ts":"2.2"},"message":{"ts":"2.2","thread_ts":"1.1"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"gptaccess_q:s:1.1","value":"c1:vpn:1|yes","type":"button"}]}`,
			want:    bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "yes", Shared: true, Answer: &bot.Answer{Question: "c1:vpn:1", Choice: "yes"}},
		},
		{
			name:    "direct message without a thread",
			payload: `{` + base + `,"container":{"type":"message","channel_id":"D1","message_ts":"2.2"},"message":{"ts":"2.2"},"actions":[{"action_id":"gptaccess_choice_2","block_id":"gptaccess_q:d:","value":"q9|not sure","type":"button"}]}`,
			want:    bot.Message{Platform: bot.Slack, Channel: "D1", User: "U1", Text: "not sure", DM: true, Answer: &bot.Answer{Question: "q9", Choice: "not sure"}},
		},
		{
			name:    "ephemeral answer to a slash command",
			payload: `{` + base + `,"container":{"type":"message","channel_id":"C1","message_ts":"2.2","is_ephemeral":true},"actions":[{"action_id":"gptaccess_choice_1","block_id":"gptaccess_q:s:","value":"q1|no","type":"button"}]}`,
			want:    bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: "no", Shared: true, Answer: &bot.Answer{Question: "q1", Choice: "no"}},
		},
		{
			name:    "foreign block id falls back to the message's thread",
			payload: `{` + base + `,"container":{"type":"message","channel_id":"C1","message_ts":"2.2"},"message":{"ts":"2.2","thread_ts":"1.1"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"xyz","value":"q1|no","type":"button"}]}`,
			want:    bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Text: "no", Shared: true, Answer: &bot.Answer{Question: "q1", Choice: "no"}},
		},
		{
			name:    "foreign block id on a top-level message uses its ts",
			payload: `{` + base + `,"container":{"type":"message","channel_id":"C1","message_ts":"2.2"},"message":{"ts":"2.2"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"xyz","value":"q1|no","type":"button"}]}`,
			want:    bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "2.2", User: "U1", Text: "no", Shared: true, Answer: &bot.Answer{Question: "q1", Choice: "no"}},
		},
		{
			name:    "unknown action id",
			payload: `{` + base + `,"container":{"channel_id":"C1","message_ts":"2.2"},"actions":[{"action_id":"approve","block_id":"b","value":"q1|yes","type":"button"}]}`,
			err:     errUnknownID,
		},
		{
			name:    "value without a separator",
			payload: `{` + base + `,"container":{"channel_id":"C1","message_ts":"2.2"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"b","value":"yes","type":"button"}]}`,
			err:     errBadValue,
		},
		{
			name:    "question id with forbidden characters",
			payload: `{` + base + `,"container":{"channel_id":"C1","message_ts":"2.2"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"b","value":"<!channel>|yes","type":"button"}]}`,
			err:     errBadValue,
		},
		{
			name:    "empty choice",
			payload: `{` + base + `,"container":{"channel_id":"C1","message_ts":"2.2"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"b","value":"q1| ","type":"button"}]}`,
			err:     errBadValue,
		},
		{
			name:    "no actions",
			payload: `{` + base + `,"container":{"channel_id":"C1","message_ts":"2.2"},"actions":[]}`,
			err:     errNotAClick,
		},
		{
			name:    "a view submission",
			payload: `{"type":"view_submission","user":{"id":"U1"}}`,
			err:     errNotAClick,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := toClick(interaction(t, tt.payload))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, c.msg); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if c.responseURL != "https://hooks.test/r1" || c.messageTS != "2.2" {
				t.Errorf("click = %+v", c)
			}
		})
	}
}

// A question rendered for a message and clicked comes back with the same
// conversation key, whatever the origin.
func TestQuestionRoundTripKeepsTheKey(t *testing.T) {
	origins := []bot.Message{
		{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true, Shared: true},
		{Platform: bot.Slack, Channel: "D1", User: "U1", DM: true},
		{Platform: bot.Slack, Channel: "D1", Thread: "3.3", User: "U1", DM: true},
		{Platform: bot.Slack, Channel: "C1", User: "U1", Command: true, Shared: true},
	}
	for _, m := range origins {
		out := render(bot.Reply{Text: "x", Question: &bot.Question{ID: "c1:q", Text: "Q?", Choices: []string{"yes", "no"}}}, m)
		b, _ := json.Marshal(out.Blocks)
		var blocks []map[string]any
		_ = json.Unmarshal(b, &blocks)
		act := blocks[len(blocks)-1]
		el := act["elements"].([]any)[1].(map[string]any)
		payload, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": "U1"},
			"container": map[string]any{"channel_id": m.Channel, "message_ts": "9.9", "is_ephemeral": m.Command},
			"actions":   []any{map[string]any{"action_id": el["action_id"], "block_id": act["block_id"], "value": el["value"], "type": "button"}},
		})
		c, err := toClick(interaction(t, string(payload)))
		if err != nil {
			t.Fatal(err)
		}
		if c.msg.Key() != m.Key() {
			t.Errorf("click key %q, message key %q", c.msg.Key(), m.Key())
		}
	}
}

// TestSubcommandForTheLog: the log names the subcommand, never a word of
// the question asked with it.
func TestSubcommandForTheLog(t *testing.T) {
	for text, want := range map[string]string{
		"stats":                                "stats",
		"diagnose now":                         "diagnose",
		"ask ana@example.com cannot log in":    "ask",
		"ask hunter2 is my password, why 1020": "ask",
		"frobnicate":                           "help",
	} {
		m, _ := commandMessage(slackapi.SlashCommand{Text: text, ChannelID: "C1", UserID: "U1"})
		if got := subcommand(m); got != want {
			t.Errorf("subcommand for %q = %q, want %q", text, got, want)
		}
	}
}
