package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
)

// recorder is a fake Notifier that keeps what it was asked to send and
// fails as told.
type recorder struct {
	platform string
	// fail, when set, decides the error for the attempt-th call (from 1)
	// of a notice in a channel.
	fail func(channel string, n monitor.Notice, attempt int) error

	mu       sync.Mutex
	sent     []sent
	attempts map[string]int
}

// sent is one delivered notice.
type sent struct {
	Channel string
	Notice  monitor.Notice
	Ref     string
}

func (r *recorder) Platform() string { return r.platform }

func (r *recorder) Notify(_ context.Context, channel string, n monitor.Notice) (string, error) {
	r.mu.Lock()
	if r.attempts == nil {
		r.attempts = map[string]int{}
	}
	key := channel + "/" + n.Incident + "/" + string(n.Phase) + "/" + n.Title
	r.attempts[key]++
	attempt := r.attempts[key]
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(channel, n, attempt); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	inChannel := 1
	for _, s := range r.sent {
		if s.Channel == channel {
			inChannel++
		}
	}
	// Like a Slack ts: unique within the channel.
	ref := fmt.Sprintf("%s-msg-%d", channel, inChannel)
	r.sent = append(r.sent, sent{channel, n, ref})
	return ref, nil
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.sent...)
}

func (r *recorder) totalAttempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.attempts {
		n += a
	}
	return n
}

// script plays verdicts per target, one per round; the last repeats.
type script struct {
	mu       sync.Mutex
	verdicts map[string][]cloudflare.Verdict
	official map[string][]string // status target: indicators
	canary   []bool
	round    map[string]int
	canaryN  int
}

func (s *script) probe(t monitor.Target) monitor.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.round == nil {
		s.round = map[string]int{}
	}
	i := s.round[t.Name]
	s.round[t.Name]++
	if ind, ok := s.official[t.Name]; ok {
		return monitor.Result{Verdict: cloudflare.Up, Status: 200, Detail: "official status: " + at(ind, i),
			Official: &monitor.Official{Indicator: at(ind, i), Description: "described"}}
	}
	v := at(s.verdicts[t.Name], i)
	r := monitor.Result{Verdict: v, Status: 200, Latency: 80 * time.Millisecond, Detail: string(v)}
	switch v {
	case cloudflare.Blocked1020:
		r.Status, r.Code, r.RayID, r.DataCenter, r.Detail = 403, 1020, "8a1b2c3d4e5f6789", "FRA", "Cloudflare error 1020: access denied by a firewall rule"
	case cloudflare.Unreachable:
		r.Status, r.Latency, r.Detail = 0, 0, "connection refused"
	case cloudflare.OriginError:
		r.Status = 503
	}
	return r
}

func (s *script) canaryOK() monitor.Canary {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := len(s.canary) == 0 || at(s.canary, s.canaryN)
	s.canaryN++
	return monitor.Canary{OK: ok, Target: "192.0.2.1:53", Detail: "connection refused"}
}

func at[T any](xs []T, i int) T {
	return xs[min(i, len(xs)-1)]
}

const (
	up   = cloudflare.Up
	b20  = cloudflare.Blocked1020
	down = cloudflare.OriginError
	unr  = cloudflare.Unreachable
	odd  = cloudflare.Unexpected
)

// rig is a Monitor over scripted probes with a recording notifier; it is
// made inside a synctest bubble.
type rig struct {
	m   *monitor.Monitor
	rec *recorder
	s   *script
	ctx context.Context
}

