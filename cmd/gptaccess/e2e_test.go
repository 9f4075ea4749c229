package main

import (
	"gptaccess/bot/bottest"

	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/adapters/slack/slacktest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// bot is one running `gptaccess run` process (in-process).
type runningBot struct {
	cancel context.CancelFunc
	done   chan error
	logs   *bottest.Buffer
	addr   string
}

func startBot(t *testing.T, getenv func(string) string, addr string) *runningBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &runningBot{cancel: cancel, done: make(chan error, 1), logs: &bottest.Buffer{}, addr: addr}
	go func() {
		b.done <- run(ctx, []string{"gptaccess", "run"}, getenv, strings.NewReader(""), io.Discard, b.logs)
	}()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop shuts the bot down as SIGTERM would and waits for a clean exit.
func (b *runningBot) stop(t *testing.T) {
	t.Helper()
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		if err != nil {
			t.Errorf("run returned %v\nlogs:\n%s", err, b.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not stop\nlogs:\n%s", b.logs)
	}
}

func (b *runningBot) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + b.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitReady polls /readyz until the bot says it is ready.
func (b *runningBot) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := b.get(t, "/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %d %s\nlogs:\n%s", code, body, b.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func slackEnv(t *testing.T, fake *slacktest.Server, db, addr string) func(string) string {
	cfg := fake.Config()
	return env(t,
		"GPTACCESS_DB", db,
		"GPTACCESS_HTTP_LISTEN", addr,
		"GPTACCESS_SLACK_API_URL", fake.APIURL(),
		"SLACK_BOT_TOKEN", cfg.BotToken,
		"SLACK_APP_TOKEN", cfg.AppToken,
	)
}

// TestSlackEndToEnd runs the real program against a fake Slack: a mention
// starts a diagnosis, the process is stopped (SIGTERM) in the middle, and
// the next process finishes it. The logs never contain a token.
func TestSlackEndToEnd(t *testing.T) {
	fake := slacktest.New(t, slacktest.Config{})
	db := filepath.Join(t.TempDir(), "g.db")
	addr := freeAddr(t)

	b := startBot(t, slackEnv(t, fake, db, addr), addr)
	fake.WaitConnections(t, 1, 10*time.Second)
	b.waitReady(t)
	if code, _ := b.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}

	mention := fake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> chatgpt says access denied 1020"})
	root := mention[0].Inner["ts"].(string)
	for _, e := range mention {
		fake.Deliver(e)
	}
	posts := fake.WaitPosts(t, 1, 10*time.Second)
	if got := posts[0].Form.Get("thread_ts"); got != root {
		t.Errorf("reply thread_ts = %q, want the mention's ts %q", got, root)
	}
	if !strings.Contains(strings.ToLower(posts[0].Form.Get("text")), "vpn") {
		t.Errorf("first reply should ask about a VPN: %q", posts[0].Form.Get("text"))
	}
	// The counters moved, and the status page answers.
	_, scrape := b.get(t, "/metrics")
	for _, want := range []string{
		`gptaccess_messages_received_total{platform="slack"} 1`,
		`gptaccess_replies_sent_total{platform="slack"} 1`,
		`gptaccess_answers_total{entry="fix"} 1`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, page := b.get(t, "/"); code != http.StatusOK || !strings.Contains(page, "<html") {
		t.Errorf("status page: %d", code)
	}
	b.stop(t)

	// The next start resumes the diagnosis: a thread reply without mention.
	b2 := startBot(t, slackEnv(t, fake, db, addr), addr)
	fake.WaitConnections(t, 2, 10*time.Second)
	for _, e := range fake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "yes, NordVPN", ThreadTS: root}) {
		fake.Deliver(e)
	}
	posts = fake.WaitPosts(t, 2, 10*time.Second)
	if text := posts[1].Form.Get("text"); !strings.Contains(text, "VPN") || posts[1].Form.Get("thread_ts") != root {
		t.Errorf("after restart: %q in thread %q", text, posts[1].Form.Get("thread_ts"))
	}
	b2.stop(t)

	cfg := fake.Config()
	for _, secret := range []string{cfg.BotToken, cfg.AppToken} {
		for _, logs := range []string{b.logs.String(), b2.logs.String()} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain a token")
			}
		}
	}
	if t.Failed() {
		fmt.Println(b.logs.String(), b2.logs.String())
	}
}

