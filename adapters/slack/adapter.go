// Package slack connects gptaccess to Slack: mentions, direct messages,
// thread follow-ups, help channels, the /gptaccess slash command and Block
// Kit buttons come in through Socket Mode or the Events API over HTTP; the
// replies and the monitor's alerts go out through the Web API.
//
// The adapter only translates: toMessage, commandMessage and toClick turn
// Slack payloads into bot.Message, render and plan turn a bot.Reply into
// Slack calls. The dialog lives in package bot.
//
// Every delivery is acknowledged first and processed after, exactly once:
// event ids, envelope ids, trigger ids and channel+ts are claimed through a
// persisted Claimer before anything is answered. Work and replies run in
// one FIFO lane per channel, so replies arrive in order and a rate limit
// (HTTP 429 with Retry-After) holds back only its channel.
package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	"golang.org/x/sync/errgroup"

	"gptaccess/bot"
)

// Handler answers a message; *bot.Engine implements it.
type Handler interface {
	Handle(ctx context.Context, m bot.Message) (bot.Reply, error)
}

// Claimer records deliveries so each is processed once, across restarts;
// (*sqlite.DB).Claim implements it. first is true only for the first claim
// of key.
type Claimer interface {
	Claim(ctx context.Context, key string) (first bool, err error)
}

// Modes.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// Options configures an Adapter.
type Options struct {
	// BotToken (xoxb-…) is required. AppToken (xapp-…) is required for
	// Socket Mode, SigningSecret for HTTP mode. They are secrets and are
	// never logged.
	BotToken, AppToken, SigningSecret string
	// APIURL is the Web API base; "" means https://slack.com/api/. Tests
	// pass a fake's URL ending in "/api/".
	APIURL string
	// Mode is ModeSocket or ModeHTTP; "" means Socket Mode when AppToken
	// is set, HTTP otherwise.
	Mode string
	// ListenChannels are help channels where un-mentioned top-level
	// messages are offered to the bot (it answers only when confident).
	ListenChannels []string
	// SupportChannel receives handover summaries; SupportGroup (a user
	// group id, "S…") is mentioned in them, or in the thread when there
	// is no support channel.
	SupportChannel, SupportGroup string
	// Handler answers messages; required.
	Handler Handler
	// Claims deduplicates deliveries; nil keeps claims in memory only,
	// which does not survive a restart.
	Claims Claimer
	// Observer hears of reconnects and rate-limit waits (for metrics);
	// nil means nobody listens.
	Observer Observer
	// Logger nil means slog.Default(). HTTPClient nil means a client with
	// a 30 s timeout. Now nil means time.Now.
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
}

// Observer is told about connection and rate-limit events.
type Observer interface {
	Reconnect(platform string)
	RateLimitWait(platform string, d time.Duration)
}

// nobody is the Observer when none is given.
type nobody struct{}

func (nobody) Reconnect(string)                    {}
func (nobody) RateLimitWait(string, time.Duration) {}

// secret is a token that logs as "[redacted]".
type secret string

func (secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }
func (secret) String() string       { return "[redacted]" }

// webAPI is the part of the Slack Web API the adapter uses.
type webAPI interface {
	AuthTestContext(ctx context.Context) (*slackapi.AuthTestResponse, error)
	PostMessageContext(ctx context.Context, channel string, opts ...slackapi.MsgOption) (string, string, error)
	PostEphemeralContext(ctx context.Context, channel, user string, opts ...slackapi.MsgOption) (string, error)
	UpdateMessageContext(ctx context.Context, channel, ts string, opts ...slackapi.MsgOption) (string, string, string, error)
}

// Tuning.
const (
	maxPending        = 1024 // deliveries accepted but not yet processed
	maxRateLimitTries = 5    // attempts of one call while Slack says 429
	maxTransientTries = 3    // attempts of one call on network or 5xx errors
	maxBody           = 1 << 20
)

// Adapter is the Slack adapter. Create it with New and start it with Run.
type Adapter struct {
	botToken, appToken, signingSecret secret
	apiURL                            string
	mode                              string
	listen                            map[string]bool
	support                           support
	handler                           Handler
	claims                            Claimer
	observer                          Observer
	log                               *slog.Logger
	httpClient                        *http.Client
	now                               func() time.Time
	api                               webAPI

	// after waits for rate limits and backoffs; tests replace it.
	after func(time.Duration) <-chan time.Time

	self      atomic.Pointer[identity]
	running   atomic.Bool
	connected atomic.Bool
	hellos    atomic.Int64 // Socket Mode connections made; more than one is a reconnect
	pending   atomic.Int64
	inbox     chan task
	fatal     chan error
}