func newRig(t *testing.T, s *script, store monitor.Store, rec *recorder, opts ...func(*monitor.Options)) *rig {
	t.Helper()
	var targets []monitor.Target
	for _, name := range []string{"api", "web", "status"} {
		if _, ok := s.verdicts[name]; ok {
			targets = append(targets, monitor.Target{Name: name, Kind: monitor.TargetWeb, URL: "http://" + name + ".test/"})
		}
		if _, ok := s.official[name]; ok {
			targets = append(targets, monitor.Target{Name: name, Kind: monitor.TargetStatus, URL: "http://" + name + ".test/"})
		}
	}
	if rec == nil {
		rec = &recorder{platform: "slack"}
	}
	o := monitor.Options{
		Targets: targets, Timezone: "UTC", Store: store,
		Channels:  map[string][]string{"slack": {"C-ALERTS"}},
		Notifiers: []monitor.Notifier{rec},
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := monitor.New(o)
	if err != nil {
		t.Fatal(err)
	}
	monitor.SetProbes(m, s.probe, s.canaryOK)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(func() { cancel(); monitor.WaitDeliveries(m) })
	return &rig{m, rec, s, ctx}
}

// ticks runs n scheduled checks five minutes apart and lets the
// deliveries finish.
func (r *rig) ticks(n int) {
	for range n {
		monitor.Tick(r.ctx, r.m)
		synctest.Wait()
		time.Sleep(5 * time.Minute)
	}
}

// summary is a sent notice in brief, for comparing.
type summary struct {
	Channel string
	Phase   monitor.Phase
	Kind    monitor.Kind
	Targets string
	Thread  string
}

func summarise(ss []sent) []summary {
	var out []summary
	for _, s := range ss {
		out = append(out, summary{s.Channel, s.Notice.Phase, s.Notice.Kind, strings.Join(s.Notice.Targets, ","), s.Notice.Thread})
	}
	return out
}

func TestThresholdsAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {up, b20, b20, b20, b20, up, up, up}}}
		r := newRig(t, s, nil, nil)
		start := time.Now()

		r.ticks(3) // up, then two bad: below the threshold
		if got := r.rec.all(); len(got) != 0 {
			t.Fatalf("after 2 bad results: sent %v", summarise(got))
		}
		r.ticks(1) // third bad in a row: alert
		r.ticks(2) // still bad, then one good: nothing new
		r.ticks(1) // second good: resolved
		r.ticks(1)

		got := r.rec.all()
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindBlocked, "web", ""},
			{"C-ALERTS", monitor.PhaseResolved, monitor.KindBlocked, "web", "C-ALERTS-msg-1"},
		}
		if diff := cmp.Diff(want, summarise(got)); diff != "" {
			t.Fatalf("notices (-want +got):\n%s", diff)
		}
		opened, resolved := got[0].Notice, got[1].Notice
		// The incident started with the first bad result (round 2) and
		// ended with the second good one (round 7).
		if want := start.Add(5 * time.Minute); !opened.Started.Equal(want) {
			t.Errorf("started %v, want %v", opened.Started, want)
		}
		if resolved.Duration != 25*time.Minute {
			t.Errorf("duration %v, want 25m", resolved.Duration)
		}
		for _, want := range []string{"ChatGPT is blocked from our network", "contact IT", "Ray ID 8a1b2c3d4e5f6789", "data centre FRA", "mobile data"} {
			if !strings.Contains(strings.ToLower(opened.Text), strings.ToLower(want)) {
				t.Errorf("opening text lacks %q:\n%s", want, opened.Text)
			}
		}
		if !strings.Contains(resolved.Text, "for 25m") {
			t.Errorf("recovery text lacks the duration:\n%s", resolved.Text)
		}
	})
}

func TestFlappingRaisesNoAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, up, down, down, odd, down, down, up, down}}}
		r := newRig(t, s, nil, nil)
		r.ticks(10)
		if got := r.rec.all(); len(got) != 0 {
			t.Errorf("flapping target sent %v", summarise(got))
		}
	})
}

func TestReminders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down}}}
		r := newRig(t, s, nil, nil, func(o *monitor.Options) { o.ReminderInterval = 30 * time.Minute })
		// Opens at round 3 (minute 10); reminders at minutes 40 and 70.
		r.ticks(16)
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindDown, "api", ""},
			{"C-ALERTS", monitor.PhaseReminder, monitor.KindDown, "api", "C-ALERTS-msg-1"},
			{"C-ALERTS", monitor.PhaseReminder, monitor.KindDown, "api", "C-ALERTS-msg-1"},
		}
		if diff := cmp.Diff(want, summarise(r.rec.all())); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
		if got := r.rec.all(); len(got) == 3 && !strings.Contains(got[1].Notice.Text, "for 40m") {
			t.Errorf("reminder text lacks how long:\n%s", got[1].Notice.Text)
		}
	})
}