// TestSlackAndDiscordTogether: with both tokens set, one process serves both
// platforms, and /readyz waits for both connections.
func TestSlackAndDiscordTogether(t *testing.T) {
	sfake := slacktest.New(t, slacktest.Config{})
	dfake := discordtest.NewServer(t, discordtest.Options{})
	addr := freeAddr(t)
	getenv := env(t,
		"GPTACCESS_DB", filepath.Join(t.TempDir(), "g.db"),
		"GPTACCESS_HTTP_LISTEN", addr,
		"GPTACCESS_SLACK_API_URL", sfake.APIURL(),
		"SLACK_BOT_TOKEN", sfake.Config().BotToken,
		"SLACK_APP_TOKEN", sfake.Config().AppToken,
		"GPTACCESS_DISCORD_API_URL", dfake.URL,
		"DISCORD_BOT_TOKEN", dfake.Token,
	)
	b := startBot(t, getenv, addr)
	b.waitReady(t)

	dfake.SendMessage(discordtest.Message{Author: discordtest.User{ID: "42", Name: "ana"}, Content: dfake.Mention() + " what is error 1020?"})
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> how do I prevent error 1020?"}) {
		sfake.Deliver(e)
	}
	dfake.Await(t, "the Discord reply", func() bool { return dfake.Count(discordtest.RouteCreateMessage) >= 1 })
	body := string(dfake.Calls(discordtest.RouteCreateMessage)[0].Body)
	if !strings.Contains(body, "1020") {
		t.Errorf("Discord reply: %s", body)
	}
	posts := sfake.WaitPosts(t, 1, 10*time.Second)
	if !strings.Contains(strings.ToLower(posts[0].Form.Get("text")), "prevent") {
		t.Errorf("Slack reply: %q", posts[0].Form.Get("text"))
	}
	b.stop(t)
	if strings.Contains(b.logs.String(), dfake.Token) {
		t.Error("logs contain the Discord token")
	}
}

// TestSlackHTTPModeEndToEnd: with only the signing secret, Slack posts to
// the bot's own HTTP server; forged requests are refused before anything
// happens, signed ones answered once even when Slack retries.
func TestSlackHTTPModeEndToEnd(t *testing.T) {
	fake := slacktest.New(t, slacktest.Config{})
	addr := freeAddr(t)
	b := startBot(t, env(t,
		"GPTACCESS_DB", filepath.Join(t.TempDir(), "g.db"),
		"GPTACCESS_HTTP_LISTEN", addr,
		"GPTACCESS_SLACK_API_URL", fake.APIURL(),
		"SLACK_BOT_TOKEN", fake.Config().BotToken,
		"SLACK_SIGNING_SECRET", fake.Config().SigningSecret,
	), addr)
	b.waitReady(t)
	events := "http://" + addr + "/slack/events"

	if d := fake.PostURLVerification(t, events, "c-123"); d.Status != http.StatusOK || !strings.Contains(d.Body, "c-123") {
		t.Errorf("url_verification: %d %q", d.Status, d.Body)
	}
	mention := fake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> what causes error 1020?"})
	if d := fake.PostEvent(t, events, mention[0], slacktest.WithSecret("not-the-secret")); d.Status != http.StatusUnauthorized {
		t.Errorf("forged signature: %d, want 401", d.Status)
	}
	for _, e := range mention {
		if d := fake.PostEvent(t, events, e); d.Status != http.StatusOK {
			t.Errorf("signed event: %d", d.Status)
		}
	}
	if d := fake.PostEvent(t, events, mention[0], slacktest.WithRetry(1, "http_timeout")); d.Status != http.StatusOK {
		t.Errorf("retried event: %d", d.Status)
	}
	posts := fake.WaitPosts(t, 1, 10*time.Second)
	b.stop(t)
	if n := len(fake.Posts()); n != 1 {
		t.Errorf("%d replies, want exactly 1 (%q)", n, posts[0].Form.Get("text"))
	}
	if !strings.Contains(strings.ToLower(posts[0].Form.Get("text")), "cause") {
		t.Errorf("reply: %q", posts[0].Form.Get("text"))
	}
}

