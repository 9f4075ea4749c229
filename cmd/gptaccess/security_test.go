package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/adapters/slack/slacktest"
	"gptaccess/config"
)

// bothPlatforms starts the bot against a fake Slack (Socket Mode) and a
// fake Discord (whose REST goes through api, when not nil), logging at
// debug level so that everything any component says is checked.
func bothPlatforms(t *testing.T, sfake *slacktest.Server, dfake *discordtest.Server, discordURL, db string) (*runningBot, func(string) string) {
	t.Helper()
	addr := freeAddr(t)
	getenv := env(t,
		"GPTACCESS_DB", db,
		"GPTACCESS_HTTP_LISTEN", addr,
		"GPTACCESS_LOG_LEVEL", "debug",
		"GPTACCESS_SLACK_API_URL", sfake.APIURL(),
		"SLACK_BOT_TOKEN", sfake.Config().BotToken,
		"SLACK_APP_TOKEN", sfake.Config().AppToken,
		"GPTACCESS_DISCORD_API_URL", discordURL,
		"DISCORD_BOT_TOKEN", dfake.Token,
	)
	b := startBot(t, getenv, addr)
	b.waitReady(t)
	return b, getenv
}

// TestPrivacyOnBothPlatforms: someone DMs the bot an e-mail address and a
// password (on Slack also with `/gptaccess ask`, and in group DMs, one
// with a "C…" id);
// someone else asks for `stats` in a channel. Nothing of the DM
// appears in any channel, reply, log line or the database; the stats
// answer is private to its asker and holds aggregates only; the operator's
// CLI shows a redacted sample of a channel question, never the DM.
func TestPrivacyOnBothPlatforms(t *testing.T) {
	sfake := slacktest.New(t, slacktest.Config{})
	dfake := discordtest.NewServer(t, discordtest.Options{})
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	b, getenv := bothPlatforms(t, sfake, dfake, dfake.URL, db)

	const dm = "my zebraprinter jams, mail ana.lopez@example.com, password is Tr0ub4dor&3"
	private := []string{"zebraprinter", "ana.lopez", "example.com", "Tr0ub4dor"}
	const public = "my printer jams, mail me at bo@example.org, password is Sw0rdf1sh!"
	privacySlack(t, sfake, dm, public)
	privacyDiscord(t, dfake, dm, public)
	b.stop(t)

	for _, s := range everythingSeen(t, sfake, dfake, b.logs.String(), db) {
		for _, p := range private {
			if strings.Contains(s, p) {
				t.Errorf("%q of the DM leaked into %.300s", p, s)
			}
		}
	}

	// The operator's CLI: the channel question, redacted; not the DM.
	out, _, err := runCmd(t, getenv, "", "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(private, "bo@example.org", "Sw0rdf1sh") {
		if strings.Contains(out, p) {
			t.Errorf("stats CLI shows %q:\n%s", p, out)
		}
	}
	if !strings.Contains(out, `"my printer jams, mail me at [email], password is [secret]" × 2`) {
		t.Errorf("stats CLI lacks the redacted channel question:\n%s", out)
	}

	// And the person can be forgotten.
	out, _, err = runCmd(t, getenv, "", "forget", "--user", "slack:U3")
	if err != nil || !strings.Contains(out, "1 unanswered message(s)") {
		t.Errorf("forget: %q, %v", out, err)
	}
}

// privacySlack is TestPrivacyOnBothPlatforms on Slack: the DM, the same
// as `/gptaccess ask` in the DM and as a mention in a group DM, then a
// channel question, then stats from someone else, answered to them alone.
func privacySlack(t *testing.T, sfake *slacktest.Server, dm, public string) {
	t.Helper()
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "D0DM", ChannelType: "im", User: "U1", Text: dm}) {
		sfake.Deliver(e)
	}
	sfake.WaitPosts(t, 1, 10*time.Second) // the DM's answer
	// The question's first word is private: the log must not name it as
	// the subcommand.
	sfake.DeliverSlashCommand(sfake.SlashCommand("D0DM", "U1", "", "ask "+strings.TrimPrefix(dm, "my ")))
	sfake.WaitResponses(t, 1, 10*time.Second)
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "G0GROUP", ChannelType: "mpim", User: "U1", Text: "<@UBOT> " + dm}) {
		sfake.Deliver(e)
	}
	sfake.WaitPosts(t, 2, 10*time.Second)
	group := sfake.SlashCommand("C0GROUP", "U1", "", "ask "+dm)
	group.Set("channel_name", "mpdm-u1--u4--u5-1")
	sfake.DeliverSlashCommand(group)
	sfake.WaitResponses(t, 2, 10*time.Second)
	// A group DM of a modern workspace has a "C…" id, and the app, not
	// subscribed to message.mpim, gets only the app_mention, which has no
	// channel_type: only Slack (conversations.info) can tell.
	sfake.AddConversation(slacktest.Conversation{ID: "C0MPIM", Type: slacktest.TypeMPIM})
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "C0MPIM", User: "U1", Text: "<@UBOT> " + dm}) {
		if e.Inner["type"] == "app_mention" {
			sfake.Deliver(e)
		}
	}
	sfake.WaitPosts(t, 3, 10*time.Second)
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "C1", User: "U3", Text: "<@UBOT> " + public}) {
		sfake.Deliver(e)
	}
	sfake.WaitPosts(t, 4, 10*time.Second)
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "C1", User: "U2", Text: "<@UBOT> stats"}) {
		sfake.Deliver(e)
	}
	eph := sfake.WaitCalls(t, "chat.postEphemeral", 1, 10*time.Second)[0]
	if eph.User != "U2" || eph.Channel != "C1" || !strings.Contains(strings.ReplaceAll(eph.Text, "*", ""), "could not answer: 6") {
		t.Errorf("Slack stats: %+v, want an ephemeral count for U2 in C1", eph)
	}
}

