package slack

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
)

func TestHTTPEvents(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeHTTP)

	d := fake.PostURLVerification(t, h.events, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
	if d.Status != 200 || d.Body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification answered %d %q", d.Status, d.Body)
	}
	root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> hello"})
	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hello"})
	posts := fake.WaitPosts(t, 2, waitFor)
	byChannel := map[string]slacktest.Call{posts[0].Channel: posts[0], posts[1].Channel: posts[1]}
	if byChannel["C1"].ThreadTS != root || byChannel["D1"].ThreadTS != "" {
		t.Errorf("posts = %+v", posts)
	}
	if posts := h.sync("C1"); len(posts) != 2 {
		t.Errorf("%d posts, want 2", len(posts))
	}
}

// Slack retries a delivery it did not see acknowledged in time: the retry
// is acknowledged and not answered again.
func TestHTTPRetriedDelivery(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeHTTP)

	ev := fake.UserMessage(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})[0]
	if d := fake.PostEvent(t, h.events, ev); d.Status != 200 {
		t.Fatalf("first delivery: %d", d.Status)
	}
	for n := 1; n <= 3; n++ {
		if d := fake.PostEvent(t, h.events, ev, slacktest.WithRetry(n, "http_timeout")); d.Status != 200 {
			t.Errorf("retry %d answered %d", n, d.Status)
		}
	}
	if posts := h.sync("D1"); len(posts) != 1 {
		t.Errorf("%d replies, want 1", len(posts))
	}
}

func TestHTTPRejectsBadSignatures(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeHTTP)

	ev := fake.UserMessage(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})[0]
	form := fake.SlashCommand("C1", "U1", "", "status")
	click := []byte(`{"type":"block_actions","user":{"id":"U1"},"container":{"channel_id":"C1","message_ts":"1.1"},"actions":[{"action_id":"gptaccess_choice_1","block_id":"b","value":"q|yes"}]}`)
	forgeries := []struct {
		name string
		opts []slacktest.DeliveryOption
	}{
		{"unsigned", []slacktest.DeliveryOption{slacktest.Unsigned()}},
		{"forged", []slacktest.DeliveryOption{slacktest.WithSignature("v0=" + strings.Repeat("ab", 32))}},
		{"wrong secret", []slacktest.DeliveryOption{slacktest.WithSecret("not-the-secret")}},
		{"stale", []slacktest.DeliveryOption{slacktest.WithTimestamp(time.Now().Add(-6 * time.Minute))}},
		{"from the future", []slacktest.DeliveryOption{slacktest.WithTimestamp(time.Now().Add(6 * time.Minute))}},
	}
	for _, f := range forgeries {
		for _, d := range []slacktest.Delivery{
			fake.PostEvent(t, h.events, ev, f.opts...),
			fake.PostSlashCommand(t, h.cmds, form, f.opts...),
			fake.PostInteraction(t, h.actions, click, f.opts...),
			fake.PostURLVerification(t, h.events, "challenge", f.opts...),
		} {
			if d.Status != http.StatusUnauthorized || strings.Contains(d.Body, "challenge") {
				t.Errorf("%s: answered %d %q, want 401", f.name, d.Status, d.Body)
			}
		}
	}
	// The body is signed, not just the headers: a valid signature over
	// another body fails.
	good := fake.EventBody(ev)
	ts := time.Now().Unix()
	sig := slacktest.Sign(fake.Config().SigningSecret, strconv.FormatInt(ts, 10), good)
	tampered := strings.Replace(string(good), `"hi"`, `"pwned"`, 1)
	d := fake.PostSigned(t, h.events, "application/json", []byte(tampered), slacktest.WithSignature(sig), slacktest.WithTimestamp(time.Unix(ts, 0)))
	if d.Status != http.StatusUnauthorized {
		t.Errorf("tampered body answered %d", d.Status)
	}

	h.sync("D1")
	if got := h.h.messages(); len(got) != 1 || got[0].User != "USYNC" {
		t.Errorf("engine saw %+v; forged requests must not reach it", got)
	}
	if n := len(fake.Responses()); n != 0 {
		t.Errorf("%d responses to forged commands", n)
	}
}

