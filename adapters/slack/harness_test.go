package slack

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/delivery"
	"gptaccess/delivery/deliverytest"
)

const waitFor = 5 * time.Second

// dialogHandler is a small stand-in for bot.Engine: it asks two choice
// questions and then concludes, answers commands, is confident about
// messages that mention 1020 and ignores small talk. Its state outlives
// adapters, like the engine's store.
//
// engine_test.go runs the same paths with the real bot.Engine.
type dialogHandler struct {
	mu    sync.Mutex
	got   []bot.Message
	convs map[string]*conversation
	n     int
	block chan struct{} // when set, Handle waits for it to close
	fail  bool          // when set, Handle returns an error
}

type conversation struct {
	id   string
	step int // questions answered
}

var dialog = []bot.Question{
	{Fact: "vpn", Text: "Are you connected through a VPN or proxy?", Choices: []string{"yes", "no", "not sure"}},
	{Fact: "private_window", Text: "Does ChatGPT load in a private window?", Choices: []string{"yes", "no", "not sure"}},
}

func newDialogHandler() *dialogHandler {
	return &dialogHandler{convs: map[string]*conversation{}}
}

func (h *dialogHandler) messages() []bot.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Message(nil), h.got...)
}

func (h *dialogHandler) Handle(ctx context.Context, m bot.Message) (bot.Reply, error) {
	h.mu.Lock()
	h.got = append(h.got, m)
	block, fail := h.block, h.fail
	h.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return bot.Reply{}, ctx.Err()
		}
	}
	if fail {
		return bot.Reply{}, fmt.Errorf("engine exploded")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := m.Key()
	c := h.convs[key]
	text := strings.ToLower(m.Text)
	switch {
	case text == "sync" && m.User == "USYNC":
		// harness.sync's sentinel: a reply no other message gets.
		return bot.Reply{Text: "sync ok"}, nil
	case m.Answer != nil:
		if c == nil || m.Answer.Question != h.questionID(c) {
			return bot.Reply{Text: "That question has expired. Mention me to start again.", Private: true}, nil
		}
		return h.advance(key, c), nil
	case m.Command:
		switch m.Text {
		case "help":
			return bot.Reply{Text: "**Commands**\n- `/gptaccess status`\n- `/gptaccess diagnose`"}, nil
		case "status":
			return bot.Reply{Text: "ChatGPT is **up** from here."}, nil
		case "diagnose":
			return h.start(key), nil
		case "subscribe":
			return bot.Reply{Text: "This channel now gets reachability alerts.", Public: true}, nil
		case "unsubscribe":
			return bot.Reply{Text: "No more alerts here.", Public: true}, nil
		case "stats":
			return bot.Reply{Text: "3 diagnoses, 2 resolved."}, nil
		}
		return bot.Reply{Text: "About that: " + m.Text}, nil
	case strings.Contains(text, "human") && (m.Mention || m.DM):
		return bot.Reply{Text: "I'll get a human.", Handover: &bot.Handover{Platform: m.Platform, Channel: m.Channel, Thread: m.Thread, User: m.User, Summary: "**VPN:** yes"}}, nil
	case m.Listen:
		if strings.Contains(text, "1020") {
			return bot.Reply{Text: "**Error 1020** means Cloudflare blocked your request.", Confidence: 0.9}, nil
		}
		return bot.Reply{Ignore: true}, nil
	case strings.Contains(text, "1020") && (m.Mention || m.DM):
		return h.start(key), nil
	case c != nil:
		for _, ch := range dialog[c.step].Choices {
			if text == ch {
				return h.advance(key, c), nil
			}
		}
		return bot.Reply{Text: "Please answer yes, no or not sure."}, nil
	case m.Mention || m.DM:
		return bot.Reply{Text: "Hi! Ask me about ChatGPT error 1020."}, nil
	}
	return bot.Reply{Ignore: true}, nil
}

func (h *dialogHandler) questionID(c *conversation) string {
	return fmt.Sprintf("%s:%s:%d", c.id, dialog[c.step].Fact, c.step+1)
}

func (h *dialogHandler) start(key string) bot.Reply {
	h.n++
	c := &conversation{id: fmt.Sprintf("c%d", h.n)}
	h.convs[key] = c
	return h.ask(c, "Let's find out why.")
}

