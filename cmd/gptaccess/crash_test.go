package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot/bottest"
)

// The crash tests run the real binary against the fake Slack and Discord,
// kill it with SIGKILL at the moments the README's "Reliability" section
// names, start it again on the same database and count what the users
// got: every message and every alert and recovery posted, exactly once on
// Discord, at most twice on Slack (and only when the kill falls between
// Slack's answer to a post and the database recording it).

// crashRig is one database and configuration that successive processes
// share, and a monitor target whose answer the test can hold back: asking
// the bot "status" makes it check the target, which keeps the message
// between its arrival and its reply for as long as the test wants.
type crashRig struct {
	t    *testing.T
	bin  string
	env  []string
	slow atomic.Bool
	down atomic.Bool   // the target answers 503
	seen chan struct{} // a check reached the target
	logs []*bottest.Buffer
}

func newCrashRig(t *testing.T, bin string, env ...string) *crashRig {
	r := &crashRig{t: t, bin: bin, seen: make(chan struct{}, 16)}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.seen <- struct{}{}:
		default:
		}
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		for r.slow.Load() {
			select {
			case <-req.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(target.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gptaccess.yaml")
	yaml := fmt.Sprintf("monitor:\n  enabled: false\n  canary: \"\"\n  targets:\n    - {name: web, kind: http, url: %q, timeout: 20s}\n", target.URL+"/")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r.env = append([]string{"GPTACCESS_CONFIG=" + cfg, "GPTACCESS_DB=" + filepath.Join(dir, "g.db"),
		"GPTACCESS_HTTP_LISTEN=127.0.0.1:0", "GPTACCESS_LOG_LEVEL=debug"}, env...)
	return r
}

// start runs a new process with the rig's environment and extra
// ("KEY=value", winning over the rig's); the returned function kills it
// with SIGKILL.
func (r *crashRig) start(extra ...string) (kill func()) {
	r.t.Helper()
	return r.run(extra...).kill
}

// proc is one process a rig started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// kill ends p with SIGKILL and waits for it.
func (p proc) kill() { p.signal(syscall.SIGKILL) }

// stop asks p to shut down (SIGTERM) and waits until it has: what it
// had posted is recorded.
func (p proc) stop() { p.signal(syscall.SIGTERM) }

func (p proc) signal(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.done
}

// run is start, for a process the test may also stop.
func (r *crashRig) run(extra ...string) proc {
	r.t.Helper()
	logs := &bottest.Buffer{}
	r.logs = append(r.logs, logs)
	cmd := exec.Command(r.bin, "run")
	cmd.Env = append(append(os.Environ(), r.env...), extra...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	p := proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	r.t.Cleanup(p.kill)
	return p
}

// waitSeen waits until the bot is checking the slow target.
func (r *crashRig) waitSeen() {
	r.t.Helper()
	select {
	case <-r.seen:
	case <-time.After(15 * time.Second):
		r.t.Fatalf("the bot never checked the target; logs:\n%s", r.allLogs())
	}
}

func (r *crashRig) allLogs() string {
	var b strings.Builder
	for i, l := range r.logs {
		fmt.Fprintf(&b, "--- process %d ---\n%s", i+1, l.String())
	}
	return b.String()
}

// losingProxy fronts target; while lose is set, the next request that
// matches reaches target, which acts on it, but its answer is lost (the
// connection drops), as when the process dies between a platform's
// answer and the database recording it.
func losingProxy(t *testing.T, target string, match func(*http.Request) bool) (front string, lose *atomic.Bool) {
	lose = &atomic.Bool{}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if match(req) && lose.CompareAndSwap(true, false) {
			proxy.ServeHTTP(httptest.NewRecorder(), req)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/", lose
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := binary(t)
	t.Run("slack", func(t *testing.T) { crashSlack(t, bin) })
	t.Run("discord", func(t *testing.T) { crashDiscord(t, bin) })
	t.Run("alert", func(t *testing.T) { crashAlert(t, bin) })
	t.Run("alert answer lost", func(t *testing.T) { crashAlertLost(t, bin) })
	t.Run("discord alert", func(t *testing.T) { crashDiscordAlert(t, bin) })
}

// alerting is the environment of a rig whose monitor runs, alerting in
// channel (named by the variable channels), and opens or resolves an
// incident at its first check, which runs as the process starts.
func alerting(channels, channel string) []string {
	return []string{"GPTACCESS_MONITOR_ENABLED=true", "GPTACCESS_MONITOR_FAILURE_THRESHOLD=1",
		"GPTACCESS_MONITOR_SUCCESS_THRESHOLD=1", channels + "=" + channel}
}

// slackAlerts is a fake Slack whose channel CALERT gets the alerts of
// the rig's monitor, through a losingProxy.
func slackAlerts(t *testing.T, bin string) (*slacktest.Server, *crashRig, *atomic.Bool) {
	fake := slacktest.New(t, slacktest.Config{})
	cfg := fake.Config()
	api, lose := losingProxy(t, strings.TrimSuffix(fake.APIURL(), "api/"), func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/chat.postMessage") })
	r := newCrashRig(t, bin, append([]string{"GPTACCESS_SLACK_API_URL=" + api + "api/", "SLACK_BOT_TOKEN=" + cfg.BotToken, "SLACK_APP_TOKEN=" + cfg.AppToken},
		alerting("GPTACCESS_SLACK_ALERT_CHANNELS", "CALERT")...)...)
	return fake, r, lose
}

// alertPosts are the messages in CALERT outside threads (the alerts);
// threaded are those in threads (the recoveries).
func alertPosts(fake *slacktest.Server) (top, threaded []slacktest.Message) {
	for _, m := range fake.BotMessages("CALERT") {
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			threaded = append(threaded, m)
		} else {
			top = append(top, m)
		}
	}
	return top, threaded
}

// crashAlert: the monitor opens an incident and its alert waits out a
// rate limit when the process is killed; the next process posts the
// alert (once: it was committed with the incident). Then the recovery
// waits out a rate limit when the process is killed; the next process
// posts it, once, in the alert's thread.
func crashAlert(t *testing.T, bin string) {
	fake, r, _ := slackAlerts(t, bin)
	limited := func(i int) {
		t.Helper()
		r.logs[i].Wait(t, "rate limited; holding the channel back", 15*time.Second)
	}

	r.down.Store(true)
	fake.RateLimit("chat.postMessage", "CALERT", 2, 1)
	kill := r.start() // the first check opens the incident at once
	limited(0)
	kill() // during the 2 s Retry-After: the alert is not posted yet
	if n := len(fake.BotMessages("CALERT")); n != 0 {
		t.Fatalf("%d alerts posted before the kill, want 0 (the rate limit held it)", n)
	}

	p := r.run() // still down: nothing new to say, the alert to post
	fake.Wait(t, 20*time.Second, "the alert", func() bool { top, _ := alertPosts(fake); return len(top) >= 1 })
	p.stop()

	r.down.Store(false)
	fake.RateLimit("chat.postMessage", "CALERT", 2, 1)
	kill = r.start() // its first check sees the target up: the recovery
	limited(2)
	kill()
	if _, threaded := alertPosts(fake); len(threaded) != 0 {
		t.Fatalf("%d recoveries posted before the kill, want 0 (the rate limit held it)", len(threaded))
	}

	r.start()
	fake.Wait(t, 20*time.Second, "the recovery", func() bool { _, threaded := alertPosts(fake); return len(threaded) >= 1 })
	time.Sleep(1500 * time.Millisecond) // room for a second post, if one were coming
	top, threaded := alertPosts(fake)
	if len(top) != 1 || !strings.Contains(top[0].Text, "down") {
		t.Fatalf("alerts in the channel: %d, want 1 saying down; logs:\n%s", len(top), r.allLogs())
	}
	thread := fake.Thread("CALERT", top[0].TS)
	if len(threaded) != 1 || len(thread) != 1 || !strings.Contains(thread[0].Text, "was down") {
		t.Errorf("recoveries: %d, %d of them in the alert's thread; want the one, there; logs:\n%s", len(threaded), len(thread), r.allLogs())
	}
}

// crashAlertLost: Slack posts the alert but its answer is lost, and the
// process is killed before it tries again; the next process posts the
// alert again (Slack's double-post window: at most two) and the recovery
// once, in the thread of the alert it recorded.
func crashAlertLost(t *testing.T, bin string) {
	fake, r, lose := slackAlerts(t, bin)
	r.down.Store(true)
	lose.Store(true)
	kill := r.start()
	fake.Wait(t, 20*time.Second, "the alert", func() bool { top, _ := alertPosts(fake); return len(top) >= 1 })
	kill() // during the backoff before its second try

	r.down.Store(false)
	r.start()
	fake.Wait(t, 20*time.Second, "the recovery", func() bool { _, threaded := alertPosts(fake); return len(threaded) >= 1 })
	time.Sleep(1500 * time.Millisecond) // room for a late post, if one were coming
	top, threaded := alertPosts(fake)
	if len(top) < 1 || len(top) > 2 {
		t.Errorf("alert posted %d times, want 1 or 2; logs:\n%s", len(top), r.allLogs())
	} else {
		t.Logf("alert whose answer was lost: posted %d times (the documented double-post window)", len(top))
	}
	if len(threaded) != 1 || !slices.ContainsFunc(top, func(m slacktest.Message) bool { return m.TS == threaded[0].ThreadTS }) {
		t.Errorf("recoveries: %d, want one in the thread of an alert; logs:\n%s", len(threaded), r.allLogs())
	}
}

// crashDiscordAlert: the alert waits out a rate limit when the process is
// killed; the next process posts it, but Discord's answer is lost and
// that process is killed too; the third sends it again with the same
// nonce, then the recovery, whose answer is lost as well and which it
// sends again: one alert, and one recovery in its thread.
func crashDiscordAlert(t *testing.T, bin string) {
	dfake := discordtest.NewServer(t, discordtest.Options{})
	var losePath atomic.Value // the messages path whose next post loses its answer
	front, lose := losingProxy(t, dfake.URL, func(r *http.Request) bool {
		p, _ := losePath.Load().(string)
		return r.Method == http.MethodPost && p != "" && strings.HasSuffix(r.URL.Path, p)
	})
	r := newCrashRig(t, bin, append([]string{"GPTACCESS_DISCORD_API_URL=" + front, "DISCORD_BOT_TOKEN=" + dfake.Token},
		alerting("GPTACCESS_DISCORD_ALERT_CHANNELS", dfake.ChannelID)...)...)
	// made counts the messages Discord made or found by their nonce in
	// channel, however the bot fared with the answer.
	made := func(channel string) int {
		n := 0
		for _, c := range dfake.Calls(discordtest.RouteCreateMessage) {
			if c.Params["channel"] == channel && c.Status < 300 {
				n++
			}
		}
		return n
	}

	r.down.Store(true)
	dfake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Times: 1, RetryAfter: 2 * time.Second})
	kill := r.start()
	r.logs[0].Wait(t, "rate limited; holding the channel back", 15*time.Second)
	kill() // during the 2 s retry_after
	if n := len(dfake.BotMessages(dfake.ChannelID)); n != 0 {
		t.Fatalf("%d alerts posted before the kill, want 0 (the rate limit held it)", n)
	}

	losePath.Store("/channels/" + dfake.ChannelID + "/messages")
	lose.Store(true)
	kill = r.start() // still down: the alert to post
	dfake.Await(t, "the alert, its answer lost", func() bool { return len(dfake.BotMessages(dfake.ChannelID)) >= 1 })
	kill() // during the backoff before its second try
	alert := dfake.BotMessages(dfake.ChannelID)[0].ID

	r.down.Store(false)
	losePath.Store("/channels/" + alert + "/messages")
	lose.Store(true)
	r.start() // the alert again, then the recovery
	dfake.Await(t, "the recovery sent again after its answer was lost", func() bool { return made(alert) >= 2 })
	time.Sleep(1500 * time.Millisecond) // room for a second message, if one were coming
	if n, tries := len(dfake.BotMessages(dfake.ChannelID)), made(dfake.ChannelID); n != 1 || tries < 2 {
		t.Errorf("alerts: %d from %d posts, want 1 from at least 2 (the nonce finds the first); logs:\n%s", n, tries, r.allLogs())
	}
	if n := len(dfake.BotMessages(alert)); n != 1 {
		t.Errorf("recoveries in the alert's thread: %d, want 1; logs:\n%s", n, r.allLogs())
	}
}

// crashSlack kills the process on Slack between a message and its reply,
// while a reply waits out a 429, and after Slack's answer to a reply was
// lost; then counts the replies. It is one function because each step
// restarts the process the step before killed and waits for its replies.
func crashSlack(t *testing.T, bin string) {
	fake := slacktest.New(t, slacktest.Config{})
	cfg := fake.Config()
	api, loseNext := losingProxy(t, strings.TrimSuffix(fake.APIURL(), "api/"), func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/chat.postMessage") })
	r := newCrashRig(t, bin, "GPTACCESS_SLACK_API_URL="+api+"api/", "SLACK_BOT_TOKEN="+cfg.BotToken, "SLACK_APP_TOKEN="+cfg.AppToken)
	conns := 0
	start := func() func() {
		kill := r.start()
		conns++
		fake.WaitConnections(t, conns, 15*time.Second)
		return kill
	}
	say := func(channel, text string) string {
		evs := fake.UserMessage(slacktest.Say{Channel: channel, User: "U1", Text: "<@UBOT> " + text})
		for _, e := range evs {
			fake.WaitAck(t, fake.Deliver(e), 10*time.Second)
		}
		return evs[0].Inner["ts"].(string)
	}
	replies := func(channel, ts string) int { return len(fake.Thread(channel, ts)) }
	waitReplies := func(channel, ts string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for replies(channel, ts) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: %d replies, want %d; logs:\n%s", channel, ts, replies(channel, ts), n, r.allLogs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	kill := start()

	// 1. Killed between receiving a message and replying: acknowledged
	// to Slack, in the inbox, the bot busy answering it.
	r.slow.Store(true)
	received := say("C1", "status")
	r.waitSeen()
	kill()
	r.slow.Store(false)

	// 2. Killed while the reply waits out a rate limit.
	kill = start()
	r.logs[1].Wait(t, "resuming pending deliveries", 10*time.Second) // 1's message
	fake.RateLimit("chat.postMessage", "C2", 2, 1)
	limited := say("C2", "what is error 1020?")
	fake.WaitCalls(t, "chat.postMessage", 1, 10*time.Second)
	kill()

	// 3. Killed after Slack posted the reply but before the bot heard
	// back (the answer is lost, the bot would try again in a second):
	// the window in which a re-send posts twice.
	kill = start()
	waitReplies("C1", received, 1)
	waitReplies("C2", limited, 1)
	loseNext.Store(true)
	lost := say("C3", "what is error 1020?")
	waitReplies("C3", lost, 1)
	kill()

	start()
	waitReplies("C3", lost, 1)
	sync := say("C4", "what is error 1020?")
	waitReplies("C4", sync, 1)

	time.Sleep(1500 * time.Millisecond) // room for a late reply, if one were coming
	for _, c := range []struct{ channel, ts, what string }{
		{"C1", received, "killed before the reply"},
		{"C2", limited, "killed during the 429 wait"},
		{"C4", sync, "not killed"},
	} {
		if n := replies(c.channel, c.ts); n != 1 {
			t.Errorf("%s: %d replies, want 1\nlogs:\n%s", c.what, n, r.allLogs())
		}
	}
	// Slack has no idempotency key for chat.postMessage: the one window.
	if n := replies("C3", lost); n < 1 || n > 2 {
		t.Errorf("killed after the answer was lost: %d replies, want 1 or 2", n)
	} else {
		t.Logf("killed after Slack's answer was lost: %d replies (the documented double-post window)", n)
	}
}

// crashDiscord is crashSlack on Discord, where the nonce keeps every
// message to one reply.
func crashDiscord(t *testing.T, bin string) {
	dfake := discordtest.NewServer(t, discordtest.Options{})
	// Discord's answer to a message create can be lost after Discord made
	// the message: the bot sends again, and the nonce must keep that from
	// making a second message.
	front, loseNext := losingProxy(t, dfake.URL, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages")
	})
	r := newCrashRig(t, bin, "GPTACCESS_DISCORD_API_URL="+front, "DISCORD_BOT_TOKEN="+dfake.Token)
	handshakes := 0
	start := func() func() {
		kill := r.start()
		handshakes++
		dfake.WaitHandshakes(t, handshakes)
		dfake.Await(t, "connected", dfake.Connected)
		return kill
	}
	alice := discordtest.User{ID: "1300000000000000001", Name: "alice"}
	say := func(text string) string {
		return dfake.SendMessage(discordtest.Message{Author: alice, Content: dfake.Mention() + " " + text})
	}
	replies := func(id string) int {
		n := 0
		for _, m := range dfake.BotMessages(dfake.ChannelID) {
			if m.MessageReference != nil && m.MessageReference.MessageID == id {
				n++
			}
		}
		return n
	}
	waitReplies := func(id string) {
		t.Helper()
		dfake.Await(t, "a reply to "+id, func() bool { return replies(id) >= 1 })
	}

	kill := start()
	r.slow.Store(true)
	received := say("status")
	r.waitSeen()
	kill()
	r.slow.Store(false)

	kill = start()
	r.logs[1].Wait(t, "resuming pending deliveries", 10*time.Second)
	waitReplies(received)
	dfake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Times: 1, RetryAfter: 2 * time.Second})
	limited := say("what is error 1020?")
	dfake.Await(t, "the 429", func() bool {
		for _, c := range dfake.Calls(discordtest.RouteCreateMessage) {
			if c.Status == http.StatusTooManyRequests {
				return true
			}
		}
		return false
	})
	kill()

	kill = start()
	waitReplies(limited)
	loseNext.Store(true)
	lost := say("what is error 1020?")
	waitReplies(lost) // made, though the bot did not hear so
	kill()            // during the backoff before its second try

	start()
	sync := say("what is error 1020?")
	waitReplies(sync)
	time.Sleep(1500 * time.Millisecond) // room for a second reply, if one were coming
	for _, c := range []struct{ id, what string }{
		{received, "killed before the reply"},
		{limited, "killed during the 429 wait"},
		{lost, "killed after the answer was lost"},
	} {
		if n := replies(c.id); n != 1 {
			t.Errorf("%s: %d replies, want exactly 1\nlogs:\n%s", c.what, n, r.allLogs())
		}
	}
}
