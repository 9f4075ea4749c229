// Package discord connects gptaccess to Discord. It reads mentions, DMs,
// replies to the bot and the /gptaccess application command from the
// gateway (or from signed HTTP interactions), hands them to the bot as
// bot.Messages and renders each bot.Reply as messages, buttons and
// interaction responses. It also posts the monitor's alerts
// (monitor.Outboxer).
//
// The adapter only translates: it is a delivery.Platform. Events are
// written to the delivery core's inbox as they come; the core asks the
// adapter which bot.Message each is and how to deliver the reply, and
// makes the calls from its outbox in order per channel, with Discord's
// rate limits waited out there. Dialog logic lives in package bot.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// Options configure an Adapter. Zero values mean the documented defaults.
type Options struct {
	// Token is the bot token (with or without the "Bot " prefix) and
	// PublicKey the application's hex Ed25519 public key, needed only with
	// Interactions. Both are secrets and never logged.
	Token, PublicKey string
	// APIURL replaces https://discord.com/ for this adapter only: REST at
	// <APIURL>api/v9/..., and the gateway wherever <APIURL>api/v9/gateway
	// says. "" means Discord itself.
	APIURL string
	// GuildID registers /gptaccess in that guild only (instantly) instead
	// of globally.
	GuildID string
	// MessageContent asks for the privileged Message Content intent. It
	// must also be enabled in the Developer Portal, or Run fails (4014).
	// Without it the bot still reads mentions, DMs and replies to it.
	MessageContent bool
	// Interactions enables Handler(): signed HTTP interactions at
	// /discord/interactions, checked against PublicKey.
	Interactions bool
	// ListenChannels are help channels where un-mentioned messages are
	// read too; they need MessageContent.
	ListenChannels []string

	// Core is the delivery core that takes events and makes the adapter's
	// calls; required. New registers the adapter with it. Where hand-overs
	// go is the core's (delivery.Support).
	Core *delivery.Core

	Logger     *slog.Logger     // nil: discard
	HTTPClient *http.Client     // nil: a client with a 30 s timeout
	Now        func() time.Time // nil: time.Now
}