func (h *dialogHandler) ask(c *conversation, prefix string) bot.Reply {
	q := dialog[c.step]
	q.ID = h.questionID(c)
	return bot.Reply{Text: prefix, Question: &q}
}

func (h *dialogHandler) advance(key string, c *conversation) bot.Reply {
	c.step++
	if c.step < len(dialog) {
		return h.ask(c, "Thanks.")
	}
	delete(h.convs, key)
	return bot.Reply{Text: "**Likely cause:** your VPN.\n- turn it off\n- reload ChatGPT", Diagnosis: &bot.Diagnosis{Cause: "vpn-proxy", Steps: []string{"fix-vpn"}}}
}

// harness runs one Adapter against a fake Slack.
type harness struct {
	t       testing.TB
	fake    *slacktest.Server
	h       *dialogHandler
	handler bot.Handler // what the core asks; h unless withHandler
	store   delivery.Store
	support delivery.Support
	core    *delivery.Core
	a       *Adapter
	events  string // HTTP mode: the adapter's URLs
	cmds    string
	actions string
	cancel  context.CancelFunc
	done    chan error
	logs    *bottest.Buffer
	waits   chan time.Duration // every wait of the core (rate limits, backoff)
	release chan time.Time     // nil: waits end at once
	obs     *bottest.Observer
}

type harnessOption func(*harness, *Options)

func withOptions(f func(*Options)) harnessOption {
	return func(_ *harness, o *Options) { f(o) }
}

// withManualClock makes rate-limit waits block until the test sends on
// h.release.
func withManualClock() harnessOption {
	return func(h *harness, _ *Options) { h.release = make(chan time.Time) }
}

// withHandler runs the adapter with handler (e.g. a real *bot.Engine).
func withHandler(handler bot.Handler) harnessOption {
	return func(h *harness, _ *Options) { h.handler = handler }
}

// withState shares the bot and the inbox and outbox with another harness,
// as a restarted process shares its database.
func withState(h0 *dialogHandler, store *delivery.Memory) harnessOption {
	return func(h *harness, _ *Options) { h.h, h.store = h0, store }
}

// withStore keeps the inbox and outbox in s.
func withStore(s delivery.Store) harnessOption {
	return func(h *harness, _ *Options) { h.store = s }
}

// withSupport configures where hand-overs go.
func withSupport(channel, group string) harnessOption {
	return func(h *harness, _ *Options) { h.support = delivery.Support{Channel: channel, Mention: group} }
}

// startAdapter starts an adapter in mode against fake and waits until it is
// connected.
func startAdapter(t testing.TB, fake *slacktest.Server, mode string, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, fake: fake, logs: &bottest.Buffer{}, waits: make(chan time.Duration, 100)}
	cfg := fake.Config()
	o := Options{
		BotToken: cfg.BotToken, AppToken: cfg.AppToken, SigningSecret: cfg.SigningSecret,
		APIURL: fake.APIURL(), Mode: mode,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(h, &o)
	}
	if h.h == nil {
		h.h = newDialogHandler()
	}
	if h.handler == nil {
		h.handler = h.h
	}
	if h.store == nil {
		h.store = delivery.NewMemory()
	}
	h.obs = &bottest.Observer{}
	core, err := delivery.New(delivery.Options{
		Store: h.store, Handler: h.handler, Observer: h.obs, Logger: o.Logger,
		Support: map[string]delivery.Support{bot.Slack: h.support},
		Sleep: func(ctx context.Context, d time.Duration) bool {
			select {
			case h.waits <- d:
			default:
			}
			if h.release == nil {
				return ctx.Err() == nil
			}
			select {
			case <-h.release:
				return true
			case <-ctx.Done():
				return false
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.core = core
	o.Core = core
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	a.after = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	}
	h.a = a
	if mode == ModeHTTP {
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(srv.Close)
		h.events, h.cmds, h.actions = srv.URL+"/slack/events", srv.URL+"/slack/commands", srv.URL+"/slack/interactivity"
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	deliverytest.Run(ctx, core, a.Run, h.done)
	t.Cleanup(func() {
		h.stop()
		// response_urls are credentials for the conversation, like tokens.
		for _, secret := range []string{cfg.BotToken, cfg.AppToken, cfg.SigningSecret, fake.URL() + "/response/"} {
			if strings.Contains(h.logs.String(), secret) {
				t.Errorf("a secret appears in the logs:\n%s", h.logs)
			}
		}
		if t.Failed() {
			t.Logf("adapter log:\n%s", h.logs)
		}
	})
	eventually(t, "adapter connected", func() bool {
		select {
		case err := <-h.done:
			t.Fatalf("Run returned early: %v", err)
		default:
		}
		return a.Connected()
	})
	return h
}

// eventually polls cond (for state the fake cannot signal, like the
// adapter's own) every millisecond until it holds, failing after waitFor.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// stop cancels Run and waits for it; Run must return nil.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v on cancel", err)
		}
	case <-time.After(waitFor):
		h.t.Errorf("Run did not return after cancel")
	}
}

