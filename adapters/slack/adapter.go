// Package slack connects gptaccess to Slack: mentions, direct messages,
// thread follow-ups, help channels, the /gptaccess slash command and Block
// Kit buttons come in through Socket Mode or the Events API over HTTP; the
// replies and the monitor's alerts go out through the Web API.
//
// The adapter only translates: toMessage, commandMessage and toClick turn
// Slack payloads into bot.Message, render and plan turn a bot.Reply into
// Slack calls. It is a delivery.Platform: every delivery is written to the
// delivery core's inbox before it is acknowledged, and every call is made
// from the core's outbox, which keeps the order per channel, waits out
// rate limits and retries. The dialog lives in package bot.
package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	"golang.org/x/sync/errgroup"

	"gptaccess/bot"
	"gptaccess/delivery"
)

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
	// Core is the delivery core that takes deliveries and makes the
	// adapter's calls; required. New registers the adapter with it.
	// Where hand-overs go is the core's (delivery.Support).
	Core *delivery.Core
	// Logger nil means slog.Default(). HTTPClient nil means a client with
	// a 30 s timeout. Now nil means time.Now.
	Logger     *slog.Logger
	HTTPClient *http.Client
	Now        func() time.Time
}

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
	GetConversationInfoContext(ctx context.Context, input *slackapi.GetConversationInfoInput) (*slackapi.Channel, error)
}

// maxBody bounds an HTTP delivery.
const maxBody = 1 << 20

// Adapter is the Slack adapter. Create it with New and start it with Run.
type Adapter struct {
	botToken, appToken, signingSecret secret
	apiURL                            string
	mode                              string
	listen                            map[string]bool
	core                              *delivery.Core
	log                               *slog.Logger
	httpClient                        *http.Client
	now                               func() time.Time
	api                               webAPI
	places                            *places // what conversations.info said, per channel

	// after waits between auth.test attempts; tests replace it.
	after func(time.Duration) <-chan time.Time

	self      atomic.Pointer[identity]
	running   atomic.Bool
	connected atomic.Bool
	hellos    atomic.Int64 // Socket Mode connections made; more than one is a reconnect
	fatal     chan error
}

// New checks o and builds an Adapter; nothing is contacted until Run.
func New(o Options) (*Adapter, error) {
	var errs []error
	if o.BotToken == "" {
		errs = append(errs, errors.New("bot token is required"))
	}
	if o.Core == nil {
		errs = append(errs, errors.New("delivery core is required"))
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
		core:       o.Core,
		log:        o.Logger,
		httpClient: o.HTTPClient,
		now:        o.Now,
		after:      time.After,
		places:     newPlaces(placeCacheSize),
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
	a.api = slackapi.New(string(a.botToken), a.clientOptions()...)
	a.core.Register(a)
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

// Platform names the platform for the monitor (monitor.Outboxer).
func (a *Adapter) Platform() string { return bot.Slack }

// Name names the platform for the delivery core (delivery.Platform).
func (a *Adapter) Name() string { return bot.Slack }

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
