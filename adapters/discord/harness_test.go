package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/delivery"
	"gptaccess/delivery/deliverytest"
)

// logSink collects the adapter's log for assertions.
type logSink struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wait waits until the log contains s.
func (l *logSink) wait(t testing.TB, s string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		ok := strings.Contains(l.b.String(), s)
		ch := l.changed
		l.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("log never said %q; log:\n%s", s, l.String())
		}
	}
}

// recorder is a Handler that records messages and answers with fn.
type recorder struct {
	mu   sync.Mutex
	msgs []bot.Message
	got  chan bot.Message
	fn   func(ctx context.Context, m bot.Message) (bot.Reply, error)
}

func newRecorder(fn func(ctx context.Context, m bot.Message) (bot.Reply, error)) *recorder {
	if fn == nil {
		fn = func(_ context.Context, m bot.Message) (bot.Reply, error) {
			return bot.Reply{Text: "echo: " + m.Text}, nil
		}
	}
	return &recorder{got: make(chan bot.Message, 1000), fn: fn}
}

func (r *recorder) Handle(ctx context.Context, m bot.Message) (bot.Reply, error) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	r.got <- m
	return r.fn(ctx, m)
}

func (r *recorder) messages() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Message(nil), r.msgs...)
}

// next returns the next message the handler saw.
func (r *recorder) next(t testing.TB) bot.Message {
	t.Helper()
	select {
	case m := <-r.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("the handler saw no message")
		return bot.Message{}
	}
}

// harness runs an Adapter, with a delivery core over an in-memory store,
// against a fake Discord.
type harness struct {
	fake  *discordtest.Server
	a     *Adapter
	h     *recorder
	store delivery.Store // survives restart, like the database
	core  *delivery.Core
	obs   *bottest.Observer
	logs  *logSink
	done  chan error
	stop  context.CancelFunc
	// sleep, when set, replaces the core's waits (rate limits, backoff).
	sleep func(ctx context.Context, d time.Duration) bool
}

type setup struct {
	fake   discordtest.Options
	opts   func(*Options)
	core   func(*delivery.Options)
	store  delivery.Store // nil: in memory
	tune   func(*Adapter)
	before func(*discordtest.Server) // runs before the adapter starts
	noWait bool                      // do not wait for the connection (for refused starts)
}

// start runs an Adapter with handler h against a new fake.
func start(t testing.TB, h *recorder, s setup) *harness {
	t.Helper()
	if h == nil {
		h = newRecorder(nil)
	}
	fake := discordtest.NewServer(t, s.fake)
	if s.before != nil {
		s.before(fake)
	}
	hs := &harness{fake: fake, h: h, store: s.store}
	if hs.store == nil {
		hs.store = delivery.NewMemory()
	}
	hs.launch(t, s)
	return hs
}