// say delivers what Slack delivers for a user's message and returns the
// message ts.
func (h *harness) say(m slacktest.Say) string {
	h.t.Helper()
	evs := h.fake.UserMessage(m)
	for _, e := range evs {
		h.deliver(e)
	}
	return evs[0].Inner["ts"].(string)
}

func (h *harness) deliver(e slacktest.Event) {
	h.t.Helper()
	if h.a.mode == ModeHTTP {
		if d := h.fake.PostEvent(h.t, h.events, e); d.Status != 200 {
			h.t.Fatalf("event delivery answered %d %s", d.Status, d.Body)
		}
		return
	}
	h.fake.WaitAck(h.t, h.fake.Deliver(e), waitFor)
}

func (h *harness) click(m slacktest.Message, user, choice string) {
	h.t.Helper()
	p, err := h.fake.Click(m, user, choice)
	if err != nil {
		h.t.Fatal(err)
	}
	h.interact(p)
}

func (h *harness) interact(p []byte) {
	h.t.Helper()
	if h.a.mode == ModeHTTP {
		if d := h.fake.PostInteraction(h.t, h.actions, p); d.Status != 200 {
			h.t.Fatalf("interaction answered %d %s", d.Status, d.Body)
		}
		return
	}
	h.fake.WaitAck(h.t, h.fake.DeliverInteraction(p), waitFor)
}

func (h *harness) command(channel, user, text string) {
	h.t.Helper()
	form := h.fake.SlashCommand(channel, user, "", text)
	if h.a.mode == ModeHTTP {
		if d := h.fake.PostSlashCommand(h.t, h.cmds, form); d.Status != 200 || d.Body != "" {
			h.t.Fatalf("slash command answered %d %q", d.Status, d.Body)
		}
		return
	}
	h.fake.WaitAck(h.t, h.fake.DeliverSlashCommand(form), waitFor)
}

// lastWithButtons is the latest message in channel that has buttons.
func (h *harness) lastWithButtons(channel string) slacktest.Message {
	h.t.Helper()
	msgs := h.fake.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].Buttons()) > 0 {
			return msgs[i]
		}
	}
	h.t.Fatalf("no message with buttons in %s", channel)
	return slacktest.Message{}
}

// sync proves that everything delivered to channel before it has been
// processed: lanes are FIFO per channel, so once a sentinel message in the
// same channel is answered, earlier deliveries are done. It returns the
// posts made before the sentinel's reply.
func (h *harness) sync(channel string) []slacktest.Call {
	h.t.Helper()
	say := slacktest.Say{Channel: channel, User: "USYNC", Text: "<@UBOT> sync"}
	if idPlace(channel) == placeDM {
		say.ChannelType, say.Text = "im", "sync"
	}
	before := len(h.fake.Posts())
	ts := h.say(say)
	var posts []slacktest.Call
	h.fake.Wait(h.t, waitFor, "sentinel answered", func() bool {
		posts = h.fake.Posts()
		for i := before; i < len(posts); i++ {
			p := posts[i]
			if p.Channel == channel && (p.ThreadTS == ts || (idPlace(channel) == placeDM)) && p.Text == "sync ok" {
				posts = posts[:i]
				return true
			}
		}
		return false
	})
	return posts
}

// newCore is a delivery core that is never run, for adapters that must
// not get as far as processing anything.
func newCore(t testing.TB) *delivery.Core {
	t.Helper()
	c, err := delivery.New(delivery.Options{Store: delivery.NewMemory(), Handler: newDialogHandler()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
