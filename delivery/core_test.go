package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/delivery"
)

const waitFor = 5 * time.Second

// chat is a Platform over a pretend chat service: an inbound body is the
// bot.Message as JSON, an outbound body the text to post, and Send
// records posts per channel. fail decides an attempt's error by key.
type chat struct {
	mu    sync.Mutex
	posts map[string][]string // lane → texts, in order
	tries map[string]int      // key → attempts
	fail  func(key string, attempt int) error
	block map[string]chan struct{} // lane → Send waits for it
	cond  *sync.Cond
}

func newChat() *chat {
	c := &chat{posts: map[string][]string{}, tries: map[string]int{}, block: map[string]chan struct{}{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *chat) Name() string { return bot.Slack }

func (c *chat) Message(_ context.Context, in delivery.Inbound) (delivery.Turn, bool, error) {
	var m bot.Message
	if err := json.Unmarshal(in.Body, &m); err != nil {
		return delivery.Turn{}, false, err
	}
	if m.Text == "unusable button" {
		return delivery.Turn{Message: m, Reply: &bot.Reply{Text: "can't read that", Private: true}}, true, nil
	}
	return delivery.Turn{Message: m}, m.Text != "not for the bot", nil
}

func (c *chat) Plan(_ delivery.Inbound, m bot.Message, r bot.Reply) ([]delivery.Outbound, error) {
	if r.Ignore {
		return nil, nil
	}
	var out []delivery.Outbound
	for _, part := range strings.Split(r.Text, "|") {
		if r.Private {
			part = "(private) " + part
		}
		out = append(out, delivery.Outbound{Lane: m.Channel, Body: []byte(part)})
	}
	return out, nil
}

func (c *chat) Handover(_ delivery.Inbound, _ bot.Message, h bot.Handover, to delivery.Route) (delivery.Outbound, error) {
	text := fmt.Sprintf("@%s: %s (from %s, in place %v)", to.Mention, h.Summary, h.Channel, to.InPlace)
	return delivery.Outbound{Lane: to.Channel, Body: []byte(text)}, nil
}

func (c *chat) Send(_ context.Context, o delivery.Outbound) (string, error) {
	c.mu.Lock()
	b := c.block[o.Lane]
	c.mu.Unlock()
	if b != nil {
		<-b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries[o.Key]++
	if c.fail != nil {
		if err := c.fail(o.Key, c.tries[o.Key]); err != nil {
			return "", err
		}
	}
	text := string(o.Body)
	if o.ParentRef != "" {
		text += " [under " + o.ParentRef + "]"
	}
	c.posts[o.Lane] = append(c.posts[o.Lane], text)
	c.cond.Broadcast()
	return fmt.Sprintf("%s-%d", o.Lane, len(c.posts[o.Lane])), nil
}

// wait waits until lane has n posts and returns them.
func (c *chat) wait(t *testing.T, lane string, n int) []string {
	t.Helper()
	deadline := time.AfterFunc(waitFor, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer deadline.Stop()
	start := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.posts[lane]) < n {
		if time.Since(start) >= waitFor {
			t.Fatalf("lane %s: %d posts %q; want %d", lane, len(c.posts[lane]), c.posts[lane], n)
		}
		c.cond.Wait()
	}
	return slices.Clone(c.posts[lane])
}

func (c *chat) all(lane string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts[lane])
}

// echo answers "re: <text>", fails on "explode", hands over on "human"
// and keeps a conversation per key counting turns through its store.
type echo struct {
	store bot.Store
	calls sync.Map // text → count
}

func (e *echo) Handle(ctx context.Context, m bot.Message) (bot.Reply, error) {
	n, _ := e.calls.LoadOrStore(m.Text, new(int))
	*n.(*int)++
	switch m.Text {
	case "explode":
		return bot.Reply{Text: "half-done"}, errors.New("engine exploded")
	case "human":
		return bot.Reply{Text: "getting a human", Handover: &bot.Handover{Summary: "VPN: yes"}}, nil
	case "quiet":
		return bot.Reply{Ignore: true}, nil
	}
	if e.store != nil {
		c, _, err := e.store.Conversation(ctx, m.Key())
		if err != nil {
			return bot.Reply{}, err
		}
		c.Key = m.Key()
		c.Turn++
		if err := e.store.SaveConversation(ctx, &c); err != nil {
			return bot.Reply{}, err
		}
		return bot.Reply{Text: fmt.Sprintf("re: %s (turn %d)", m.Text, c.Turn)}, nil
	}
	return bot.Reply{Text: "re: " + m.Text}, nil
}

type counts struct {
	mu                                  sync.Mutex
	duplicates, stale, undelivered, rls int
	waits                               []time.Duration
}

func (o *counts) Duplicate(string) { o.mu.Lock(); o.duplicates++; o.mu.Unlock() }
func (o *counts) Stale(string)     { o.mu.Lock(); o.stale++; o.mu.Unlock() }
func (o *counts) RateLimitWait(_ string, d time.Duration) {
	o.mu.Lock()
	o.rls++
	o.waits = append(o.waits, d)
	o.mu.Unlock()
}
func (o *counts) Undelivered(string, string)     { o.mu.Lock(); o.undelivered++; o.mu.Unlock() }
func (o *counts) Reconnect(string)               {}
func (o *counts) Attempted(string, string, bool) {}
func (o *counts) get() counts {
	o.mu.Lock()
	defer o.mu.Unlock()
	return counts{duplicates: o.duplicates, stale: o.stale, undelivered: o.undelivered, rls: o.rls, waits: slices.Clone(o.waits)}
}

type rig struct {
	t     *testing.T
	store *delivery.Memory
	chat  *chat
	bot   *echo
	obs   *counts
	core  *delivery.Core
	stop  func()
	slept chan time.Duration
}

func newRig(t *testing.T, store *delivery.Memory, edit func(*delivery.Options)) *rig {
	t.Helper()
	if store == nil {
		store = delivery.NewMemory()
	}
	r := &rig{t: t, store: store, chat: newChat(), bot: &echo{store: delivery.Staging(store)}, obs: &counts{},
		slept: make(chan time.Duration, 100)}
	o := delivery.Options{Store: store, Handler: r.bot, Observer: r.obs,
		Support: map[string]delivery.Support{bot.Slack: {Channel: "CSUPPORT", Mention: "S1"}},
		Sleep: func(ctx context.Context, d time.Duration) bool {
			select {
			case r.slept <- d:
			default:
			}
			return ctx.Err() == nil
		},
	}
	if edit != nil {
		edit(&o)
	}
	c, err := delivery.New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.Register(r.chat)
	r.core = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	r.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitFor):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(r.stop)
	return r
}

func (r *rig) say(id, channel, text string) bool {
	r.t.Helper()
	m := bot.Message{Platform: bot.Slack, Channel: channel, Thread: "1.0", User: "U1", Text: text, Mention: true}
	body, _ := json.Marshal(m)
	added, err := r.core.Accept(context.Background(), delivery.Inbound{ID: "slack:" + id, Platform: bot.Slack, Lane: channel, Body: body})
	if err != nil {
		r.t.Fatal(err)
	}
	return added
}

func TestRepliesInOrderPerChannel(t *testing.T) {
	r := newRig(t, nil, nil)
	for i := range 5 {
		r.say(fmt.Sprint("a", i), "C1", fmt.Sprint("a", i))
		r.say(fmt.Sprint("b", i), "C2", fmt.Sprint("b", i))
	}
	got := r.chat.wait(t, "C1", 5)
	want := []string{"re: a0 (turn 1)", "re: a1 (turn 2)", "re: a2 (turn 3)", "re: a3 (turn 4)", "re: a4 (turn 5)"}
	if !slices.Equal(got, want) {
		t.Fatalf("C1 got %q; want %q", got, want)
	}
	if got := r.chat.wait(t, "C2", 5); got[4] != "re: b4 (turn 5)" {
		t.Fatalf("C2 got %q", got)
	}
}

func TestDuplicateAnsweredOnce(t *testing.T) {
	r := newRig(t, nil, nil)
	if !r.say("ev1", "C1", "hello") {
		t.Fatal("first delivery not added")
	}
	if r.say("ev1", "C1", "hello") {
		t.Fatal("redelivery added again")
	}
	r.chat.wait(t, "C1", 1)
	r.say("ev2", "C1", "sync")
	if got := r.chat.wait(t, "C1", 2); !slices.Equal(got, []string{"re: hello (turn 1)", "re: sync (turn 2)"}) {
		t.Fatalf("posts %q; want one reply to hello", got)
	}
	if n := r.obs.get().duplicates; n != 1 {
		t.Fatalf("duplicates observed = %d; want 1", n)
	}
}

func TestFailureApologisesAndKeepsState(t *testing.T) {
	r := newRig(t, nil, nil)
	r.say("ev1", "C1", "first")
	r.say("ev2", "C1", "explode")
	r.say("ev3", "C1", "second")
	got := r.chat.wait(t, "C1", 3)
	want := []string{"re: first (turn 1)", bot.Sorry, "re: second (turn 2)"}
	if !slices.Equal(got, want) {
		t.Fatalf("posts %q; want %q (the one apology, and the failed turn wrote nothing)", got, want)
	}
}

func TestIgnoredAndUntranslatable(t *testing.T) {
	r := newRig(t, nil, nil)
	r.say("ev1", "C1", "quiet")
	r.say("ev2", "C1", "not for the bot")
	r.say("ev3", "C1", "unusable button")
	r.say("ev4", "C1", "sync")
	got := r.chat.wait(t, "C1", 2)
	if want := []string{"(private) can't read that", "re: sync (turn 1)"}; !slices.Equal(got, want) {
		t.Fatalf("posts %q; want %q", got, want)
	}
}

func TestHandoverRouting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		support delivery.Support
		dm      bool
		lane    string
		want    string
	}{
		{"support channel", delivery.Support{Channel: "CSUPPORT", Mention: "S1"}, false, "CSUPPORT", "@S1: VPN: yes (from C1, in place false)"},
		{"in place", delivery.Support{Mention: "S1"}, false, "C1", "@S1: VPN: yes (from C1, in place true)"},
		{"not in a DM", delivery.Support{Mention: "S1"}, true, "", ""},
		{"nowhere", delivery.Support{}, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil, func(o *delivery.Options) { o.Support = map[string]delivery.Support{bot.Slack: tc.support} })
			m := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: "human", DM: tc.dm, Mention: !tc.dm}
			body, _ := json.Marshal(m)
			if _, err := r.core.Accept(context.Background(), delivery.Inbound{ID: "slack:h", Platform: bot.Slack, Lane: "C1", Body: body}); err != nil {
				t.Fatal(err)
			}
			if tc.lane == "C1" {
				if got := r.chat.wait(t, "C1", 2); got[1] != tc.want {
					t.Fatalf("posts %q; want the hand-over %q after the reply", got, tc.want)
				}
				return
			}
			r.chat.wait(t, "C1", 1)
			if tc.lane == "" {
				r.say("sync", "C1", "sync")
				r.chat.wait(t, "C1", 2)
				if got := r.chat.all("C1"); len(got) != 2 || r.chat.all("CSUPPORT") != nil {
					t.Fatalf("a hand-over was posted: C1 %q, support %q", got, r.chat.all("CSUPPORT"))
				}
				return
			}
			if got := r.chat.wait(t, tc.lane, 1); got[0] != tc.want {
				t.Fatalf("support got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRateLimitHoldsBackOnlyItsChannel(t *testing.T) {
	r := newRig(t, nil, nil)
	r.chat.fail = func(key string, attempt int) error {
		if key == "slack:a1#0" && attempt <= 2 {
			return delivery.RetryAfter(errors.New("429"), 3*time.Second)
		}
		return nil
	}
	release := make(chan struct{})
	r.chat.mu.Lock()
	r.chat.block["C1"] = release
	r.chat.mu.Unlock()
	r.say("a1", "C1", "a1")
	r.say("a2", "C1", "a2")
	r.say("b1", "C2", "b1")
	// C1 is stuck in its first call; C2 goes on.
	r.chat.wait(t, "C2", 1)
	close(release)
	got := r.chat.wait(t, "C1", 2)
	if want := []string{"re: a1 (turn 1)", "re: a2 (turn 2)"}; !slices.Equal(got, want) {
		t.Fatalf("C1 got %q; want %q in order after the waits", got, want)
	}
	c := r.obs.get()
	if c.rls != 2 || c.waits[0] != 3*time.Second {
		t.Fatalf("rate-limit waits %v; want two of 3s", c.waits)
	}
}

func TestTransientRetriesAreBounded(t *testing.T) {
	r := newRig(t, nil, func(o *delivery.Options) { o.MaxAttempts = 3 })
	r.chat.fail = func(key string, _ int) error {
		if key == "slack:a1#0" {
			return errors.New("connection reset")
		}
		return nil
	}
	r.say("a1", "C1", "a1")
	r.say("a2", "C1", "a2")
	got := r.chat.wait(t, "C1", 1)
	if got[0] != "re: a2 (turn 2)" {
		t.Fatalf("C1 got %q; want the second reply after the first was given up", got)
	}
	r.chat.mu.Lock()
	tries := r.chat.tries["slack:a1#0"]
	r.chat.mu.Unlock()
	if tries != 3 {
		t.Fatalf("first reply tried %d times; want 3", tries)
	}
	if n := r.obs.get().undelivered; n != 1 {
		t.Fatalf("undelivered = %d; want 1", n)
	}
}

// TestRateLimitsAndFailuresCountedApart: rate limits and transient
// failures have their own bounds (README, "Reliability"): after four 429s
// a network error is the call's first failure, retried after the first
// backoff (1 s), not its fifth, given up or waited 16 s for.
func TestRateLimitsAndFailuresCountedApart(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	r := newRig(t, nil, func(o *delivery.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) bool {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return ctx.Err() == nil
		}
	})
	r.chat.fail = func(key string, attempt int) error {
		switch {
		case key != "slack:a1#0":
			return nil
		case attempt <= 4:
			return delivery.RetryAfter(errors.New("429"), 2*time.Second)
		case attempt == 5:
			return errors.New("connection reset")
		}
		return nil
	}
	r.say("a1", "C1", "a1")
	got := r.chat.wait(t, "C1", 1)
	if got[0] != "re: a1 (turn 1)" {
		t.Fatalf("C1 got %q; want the reply, delivered on the sixth try", got)
	}
	if n := r.obs.get().undelivered; n != 0 {
		t.Fatalf("undelivered = %d; want 0", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 5 {
		t.Fatalf("waits %v; want four for the rate limit, one backoff", slept)
	}
	if b := slept[4]; b > time.Second || b < 500*time.Millisecond {
		t.Fatalf("backoff after the first transient failure = %v; want about 1s (waits %v)", b, slept)
	}
}

// TestNotYetIsNotAFailure: a call the platform cannot take yet is made
// again, however often, without using up the attempts of a failing call:
// the adapter bounds it.
func TestNotYetIsNotAFailure(t *testing.T) {
	r := newRig(t, nil, func(o *delivery.Options) { o.MaxAttempts = 2 })
	r.chat.fail = func(key string, attempt int) error {
		if key == "slack:a1#0" && attempt <= 6 {
			return delivery.NotYet(errors.New("unknown message"))
		}
		return nil
	}
	r.say("a1", "C1", "a1")
	if got := r.chat.wait(t, "C1", 1); got[0] != "re: a1 (turn 1)" {
		t.Fatalf("C1 got %q; want the reply on the seventh try", got)
	}
	if c := r.obs.get(); c.undelivered != 0 || c.rls != 0 {
		t.Fatalf("undelivered %d, rate-limit waits %d; want 0, 0", c.undelivered, c.rls)
	}
}

func TestPermanentFailureRecordedOnce(t *testing.T) {
	r := newRig(t, nil, nil)
	r.chat.fail = func(key string, _ int) error {
		if key == "slack:a1#0" {
			return delivery.Permanent(errors.New("channel_not_found"))
		}
		return nil
	}
	r.say("a1", "C1", "a1")
	r.say("a2", "C1", "a2")
	r.chat.wait(t, "C1", 1)
	r.chat.mu.Lock()
	tries := r.chat.tries["slack:a1#0"]
	r.chat.mu.Unlock()
	if tries != 1 || r.obs.get().undelivered != 1 {
		t.Fatalf("a permanent failure was tried %d times, recorded %d; want 1, 1", tries, r.obs.get().undelivered)
	}
}

func TestRestartProcessesFreshDropsStale(t *testing.T) {
	store := delivery.NewMemory()
	now := time.Now()
	put := func(id string, age time.Duration) {
		m := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: id, Mention: true}
		body, _ := json.Marshal(m)
		if _, err := store.Put(context.Background(), delivery.Inbound{ID: "slack:" + id, Platform: bot.Slack, Lane: "C1", Body: body, Received: now.Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	// Left pending by a run that crashed.
	put("stale", 11*time.Minute)
	put("fresh", 9*time.Minute)
	if err := store.Enqueue(context.Background(), []delivery.Outbound{{Key: "k", Platform: bot.Slack, Lane: "C2", Body: []byte("left over"), Kind: delivery.KindReply}}); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, store, nil)
	if got := r.chat.wait(t, "C1", 1); got[0] != "re: fresh (turn 1)" {
		t.Fatalf("C1 got %q; want only the fresh message answered", got)
	}
	if got := r.chat.wait(t, "C2", 1); got[0] != "left over" {
		t.Fatalf("C2 got %q; want the pending outbox item sent", got)
	}
	r.say("sync", "C1", "sync")
	r.chat.wait(t, "C1", 2)
	if n := r.obs.get().stale; n != 1 {
		t.Fatalf("stale = %d; want 1", n)
	}
	if _, ok := r.bot.calls.Load("stale"); ok {
		t.Fatal("the stale message was handed to the bot")
	}
}

func TestFreshnessIsConfigurable(t *testing.T) {
	store := delivery.NewMemory()
	m := bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: "old", Mention: true}
	body, _ := json.Marshal(m)
	_, _ = store.Put(context.Background(), delivery.Inbound{ID: "slack:old", Platform: bot.Slack, Lane: "C1", Body: body, Received: time.Now().Add(-11 * time.Minute)})
	r := newRig(t, store, func(o *delivery.Options) { o.Freshness = time.Hour })
	if got := r.chat.wait(t, "C1", 1); got[0] != "re: old (turn 1)" {
		t.Fatalf("got %q", got)
	}
}

func TestParentRef(t *testing.T) {
	r := newRig(t, nil, nil)
	err := r.core.Enqueue(context.Background(), []delivery.Outbound{
		{Key: "alert:1:opened", Platform: bot.Slack, Lane: "C1", Body: []byte("down")},
		{Key: "alert:1:resolved", Platform: bot.Slack, Lane: "C1", Body: []byte("up"), Parent: "alert:1:opened"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.chat.wait(t, "C1", 2); got[1] != "up [under C1-1]" {
		t.Fatalf("got %q; want the recovery threaded under the alert's ref", got)
	}
}

// conflicting is a bot.Store whose conversation another replica changes
// right after this one read it, once.
type conflicting struct {
	*delivery.Memory
	once sync.Once
}

func (c *conflicting) Conversation(ctx context.Context, key string) (bot.Conversation, bool, error) {
	conv, ok, err := c.Memory.Conversation(ctx, key)
	c.once.Do(func() {
		other := conv
		other.Key = key
		other.Turn = 10
		_ = c.Memory.SaveConversation(ctx, &other)
	})
	return conv, ok, err
}

func TestConflictAnswersFromNewerState(t *testing.T) {
	store := delivery.NewMemory()
	r := newRig(t, store, nil)
	r.bot.store = delivery.Staging(&conflicting{Memory: store})
	r.say("a1", "C1", "a1")
	if got := r.chat.wait(t, "C1", 1); got[0] != "re: a1 (turn 11)" {
		t.Fatalf("got %q; want the answer from the other replica's state (turn 10 + 1)", got)
	}
}

// notReady is a chat that cannot translate until ready is closed, like an
// adapter before it connected.
type notReady struct {
	*chat
	ready chan struct{}
	asked chan struct{} // a signal per refused attempt
}

func (n *notReady) Message(ctx context.Context, in delivery.Inbound) (delivery.Turn, bool, error) {
	select {
	case <-n.ready:
		return n.chat.Message(ctx, in)
	default:
		select {
		case n.asked <- struct{}{}:
		default:
		}
		return delivery.Turn{}, false, delivery.ErrNotReady
	}
}

func TestNotReadyKeepsItemsPending(t *testing.T) {
	store := delivery.NewMemory()
	c, err := delivery.New(delivery.Options{Store: store, Handler: &echo{}, Sleep: func(ctx context.Context, _ time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Millisecond):
			return true
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := &notReady{chat: newChat(), ready: make(chan struct{}), asked: make(chan struct{})}
	c.Register(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	body, _ := json.Marshal(bot.Message{Platform: bot.Slack, Channel: "C1", User: "U1", Text: "early", Mention: true})
	if _, err := c.Accept(ctx, delivery.Inbound{ID: "slack:early", Platform: bot.Slack, Lane: "C1", Body: body}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // asked, refused, asked again…
		<-p.asked
	}
	if got := p.all("C1"); len(got) != 0 {
		t.Fatalf("answered before the platform was ready: %q", got)
	}
	close(p.ready)
	if got := p.wait(t, "C1", 1); got[0] != "re: early" {
		t.Fatalf("got %q; want the early message answered once ready", got)
	}
}

func TestDeliverWaitsForTheOutcome(t *testing.T) {
	r := newRig(t, nil, nil)
	r.chat.fail = func(key string, _ int) error {
		if key == "gone" {
			return delivery.Permanent(errors.New("channel_not_found"))
		}
		return nil
	}
	ctx := context.Background()
	ref, err := r.core.Deliver(ctx, delivery.Outbound{Key: "alert", Platform: bot.Slack, Lane: "C1", Body: []byte("down")})
	if err != nil || ref != "C1-1" {
		t.Fatalf("Deliver = %q, %v; want the post's ref", ref, err)
	}
	// The same key again (the monitor retrying): no second post, same ref.
	ref, err = r.core.Deliver(ctx, delivery.Outbound{Key: "alert", Platform: bot.Slack, Lane: "C1", Body: []byte("down")})
	if err != nil || ref != "C1-1" || len(r.chat.all("C1")) != 1 {
		t.Fatalf("Deliver again = %q, %v, posts %q; want the first post's ref and no second post", ref, err, r.chat.all("C1"))
	}
	for range 2 {
		if _, err := r.core.Deliver(ctx, delivery.Outbound{Key: "gone", Platform: bot.Slack, Lane: "C9", Body: []byte("x")}); !delivery.IsPermanent(err) {
			t.Fatalf("Deliver to a gone channel = %v; want a permanent error", err)
		}
	}
	r.chat.mu.Lock()
	defer r.chat.mu.Unlock()
	if r.chat.tries["gone"] != 1 {
		t.Fatalf("a permanent failure was tried %d times; want 1", r.chat.tries["gone"])
	}
}

// failures records the reasons the store is given for failed items.
type failures struct {
	*delivery.Memory
	mu      sync.Mutex
	reasons []string
}

func (f *failures) Failed(ctx context.Context, seq int64, reason string) error {
	f.mu.Lock()
	f.reasons = append(f.reasons, reason)
	f.mu.Unlock()
	return f.Memory.Failed(ctx, seq, reason)
}

// TestFailureReasonIsScrubbed: the error kept with a failed outbox item
// holds no credential the platform's client quoted (a response_url, an
// interaction webhook), whatever its spelling.
func TestFailureReasonIsScrubbed(t *testing.T) {
	const (
		respURL = "https://hooks.slack.com/commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA"
		hook    = "discord.com/api/v10/webhooks/1100/aW50ZXJhY3Rpb246c2VjcmV0/messages/@original"
	)
	mem := delivery.NewMemory()
	store := &failures{Memory: mem}
	r := newRig(t, mem, func(o *delivery.Options) { o.Store = store })
	r.chat.fail = func(key string, _ int) error {
		if key == "slack:a1#0" {
			return delivery.Permanent(fmt.Errorf(`Post %q: EOF; then %s; body {"url":%q}`, respURL, hook, strings.ReplaceAll(respURL, "/", `\/`)))
		}
		return nil
	}
	r.say("a1", "C1", "a1")
	r.say("a2", "C1", "a2")
	r.chat.wait(t, "C1", 1)
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.reasons) != 1 {
		t.Fatalf("reasons %q, want one", store.reasons)
	}
	for _, secret := range []string{"Zx9KqW3mPbT7vLs2NcY8dRfA", "aW50ZXJhY3Rpb246c2VjcmV0"} {
		if strings.Contains(store.reasons[0], secret) {
			t.Errorf("the stored reason keeps %q: %s", secret, store.reasons[0])
		}
	}
	if !strings.Contains(store.reasons[0], "EOF") {
		t.Errorf("the stored reason lost what happened: %s", store.reasons[0])
	}
}
