package discord

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

type captureRT struct{ got *http.Request }

func (c *captureRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
}

func TestRewriteIsPerSession(t *testing.T) {
	t.Parallel()
	before := discordgo.EndpointAPI
	cap := &captureRT{}
	c, err := restClient(&http.Client{Transport: cap}, "http://127.0.0.1:9/proxy")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		discordgo.EndpointAPI + "webhooks/1/tok/messages/@original": "http://127.0.0.1:9/proxy/api/v9/webhooks/1/tok/messages/@original",
		discordgo.EndpointAPI + "webhooks/1/tok?wait=true":          "http://127.0.0.1:9/proxy/api/v9/webhooks/1/tok?wait=true",
		discordgo.EndpointAPI + "channels/5/messages":               "http://127.0.0.1:9/proxy/api/v9/channels/5/messages",
		"https://cdn.discordapp.com/avatars/1/2.png":                "https://cdn.discordapp.com/avatars/1/2.png",
	} {
		req, _ := http.NewRequest(http.MethodGet, in, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := cap.got.URL.String(); got != want {
			t.Errorf("%s went to %s, want %s", in, got, want)
		}
		if cap.got.Host != cap.got.URL.Host {
			t.Errorf("Host header %q for %s", cap.got.Host, cap.got.URL)
		}
	}
	if discordgo.EndpointAPI != before {
		t.Error("discordgo's package endpoints changed")
	}
	if _, err := restClient(nil, "ftp://x"); err == nil {
		t.Error("accepted an ftp api_url")
	}
	if c, err := restClient(nil, ""); err != nil || c.Transport != nil {
		t.Errorf("no api_url: %v, transport %T", err, c.Transport)
	}
}

func TestErrTextRedactsTokens(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("edit: %w", errors.New(`Patch "https://discord.com/api/v9/webhooks/123/aW50ZXJhY3Rpb246secret/messages/@original": context deadline exceeded`))
	got := errText(err)
	if strings.Contains(got, "secret") || !strings.Contains(got, "webhooks/123/[redacted]/messages") {
		t.Errorf("errText = %q", got)
	}
	err = errors.New(`Post "https://discord.com/api/v9/interactions/9/tok.en-x/callback": EOF`)
	if got := errText(err); strings.Contains(got, "tok.en") {
		t.Errorf("errText = %q", got)
	}
	rest := &discordgo.RESTError{Response: &http.Response{Status: "403 Forbidden", StatusCode: 403},
		Message: &discordgo.APIErrorMessage{Code: 50013, Message: "Missing Permissions"}}
	if got := errText(fmt.Errorf("send: %w", rest)); got != "403 Forbidden (code 50013: Missing Permissions)" {
		t.Errorf("errText = %q", got)
	}
	if !permanent(fmt.Errorf("x: %w", rest)) {
		t.Error("50013 not permanent")
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err   error
		fatal bool
	}{
		{&websocket.CloseError{Code: 4004}, true},
		{&websocket.CloseError{Code: 4014}, true},
		{&websocket.CloseError{Code: 4013}, true},
		{&websocket.CloseError{Code: 4000}, false},
		{&websocket.CloseError{Code: 1006}, false},
		{fmt.Errorf("open: %w", &websocket.CloseError{Code: 4014}), true},
		{discordgo.ErrUnauthorized, true},
		{errors.New("connection refused"), false},
	} {
		if _, fatal := refused(tc.err); fatal != tc.fatal {
			t.Errorf("refused(%v) = %v, want %v", tc.err, fatal, tc.fatal)
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	h := newCore(t)
	for name, o := range map[string]Options{
		"no core":           {Token: "x"},
		"no token":          {Core: h},
		"listen no content": {Token: "x", Core: h, ListenChannels: []string{"1"}},
		"bad public key":    {Token: "x", Core: h, Interactions: true, PublicKey: "zz"},
		"bad api url":       {Token: "x", Core: h, APIURL: "localhost:9000"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	a, err := New(Options{Token: "abc", Core: newCore(t)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Platform() != "discord" || a.Connected() {
		t.Errorf("Platform %q Connected %v", a.Platform(), a.Connected())
	}
	if tok := a.s.(dgSession).Token; tok != "Bot abc" {
		t.Errorf("token = %q, want the Bot prefix added", tok)
	}
}

func TestInviteURL(t *testing.T) {
	t.Parallel()
	want := "https://discord.com/oauth2/authorize?client_id=123&permissions=309237730304&integration_type=0&scope=bot+applications.commands"
	if got := InviteURL("123"); got != want {
		t.Errorf("InviteURL = %s\nwant        %s", got, want)
	}
}
