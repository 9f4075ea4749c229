package discord

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
)

// TestPrivateReplyInAChannelGoesToDM: a reply only its asker may read
// (stats) is never posted in the channel; Discord has no ephemeral
// messages outside interactions, so it goes to the asker's DMs.
func TestPrivateReplyInAChannelGoesToDM(t *testing.T) {
	t.Parallel()
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: "**Diagnoses in the last 7 days:** 3", Private: true}, nil
	}), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " stats"})
	dm := f.DMChannel(alice.ID)
	f.Await(t, "the private reply in alice's DMs", func() bool { return len(f.BotMessages(dm)) == 1 })
	if got := f.BotMessages(dm)[0].Content; !strings.Contains(got, "Diagnoses") {
		t.Errorf("DM = %q", got)
	}
	if n := len(f.BotMessages(f.ChannelID)); n != 0 {
		t.Errorf("%d bot messages in the channel, want none", n)
	}
}

// TestStaleHTTPInteractionRefused: a correctly signed interaction whose
// timestamp is more than 5 minutes off is a replay and is refused before
// anything is done, like Slack's.
func TestStaleHTTPInteractionRefused(t *testing.T) {
	t.Parallel()
	h, url := httpHarness(t, nil)
	f := h.fake
	calls := len(f.Calls(""))
	for name, at := range map[string]time.Time{"an hour ago": time.Now().Add(-time.Hour), "six minutes ago": time.Now().Add(-6 * time.Minute), "in ten minutes": time.Now().Add(10 * time.Minute)} {
		ix := f.CommandInteraction(discordtest.Command{User: alice, Sub: "help"})
		req, _ := discordtest.SignedRequest(url, f.PrivateKey(), ix.Body, at)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("signed %s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if n := len(h.h.messages()); n != 0 {
		t.Errorf("handler saw %d stale messages, want 0", n)
	}
	if n := len(f.Calls("")); n != calls {
		t.Errorf("%d REST calls after stale requests, want none", n-calls)
	}
	h.logs.wait(t, "stale HTTP interaction")
	// A fresh one still works.
	ix := f.CommandInteraction(discordtest.Command{User: alice, Sub: "help"})
	if status, _ := f.PostInteraction(t, url, ix); status != http.StatusOK {
		t.Errorf("fresh interaction: %d", status)
	}
}

// failWebhooks fails every interaction webhook request at the transport,
// as a network error would; net/http then quotes the URL in the error.
type failWebhooks struct{ next http.RoundTripper }

func (f failWebhooks) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/webhooks/") {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errors.New("connection reset by peer")
	}
	return f.next.RoundTrip(r)
}

// TestFollowUpErrorNamesTheConfiguredServer: when a follow-up fails, the
// log names the server the request went to (discord.api_url), not
// discord.com, and never the interaction token.
func TestFollowUpErrorNamesTheConfiguredServer(t *testing.T) {
	t.Parallel()
	h := start(t, newRecorder(func(_ context.Context, m bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: "This channel will now get alerts.", Public: true}, nil
	}), setup{opts: func(o *Options) {
		o.HTTPClient = &http.Client{Transport: failWebhooks{http.DefaultTransport}, Timeout: 5 * time.Second}
	}})
	f := h.fake
	ix := f.SendCommand(discordtest.Command{User: alice, Sub: "subscribe"})
	h.logs.wait(t, "connection reset by peer")
	out := h.logs.String()
	if strings.Contains(out, ix.Token) {
		t.Errorf("the interaction token is in the log:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "connection reset") {
			continue // the invite link rightly names discord.com
		}
		if strings.Contains(line, "discord.com") || !strings.Contains(line, strings.TrimSuffix(f.URL, "/")+"/api/v9/webhooks/") {
			t.Errorf("the error does not name %s, where the request went:\n%s", f.URL, line)
		}
	}
}
