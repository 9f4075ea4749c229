package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/cloudflare"
	"gptaccess/delivery"
	"gptaccess/metrics"
	"gptaccess/monitor"
)

// scripted is a bot handler that answers from a list, in order.
type scripted struct {
	replies []bot.Reply
	err     error
}

func (s *scripted) Handle(_ context.Context, _ bot.Message) (bot.Reply, error) {
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, s.err
}

func compare(t *testing.T, m *metrics.Metrics, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func TestWrapHandlerCounts(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	fixed := func(id, cause string) bot.Reply {
		return bot.Reply{Entry: "fix-vpn", Confidence: 1, Question: &bot.Question{ID: id, Fact: "fixed", Choices: []string{"yes", "no"}},
			Diagnosis: &bot.Diagnosis{Cause: cause, Steps: []string{"fix-vpn"}}}
	}
	h := m.WrapHandler(&scripted{replies: []bot.Reply{
		{Entry: "what-is", Confidence: 0.9},
		{Ignore: true},
		{Entry: "no-such-entry"},
		fixed("c1:2", "vpn-proxy"),
		fixed("c1:2", "vpn-proxy"),
		{Entry: "fix-support", Confidence: 1, Handover: &bot.Handover{Summary: "s"}, Diagnosis: &bot.Diagnosis{Cause: "vpn-proxy"}},
		fixed("d1:1", "martian"),
	}})
	msgs := []bot.Message{
		{Platform: bot.Slack, Channel: "C1", Text: "what is 1020", Mention: true},
		{Platform: bot.Slack, Channel: "C1", Text: "lunch?"},
		{Platform: "irc", Channel: "x", Text: "??"},
		{Platform: bot.Discord, Channel: "D1", Text: "1020 on vpn"},
		{Platform: bot.Discord, Channel: "D1", Text: "hmm"},
		{Platform: bot.Discord, Channel: "D1", Text: "no"},
		{Platform: bot.Console, Channel: "tty", Text: "1020"},
	}
	for _, msg := range msgs {
		if _, err := h.Handle(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	compare(t, m, `
# HELP gptaccess_messages_received_total Messages (and button clicks) handed to the bot, by platform.
# TYPE gptaccess_messages_received_total counter
gptaccess_messages_received_total{platform="console"} 1
gptaccess_messages_received_total{platform="discord"} 3
gptaccess_messages_received_total{platform="other"} 1
gptaccess_messages_received_total{platform="slack"} 2
# HELP gptaccess_replies_sent_total Replies the bot gave the adapters to send (ignored messages excluded), by platform.
# TYPE gptaccess_replies_sent_total counter
gptaccess_replies_sent_total{platform="console"} 1
gptaccess_replies_sent_total{platform="discord"} 3
gptaccess_replies_sent_total{platform="other"} 1
gptaccess_replies_sent_total{platform="slack"} 1
# HELP gptaccess_handovers_total Diagnoses handed over to a human supporter.
# TYPE gptaccess_handovers_total counter
gptaccess_handovers_total 1
`, "gptaccess_messages_received_total", "gptaccess_replies_sent_total", "gptaccess_handovers_total")

	for entry, want := range map[string]float64{"what-is": 1, "other": 1, "fix-vpn": 3, "fix-support": 1, "none": 0, "help": 0} {
		if got := testutil.ToFloat64(metrics.AnswersCounter(m, entry)); got != want {
			t.Errorf("answers_total{entry=%q} = %v, want %v", entry, got, want)
		}
	}
	// Replies that carry a diagnosis are no conclusion in themselves: the
	// bot says when it concludes (TestObserverCounts).
	if got := counterValue(t, m, "gptaccess_diagnoses_total", "cause", "vpn-proxy"); got != 0 {
		t.Errorf(`diagnoses_total{cause="vpn-proxy"} = %v from replies alone, want 0`, got)
	}
	if got := histogramCount(t, m, "gptaccess_answer_duration_seconds", "platform", "discord"); got != 3 {
		t.Errorf("answer_duration_seconds{platform=discord} count = %v, want 3", got)
	}
}

func TestWrapHandlerCountsErrors(t *testing.T) {
	m := metrics.New()
	h := m.WrapHandler(&scripted{replies: []bot.Reply{{Entry: "none", Text: "sorry"}}, err: errors.New("db down")})
	if _, err := h.Handle(context.Background(), bot.Message{Platform: bot.Slack, Text: "hi", Mention: true}); err == nil {
		t.Fatal("the error was swallowed")
	}
	compare(t, m, `
# HELP gptaccess_handle_errors_total Messages whose handling failed (the user got an apology), by platform.
# TYPE gptaccess_handle_errors_total counter
gptaccess_handle_errors_total{platform="slack"} 1
# HELP gptaccess_replies_sent_total Replies the bot gave the adapters to send (ignored messages excluded), by platform.
# TYPE gptaccess_replies_sent_total counter
gptaccess_replies_sent_total{platform="slack"} 1
`, "gptaccess_handle_errors_total", "gptaccess_replies_sent_total")
}

// TestObserverCounts: what the bot reports as concluded and answered is
// counted by cause (unknown causes as "other") and by answer.
func TestObserverCounts(t *testing.T) {
	m := metrics.New()
	var o bot.Observer = m
	o.Diagnosed("vpn-proxy")
	o.Diagnosed("martian")
	o.Feedback("no")
	o.Feedback("maybe") // not an answer the metric knows
	for cause, want := range map[string]float64{"vpn-proxy": 1, "other": 1, "server": 0} {
		if got := counterValue(t, m, "gptaccess_diagnoses_total", "cause", cause); got != want {
			t.Errorf("diagnoses_total{cause=%q} = %v, want %v", cause, got, want)
		}
	}
	for outcome, want := range map[string]float64{"yes": 0, "no": 1} {
		if got := counterValue(t, m, "gptaccess_diagnosis_feedback_total", "outcome", outcome); got != want {
			t.Errorf("feedback{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
}

// TestFeedbackFromRealEngine drives the real bot through diagnoses that
// end in "yes", in "no" (moving on, then handing over), and in a
// cancellation, and checks what the bot tells the metrics.
func TestFeedbackFromRealEngine(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	e := bottest.Engine(t, bot.Options{Observer: m})
	h := m.WrapHandler(e)
	say := func(channel, text string) bot.Reply {
		t.Helper()
		r, err := h.Handle(ctx, bot.Message{Platform: bot.Console, Channel: channel, User: "u", Text: text, DM: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	click := func(channel string, q *bot.Question, choice string) bot.Reply {
		t.Helper()
		r, err := h.Handle(ctx, bot.Message{Platform: bot.Console, Channel: channel, User: "u", DM: true,
			Answer: &bot.Answer{Question: q.ID, Choice: choice}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// answerUntilConcluded answers every diagnosis question with ans
	// until the bot asks "Did this fix it?".
	answerUntilConcluded := func(channel string, r bot.Reply, ans string) bot.Reply {
		t.Helper()
		for i := 0; r.Question != nil && r.Question.Fact != "fixed"; i++ {
			if i > 20 {
				t.Fatalf("no conclusion after 20 answers: %+v", r)
			}
			r = say(channel, ans)
		}
		if r.Question == nil || r.Diagnosis == nil {
			t.Fatalf("expected a conclusion, got %+v", r)
		}
		return r
	}

	// 1: I'm on a VPN → vpn-proxy → typed "yes".
	r := answerUntilConcluded("a", say("a", "I get error 1020 on ChatGPT and I'm using a VPN"), "yes")
	first := r.Diagnosis.Cause
	say("a", "sorry?") // not an answer: the question is asked again
	if r := say("a", "yes"); r.Question != nil {
		t.Fatalf("after yes: %+v", r)
	}

	// 2: concluded at once (vpn-proxy), clicked "no", so the bot moves on
	// to the next cause; "no" again until it hands over.
	r = say("b", "error 1020, I'm on a VPN and it works in a private window")
	diagnosed := 1
	for i := 0; r.Handover == nil; i++ {
		if i > 50 {
			t.Fatalf("no hand-over after 50 answers: %+v", r)
		}
		if r.Question == nil {
			t.Fatalf("neither question nor hand-over: %+v", r)
		}
		wasFixed := r.Question.Fact == "fixed"
		if wasFixed {
			r = click("b", r.Question, "no")
		} else {
			r = click("b", r.Question, r.Question.Choices[0])
		}
		if r.Question != nil && r.Question.Fact == "fixed" {
			diagnosed++
		}
	}
	if diagnosed < 2 {
		t.Fatalf("channel b: %d conclusions; the test needs the bot to move on to a second cause", diagnosed)
	}
	noes := float64(diagnosed) // every conclusion in channel b was answered no
	t.Logf("channel b: %d conclusions, each answered no, then a hand-over", diagnosed)

	// 3: concluded, then cancelled: no feedback.
	answerUntilConcluded("c", say("c", "error 1020 and I'm on a vpn"), "yes")
	say("c", "cancel")

	if got := counterValue(t, m, "gptaccess_diagnosis_feedback_total", "outcome", "yes"); got != 1 {
		t.Errorf(`feedback{outcome="yes"} = %v, want 1`, got)
	}
	if got := counterValue(t, m, "gptaccess_diagnosis_feedback_total", "outcome", "no"); got != noes {
		t.Errorf(`feedback{outcome="no"} = %v, want %v`, got, noes)
	}
	if got := counterValue(t, m, "gptaccess_diagnoses_total", "cause", first); got < 2 {
		t.Errorf("diagnoses_total{cause=%q} = %v, want at least 2 (channels a and c)", first, got)
	}
	total := 0.0
	for _, c := range []string{"vpn-proxy", "server", "ip-block", "network", "extensions", "browser-cache", "credentials", "policy", "unknown", "other"} {
		total += counterValue(t, m, "gptaccess_diagnoses_total", "cause", c)
	}
	if want := float64(2 + diagnosed); total != want {
		t.Errorf("diagnoses_total = %v in all, want %v", total, want)
	}
	if got := counterValue(t, m, "gptaccess_handovers_total", "", ""); got != 1 {
		t.Errorf("handovers_total = %v, want 1", got)
	}
}

// fakeStore is a monitor.Store that keeps what the decorator passes on.
type fakeStore struct {
	monitor.Store // nil: other methods are not called
	recorded      []monitor.Result
	states        []monitor.TargetState
	err           error
}

func (s *fakeStore) RecordResults(_ context.Context, rs []monitor.Result) error {
	s.recorded = append(s.recorded, rs...)
	return s.err
}

func (s *fakeStore) SaveAlertState(_ context.Context, states []monitor.TargetState, _ []monitor.Incident, _ ...delivery.Outbound) error {
	if s.err != nil {
		return s.err
	}
	s.states = states
	return nil
}

func (s *fakeStore) AlertState(context.Context) ([]monitor.TargetState, error) {
	return s.states, s.err
}

func TestWrapStore(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	fake := &fakeStore{states: []monitor.TargetState{{Target: "api", Incident: "down-1"}, {Target: "web", Incident: "down-1"}}}
	s := m.WrapStore(fake)
	if _, err := s.AlertState(ctx); err != nil { // what the monitor reads at start
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.OpenIncidentsGauge(m)); got != 1 {
		t.Errorf("open_incidents after AlertState = %v, want 1", got)
	}

	round := func(api, web cloudflare.Verdict, latency time.Duration) []monitor.Result {
		return []monitor.Result{
			{Target: "api", Verdict: api, Latency: latency},
			{Target: "web", Verdict: web, Latency: 2 * latency},
		}
	}
	for _, rs := range [][]monitor.Result{
		round(cloudflare.Up, cloudflare.Blocked1020, 125*time.Millisecond),
		round(cloudflare.Up, cloudflare.Blocked1020, 250*time.Millisecond),
		round(cloudflare.OriginDown, cloudflare.Verdict("brand-new"), 0),
	} {
		if err := s.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.recorded) != 6 {
		t.Errorf("the store got %d results, want 6", len(fake.recorded))
	}
	compare(t, m, `
# HELP gptaccess_probe_results_total Probe results by target and verdict.
# TYPE gptaccess_probe_results_total counter
gptaccess_probe_results_total{target="api",verdict="origin-down"} 1
gptaccess_probe_results_total{target="api",verdict="up"} 2
gptaccess_probe_results_total{target="web",verdict="blocked-1020"} 2
gptaccess_probe_results_total{target="web",verdict="other"} 1
# HELP gptaccess_probe_duration_seconds Probe latency by target (until the answer, or until the probe failed).
# TYPE gptaccess_probe_duration_seconds histogram
gptaccess_probe_duration_seconds_bucket{target="api",le="0.05"} 0
gptaccess_probe_duration_seconds_bucket{target="api",le="0.1"} 0
gptaccess_probe_duration_seconds_bucket{target="api",le="0.25"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="0.5"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="1"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="2.5"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="5"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="10"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="30"} 2
gptaccess_probe_duration_seconds_bucket{target="api",le="+Inf"} 2
gptaccess_probe_duration_seconds_sum{target="api"} 0.375
gptaccess_probe_duration_seconds_count{target="api"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="0.05"} 0
gptaccess_probe_duration_seconds_bucket{target="web",le="0.1"} 0
gptaccess_probe_duration_seconds_bucket{target="web",le="0.25"} 1
gptaccess_probe_duration_seconds_bucket{target="web",le="0.5"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="1"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="2.5"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="5"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="10"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="30"} 2
gptaccess_probe_duration_seconds_bucket{target="web",le="+Inf"} 2
gptaccess_probe_duration_seconds_sum{target="web"} 0.75
gptaccess_probe_duration_seconds_count{target="web"} 2
`, "gptaccess_probe_results_total", "gptaccess_probe_duration_seconds")

	states := []monitor.TargetState{
		{Target: "api", Incident: "down-1"},
		{Target: "web", Incident: "blocked-2"},
		{Target: "status"},
	}
	if err := s.SaveAlertState(ctx, states, nil); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.OpenIncidentsGauge(m)); got != 2 {
		t.Errorf("open_incidents = %v, want 2", got)
	}
	// A failed save leaves the gauge at what was last saved.
	fake.err = errors.New("disk full")
	if err := s.SaveAlertState(ctx, []monitor.TargetState{{Target: "api"}}, nil); err == nil {
		t.Fatal("the store's error was swallowed")
	}
	if got := testutil.ToFloat64(metrics.OpenIncidentsGauge(m)); got != 2 {
		t.Errorf("open_incidents after a failed save = %v, want 2", got)
	}
	// Results are counted even when they cannot be stored.
	if err := s.RecordResults(ctx, round(cloudflare.Up, cloudflare.Up, time.Millisecond)); err == nil {
		t.Fatal("the store's error was swallowed")
	}
	if got := counterValue(t, m, "gptaccess_probe_results_total", "verdict", "up"); got != 4 {
		t.Errorf(`probe_results_total{verdict="up"} (all targets) = %v, want 4`, got)
	}
}

type fakeNotifier struct {
	platform string
	err      error
}

func (n fakeNotifier) Platform() string { return n.platform }
func (n fakeNotifier) Notify(context.Context, string, monitor.Notice) (string, error) {
	return "ref", n.err
}

func TestWrapNotifier(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	slack := m.WrapNotifier(fakeNotifier{platform: bot.Slack})
	discord := m.WrapNotifier(fakeNotifier{platform: bot.Discord, err: errors.New("50001 missing access")})
	for range 3 {
		if ref, err := slack.Notify(ctx, "C1", monitor.Notice{}); err != nil || ref != "ref" {
			t.Fatalf("slack: %q, %v", ref, err)
		}
	}
	if _, err := discord.Notify(ctx, "1", monitor.Notice{}); err == nil {
		t.Fatal("discord: the error was swallowed")
	}
	if slack.Platform() != bot.Slack {
		t.Errorf("Platform() = %q", slack.Platform())
	}
	compare(t, m, `
# HELP gptaccess_alerts_sent_total Alert notices delivered, by platform.
# TYPE gptaccess_alerts_sent_total counter
gptaccess_alerts_sent_total{platform="slack"} 3
# HELP gptaccess_alerts_failed_total Alert notice deliveries that failed (each attempt), by platform.
# TYPE gptaccess_alerts_failed_total counter
gptaccess_alerts_failed_total{platform="discord"} 1
`, "gptaccess_alerts_sent_total", "gptaccess_alerts_failed_total")
}

// TestAlertAttemptsThroughTheOutbox: an alert posted by the delivery core
// (the Slack and Discord notices) is counted per attempt there; other
// outbound calls are not alerts.
func TestAlertAttemptsThroughTheOutbox(t *testing.T) {
	m := metrics.New()
	m.Attempted(bot.Slack, delivery.KindNotice, false)
	m.Attempted(bot.Slack, delivery.KindNotice, true)
	m.Attempted(bot.Discord, delivery.KindNotice, true)
	m.Attempted(bot.Slack, delivery.KindReply, true)
	m.Attempted(bot.Slack, delivery.KindHandover, false)
	compare(t, m, `
# HELP gptaccess_alerts_sent_total Alert notices delivered, by platform.
# TYPE gptaccess_alerts_sent_total counter
gptaccess_alerts_sent_total{platform="discord"} 1
gptaccess_alerts_sent_total{platform="slack"} 1
# HELP gptaccess_alerts_failed_total Alert notice deliveries that failed (each attempt), by platform.
# TYPE gptaccess_alerts_failed_total counter
gptaccess_alerts_failed_total{platform="slack"} 1
`, "gptaccess_alerts_sent_total", "gptaccess_alerts_failed_total")
}

func TestDeliveryCounters(t *testing.T) {
	m := metrics.New()
	m.Duplicate(bot.Slack)
	m.Duplicate(bot.Slack)
	m.Duplicate(bot.Discord)
	m.Duplicate("telegram")
	m.Stale(bot.Discord)
	m.Undelivered(bot.Slack, "reply")
	m.Undelivered(bot.Slack, "notice")
	m.Undelivered(bot.Slack, "mystery")
	compare(t, m, `
# HELP gptaccess_duplicate_deliveries_total Platform deliveries dropped as already processed (retries, duplicates), by platform.
# TYPE gptaccess_duplicate_deliveries_total counter
gptaccess_duplicate_deliveries_total{platform="discord"} 1
gptaccess_duplicate_deliveries_total{platform="other"} 1
gptaccess_duplicate_deliveries_total{platform="slack"} 2
# HELP gptaccess_stale_deliveries_total Deliveries left pending (by a restart or a backlog) until older than bot.pending_freshness, dropped unanswered, by platform.
# TYPE gptaccess_stale_deliveries_total counter
gptaccess_stale_deliveries_total{platform="discord"} 1
# HELP gptaccess_undelivered_total Outbound calls (replies, hand-overs, notices) that failed for good, by platform and kind.
# TYPE gptaccess_undelivered_total counter
gptaccess_undelivered_total{kind="notice",platform="slack"} 1
gptaccess_undelivered_total{kind="other",platform="slack"} 1
gptaccess_undelivered_total{kind="reply",platform="slack"} 1
`, "gptaccess_duplicate_deliveries_total", "gptaccess_stale_deliveries_total", "gptaccess_undelivered_total")
}

func TestAdapterCounters(t *testing.T) {
	m := metrics.New()
	m.Reconnect(bot.Slack)
	m.Reconnect(bot.Slack)
	m.Reconnect(bot.Discord)
	m.RateLimitWait(bot.Discord, 1500*time.Millisecond)
	m.RateLimitWait(bot.Discord, 500*time.Millisecond)
	m.RateLimitWait("telegram", time.Second)
	compare(t, m, `
# HELP gptaccess_platform_reconnects_total Reconnections of a platform connection (Socket Mode, gateway), by platform.
# TYPE gptaccess_platform_reconnects_total counter
gptaccess_platform_reconnects_total{platform="discord"} 1
gptaccess_platform_reconnects_total{platform="slack"} 2
# HELP gptaccess_rate_limit_waits_total Times a platform's rate limit made the bot wait, by platform.
# TYPE gptaccess_rate_limit_waits_total counter
gptaccess_rate_limit_waits_total{platform="discord"} 2
gptaccess_rate_limit_waits_total{platform="other"} 1
# HELP gptaccess_rate_limit_wait_seconds_total Time spent waiting on platform rate limits, by platform.
# TYPE gptaccess_rate_limit_wait_seconds_total counter
gptaccess_rate_limit_wait_seconds_total{platform="discord"} 2
gptaccess_rate_limit_wait_seconds_total{platform="other"} 1
`, "gptaccess_platform_reconnects_total", "gptaccess_rate_limit_waits_total", "gptaccess_rate_limit_wait_seconds_total")
}

// TestHandlerScrape scrapes /metrics over HTTP and finds every gptaccess
// metric, the Go and process collectors, and valid exposition format.
func TestHandlerScrape(t *testing.T) {
	m := metrics.New()
	// Touch the vectors without pre-initialised series.
	m.WrapHandler(&scripted{replies: []bot.Reply{{Entry: "help"}}}).Handle(context.Background(), bot.Message{Platform: bot.Slack})
	s := m.WrapStore(&fakeStore{})
	s.RecordResults(context.Background(), []monitor.Result{{Target: "api", Verdict: cloudflare.Up, Latency: time.Millisecond}})
	m.WrapNotifier(fakeNotifier{platform: bot.Slack}).Notify(context.Background(), "C", monitor.Notice{})
	m.WrapNotifier(fakeNotifier{platform: bot.Slack, err: errors.New("x")}).Notify(context.Background(), "C", monitor.Notice{})
	m.Duplicate(bot.Slack)
	m.Stale(bot.Slack)
	m.Undelivered(bot.Slack, "reply")
	m.Reconnect(bot.Slack)
	m.RateLimitWait(bot.Slack, time.Second)
	m.WrapHandler(&scripted{replies: []bot.Reply{{}}, err: errors.New("x")}).Handle(context.Background(), bot.Message{Platform: bot.Slack})

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, name := range []string{
		"gptaccess_messages_received_total", "gptaccess_replies_sent_total", "gptaccess_handle_errors_total",
		"gptaccess_answer_duration_seconds_bucket", "gptaccess_answers_total", "gptaccess_diagnoses_total",
		"gptaccess_handovers_total", "gptaccess_diagnosis_feedback_total",
		"gptaccess_probe_results_total", "gptaccess_probe_duration_seconds_bucket", "gptaccess_open_incidents",
		"gptaccess_alerts_sent_total", "gptaccess_alerts_failed_total", "gptaccess_duplicate_deliveries_total",
		"gptaccess_platform_reconnects_total", "gptaccess_rate_limit_waits_total", "gptaccess_rate_limit_wait_seconds_total",
		"go_goroutines", "go_gc_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
		"promhttp_metric_handler_requests_total",
	} {
		if !strings.Contains(string(body), "\n"+name) {
			t.Errorf("scrape lacks %s", name)
		}
	}
	// The linter that Prometheus itself applies: naming, units, help.
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gptaccess_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// counterValue sums the samples of a counter family whose label has the
// given value (every sample when label is "").
func counterValue(t *testing.T, m *metrics.Metrics, name, label, value string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label == "" || hasLabel(s.GetLabel(), label, value) {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func histogramCount(t *testing.T, m *metrics.Metrics, name, label, value string) uint64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if hasLabel(s.GetLabel(), label, value) {
				return s.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func hasLabel(pairs []*dto.LabelPair, name, value string) bool {
	for _, p := range pairs {
		if p.GetName() == name && p.GetValue() == value {
			return true
		}
	}
	return false
}

// echo concludes a diagnosis for every message: a "Did this fix it?"
// question per conversation, told to obs as the bot does.
type echo struct{ obs bot.Observer }

func (e echo) Handle(_ context.Context, m bot.Message) (bot.Reply, error) {
	e.obs.Diagnosed("vpn-proxy")
	return bot.Reply{Entry: "fix-vpn", Question: &bot.Question{ID: m.Channel + ":1", Fact: "fixed"},
		Diagnosis: &bot.Diagnosis{Cause: "vpn-proxy"}}, nil
}

// TestWrapHandlerConcurrent is for the race detector: adapters call the
// handler from many goroutines.
func TestWrapHandlerConcurrent(t *testing.T) {
	m := metrics.New()
	h := m.WrapHandler(echo{obs: m})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				h.Handle(context.Background(), bot.Message{Platform: bot.Slack, Channel: fmt.Sprintf("C%d-%d", g, i)})
			}
		})
	}
	wg.Wait()
	if got := counterValue(t, m, "gptaccess_diagnoses_total", "cause", "vpn-proxy"); got != 400 {
		t.Errorf("diagnoses = %v, want 400", got)
	}
}

// TestBlockedNetworkVerdictLabel: our own network's block is a verdict of
// its own on the dashboard, not "other".
func TestBlockedNetworkVerdictLabel(t *testing.T) {
	m := metrics.New()
	s := m.WrapStore(&fakeStore{})
	if err := s.RecordResults(context.Background(), []monitor.Result{{Target: "web", Verdict: cloudflare.BlockedNetwork}}); err != nil {
		t.Fatal(err)
	}
	if got := counterValue(t, m, "gptaccess_probe_results_total", "verdict", "blocked-network"); got != 1 {
		t.Errorf(`probe_results_total{verdict="blocked-network"} = %v, want 1`, got)
	}
}