// privacyDiscord is TestPrivacyOnBothPlatforms on Discord: the DM, a
// channel question, then stats from someone else, sent to their DMs.
func privacyDiscord(t *testing.T, dfake *discordtest.Server, dm, public string) {
	t.Helper()
	bob := discordtest.User{ID: "1300000000000000002", Name: "bob"}
	carol := discordtest.User{ID: "1300000000000000003", Name: "carol"}
	alice := discordtest.User{ID: "1300000000000000001", Name: "alice"}
	dfake.SendMessage(discordtest.Message{DM: true, Author: alice, Content: dm})
	dfake.Await(t, "the DM's answer", func() bool { return len(dfake.BotMessages(dfake.DMChannel(alice.ID))) == 1 })
	dfake.SendMessage(discordtest.Message{Author: carol, Content: dfake.Mention() + " " + public})
	dfake.Await(t, "the channel answer", func() bool { return len(dfake.BotMessages(dfake.ChannelID)) == 1 })
	dfake.SendMessage(discordtest.Message{Author: bob, Content: dfake.Mention() + " stats"})
	bobDM := dfake.DMChannel(bob.ID)
	dfake.Await(t, "stats in bob's DMs", func() bool { return len(dfake.BotMessages(bobDM)) == 1 })
	if got := dfake.BotMessages(bobDM)[0].Content; !strings.Contains(strings.ReplaceAll(got, "*", ""), "could not answer: 8") {
		t.Errorf("Discord stats: %q", got)
	}
	if n := len(dfake.BotMessages(dfake.ChannelID)); n != 1 {
		t.Errorf("%d bot messages in the Discord channel, want only the answer to carol", n)
	}
}

// everythingSeen is everything the bot sent to either platform, logged
// (logs) or stored in the database at db, one string per call or file.
func everythingSeen(t *testing.T, sfake *slacktest.Server, dfake *discordtest.Server, logs, db string) []string {
	t.Helper()
	var seen []string
	for _, c := range sfake.Calls("") {
		seen = append(seen, "slack "+c.Method+": "+c.Form.Encode())
	}
	for _, r := range sfake.Responses() {
		seen = append(seen, fmt.Sprintf("slack response_url: %+v", r))
	}
	for _, c := range dfake.Calls("") {
		seen = append(seen, "discord "+c.Route+": "+string(c.Body))
	}
	seen = append(seen, "log: "+logs)
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, "database file "+filepath.Base(f)+": "+string(data))
	}
	return seen
}