// New checks o and builds an Adapter; nothing is contacted until Run.
func New(o Options) (*Adapter, error) {
	var errs []error
	if o.BotToken == "" {
		errs = append(errs, errors.New("bot token is required"))
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("handler is required"))
	}
	mode := o.Mode
	if mode == "" {
		mode = ModeHTTP
		if o.AppToken != "" {
			mode = ModeSocket
		}
	}
	switch mode {
	case ModeSocket:
		if o.AppToken == "" {
			errs = append(errs, errors.New("socket mode needs an app-level token (xapp-…)"))
		}
	case ModeHTTP:
		if o.SigningSecret == "" {
			errs = append(errs, errors.New("http mode needs the signing secret"))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q: want %q or %q", o.Mode, ModeSocket, ModeHTTP))
	}
	if o.APIURL != "" && !strings.HasPrefix(o.APIURL, "http://") && !strings.HasPrefix(o.APIURL, "https://") {
		errs = append(errs, fmt.Errorf("api url %q: want an http(s) URL", o.APIURL))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}

	a := &Adapter{
		botToken: secret(o.BotToken), appToken: secret(o.AppToken), signingSecret: secret(o.SigningSecret),
		apiURL:     o.APIURL,
		mode:       mode,
		listen:     map[string]bool{},
		support:    support{channel: o.SupportChannel, group: o.SupportGroup},
		handler:    o.Handler,
		claims:     o.Claims,
		observer:   o.Observer,
		log:        o.Logger,
		httpClient: o.HTTPClient,
		now:        o.Now,
		after:      time.After,
		inbox:      make(chan task, maxPending),
		fatal:      make(chan error, 1),
	}
	if a.apiURL != "" && !strings.HasSuffix(a.apiURL, "/") {
		a.apiURL += "/"
	}
	for _, c := range o.ListenChannels {
		a.listen[c] = true
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.log = a.log.With("component", "slack")
	if a.httpClient == nil {
		a.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.claims == nil {
		a.claims = newMemClaims(a.now)
	}
	if a.observer == nil {
		a.observer = nobody{}
	}
	a.api = slackapi.New(string(a.botToken), a.clientOptions()...)
	return a, nil
}

// clientOptions configure every slack-go client the adapter makes. slack-go
// only logs in debug mode, which stays off: its debug output would carry
// message content.
func (a *Adapter) clientOptions() []slackapi.Option {
	opts := []slackapi.Option{
		slackapi.OptionHTTPClient(a.httpClient),
		slackapi.OptionLog(discardLogger{}),
	}
	if a.apiURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(a.apiURL))
	}
	if a.appToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(string(a.appToken)))
	}
	return opts
}

type discardLogger struct{}

func (discardLogger) Output(int, string) error { return nil }

// Platform names the platform for the monitor (monitor.Notifier).
func (a *Adapter) Platform() string { return bot.Slack }

