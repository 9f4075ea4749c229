package discordtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"
)

// toFake sends a discordgo Session's REST calls to the fake.
type toFake struct{ base string }

func (t toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	u := strings.Replace(r.URL.String(), discordgo.EndpointAPI, t.base+"api/v9/", 1)
	r2, err := http.NewRequestWithContext(r.Context(), r.Method, u, r.Body)
	if err != nil {
		return nil, err
	}
	r2.Header = r.Header
	return http.DefaultTransport.RoundTrip(r2)
}

func session(t *testing.T, s *Server, token string) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	dg.Client = &http.Client{Transport: toFake{s.URL}, Timeout: 5 * time.Second}
	dg.ShouldRetryOnRateLimit = false
	return dg
}

func TestRESTWithDiscordgo(t *testing.T) {
	s := NewServer(t, Options{})
	dg := session(t, s, s.Token)
	m, err := dg.ChannelMessageSend(s.ChannelID, "hello")
	if err != nil || m.ID == "" || m.Author.ID != s.BotID {
		t.Fatalf("send = %+v, %v", m, err)
	}
	got, err := dg.ChannelMessage(s.ChannelID, m.ID)
	if err != nil || got.Content != "hello" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	s.Inject(Fault{Route: RouteCreateMessage, Times: 1, RetryAfter: 250 * time.Millisecond})
	_, err = dg.ChannelMessageSend(s.ChannelID, "again")
	var rl *discordgo.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 250*time.Millisecond {
		t.Fatalf("err = %v, want a rate limit of 250ms", err)
	}

	s.Inject(Fault{Route: RouteCreateMessage, Times: 1, Code: 50013})
	_, err = dg.ChannelMessageSend(s.ChannelID, "again")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil || re.Message.Code != 50013 || re.Response.StatusCode != 403 {
		t.Fatalf("err = %v, want 403 / 50013", err)
	}

	if _, err := session(t, s, "wrong").ChannelMessageSend(s.ChannelID, "x"); err == nil {
		t.Error("a wrong token was accepted")
	}
	if _, err := dg.ChannelMessageSendComplex(s.ChannelID, &discordgo.MessageSend{Content: strings.Repeat("x", 2001)}); err == nil {
		t.Error("a 2001-character message was accepted")
	}
	if n := len(s.Calls(RouteCreateMessage)); n != 5 {
		t.Errorf("%d calls recorded, want 5", n)
	}
}

func TestGatewayWithDiscordgo(t *testing.T) {
	s := NewServer(t, Options{})
	dg := session(t, s, s.Token)
	dg.ShouldReconnectOnError = false
	dg.Identify.Intents = discordgo.IntentGuildMessages
	got := make(chan *discordgo.MessageCreate, 1)
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { got <- m })
	if err := dg.Open(); err != nil {
		t.Fatal(err)
	}
	defer dg.Close()
	if dg.State.User.ID != s.BotID || dg.State.Application.ID != s.AppID {
		t.Errorf("READY gave user %s app %s", dg.State.User.ID, dg.State.Application.ID)
	}
	s.SendMessage(Message{Author: User{ID: "5"}, Content: s.Mention() + " hi"})
	select {
	case m := <-got:
		if m.Content != s.Mention()+" hi" || len(m.Mentions) != 1 || m.Member == nil {
			t.Errorf("MESSAGE_CREATE = %+v", m.Message)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no MESSAGE_CREATE")
	}
	if hs := s.Handshakes(); len(hs) != 1 || hs[0].Intents != discordgo.IntentGuildMessages || !hs[0].Compress {
		t.Errorf("handshakes = %+v", hs)
	}
}

func TestDisallowedIntentCloses4014(t *testing.T) {
	s := NewServer(t, Options{})
	dg := session(t, s, s.Token)
	dg.Identify.Intents = discordgo.IntentMessageContent
	err := dg.Open()
	if err == nil || !strings.Contains(err.Error(), "4014") {
		t.Fatalf("Open = %v, want close 4014", err)
	}
}

func TestSignature(t *testing.T) {
	s := NewServer(t, Options{})
	body := []byte(`{"type":1}`)
	req, err := SignedRequest("http://x/discord/interactions", s.PrivateKey(), body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !discordgo.VerifyInteraction(req, s.PublicKey) {
		t.Fatal("discordgo rejects the fake's signature")
	}
	if b, _ := io.ReadAll(req.Body); !bytes.Equal(b, body) {
		t.Error("body not restored")
	}
}

// TestChannelMessagesWithDiscordgo: GET /channels/{channel}/messages
// pages as Discord's does (newest first; after gives the messages right
// after an id, before those right before it) and accepts a snowflake made
// from a time.
func TestChannelMessagesWithDiscordgo(t *testing.T) {
	s := NewServer(t, Options{})
	dg := session(t, s, s.Token)
	start := time.Now().Add(-time.Millisecond)
	u := User{ID: "5"}
	var ids []string
	for i := range 4 {
		content := fmt.Sprintf("message %d", i)
		if i == 2 {
			content = s.Mention() + " " + content
		}
		ids = append(ids, s.SendMessage(Message{Author: u, Content: content}))
	}
	own, err := dg.ChannelMessageSend(s.ChannelID, "the bot's")
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, own.ID)
	s.SendMessage(Message{ChannelID: "1100000000000000999", Author: u, Content: "elsewhere"})
	idsOf := func(ms []*discordgo.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	fromTime := func(t time.Time) string { return strconv.FormatUint(uint64(t.UnixMilli()-discordEpoch)<<22, 10) }

	for _, tc := range []struct {
		name          string
		limit         int
		before, after string
		want          []string
	}{
		{"latest", 0, "", "", []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"latest two", 2, "", "", []string{ids[4], ids[3]}},
		{"right after an id", 2, "", ids[1], []string{ids[3], ids[2]}},
		{"right before an id", 2, ids[3], "", []string{ids[2], ids[1]}},
		{"after a time", 3, "", fromTime(start), []string{ids[2], ids[1], ids[0]}},
		{"after now", 0, "", fromTime(time.Now().Add(time.Second)), nil},
	} {
		got, err := dg.ChannelMessages(s.ChannelID, tc.limit, tc.before, tc.after, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, idsOf(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	got, err := dg.ChannelMessages(s.ChannelID, 100, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if m.GuildID != "" || m.Member != nil {
			t.Errorf("message %s has guild %q member %v; REST messages carry neither (the gateway adds them)", m.ID, m.GuildID, m.Member)
		}
		switch want := m.ID == ids[2] || m.ID == own.ID; {
		case want && m.Content == "":
			t.Errorf("message %s lost its content; it mentions the bot or is the bot's", m.ID)
		case !want && m.Content != "":
			t.Errorf("message %s has content %q without the Message Content intent", m.ID, m.Content)
		}
	}
	if _, err := dg.ChannelMessages(s.ChannelID, 101, "", "", ""); err == nil {
		t.Error("limit 101 was accepted")
	}
	if _, err := dg.ChannelMessages("1100000000000000777", 0, "", "", ""); err == nil {
		t.Error("an unknown channel was listed")
	}
}