// dropWebhooks is a proxy in front of the fake Discord that hangs up on
// interaction webhook requests: the follow-up then fails with a transport
// error, whose text quotes the URL and its interaction token.
func dropWebhooks(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/webhooks/") {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// TestNoSecretInTheLog drives each adapter's failure paths (a response_url
// that cannot be reached, Slack API errors, Discord interaction follow-ups
// cut off, a REST call refused) and greps the log for every secret and
// token the run used.
func TestNoSecretInTheLog(t *testing.T) {
	sfake := slacktest.New(t, slacktest.Config{})
	dfake := discordtest.NewServer(t, discordtest.Options{})
	b, _ := bothPlatforms(t, sfake, dfake, dropWebhooks(t, dfake.URL), filepath.Join(t.TempDir(), "g.db"))

	// Slack: a slash command whose response_url is unreachable, then a
	// post that Slack refuses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA"
	go func() { // accept and hang up, like a dead proxy
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	form := sfake.SlashCommand("C1", "U1", "", "help")
	form.Set("response_url", dead)
	sfake.DeliverSlashCommand(form)
	b.logs.Wait(t, "outbox: call failed; will retry", 10*time.Second)
	sfake.Fail("chat.postMessage", "", "channel_not_found", 1)
	for _, e := range sfake.UserMessage(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> what is error 1020?"}) {
		sfake.Deliver(e)
	}
	sfake.WaitCalls(t, "chat.postMessage", 1, 10*time.Second)

	// A button whose action id holds a response_url: no adapter code
	// hides it, only the log's one scrubber can (TestTheLoggerScrubs).
	const foreign = "https://hooks.slack.com/actions/T0001/777/Qm4XrT8bVw2KpL9sZ3yN"
	sfake.DeliverInteraction([]byte(`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},` +
		`"container":{"type":"message","channel_id":"C1","message_ts":"1.1"},"message":{"ts":"1.1"},"trigger_id":"t-foreign",` +
		`"actions":[{"type":"button","action_id":"` + foreign + `","block_id":"b1","value":"x"}]}`))
	sfake.WaitCalls(t, "chat.postEphemeral", 1, 10*time.Second) // the note that the button is unusable

	// Discord: a public /gptaccess reply whose follow-up and edit are cut
	// off, and a message whose reply is refused.
	alice := discordtest.User{ID: "1300000000000000001", Name: "alice"}
	ix := dfake.SendCommand(discordtest.Command{User: alice, Sub: "subscribe"})
	b.logs.Wait(t, "reply not delivered", 10*time.Second)
	dfake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Times: 1, Code: 50013, Message: "Missing Permissions"})
	dfake.SendMessage(discordtest.Message{Author: alice, Content: dfake.Mention() + " what is error 1020?"})
	dfake.Await(t, "the refused reply", func() bool { return dfake.Count(discordtest.RouteCreateMessage) >= 1 })
	b.stop(t)

	logs := b.logs.String()
	cfg := sfake.Config()
	for name, secret := range map[string]string{
		"Slack bot token": cfg.BotToken, "Slack app token": cfg.AppToken,
		"response_url secret": "Zx9KqW3mPbT7vLs2NcY8dRfA", "response_url path": "/commands/T0001/4242",
		"Discord bot token": dfake.Token, "interaction token": ix.Token,
		"response_url in an action id": "Qm4XrT8bVw2KpL9sZ3yN",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
	for _, want := range []string{"outbox: call failed", "reply not delivered", "channel_not_found", "unknown action id"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q: the failure paths were not driven", want)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

// TestReadyzReflectsFailingWrites: while the database refuses writes (here
// another process holds its write lock), /readyz says so; ready again
// after.
func TestReadyzReflectsFailingWrites(t *testing.T) {
	sfake := slacktest.New(t, slacktest.Config{})
	db := filepath.Join(t.TempDir(), "g.db")
	addr := freeAddr(t)
	b := startBot(t, slackEnv(t, sfake, db, addr), addr)
	b.waitReady(t)

	other, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(100)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	// /readyz may give the answer of the last second's write (readyEvery)
	// before it checks again.
	var (
		code int
		body string
	)
	for deadline := time.Now().Add(readyEvery + 5*time.Second); ; {
		if code, body = b.get(t, "/readyz"); code != http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"database":"write check`) || !strings.Contains(body, "locked") {
		t.Errorf("/readyz while writes fail = %d %s, want 503 naming the database", code, body)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	b.waitReady(t)
}

// TestTheLoggerScrubs: the logger run builds removes the configured
// secrets verbatim and token-bearing URLs, in the message, attributes,
// errors and groups, in both formats. The adapters hide their own tokens
// before logging; this is the one place that catches what they miss
// (README, "Security and privacy").
func TestTheLoggerScrubs(t *testing.T) {
	const (
		signing  = "plain-words-secret" // no token shape: only the configured list knows it
		dbPass   = "Pl41n-Passw0rd"
		botToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
		respURL  = "https://hooks.slack.com/commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA"
		hookURL  = "https://discord.test/api/v10/webhooks/1234567890/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpz/messages/@original"
	)
	vars := map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": signing,
		"DISCORD_BOT_TOKEN":         botToken,
		"GPTACCESS_DATABASE_URL":    "postgres://gpt:" + dbPass + "@db.internal:5432/gpt",
		"GPTACCESS_MONITOR_ENABLED": "false",
	}
	for _, format := range []string{"text", "json"} {
		vars["GPTACCESS_LOG_FORMAT"] = format
		cfg, err := config.Parse(strings.NewReader(""), func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		log := newLogger(cfg, &buf, false).With("component", "test")
		log.Error("signature check with "+signing+" failed",
			"err", fmt.Errorf("post %s: %w", respURL, errors.New("connection reset")),
			slog.Group("discord", "url", hookURL, "auth", "Bot "+botToken),
			"dsn_password", dbPass)
		out := buf.String()
		for name, secret := range map[string]string{
			"signing secret": signing, "database password": dbPass, "Discord bot token": botToken,
			"response_url": "Zx9KqW3mPbT7vLs2NcY8dRfA", "webhook token": "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpz",
		} {
			if strings.Contains(out, secret) {
				t.Errorf("%s log holds the %s:\n%s", format, name, out)
			}
		}
		if !strings.Contains(out, "signature check with") || !strings.Contains(out, "connection reset") {
			t.Errorf("%s log lost the line itself:\n%s", format, out)
		}
	}
}