// TestDiscordHTTPInteractions: with discord.interactions on, Discord's
// signed webhooks reach /discord/interactions on the bot's server: PING gets
// PONG, a forged signature 401.
func TestDiscordHTTPInteractions(t *testing.T) {
	dfake := discordtest.NewServer(t, discordtest.Options{})
	addr := freeAddr(t)
	b := startBot(t, env(t,
		"GPTACCESS_DB", filepath.Join(t.TempDir(), "g.db"),
		"GPTACCESS_HTTP_LISTEN", addr,
		"GPTACCESS_DISCORD_API_URL", dfake.URL,
		"GPTACCESS_DISCORD_INTERACTIONS", "true",
		"DISCORD_BOT_TOKEN", dfake.Token,
		"DISCORD_PUBLIC_KEY", dfake.PublicKeyHex(),
	), addr)
	b.waitReady(t)
	url := "http://" + addr + "/discord/interactions"

	status, body := dfake.PostInteraction(t, url, dfake.PingInteraction())
	if status != http.StatusOK || !strings.Contains(string(body), `"type":1`) {
		t.Errorf("PING: %d %s, want PONG", status, body)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"type":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Signature-Ed25519", strings.Repeat("00", 64))
	req.Header.Set("X-Signature-Timestamp", fmt.Sprint(time.Now().Unix()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged interaction: %d, want 401", resp.StatusCode)
	}
	b.stop(t)
}

// TestSubscribedChannelGetsAlertAndRecovery: `/gptaccess subscribe` in a
// channel, then (across restarts, which neither re-alert nor forget) the
// monitor's alert when ChatGPT is blocked and its recovery in the alert's
// thread, in that channel.
func TestSubscribedChannelGetsAlertAndRecovery(t *testing.T) {
	var blocked atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cf-Ray", "8f2e6b1c9d0a4e37-AMS")
		if blocked.Load() {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "error code: 1020")
			return
		}
		io.WriteString(w, "<!doctype html><title>ChatGPT</title>")
	}))
	defer target.Close()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gptaccess.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`monitor:
  schedule: "@every 1h"   # the first check runs at start-up; no other in this test
  digest: ""
  failure_threshold: 1
  success_threshold: 1
  canary: ""
  targets:
    - {name: web, kind: web, url: %q}
`, target.URL)), 0o600)

	fake := slacktest.New(t, slacktest.Config{})
	addr := freeAddr(t)
	getenv := slackEnv(t, fake, filepath.Join(dir, "g.db"), addr)
	withConfig := func(k string) string {
		switch k {
		case "GPTACCESS_CONFIG":
			return cfgFile
		case "GPTACCESS_MONITOR_ENABLED":
			return "true"
		}
		return getenv(k)
	}
	inC9 := func() []slacktest.Call {
		var out []slacktest.Call
		for _, c := range fake.Posts() {
			if c.Channel == "C9" {
				out = append(out, c)
			}
		}
		return out
	}

	b := startBot(t, withConfig, addr)
	fake.WaitConnections(t, 1, 10*time.Second)
	fake.DeliverSlashCommand(fake.SlashCommand("C9", "U1", "", "subscribe"))
	if r := fake.WaitResponses(t, 1, 10*time.Second); !strings.Contains(r[0].Text, "alerts") || r[0].ResponseType != "in_channel" {
		t.Errorf("subscribe reply: %+v", r[0])
	}
	b.stop(t)
	if n := len(inC9()); n != 0 {
		t.Fatalf("%d posts in C9 while ChatGPT was up", n)
	}

	blocked.Store(true)
	b = startBot(t, withConfig, addr)
	fake.Wait(t, 10*time.Second, "the alert in C9", func() bool { return len(inC9()) == 1 })
	b.stop(t)
	alert := inC9()[0]
	if !strings.Contains(alert.Text, "blocked") {
		t.Errorf("alert: %q", alert.Text)
	}

	blocked.Store(false)
	b = startBot(t, withConfig, addr)
	fake.Wait(t, 10*time.Second, "the recovery in C9", func() bool { return len(inC9()) == 2 })
	b.stop(t)
	recovery := inC9()[1]
	if recovery.ThreadTS != alert.TS || !strings.Contains(recovery.Text, "was blocked") {
		t.Errorf("recovery %q in thread %q, want in the alert's thread %q", recovery.Text, recovery.ThreadTS, alert.TS)
	}
}