// session is the part of *discordgo.Session the adapter uses.
type session interface {
	Open() error
	Close() error
	AddHandler(handler any) func()

	RequestWithBucketID(method, urlStr string, data any, bucketID string, options ...discordgo.RequestOption) ([]byte, error)
	ChannelMessage(channelID, messageID string, options ...discordgo.RequestOption) (*discordgo.Message, error)
	Channel(channelID string, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	MessageThreadStartComplex(channelID, messageID string, data *discordgo.ThreadStart, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error
	InteractionResponseEdit(i *discordgo.Interaction, e *discordgo.WebhookEdit, options ...discordgo.RequestOption) (*discordgo.Message, error)
	InteractionResponseDelete(i *discordgo.Interaction, options ...discordgo.RequestOption) error
	FollowupMessageCreate(i *discordgo.Interaction, wait bool, p *discordgo.WebhookParams, options ...discordgo.RequestOption) (*discordgo.Message, error)
	UserChannelCreate(recipientID string, options ...discordgo.RequestOption) (*discordgo.Channel, error)
	ApplicationCommandBulkOverwrite(appID, guildID string, cmds []*discordgo.ApplicationCommand, options ...discordgo.RequestOption) ([]*discordgo.ApplicationCommand, error)

	// From the gateway state.
	self() (userID, appID string)
	cachedChannel(id string) (*discordgo.Channel, bool)
	// readable lists the channels whose messages a catch-up reads (see
	// backfill.go); complete is false while a guild of the session's
	// READY has not arrived yet.
	readable() (channels []channelRef, complete bool)
}

// dgSession adds state lookups to *discordgo.Session.
type dgSession struct{ *discordgo.Session }

func (s dgSession) self() (string, string) {
	st := s.State
	if st == nil {
		return "", ""
	}
	st.RLock()
	var u, app string
	if st.User != nil {
		u = st.User.ID
	}
	if st.Application != nil {
		app = st.Application.ID
	}
	st.RUnlock()
	if u == "" {
		// No gateway session here (another replica holds it; README.md,
		// "Running several replicas"), so no Ready event told us who we
		// are: HTTP interactions still need it. Ask once.
		if me, err := s.User("@me"); err == nil && me != nil {
			st.Lock()
			if st.User == nil {
				st.User = me
			}
			st.Unlock()
			u = me.ID
		}
	}
	return u, app
}

func (s dgSession) cachedChannel(id string) (*discordgo.Channel, bool) {
	c, err := s.State.Channel(id)
	return c, err == nil && c != nil
}

func (s dgSession) readable() ([]channelRef, bool) {
	st := s.State
	if st == nil {
		return nil, true
	}
	st.RLock()
	defer st.RUnlock()
	complete := true
	var out []channelRef
	for _, g := range st.Guilds {
		if g == nil {
			continue
		}
		if g.Unavailable {
			complete = false
			continue
		}
		for _, c := range slices.Concat(g.Channels, g.Threads) {
			if c != nil && readableType(c.Type) {
				out = append(out, channelRef{id: c.ID, guild: g.ID, known: true})
			}
		}
	}
	return out, complete
}

// Adapter is the Discord adapter. Create it with New; it is safe for
// concurrent use.
type Adapter struct {
	o       Options
	log     *slog.Logger
	s       session
	dial    *dialer
	pubKey  ed25519.PublicKey
	intents discordgo.Intent
	listen  map[string]bool

	core     *delivery.Core
	roots    *lru // message id → conversation thread ("" for channel-level)
	channels *lru // channel id → "thread:<parent>" or "channel"
	alerts   *lru // alert message ids that have a thread

	connected atomic.Bool
	running   atomic.Bool
	receiving sync.WaitGroup // interactions being written and acknowledged

	bfMu      sync.Mutex
	bfStopped bool           // Run is stopping: no new catch-up
	backfills sync.WaitGroup // catch-ups after a new gateway session (backfill.go)

	// The gateway's messages kept back while a catch-up runs, so that
	// each channel's messages reach the inbox in the order they were sent
	// (backfill.go).
	holdMu   sync.Mutex
	catching int // catch-ups running
	flushing bool
	overflow bool // held reached maxHeld (logged once)
	held     []delivery.Inbound

	// Tunables; tests shorten them.
	callTimeout  time.Duration // one REST request
	openTimeout  time.Duration // gateway handshake
	backoffMin   time.Duration
	backoffMax   time.Duration
	drainTimeout time.Duration // shutdown grace for interactions being acknowledged
	// backfillMargin is how far before the newest message in the inbox
	// a catch-up starts; guildWait how long it waits for the guilds of
	// a new session.
	backfillMargin time.Duration
	guildWait      time.Duration
	// holdMax bounds how long a catch-up holds the new session's
	// messages back.
	holdMax time.Duration
}

// New checks o and prepares an Adapter; it does not connect.
func New(o Options) (*Adapter, error) {
	if o.Core == nil {
		return nil, errors.New("discord: the delivery core is required")
	}
	token := strings.TrimSpace(o.Token)
	if token == "" {
		return nil, errors.New("discord: bot token is required (DISCORD_BOT_TOKEN)")
	}
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	if len(o.ListenChannels) > 0 && !o.MessageContent {
		return nil, errors.New("discord: listen_channels need the Message Content intent (enable it in the Developer Portal and in the config)")
	}
	var pub ed25519.PublicKey
	if o.Interactions {
		b, err := hex.DecodeString(strings.TrimSpace(o.PublicKey))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("discord: HTTP interactions need the application's public key: 64 hex digits (DISCORD_PUBLIC_KEY)")
		}
		pub = ed25519.PublicKey(b)
	}
	client, err := restClient(o.HTTPClient, o.APIURL)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}

	dg, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	d := &dialer{}
	dg.Client = client
	dg.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 15 * time.Second,
		NetDialContext:   d.DialContext,
	}
	intents := discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentDirectMessages
	if o.MessageContent {
		intents |= discordgo.IntentMessageContent
	}
	dg.Identify.Intents = intents
	// The adapter reconnects itself (Run) so that it can stop on close
	// codes 4004 and 4014, which discordgo would retry forever.
	dg.ShouldReconnectOnError = false
	dg.ShouldReconnectVoiceOnSessionError = false
	dg.ShouldRetryOnRateLimit = false // see Adapter.call
	dg.MaxRestRetries = 1
	// Handlers only decode and enqueue; running them in the gateway's read
	// loop keeps events in order.
	dg.SyncEvents = true
	// discordgo logs to the standard logger; the adapter logs what matters
	// through slog instead.
	dg.LogLevel = -1
	dg.State.TrackEmojis = false
	dg.State.TrackStickers = false
	dg.State.TrackMembers = false
	dg.State.TrackThreadMembers = false
	dg.State.TrackRoles = false
	dg.State.TrackVoice = false
	dg.State.TrackPresences = false

	a := &Adapter{
		o:        o,
		log:      o.Logger.With("component", "discord"),
		s:        dgSession{dg},
		dial:     d,
		pubKey:   pub,
		intents:  intents,
		listen:   map[string]bool{},
		core:     o.Core,
		roots:    newLRU(20000),
		channels: newLRU(5000),
		alerts:   newLRU(1000),

		callTimeout:  10 * time.Second,
		openTimeout:  30 * time.Second,
		backoffMin:   time.Second,
		backoffMax:   2 * time.Minute,
		drainTimeout: 5 * time.Second,

		backfillMargin: 10 * time.Second,
		guildWait:      15 * time.Second,
		holdMax:        30 * time.Second,
	}
	for _, c := range o.ListenChannels {
		a.listen[c] = true
	}
	a.core.Register(a)
	return a, nil
}