// TestGroupedAlert: two targets failing in the same round give one notice
// per channel naming both, not one per target; the run-time subscriber
// gets it too.
func TestGroupedAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{
			"api": {down, down, down, up, up},
			"web": {unr, unr, unr, unr, unr, up, up},
		}}
		r := newRig(t, s, nil, nil, func(o *monitor.Options) {
			o.Subscribers = subscribers{"slack": {"C-SUBSCRIBED", "C-ALERTS"}}
		})
		r.ticks(8)
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindDown, "api,web", ""},
			{"C-SUBSCRIBED", monitor.PhaseOpened, monitor.KindDown, "api,web", ""},
			// api recovers first: an update in the thread, still open.
			{"C-ALERTS", monitor.PhaseUpdate, monitor.KindDown, "api,web", "C-ALERTS-msg-1"},
			{"C-SUBSCRIBED", monitor.PhaseUpdate, monitor.KindDown, "api,web", "C-SUBSCRIBED-msg-1"},
			{"C-ALERTS", monitor.PhaseResolved, monitor.KindDown, "api,web", "C-ALERTS-msg-1"},
			{"C-SUBSCRIBED", monitor.PhaseResolved, monitor.KindDown, "api,web", "C-SUBSCRIBED-msg-1"},
		}
		got := r.rec.all()
		// Channels deliver independently; compare in a stable order.
		sortSent(got)
		if diff := cmp.Diff(want, summarise(got)); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
		if len(got) > 0 && !(strings.Contains(got[0].Notice.Text, "- api:") && strings.Contains(got[0].Notice.Text, "- web:")) {
			t.Errorf("grouped notice does not name both:\n%s", got[0].Notice.Text)
		}
	})
}

// TestLaterTargetJoinsIncident: a target failing after an incident of its
// kind opened joins it as an update in the same thread.
func TestLaterTargetJoinsIncident(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{
			"api": {down},
			"web": {up, up, down},
		}}
		r := newRig(t, s, nil, nil)
		r.ticks(6)
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindDown, "api", ""},
			{"C-ALERTS", monitor.PhaseUpdate, monitor.KindDown, "api,web", "C-ALERTS-msg-1"},
		}
		if diff := cmp.Diff(want, summarise(r.rec.all())); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
	})
}

type subscribers map[string][]string

func (s subscribers) Subscribers(_ context.Context, platform string) ([]string, error) {
	return s[platform], nil
}

func sortSent(ss []sent) {
	order := map[monitor.Phase]int{monitor.PhaseOpened: 0, monitor.PhaseUpdate: 1, monitor.PhaseReminder: 2, monitor.PhaseResolved: 3}
	// Stable insertion sort by phase, then channel: deliveries to one
	// channel are ordered, across channels they interleave.
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0; j-- {
			a, b := ss[j-1], ss[j]
			if order[a.Notice.Phase] < order[b.Notice.Phase] || order[a.Notice.Phase] == order[b.Notice.Phase] && a.Channel <= b.Channel {
				break
			}
			ss[j-1], ss[j] = b, a
		}
	}
}

// TestCanaryDownNoOutageAlert: unreachable while our own network is down
// is not an outage; the results are marked, and nothing is sent.
func TestCanaryDownNoOutageAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {unr}}, canary: []bool{false}}
		store := monitor.NewMemStore()
		r := newRig(t, s, store, nil)
		r.ticks(6)
		if got := r.rec.all(); len(got) != 0 {
			t.Errorf("sent %v while offline", summarise(got))
		}
		rs, err := store.LatestResults(t.Context(), "api", 1)
		if err != nil || len(rs) != 1 {
			t.Fatalf("latest results: %v, %v", rs, err)
		}
		if !rs[0].Offline || !strings.Contains(rs[0].Detail, "canary failed") {
			t.Errorf("result not marked offline: %+v", rs[0])
		}
		rep, err := r.m.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Down || !strings.Contains(rep.Text, "offline") {
			t.Errorf("status while offline: %+v", rep)
		}
	})
}

// TestOfficialMajorAlertsAtOnce: OpenAI's own major incident needs no
// confirmation rounds; minor is no alert.
func TestOfficialMajorAlertsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{official: map[string][]string{"status": {"minor", "major", "major", "none", "none"}}}
		r := newRig(t, s, nil, nil)
		r.ticks(5)
		want := []summary{
			{"C-ALERTS", monitor.PhaseOpened, monitor.KindDown, "status", ""},
			{"C-ALERTS", monitor.PhaseResolved, monitor.KindDown, "status", "C-ALERTS-msg-1"},
		}
		if diff := cmp.Diff(want, summarise(r.rec.all())); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
	})
}

