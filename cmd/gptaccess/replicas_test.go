package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/postgres/pgtest"
)

// TestThreeReplicasOnPostgres runs three `gptaccess run` processes on one
// PostgreSQL database in Slack HTTP mode, with events spread over them as
// a load balancer would, retries landing on another replica than the
// first delivery. Every message gets exactly one reply; exactly one
// replica leads (/readyz, gptaccess_leader), and when it stops another
// leads within 30 seconds. The database password never reaches a log.
func TestThreeReplicasOnPostgres(t *testing.T) {
	const password = "Zq7-not-for-logs-4411"
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	// The local server trusts every connection, so the password is only
	// carried, as a real one would be, and must stay out of every log.
	u.User = url.UserPassword(u.User.Username(), password)

	fake := slacktest.New(t, slacktest.Config{})
	var bots []*runningBot
	for range 3 {
		addr := freeAddr(t)
		bots = append(bots, startBot(t, env(t,
			"GPTACCESS_DATABASE_URL", u.String(),
			"GPTACCESS_HTTP_LISTEN", addr,
			"GPTACCESS_MONITOR_ENABLED", "false",
			"GPTACCESS_SLACK_API_URL", fake.APIURL(),
			"SLACK_BOT_TOKEN", fake.Config().BotToken,
			"SLACK_SIGNING_SECRET", fake.Config().SigningSecret,
		), addr))
	}
	for _, b := range bots {
		b.waitReady(t)
	}
	lead := awaitOneLeader(t, bots, 10*time.Second)
	if len(lead) != 1 {
		t.Fatalf("replicas leading: %v, want exactly one", lead)
	}
	for i, b := range bots {
		_, scrape := b.get(t, "/metrics")
		want := "gptaccess_leader 0"
		if i == lead[0] {
			want = "gptaccess_leader 1"
		}
		if !strings.Contains(scrape, want) {
			t.Errorf("replica %d: /metrics lacks %q", i, want)
		}
	}

	const n = 30
	deliverAndRetry(t, fake, bots, n)
	fake.WaitPosts(t, n, 20*time.Second)
	time.Sleep(500 * time.Millisecond) // a duplicate would come now
	perMessage := map[string]int{}
	for _, p := range fake.Posts() {
		perMessage[p.Form.Get("channel")+" "+p.Form.Get("thread_ts")]++
	}
	if len(fake.Posts()) != n || len(perMessage) != n {
		t.Errorf("%d replies to %d distinct messages, want %d and %d", len(fake.Posts()), len(perMessage), n, n)
	}

	// The leader stops; another leads within 30 seconds.
	stopped := time.Now()
	bots[lead[0]].stop(t)
	var rest []*runningBot
	for i, b := range bots {
		if i != lead[0] {
			rest = append(rest, b)
		}
	}
	if next := awaitOneLeader(t, rest, 30*time.Second); len(next) != 1 {
		t.Fatalf("after the leader stopped, replicas leading: %v, want exactly one", next)
	}
	t.Logf("another replica led %s after the leader stopped", time.Since(stopped).Round(100*time.Millisecond))

	for i, b := range bots {
		if strings.Contains(b.logs.String(), password) {
			t.Errorf("replica %d logged the database password", i)
		}
		if !strings.Contains(b.logs.String(), "lease") {
			t.Errorf("replica %d says nothing about the lease:\n%s", i, b.logs)
		}
	}
}

// awaitOneLeader polls the replicas' /readyz for up to within, until
// exactly one says it leads, and returns the indexes (in bs) of those
// that lead at the end.
func awaitOneLeader(t *testing.T, bs []*runningBot, within time.Duration) []int {
	t.Helper()
	var lead []int
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lead = lead[:0]
		for i, b := range bs {
			_, body := b.get(t, "/readyz")
			if strings.Contains(body, `"leader":true`) {
				lead = append(lead, i)
			}
		}
		if len(lead) == 1 {
			break
		}
	}
	return lead
}

// deliverAndRetry sends n messages from 10 users in 5 channels, each
// delivered to one replica and retried (as Slack does after a slow
// answer) to the next.
func deliverAndRetry(t *testing.T, fake *slacktest.Server, bots []*runningBot, n int) {
	t.Helper()
	for i := range n {
		say := slacktest.Say{Channel: fmt.Sprintf("C%d", i%5), User: fmt.Sprintf("U%d", i%10), Text: fmt.Sprintf("<@UBOT> what causes error 1020? (%d)", i)}
		for _, e := range fake.UserMessage(say) {
			if d := fake.PostEvent(t, "http://"+bots[i%3].addr+"/slack/events", e); d.Status != http.StatusOK {
				t.Errorf("event %d: %d", i, d.Status)
			}
			if d := fake.PostEvent(t, "http://"+bots[(i+1)%3].addr+"/slack/events", e, slacktest.WithRetry(1, "http_timeout")); d.Status != http.StatusOK {
				t.Errorf("retry of event %d: %d", i, d.Status)
			}
		}
	}
}