func TestHTTPMalformedPayloads(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeHTTP)

	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name, url, ctype, body string
		want                   int
	}{
		{"not JSON", h.events, "application/json", `{"type":`, 400},
		{"binary", h.events, "application/json", "\x00\x01\xff\xfe", 400},
		{"no type", h.events, "application/json", `{"event":{}}`, 400},
		{"callback without event", h.events, "application/json", `{"type":"event_callback","event_id":"Ev1"}`, 400},
		{"event of the wrong shape", h.events, "application/json", `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":7}}`, 400},
		{"url_verification without challenge", h.events, "application/json", `{"type":"url_verification"}`, 400},
		{"unknown event type is acknowledged", h.events, "application/json", `{"type":"event_callback","event_id":"Ev2","event":{"type":"reaction_added"}}`, 200},
		{"unknown outer type is acknowledged", h.events, "application/json", `{"type":"something_new"}`, 200},
		{"ssl_check is acknowledged", h.cmds, form, "ssl_check=1&token=x", 200},
		{"slash command without user", h.cmds, form, "command=%2Fgptaccess&channel_id=C1&text=help", 400},
		{"slash command that is not a form", h.cmds, form, "%zz", 400},
		{"interaction without payload", h.actions, form, "foo=bar", 400},
		{"interaction payload not JSON", h.actions, form, "payload=%7Bnope", 400},
		{"interaction without type", h.actions, form, "payload=%7B%7D", 400},
		{"other interaction types are acknowledged", h.actions, form, "payload=" + `%7B%22type%22%3A%22view_submission%22%7D`, 200},
	}
	for _, tt := range tests {
		if d := fake.PostSigned(t, tt.url, tt.ctype, []byte(tt.body)); d.Status != tt.want {
			t.Errorf("%s: answered %d %q, want %d", tt.name, d.Status, d.Body, tt.want)
		}
	}
	huge := `{"type":"event_callback","event":{"type":"message","text":"` + strings.Repeat("a", maxBody) + `"}}`
	if d := fake.PostSigned(t, h.events, "application/json", []byte(huge)); d.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body answered %d", d.Status)
	}
	for _, u := range []string{h.events, h.cmds, h.actions} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s answered %d", u, resp.StatusCode)
		}
	}
	// Nothing was lost: the next real message is answered.
	h.say(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})
	fake.WaitPosts(t, 1, waitFor)
	if !strings.Contains(h.logs.String(), "malformed slack payload") {
		t.Errorf("malformed payloads were not logged")
	}
}

// The slash command is acknowledged with an empty 200 at once; the answer
// follows through response_url when the engine is done.
func TestHTTPSlashCommandAckFirst(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeHTTP)
	h.h.block = make(chan struct{})

	d := fake.PostSlashCommand(t, h.cmds, fake.SlashCommand("C1", "U1", "", "status"))
	if d.Status != 200 || d.Body != "" {
		t.Fatalf("ack = %d %q", d.Status, d.Body)
	}
	if n := len(fake.Responses()); n != 0 {
		t.Fatalf("%d responses before the engine answered", n)
	}
	close(h.h.block)
	if r := fake.WaitResponses(t, 1, waitFor)[0]; r.Text != "ChatGPT is *up* from here." || r.ResponseType != "ephemeral" {
		t.Errorf("response = %+v", r)
	}
	// The same command posted twice (same trigger) is answered once.
	form := fake.SlashCommand("C1", "U1", "", "stats")
	fake.PostSlashCommand(t, h.cmds, form)
	fake.PostSlashCommand(t, h.cmds, form)
	fake.WaitResponses(t, 2, waitFor)
	// Responses have a lane of their own: a second command's response
	// would come after the first's, so a third proves the second is not
	// coming.
	fake.PostSlashCommand(t, h.cmds, fake.SlashCommand("C1", "U1", "", "help"))
	fake.WaitResponses(t, 3, waitFor)
	if n := len(fake.Responses()); n != 3 {
		t.Errorf("%d responses, want 3", n)
	}
}

// Before Run (or after it) deliveries are refused with 503, so Slack
// retries them, rather than accepted and lost.
func TestHTTPNotRunning(t *testing.T) {
	fake := newFake(t)
	cfg := fake.Config()
	a, err := New(Options{BotToken: cfg.BotToken, SigningSecret: cfg.SigningSecret, APIURL: fake.APIURL(), Core: newCore(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	ev := fake.UserMessage(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hi"})[0]
	if d := fake.PostEvent(t, srv.URL+"/slack/events", ev); d.Status != http.StatusServiceUnavailable {
		t.Errorf("answered %d, want 503", d.Status)
	}
	if d := fake.PostSlashCommand(t, srv.URL+"/slack/commands", fake.SlashCommand("C1", "U1", "", "help")); d.Status != 200 || !strings.Contains(d.Body, "try again") {
		t.Errorf("slash command answered %d %q", d.Status, d.Body)
	}
	if a.Connected() {
		t.Error("connected before Run")
	}
}