// TestAddNotifier: a platform added after the monitor was built (cmd
// builds the adapters after the bot, which asks the monitor) gets the
// alerts from then on; a nil one is refused.
func TestAddNotifier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, down, up, up}}}
		late := &recorder{platform: "discord"}
		r := newRig(t, s, nil, nil, func(o *monitor.Options) { o.Channels["discord"] = []string{"D-ALERTS"} })
		if err := r.m.AddNotifier(nil); err == nil {
			t.Error("AddNotifier(nil) succeeded")
		}
		if err := r.m.AddNotifier(late); err != nil {
			t.Fatal(err)
		}
		r.ticks(5)
		want := []summary{
			{"D-ALERTS", monitor.PhaseOpened, monitor.KindDown, "api", ""},
			{"D-ALERTS", monitor.PhaseResolved, monitor.KindDown, "api", "D-ALERTS-msg-1"},
		}
		if diff := cmp.Diff(want, summarise(late.all())); diff != "" {
			t.Errorf("notices to the added platform (-want +got):\n%s", diff)
		}
		if got := len(r.rec.all()); got != 2 {
			t.Errorf("the platform given to New got %d notices, want 2", got)
		}
	})
}

// TestFailedSendNotRetried: the monitor calls Notify once per notice and
// channel; the platforms that can fail for a while post through an
// outbox, which retries.
func TestFailedSendNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down}}}
		rec := &recorder{platform: "slack", fail: func(string, monitor.Notice, int) error { return errors.New("503 from Slack") }}
		r := newRig(t, s, nil, rec)
		r.ticks(3)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := rec.totalAttempts(); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
}

// TestFailedOpeningThenRecovery: an opening notice that failed leaves the
// recovery to be posted on its own (no thread to go under), once.
func TestFailedOpeningThenRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down, down, down, up, up}}}
		rec := &recorder{platform: "slack", fail: func(_ string, n monitor.Notice, _ int) error {
			if n.Phase == monitor.PhaseOpened {
				return errors.New("timeout")
			}
			return nil
		}}
		r := newRig(t, s, nil, rec)
		r.ticks(5)
		want := []summary{
			{"C-ALERTS", monitor.PhaseResolved, monitor.KindDown, "api", ""},
		}
		if diff := cmp.Diff(want, summarise(rec.all())); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
		if got := rec.totalAttempts(); got != 2 {
			t.Errorf("attempts = %d, want 1 for the opening + 1 for the recovery", got)
		}
	})
}

func TestPermanentFailureNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down}}}
		rec := &recorder{platform: "slack", fail: func(string, monitor.Notice, int) error {
			return fmt.Errorf("channel_not_found: %w", monitor.ErrPermanent)
		}}
		r := newRig(t, s, nil, rec)
		r.ticks(3)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got := rec.totalAttempts(); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
}

// TestSlowChannelDoesNotBlockChecks: a notifier that hangs holds up
// neither the checks nor another channel.
func TestSlowChannelDoesNotBlockChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"api": {down}}}
		rec := &recorder{platform: "slack", fail: func(channel string, _ monitor.Notice, _ int) error {
			if channel == "C-SLOW" {
				time.Sleep(time.Hour) // a send that hangs, ignoring its context
			}
			return nil
		}}
		r := newRig(t, s, nil, rec, func(o *monitor.Options) {
			o.Channels = map[string][]string{"slack": {"C-SLOW", "C-ALERTS"}}
		})
		// The checks return although C-SLOW's send hangs for an hour (this
		// test would deadlock otherwise).
		start := time.Now()
		for range 3 {
			monitor.Tick(r.ctx, r.m)
			time.Sleep(5 * time.Minute)
		}
		synctest.Wait()
		if el := time.Since(start); el != 15*time.Minute {
			t.Errorf("three checks took %v, want 15m", el)
		}
		if got := summarise(r.rec.all()); len(got) != 1 || got[0].Channel != "C-ALERTS" {
			t.Errorf("sent %v, want the fast channel's notice", got)
		}
	})
}