// launch starts an Adapter on the harness's fake.
func (hs *harness) launch(t testing.TB, s setup) {
	t.Helper()
	fake := hs.fake
	logs := newLogSink()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hs.obs = &bottest.Observer{}
	co := delivery.Options{Store: hs.store, Handler: hs.h, Observer: hs.obs, Logger: log, Backoff: 10 * time.Millisecond}
	if hs.sleep != nil {
		co.Sleep = hs.sleep
	}
	if s.core != nil {
		s.core(&co)
	}
	core, err := delivery.New(co)
	if err != nil {
		t.Fatal(err)
	}
	hs.core = core
	o := Options{
		Token:  fake.Token,
		APIURL: fake.URL,
		Core:   core,
		Logger: log,
	}
	if s.opts != nil {
		s.opts(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.backoffMin = 10 * time.Millisecond
	a.backoffMax = 100 * time.Millisecond
	a.openTimeout = 5 * time.Second
	a.drainTimeout = 2 * time.Second
	if s.tune != nil {
		s.tune(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	hs.a, hs.logs, hs.done, hs.stop = a, logs, done, cancel
	route := discordtest.RouteGlobalCommands
	if o.GuildID != "" {
		route = discordtest.RouteGuildCommands
	}
	before, registered := len(fake.Handshakes()), len(fake.Calls(route))
	deliverytest.Run(ctx, core, a.Run, done)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !s.noWait {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		a.Wait()
		out := logs.String()
		for _, secret := range []string{fake.Token, "aW50ZXJhY3Rpb246"} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret (%.8s…) appears in the log", secret)
			}
		}
		if t.Failed() {
			t.Logf("adapter log:\n%s", out)
		}
	})
	if !s.noWait {
		fake.Await(t, "a new gateway session", func() bool {
			hs := fake.Handshakes()
			return len(hs) > before && hs[len(hs)-1].Accepted && fake.Connected()
		})
		fake.WaitCalls(t, route, registered+1)
	}
}

// restart stops the adapter and starts a new one (empty memory) on the
// same fake, as after a process restart.
func (hs *harness) restart(t testing.TB, s setup) {
	t.Helper()
	hs.halt(t)
	hs.launch(t, s)
}

// user is a test user.
var (
	alice = discordtest.User{ID: "1300000000000000001", Name: "alice"}
	bob   = discordtest.User{ID: "1300000000000000002", Name: "bob"}
)

// sent decodes the message bodies of calls.
func sent(t testing.TB, calls []discordtest.Call) []discordgo.MessageSend {
	t.Helper()
	out := make([]discordgo.MessageSend, len(calls))
	for i, c := range calls {
		var m struct {
			Content    string                            `json:"content"`
			Components []json.RawMessage                 `json:"components"`
			Reference  *discordgo.MessageReference       `json:"message_reference"`
			Mentions   *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
			Embeds     []*discordgo.MessageEmbed         `json:"embeds"`
			Flags      discordgo.MessageFlags            `json:"flags"`
		}
		if err := c.Decode(&m); err != nil {
			t.Fatalf("decode %s: %v", c, err)
		}
		out[i] = discordgo.MessageSend{Content: m.Content, Reference: m.Reference, AllowedMentions: m.Mentions, Embeds: m.Embeds, Flags: m.Flags}
		for _, raw := range m.Components {
			mc, err := discordgo.MessageComponentFromJSON(raw)
			if err != nil {
				t.Fatalf("decode component: %v", err)
			}
			out[i].Components = append(out[i].Components, mc)
		}
	}
	return out
}

// replies waits for n messages created in channel and returns them.
func (h *harness) replies(t testing.TB, channel string, n int) []discordgo.MessageSend {
	t.Helper()
	var calls []discordtest.Call
	h.fake.Await(t, fmt.Sprintf("%d replies in %s", n, channel), func() bool {
		calls = nil
		for _, c := range h.fake.Calls(discordtest.RouteCreateMessage) {
			if c.Params["channel"] == channel && c.Status == 200 {
				calls = append(calls, c)
			}
		}
		return len(calls) >= n
	})
	return sent(t, calls)
}

// callsFor returns the calls on route whose path values include p.
func (h *harness) callsFor(route string, p map[string]string) []discordtest.Call {
	var out []discordtest.Call
	for _, c := range h.fake.Calls(route) {
		ok := true
		for k, v := range p {
			if c.Params[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

// callbacks waits for n initial responses to interaction id.
func (h *harness) callbacks(t testing.TB, id string, n int) []*discordgo.InteractionResponse {
	t.Helper()
	var calls []discordtest.Call
	h.fake.Await(t, fmt.Sprintf("%d callbacks for %s", n, id), func() bool {
		calls = h.callsFor(discordtest.RouteCallback, map[string]string{"id": id})
		return len(calls) >= n
	})
	out := make([]*discordgo.InteractionResponse, len(calls))
	for i, c := range calls {
		if c.Status != 204 {
			t.Fatalf("callback %s answered %d: %s", id, c.Status, c.Body)
		}
		r, err := discordtest.Response(c)
		if err != nil {
			t.Fatalf("decode callback: %v", err)
		}
		out[i] = r
	}
	return out
}

// webhookCalls returns the webhook calls (edits, deletes, follow-ups) for
// an interaction token.
func (h *harness) webhookCalls(route, token string) []discordtest.Call {
	return h.callsFor(route, map[string]string{"token": token})
}

func (h *harness) waitWebhook(t testing.TB, route, token string, n int) []discordtest.Call {
	t.Helper()
	var calls []discordtest.Call
	h.fake.Await(t, fmt.Sprintf("%d %s calls", n, route), func() bool {
		calls = h.webhookCalls(route, token)
		return len(calls) >= n
	})
	return calls
}

// editContent decodes the content of a webhook edit or follow-up.
func editContent(t testing.TB, c discordtest.Call) (string, discordgo.MessageFlags, []discordgo.MessageComponent) {
	t.Helper()
	return sent(t, []discordtest.Call{c})[0].Content, sent(t, []discordtest.Call{c})[0].Flags, sent(t, []discordtest.Call{c})[0].Components
}

// newCore is a delivery core that is never run, for adapters that must not
// get as far as processing anything.
func newCore(t testing.TB) *delivery.Core {
	t.Helper()
	c, err := delivery.New(delivery.Options{Store: delivery.NewMemory(), Handler: newRecorder(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// editedQuestion checks that click ix was acknowledged with a deferred
// update (type 6) and returns the clicked question as it was then edited.
func (h *harness) editedQuestion(t testing.TB, ix discordtest.Interaction) (string, []discordgo.MessageComponent) {
	t.Helper()
	if r := h.callbacks(t, ix.ID, 1)[0]; r.Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Fatalf("click answered with %+v, want a deferred update (type 6)", r)
	}
	content, _, comps := editContent(t, h.waitWebhook(t, discordtest.RouteEditWebhookMsg, ix.Token, 1)[0])
	return content, comps
}

// privateNote checks that click ix was acknowledged with a deferred update
// and answered with an ephemeral follow-up, whose text it returns.
func (h *harness) privateNote(t testing.TB, ix discordtest.Interaction) string {
	t.Helper()
	if r := h.callbacks(t, ix.ID, 1)[0]; r.Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Fatalf("click answered with %+v, want a deferred update (type 6)", r)
	}
	content, flags, _ := editContent(t, h.waitWebhook(t, discordtest.RouteFollowup, ix.Token, 1)[0])
	if flags != discordgo.MessageFlagsEphemeral {
		t.Errorf("note %q has flags %v, want ephemeral", content, flags)
	}
	return content
}