// Permissions is what the bot needs in the channels it serves, for the
// invite URL: View Channels, Send Messages, Send Messages in Threads,
// Create Public Threads, Read Message History and Embed Links
// (309237730304).
const Permissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
	discordgo.PermissionSendMessagesInThreads | discordgo.PermissionCreatePublicThreads |
	discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks

// InviteURL is the link that adds the bot to a server with exactly
// Permissions and the bot and applications.commands scopes.
func InviteURL(applicationID string) string {
	return "https://discord.com/oauth2/authorize?client_id=" + url.QueryEscape(applicationID) +
		"&permissions=" + strconv.FormatInt(Permissions, 10) +
		"&integration_type=0&scope=bot+applications.commands"
}

// Platform names the platform, for the monitor (monitor.Outboxer).
func (a *Adapter) Platform() string { return bot.Discord }

// Name names the platform, for the delivery core (delivery.Platform).
func (a *Adapter) Name() string { return bot.Discord }

// Connected reports whether the gateway connection is up.
func (a *Adapter) Connected() bool { return a.connected.Load() }

// Run connects to the gateway, registers /gptaccess and serves until ctx
// is done, then closes the connection and lets work in progress finish
// (briefly). It reconnects (resuming the session) after network errors
// and gateway requests, but returns an error when Discord refuses the bot:
// close code 4004 (bad token) or 4014 (intent not enabled), among others.
func (a *Adapter) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("discord: Run called twice")
	}
	defer a.running.Store(false)

	// An interaction being acknowledged may outlive ctx by drainTimeout:
	// it is in the inbox already, and Discord shows it failed without
	// the acknowledgement.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	// Catch-ups after a new session stop with Run.
	a.bfMu.Lock()
	a.bfStopped = false
	a.bfMu.Unlock()
	backfillCtx, cancelBackfills := context.WithCancel(ctx)
	defer cancelBackfills()

	disconnected := make(chan struct{}, 1)
	removeEvent := a.s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		a.onEvent(workCtx, e)
	})
	removeReady := a.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Ready) {
		a.onReady(backfillCtx)
	})
	removeDisc := a.s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		a.connected.Store(false)
		select {
		case disconnected <- struct{}{}:
		default:
		}
	})
	defer removeEvent()
	defer removeReady()
	defer removeDisc()

	stop := func() {
		a.connected.Store(false)
		if err := a.s.Close(); err != nil {
			a.log.Warn("closing the gateway", "err", a.errText(err))
		}
		a.stopBackfills(cancelBackfills)
		if !waitGroup(&a.receiving, a.drainTimeout) {
			a.log.Warn("interactions still being acknowledged at shutdown; cancelling them")
			cancelWork()
			waitGroup(&a.receiving, a.drainTimeout)
		}
	}

	if !a.o.MessageContent {
		a.log.Info("message content intent off: answering mentions, DMs, replies to the bot and /gptaccess; other messages are not read")
	}
	if err := a.connect(ctx); err != nil {
		stop()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	a.register(ctx)
	if _, app := a.s.self(); app != "" {
		a.log.Info("invite link for more servers", "url", InviteURL(app))
	}

	for {
		select {
		case <-ctx.Done():
			stop()
			a.log.Info("disconnected")
			return nil
		case <-disconnected:
			if a.connected.Load() {
				continue // a late signal for a connection already replaced
			}
			a.log.Warn("gateway connection lost; reconnecting")
			a.core.Reconnected(bot.Discord)
			if err := a.connect(ctx); err != nil {
				stop()
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// connect opens the gateway, retrying with backoff until it succeeds, ctx
// is done or Discord refuses the bot for good.
func (a *Adapter) connect(ctx context.Context) error {
	wait := a.backoffMin
	for {
		err := a.open(ctx)
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			a.connected.Store(true)
			user, app := a.s.self()
			a.log.Info("connected to the gateway", "bot_id", user, "application_id", app,
				"intents", int(a.intents), "message_content", a.o.MessageContent)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if msg, fatal := refused(err); fatal {
			a.log.Error("Discord refused the bot; not reconnecting", "reason", msg)
			return fmt.Errorf("discord: %s", msg)
		}
		a.log.Warn("gateway connection failed; retrying", "err", a.errText(err), "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, a.backoffMax)
	}
}

// open runs Session.Open with a deadline: Open waits for HELLO and READY
// without one, so a gateway that accepts the socket and says nothing would
// block it forever.
func (a *Adapter) open(ctx context.Context) error {
	a.dial.reset()
	done := make(chan error, 1)
	go func() { done <- a.s.Open() }()
	t := time.NewTimer(a.openTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		a.dial.abort()
		<-done
		return ctx.Err()
	case <-t.C:
		a.dial.abort()
		<-done
		return fmt.Errorf("gateway handshake took longer than %s", a.openTimeout)
	}
}

// refused recognises the close codes (and REST answers) after which
// reconnecting cannot help.
func refused(err error) (string, bool) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004:
			return "gateway closed with 4004 authentication failed: the bot token is wrong or was reset (DISCORD_BOT_TOKEN)", true
		case 4010, 4011:
			return fmt.Sprintf("gateway closed with %d: sharding is required or invalid", ce.Code), true
		case 4012:
			return "gateway closed with 4012: invalid API version", true
		case 4013:
			return "gateway closed with 4013: invalid intents", true
		case 4014:
			return "gateway closed with 4014 disallowed intents: enable the Message Content intent in the Developer Portal (Bot → Privileged Gateway Intents), or turn message content off in the config", true
		}
	}
	if errors.Is(err, discordgo.ErrUnauthorized) || httpStatus(err) == http.StatusUnauthorized {
		return "Discord answered 401 Unauthorized: the bot token is wrong or was reset (DISCORD_BOT_TOKEN)", true
	}
	return "", false
}

// register installs /gptaccess with a bulk overwrite, globally or in the
// configured guild. Failure is logged: mentions and DMs still work.
func (a *Adapter) register(ctx context.Context) {
	_, app := a.s.self()
	if app == "" {
		a.log.Error("cannot register /gptaccess: READY carried no application id")
		return
	}
	err := a.call(ctx, "register commands", func(o ...discordgo.RequestOption) error {
		_, err := a.s.ApplicationCommandBulkOverwrite(app, a.o.GuildID, commands(), o...)
		return err
	})
	scope := "global"
	if a.o.GuildID != "" {
		scope = "guild " + a.o.GuildID
	}
	if err != nil {
		a.log.Error("registering /gptaccess failed (was the bot invited with the applications.commands scope?)",
			"scope", scope, "err", a.errText(err))
		return
	}
	a.log.Info("registered /gptaccess", "scope", scope)
}

// onEvent receives every gateway dispatch, in order, in discordgo's read
// loop. It decodes the two the bot needs itself (one decoder for gateway
// and HTTP payloads, with errors it can log) and writes them to the inbox:
// messages at once, in order; interactions in their own goroutine, which
// also acknowledges them.
func (a *Adapter) onEvent(ctx context.Context, e *discordgo.Event) {
	switch e.Type {
	case eventMessage:
		m, err := decodeMessage(e.RawData)
		if err != nil {
			a.log.Warn("ignoring malformed MESSAGE_CREATE", "err", err, "seq", e.Sequence)
			return
		}
		if !a.wanted(m) {
			return
		}
		in := inbound("msg:"+m.ID, m.ChannelID, eventMessage, e.RawData)
		if !a.hold(in) {
			a.acceptGateway(ctx, in)
		}
	case eventInteraction:
		raw := e.RawData
		a.receiving.Go(func() {
			_, _ = a.receive(ctx, raw, a.restResponder)
		})
	}
}

// wanted reports whether message m goes into the inbox, whether it came
// over the gateway or was caught up on: not other bots' (the bot's own
// included) or webhooks', and, without the Message Content intent, in
// guilds only the ones that mention the bot or reply to a message.
func (a *Adapter) wanted(m *discordgo.Message) bool {
	if m.Author.Bot || m.WebhookID != "" {
		return false
	}
	if !a.o.MessageContent && m.GuildID != "" && m.MessageReference == nil {
		// Without the intent Discord withholds the text of messages
		// that do not mention the bot: nothing to answer.
		if botID, _ := a.s.self(); !mentions(m, botID) {
			return false
		}
	}
	return true
}

// acceptGateway writes a message the gateway delivered to the inbox.
func (a *Adapter) acceptGateway(ctx context.Context, in delivery.Inbound) {
	if _, err := a.core.Accept(ctx, in); err != nil {
		a.log.Error("message lost: cannot write it to the inbox", "lane", in.Lane, "id", in.ID, "err", err)
	}
}

// waitGroup waits up to d for wg.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