// TestRunSchedulesChecks drives the real cron scheduler on synctest's
// clock: a first check at once, then every five minutes, an alert at the
// third bad one, and a clean stop.
func TestRunSchedulesChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {b20}}}
		rec := &recorder{platform: "slack"}
		m, err := monitor.New(monitor.Options{
			Targets:  []monitor.Target{{Name: "web", Kind: monitor.TargetWeb, URL: "http://web.test/"}},
			Schedule: "@every 5m", Timezone: "UTC",
			Channels: map[string][]string{"slack": {"C1"}}, Notifiers: []monitor.Notifier{rec},
		})
		if err != nil {
			t.Fatal(err)
		}
		monitor.SetProbes(m, s.probe, nil)
		if !m.NextCheck().IsZero() {
			t.Error("NextCheck before Run is not zero")
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()

		time.Sleep(time.Second)
		synctest.Wait()
		if got, want := m.NextCheck(), time.Now().Add(5*time.Minute-time.Second); !got.Equal(want) {
			t.Errorf("NextCheck = %v, want %v", got, want)
		}
		time.Sleep(10 * time.Minute) // checks at 0, 5 and 10 minutes
		synctest.Wait()
		if got := summarise(rec.all()); len(got) != 1 || got[0].Phase != monitor.PhaseOpened {
			t.Errorf("after three checks: %v", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if !m.NextCheck().IsZero() {
			t.Error("NextCheck after Run is not zero")
		}
	})
}

// TestRunRecoversFromPanic: a panicking probe is logged, not fatal.
func TestRunRecoversFromPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := monitor.New(monitor.Options{
			Targets: []monitor.Target{{Name: "web", Kind: monitor.TargetWeb, URL: "http://web.test/"}}, Timezone: "UTC",
		})
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		monitor.SetProbes(m, func(monitor.Target) monitor.Result { calls++; panic("boom") }, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(11 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if calls != 3 {
			t.Errorf("probe ran %d times, want 3", calls)
		}
	})
}

func TestDigest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{
			"api": {down, down, down, up, up, up, up, up, up, up},
			"web": {up},
		}}
		r := newRig(t, s, nil, nil)
		r.ticks(10)
		n, err := monitor.DigestNotice(t.Context(), r.m)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"ChatGPT reachability, last 24 hours",
			"- api: 70% available (7 of 10 checks), latency p50 80 ms, p95 80 ms",
			"- web: 100% available (10 of 10 checks)",
			// Over, so in the past, as its recovery and the status page say it.
			"ChatGPT was down: 00:00 UTC – 00:20 UTC, 20m (api)",
		} {
			if !strings.Contains(n.Text, want) {
				t.Errorf("digest lacks %q:\n%s", want, n.Text)
			}
		}
		if n.Phase != monitor.PhaseDigest || n.Incident != "" {
			t.Errorf("digest notice %+v", n)
		}
	})
}

// TestRunSendsDigest: the digest spec posts the summary through the same
// channels.
func TestRunSendsDigest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{verdicts: map[string][]cloudflare.Verdict{"web": {up}}}
		rec := &recorder{platform: "discord"}
		m, err := monitor.New(monitor.Options{
			Targets:  []monitor.Target{{Name: "web", Kind: monitor.TargetWeb, URL: "http://web.test/"}},
			Schedule: "@every 1h", Digest: "0 9 * * 1-5", Timezone: "UTC",
			Channels: map[string][]string{"discord": {"123"}}, Notifiers: []monitor.Notifier{rec},
		})
		if err != nil {
			t.Fatal(err)
		}
		monitor.SetProbes(m, s.probe, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		// The bubble starts on Saturday 2000-01-01; the first weekday 09:00
		// is Monday, 2 days 9 hours later.
		time.Sleep(57*time.Hour + time.Minute)
		synctest.Wait()
		cancel()
		<-done
		got := rec.all()
		if len(got) != 1 || got[0].Notice.Phase != monitor.PhaseDigest || !strings.Contains(got[0].Notice.Text, "- web: 100% available (") {
			t.Errorf("digest notices: %+v", got)
		}
	})
}

// TestRunSkipsOverlappingChecks: a check slower than the interval makes
// the schedule skip ticks rather than run checks on top of each other.
func TestRunSkipsOverlappingChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := monitor.New(monitor.Options{
			Targets: []monitor.Target{{Name: "web", Kind: monitor.TargetWeb, URL: "http://web.test/"}}, Timezone: "UTC",
		})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var starts []time.Duration
		begin := time.Now()
		monitor.SetProbes(m, func(monitor.Target) monitor.Result {
			mu.Lock()
			starts = append(starts, time.Since(begin))
			mu.Unlock()
			time.Sleep(7 * time.Minute) // slower than the 5-minute schedule
			return monitor.Result{Verdict: cloudflare.Up}
		}, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(21 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		// At once; the tick at 5 is skipped (still running), 10 runs, 15 is
		// skipped, 20 runs.
		want := []time.Duration{0, 10 * time.Minute, 20 * time.Minute}
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("check starts (-want +got):\n%s", diff)
		}
	})
}
