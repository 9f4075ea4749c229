package discord

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/adapters/discord/discordtest"
)

// httpHarness runs an adapter with HTTP interactions and an httptest
// server for its Handler.
func httpHarness(t *testing.T, h *recorder) (*harness, string) {
	t.Helper()
	var pub string
	hs := start(t, h, setup{
		before: func(f *discordtest.Server) { pub = f.PublicKeyHex() },
		opts: func(o *Options) {
			o.Interactions = true
			o.PublicKey = pub
		},
	})
	srv := httptest.NewServer(hs.a.Handler())
	t.Cleanup(srv.Close)
	return hs, srv.URL + "/discord/interactions"
}

func TestHTTPInteractionSignatures(t *testing.T) {
	t.Parallel()
	h, url := httpHarness(t, nil)
	f := h.fake
	ix := f.CommandInteraction(discordtest.Command{User: alice, Sub: "help"})
	calls := len(f.Calls(""))

	_, otherKey, _ := ed25519.GenerateKey(nil)
	bad, _ := discordtest.SignedRequest(url, otherKey, ix.Body, time.Now())
	tampered, _ := discordtest.SignedRequest(url, f.PrivateKey(), ix.Body, time.Now())
	tampered.Body = io.NopCloser(bytes.NewReader(bytes.Replace(ix.Body, []byte(`"help"`), []byte(`"hElp"`), 1)))
	unsigned, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(ix.Body))
	garbled, _ := discordtest.SignedRequest(url, f.PrivateKey(), ix.Body, time.Now())
	garbled.Header.Set("X-Signature-Ed25519", "zz"+garbled.Header.Get("X-Signature-Ed25519")[2:])

	for name, req := range map[string]*http.Request{"other key": bad, "tampered body": tampered, "unsigned": unsigned, "garbled signature": garbled} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if n := len(h.h.messages()); n != 0 {
		t.Errorf("handler saw %d messages, want 0", n)
	}
	if n := len(f.Calls("")); n != calls {
		t.Errorf("%d REST calls after rejected requests, want none", n-calls)
	}
	h.logs.wait(t, "bad signature")
}

func TestHTTPInteractionPing(t *testing.T) {
	t.Parallel()
	h, url := httpHarness(t, nil)
	status, body := h.fake.PostInteraction(t, url, h.fake.PingInteraction())
	if status != 200 || strings.TrimSpace(string(body)) != `{"type":1}` {
		t.Errorf("PING got %d %s, want 200 {\"type\":1}", status, body)
	}
}

func TestHTTPInteractionCommandAndClick(t *testing.T) {
	t.Parallel()
	d := &dialog{convs: map[string]*conv{}}
	h, url := httpHarness(t, newRecorder(d.Handle))
	f := h.fake

	ix := f.CommandInteraction(discordtest.Command{User: alice, Sub: "diagnose"})
	status, body := f.PostInteraction(t, url, ix)
	if status != 200 || !strings.Contains(string(body), `"type":5`) || !strings.Contains(string(body), `"flags":64`) {
		t.Fatalf("command got %d %s, want an ephemeral deferral", status, body)
	}
	h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)
	orig, _ := f.Original(ix.ID)
	if m, _ := f.Message(orig); len(buttons(m)) != 3 {
		t.Fatalf("deferred response edited to %+v, want the question", m)
	}

	click := f.ClickInteraction(discordtest.Click{MessageID: orig, CustomID: "c1:0|yes", User: alice})
	status, body = f.PostInteraction(t, url, click)
	if status != 200 || string(body) != `{"type":6}` {
		t.Fatalf("click got %d %s, want a deferred update", status, body)
	}
	if content, _, _ := editContent(t, h.waitWebhook(t, discordtest.RouteEditWebhookMsg, click.Token, 1)[0]); !strings.Contains(content, "answered: **yes**") {
		t.Fatalf("question edited to %q", content)
	}
	fu := h.waitWebhook(t, discordtest.RouteFollowup, click.Token, 1)[0]
	if content, flags, _ := editContent(t, fu); !strings.Contains(content, questions[1]) || flags != discordgo.MessageFlagsEphemeral {
		t.Errorf("follow-up = %q flags %v", content, flags)
	}
	// Discord does not redeliver HTTP interactions, but a duplicate is
	// still answered once.
	if status, _ := f.PostInteraction(t, url, click); status != http.StatusConflict {
		t.Errorf("duplicate got %d, want 409", status)
	}
}

func TestHTTPInteractionBadInput(t *testing.T) {
	t.Parallel()
	h, url := httpHarness(t, nil)
	f := h.fake
	post := func(body []byte) int {
		req, _ := discordtest.SignedRequest(url, f.PrivateKey(), body, time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post([]byte("{not json")); got != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", got)
	}
	if got := post([]byte(`{"type":2,"id":"1"}`)); got != http.StatusBadRequest {
		t.Errorf("no token: %d, want 400", got)
	}
	if got := post(bytes.Repeat([]byte("a"), 2<<20)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d, want 413", got)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	if n := len(h.h.messages()); n != 0 {
		t.Errorf("handler saw %d messages", n)
	}
	// Still fine afterwards.
	if status, _ := f.PostInteraction(t, url, f.PingInteraction()); status != 200 {
		t.Errorf("PING after bad input: %d", status)
	}
}

func TestHTTPInteractionsOff(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{Token: "x", Core: newCore(t), Interactions: true, PublicKey: "abc"}); err == nil {
		t.Error("New accepted a bad public key")
	}
	a, err := New(Options{Token: "x", Core: newCore(t)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/discord/interactions", strings.NewReader("{}")))
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404 without Interactions", rec.Code)
	}
}