// Connected reports whether the adapter can talk to Slack: in Socket Mode,
// a connection said hello; in HTTP mode, auth.test passed.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Run checks the token with auth.test, then processes deliveries until ctx
// ends: in Socket Mode it holds the websocket (reconnecting as Slack asks);
// in HTTP mode deliveries come through Handler. It returns nil when ctx is
// cancelled and an error when Slack rejects the tokens (invalid_auth,
// token_revoked, account_inactive, not_authed).
func (a *Adapter) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("slack: adapter is already running")
	}
	defer a.running.Store(false)
	defer a.connected.Store(false)
	select {
	case <-a.fatal: // left over from a previous Run
	default:
	}

	self, err := a.authenticate(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.self.Store(&self)
	a.log.Info("slack connected", "mode", a.mode, "bot_user", self.UserID, "bot_id", self.BotID)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		a.dispatch(gctx)
		return nil
	})
	g.Go(func() error {
		select {
		case err := <-a.fatal:
			return err
		case <-gctx.Done():
			return nil
		}
	})
	if a.mode == ModeSocket {
		g.Go(func() error { return a.runSocket(gctx) })
	} else {
		a.connected.Store(true)
	}
	err = g.Wait()
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// authenticate calls auth.test, retrying transient failures with backoff.
func (a *Adapter) authenticate(ctx context.Context) (identity, error) {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		res, err := a.api.AuthTestContext(ctx)
		if err == nil {
			return identity{UserID: res.UserID, BotID: res.BotID, URL: res.URL}, nil
		}
		if isFatalAuth(err) {
			a.log.Error("slack rejected the bot token; check SLACK_BOT_TOKEN", "error", err)
			return identity{}, fmt.Errorf("slack: auth.test: %w", err)
		}
		if ctx.Err() != nil {
			return identity{}, ctx.Err()
		}
		var rl *slackapi.RateLimitedError
		wait := backoff
		if errors.As(err, &rl) {
			wait = rl.RetryAfter
		}
		a.log.Warn("auth.test failed; retrying", "error", err, "attempt", attempt, "retry_in", wait)
		select {
		case <-a.after(wait):
		case <-ctx.Done():
			return identity{}, ctx.Err()
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// fail stops Run with err (the first fatal error wins).
func (a *Adapter) fail(err error) {
	select {
	case a.fatal <- err:
	default:
	}
}

// fatalAuthErrors are the Slack errors after which no call can succeed.
var fatalAuthErrors = map[string]bool{
	"invalid_auth": true, "token_revoked": true, "account_inactive": true, "not_authed": true,
	"token_expired": true,
}

func isFatalAuth(err error) bool {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return fatalAuthErrors[se.Err]
	}
	// socketmode returns these as plain errors.
	return err != nil && fatalAuthErrors[err.Error()]
}

func slackError(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// task is one unit of work in a channel's lane.
type task struct {
	lane string
	run  func(ctx context.Context)
}

// reserve takes a slot for one delivery; false means the adapter is not
// running or too busy, and the delivery must not be acknowledged (Slack
// will retry it). A reserved slot must be passed to submit or release.
func (a *Adapter) reserve() bool {
	if !a.running.Load() {
		return false
	}
	if a.pending.Add(1) > maxPending {
		a.pending.Add(-1)
		return false
	}
	return true
}

func (a *Adapter) release() { a.pending.Add(-1) }

// submit queues t in a reserved slot; it never blocks, since the inbox
// holds maxPending tasks.
func (a *Adapter) submit(t task) { a.inbox <- t }

// dispatch runs tasks in one FIFO lane per channel until ctx ends, then
// waits for the lanes to drain (their tasks see the cancelled ctx).
func (a *Adapter) dispatch(ctx context.Context) {
	var (
		mu    sync.Mutex
		lanes = map[string][]task{}
		wg    sync.WaitGroup
	)
	work := func(lane string) {
		for {
			mu.Lock()
			q := lanes[lane]
			if len(q) == 0 {
				delete(lanes, lane)
				mu.Unlock()
				return
			}
			t := q[0]
			q[0] = task{}
			lanes[lane] = q[1:]
			mu.Unlock()
			t.run(ctx)
			a.pending.Add(-1)
		}
	}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			dropped := 0
			for {
				select {
				case t := <-a.inbox:
					t.run(ctx)
					a.pending.Add(-1)
					dropped++
					continue
				default:
				}
				break
			}
			if dropped > 0 {
				a.log.Warn("slack adapter stopped with deliveries still queued", "count", dropped)
			}
			return
		case t := <-a.inbox:
			mu.Lock()
			q, busy := lanes[t.lane]
			lanes[t.lane] = append(q, t)
			mu.Unlock()
			if !busy {
				wg.Go(func() { work(t.lane) })
			}
		}
	}
}

// claim records a delivery key; false means it was seen before. A failing
// store is logged and treated as first: a rare duplicate beats a lost
// question.
func (a *Adapter) claim(ctx context.Context, key string) bool {
	first, err := a.claims.Claim(ctx, "slack:"+key)
	if err != nil {
		a.log.Error("cannot record delivery; processing it anyway", "key", key, "error", err)
		return true
	}
	if !first {
		a.log.Debug("duplicate delivery skipped", "key", key)
	}
	return first
}

// memClaims is the in-memory Claimer used when none is configured.
type memClaims struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	now    func() time.Time
	pruned time.Time
}

func newMemClaims(now func() time.Time) *memClaims {
	return &memClaims{seen: map[string]time.Time{}, now: now}
}

func (c *memClaims) Claim(_ context.Context, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.seen[key]; ok {
		return false, nil
	}
	if len(c.seen) >= 100000 && now.Sub(c.pruned) > time.Minute {
		// Slack stops retrying within the hour.
		c.pruned = now
		for k, t := range c.seen {
			if now.Sub(t) > 2*time.Hour {
				delete(c.seen, k)
			}
		}
	}
	c.seen[key] = now
	return true, nil
}

// readBody reads at most maxBody bytes of r.
func readBody(r io.Reader) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > maxBody {
		return nil, true, nil
	}
	return b, false, nil
}
