// Package discordtest is a fake Discord for tests: the REST API and the
// gateway websocket on one loopback listener, speaking the real wire
// protocols (JSON over HTTP, the gateway's HELLO / IDENTIFY / READY /
// heartbeat / RESUME handshake, close codes) so that the real discordgo
// client can be driven against it.
//
// Point a client at it with its URL as the API base (the adapter's
// Options.APIURL, discord.api_url in the config): REST then goes to
// <URL>api/v9/... and GET <URL>api/v9/gateway hands out the fake's
// websocket. Tests push gateway events (SendMessage, SendCommand,
// SendClick, Dispatch), steer the connection (Reconnect, InvalidSession,
// CloseGateway, RejectGateway), inject REST failures and rate limits
// (Inject), and read back every REST call (Calls, WaitCalls).
//
// Not faked: zlib-stream transport compression and ETF encoding (discordgo
// asks for JSON and per-payload compression, which Discord lets a server
// ignore), voice, sharding, audit logs.
package discordtest

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Routes as recorded in Call.Route: method and path pattern below /api/v9.
const (
	RouteGateway        = "GET /gateway"
	RouteGatewayBot     = "GET /gateway/bot"
	RouteMe             = "GET /users/@me"
	RouteGlobalCommands = "PUT /applications/{app}/commands"
	RouteGuildCommands  = "PUT /applications/{app}/guilds/{guild}/commands"
	RouteCreateMessage  = "POST /channels/{channel}/messages"
	RouteListMessages   = "GET /channels/{channel}/messages"
	RouteGetMessage     = "GET /channels/{channel}/messages/{message}"
	RouteEditMessage    = "PATCH /channels/{channel}/messages/{message}"
	RouteGetChannel     = "GET /channels/{channel}"
	RouteStartThread    = "POST /channels/{channel}/messages/{message}/threads"
	RouteCallback       = "POST /interactions/{id}/{token}/callback"
	RouteEditWebhookMsg = "PATCH /webhooks/{app}/{token}/messages/{message}"
	RouteDelWebhookMsg  = "DELETE /webhooks/{app}/{token}/messages/{message}"
	RouteFollowup       = "POST /webhooks/{app}/{token}"
	RouteCreateDM       = "POST /users/@me/channels"
)

// Options configure a Server. Zero values mean the documented defaults.
type Options struct {
	// Token is the bot token the fake accepts, without "Bot "; default
	// "test-token". Anything else gets 401 on REST and 4004 on IDENTIFY.
	Token string
	// PrivilegedIntents are the privileged intents enabled "in the
	// Developer Portal" (e.g. discordgo.IntentMessageContent). Asking for
	// others closes the gateway with 4014, as Discord does.
	PrivilegedIntents discordgo.Intent
	// HeartbeatInterval is sent in HELLO; default 41.25 s.
	HeartbeatInterval time.Duration
	// InteractionDeadline is how long after dispatch an interaction may
	// get its initial response; default 3 s, as on Discord.
	InteractionDeadline time.Duration
	// Wait bounds the Wait* helpers; default 10 s.
	Wait time.Duration
	// NoEcho stops the fake from dispatching MESSAGE_CREATE for the
	// messages the bot posts (Discord does send them).
	NoEcho bool
}

// User is a Discord user in payloads the fake builds.
type User struct {
	ID, Name string
	Bot      bool
}

// Server is a fake Discord. Create it with NewServer; it stops when the
// test ends.
type Server struct {
	// URL is the API base for the client, ending in "/".
	URL string
	// Token is the accepted bot token (without "Bot ").
	Token string
	// BotID, AppID and GuildID identify the bot user, its application and
	// the guild it is in. ChannelID is a text channel in that guild.
	BotID, AppID, GuildID, ChannelID string
	// PublicKey verifies HTTP interactions that PostInteraction signs.
	PublicKey ed25519.PublicKey

	tb   testing.TB
	opts Options
	srv  *httptest.Server
	priv ed25519.PrivateKey

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every change
	calls        []Call
	counts       map[string]int
	faults       []*Fault
	nextID       uint64
	channels     map[string]*Channel
	messages     map[string]map[string]any
	order        []string          // message ids in creation order
	nonces       map[string]string // nonce → message id, for enforce_nonce
	interactions map[string]*ixn
	commands     map[string][]*discordgo.ApplicationCommand

	gw gateway
}

// Channel is a channel the fake knows.
type Channel struct {
	ID, GuildID, ParentID, Name string
	Type                        discordgo.ChannelType
}

// ixn is an interaction the fake dispatched or built.
type ixn struct {
	id, token, guild, channel, user string
	typ                             discordgo.InteractionType
	sent                            time.Time
	responded                       bool
	respType                        discordgo.InteractionResponseType
	original                        string // message id of @original
	message                         string // message clicked (components)
	httpPending                     bool
	deleted                         bool
}

// Call is one REST request the fake answered.
type Call struct {
	Route  string            // e.g. RouteCreateMessage
	Method string            // HTTP method
	Path   string            // path below /api/v9, e.g. /channels/1/messages
	Params map[string]string // path values, e.g. {"channel": "1"}
	Query  url.Values
	Header http.Header
	Body   []byte
	Status int
	HTTP   bool // an initial response read from an HTTP interaction's response, not a REST call
	At     time.Time
}

// Decode unmarshals the request body into v.
func (c Call) Decode(v any) error { return json.Unmarshal(c.Body, v) }

func (c Call) String() string { return fmt.Sprintf("%s %s → %d", c.Method, c.Path, c.Status) }

// Fault makes matching requests fail.
type Fault struct {
	Route  string            // a Route* constant; "" matches every route
	Params map[string]string // path values that must match, e.g. {"channel": "123"}
	Times  int               // requests to fail; 0 fails every one

	Status  int    // HTTP status; default 429 with RetryAfter, 403 for codes 50001/50013, 404 for 10003/10008, else 400
	Code    int    // Discord JSON error code, e.g. 50013
	Message string // Discord JSON error message

	// RetryAfter makes it a rate limit: 429, JSON retry_after and
	// X-RateLimit-* headers. Global marks a global limit.
	RetryAfter time.Duration
	Global     bool

	hits int
}

// NewServer starts a fake Discord for tb.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.Token == "" {
		o.Token = "test-token"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 41250 * time.Millisecond
	}
	if o.InteractionDeadline <= 0 {
		o.InteractionDeadline = 3 * time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 10 * time.Second
	}
	seed := sha256.Sum256([]byte("gptaccess discordtest key"))
	priv := ed25519.NewKeyFromSeed(seed[:])
	s := &Server{
		Token:        o.Token,
		BotID:        "1100000000000000001",
		AppID:        "1100000000000000002",
		GuildID:      "1100000000000000100",
		ChannelID:    "1100000000000000200",
		PublicKey:    priv.Public().(ed25519.PublicKey),
		tb:           tb,
		opts:         o,
		priv:         priv,
		changed:      make(chan struct{}),
		counts:       map[string]int{},
		channels:     map[string]*Channel{},
		messages:     map[string]map[string]any{},
		interactions: map[string]*ixn{},
		commands:     map[string][]*discordgo.ApplicationCommand{},
	}
	s.channels[s.ChannelID] = &Channel{ID: s.ChannelID, GuildID: s.GuildID, Name: "help", Type: discordgo.ChannelTypeGuildText}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveGateway)
	s.route(mux, RouteGateway, false, s.getGateway)
	s.route(mux, RouteGatewayBot, true, s.getGatewayBot)
	s.route(mux, RouteMe, true, s.getMe)
	s.route(mux, RouteGlobalCommands, true, s.putCommands)
	s.route(mux, RouteGuildCommands, true, s.putCommands)
	s.route(mux, RouteCreateMessage, true, s.createMessage)
	s.route(mux, RouteListMessages, true, s.listMessages)
	s.route(mux, RouteGetMessage, true, s.getMessage)
	s.route(mux, RouteEditMessage, true, s.editMessage)
	s.route(mux, RouteGetChannel, true, s.getChannel)
	s.route(mux, RouteStartThread, true, s.startThread)
	s.route(mux, RouteCallback, false, s.callback)
	s.route(mux, RouteEditWebhookMsg, false, s.editWebhookMessage)
	s.route(mux, RouteDelWebhookMsg, false, s.deleteWebhookMessage)
	s.route(mux, RouteFollowup, false, s.followup)
	s.route(mux, RouteCreateDM, true, s.createDM)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(Call{Route: "unknown", Method: r.Method, Path: r.URL.Path, Status: 404, At: time.Now()})
		writeJSON(w, 404, apiError{Message: "404: Not Found", Code: 0})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/"
	tb.Cleanup(s.Close)
	return s
}

// Close closes the gateway connection and stops the server.
func (s *Server) Close() {
	s.gw.mu.Lock()
	s.gw.stopped = true
	c := s.gw.conn
	s.gw.conn = nil
	s.gw.mu.Unlock()
	if c != nil {
		c.close(websocket1001, "server stopped")
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Mention is the markup that mentions the bot.
func (s *Server) Mention() string { return "<@" + s.BotID + ">" }

// PublicKeyHex is PublicKey in hex, as the Developer Portal shows it.
func (s *Server) PublicKeyHex() string { return hex.EncodeToString(s.PublicKey) }

// discordEpoch is the first millisecond of 2015 (Unix ms), where
// Discord's snowflakes count from.
const discordEpoch = 1420070400000

// NewID returns a fresh snowflake: the current time in its top bits, as
// Discord makes them, so that a client may ask for the messages after a
// time (GET /channels/{channel}/messages?after=<a snowflake made from a
// time>). Ids only grow.
func (s *Server) NewID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

func (s *Server) newIDLocked() string {
	id := uint64(time.Now().UnixMilli()-discordEpoch) << 22
	if id <= s.nextID {
		id = s.nextID + 1
	}
	s.nextID = id
	return strconv.FormatUint(id, 10)
}

// AddChannel registers a channel (a thread, a DM, another text channel).
// Channels used in SendMessage are registered automatically: as text
// channels in a guild, as DMs without one.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := c
	s.channels[c.ID] = &cp
	s.signalLocked()
}

// NewThread registers a public thread in parent and returns its id.
func (s *Server) NewThread(parent string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked()
	s.channels[id] = &Channel{ID: id, GuildID: s.GuildID, ParentID: parent, Name: "thread", Type: discordgo.ChannelTypeGuildPublicThread}
	return id
}

// Inject adds a fault; faults are matched in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := f
	s.faults = append(s.faults, &cp)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Calls returns the REST calls on route ("" for all), oldest first.
func (s *Server) Calls(route string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(route)
}

func (s *Server) callsLocked(route string) []Call {
	var out []Call
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many calls on route were answered, cheaply.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// WaitCalls waits until at least n calls on route were answered and returns
// all calls on route so far. It fails the test after Options.Wait.
func (s *Server) WaitCalls(tb testing.TB, route string, n int) []Call {
	tb.Helper()
	var out []Call
	s.waitLocked(tb, fmt.Sprintf("%d calls to %s", n, route), func() bool {
		out = s.callsLocked(route)
		return len(out) >= n
	})
	return out
}

// waitLocked waits until cond, which runs with s.mu held, holds.
func (s *Server) waitLocked(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(s.opts.Wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			s.mu.Lock()
			var b strings.Builder
			for _, c := range s.calls {
				fmt.Fprintf(&b, "\n  %s %s", c.Route, c)
			}
			s.mu.Unlock()
			tb.Fatalf("discordtest: timed out after %s waiting for %s; REST calls so far:%s", s.opts.Wait, what, b.String())
			return
		}
	}
}

// Await waits until cond (called without the lock held) holds, re-checking
// on every change. It fails the test after Options.Wait.
func (s *Server) Await(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(s.opts.Wait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("discordtest: timed out after %s waiting for %s", s.opts.Wait, what)
			return
		}
	}
}

func (s *Server) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.counts[c.Route]++
	s.signalLocked()
}

// Message returns a message the fake stores (sent by tests or the bot).
func (s *Server) Message(id string) (*discordgo.Message, bool) {
	s.mu.Lock()
	obj, ok := s.messages[id]
	var b []byte
	if ok {
		b, _ = json.Marshal(obj)
	}
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	var m discordgo.Message
	if err := json.Unmarshal(b, &m); err != nil {
		s.tb.Errorf("discordtest: stored message %s does not decode: %v", id, err)
		return nil, false
	}
	return &m, true
}

// Messages returns the messages in channel, oldest first, including the
// bot's and ephemeral interaction responses.
func (s *Server) Messages(channel string) []*discordgo.Message {
	s.mu.Lock()
	var ids []string
	for _, id := range s.order {
		if m := s.messages[id]; m != nil && m["channel_id"] == channel {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	var out []*discordgo.Message
	for _, id := range ids {
		if m, ok := s.Message(id); ok {
			out = append(out, m)
		}
	}
	return out
}

// BotMessages returns the bot's messages in channel, oldest first.
func (s *Server) BotMessages(channel string) []*discordgo.Message {
	var out []*discordgo.Message
	for _, m := range s.Messages(channel) {
		if m.Author != nil && m.Author.ID == s.BotID {
			out = append(out, m)
		}
	}
	return out
}

// Commands returns the commands registered globally (guild "") or in guild.
func (s *Server) Commands(guild string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[guild])
}

// Original returns the id of an interaction's original response message.
func (s *Server) Original(interactionID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[interactionID]
	if in == nil || in.original == "" || in.deleted {
		return "", false
	}
	return in.original, true
}

// REST plumbing.

type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

type handlerFunc func(r *http.Request, body []byte) (status int, v any)

func (s *Server) route(mux *http.ServeMux, route string, auth bool, h handlerFunc) {
	method, path, _ := strings.Cut(route, " ")
	mux.HandleFunc(method+" /api/v9"+path, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		c := Call{
			Route: route, Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/api/v9"),
			Params: params(route, r), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, At: time.Now(),
		}
		status, v, hdr := s.serve(route, auth, c, r, body, h)
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		c.Status = status
		s.record(c)
		// Handlers return the fake's own message maps, which later
		// requests edit under s.mu: encode them under it too.
		s.mu.Lock()
		payload, err := json.Marshal(v)
		s.mu.Unlock()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		writeEncoded(w, status, v == nil, payload)
	})
}

func (s *Server) serve(route string, auth bool, c Call, r *http.Request, body []byte, h handlerFunc) (int, any, http.Header) {
	if f := s.fault(route, c.Params); f != nil {
		return faultResponse(f)
	}
	if auth && r.Header.Get("Authorization") != "Bot "+s.Token {
		return 401, apiError{Message: "401: Unauthorized", Code: 0}, nil
	}
	status, v := h(r, body)
	return status, v, nil
}

func params(route string, r *http.Request) map[string]string {
	out := map[string]string{}
	for _, seg := range strings.Split(route, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.Trim(seg, "{}")
			out[name] = r.PathValue(name)
		}
	}
	return out
}

func (s *Server) fault(route string, p map[string]string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Route != "" && f.Route != route {
			continue
		}
		match := true
		for k, v := range f.Params {
			if p[k] != v {
				match = false
			}
		}
		if !match || (f.Times > 0 && f.hits >= f.Times) {
			continue
		}
		f.hits++
		cp := *f
		return &cp
	}
	return nil
}

func faultResponse(f *Fault) (int, any, http.Header) {
	h := http.Header{}
	if f.RetryAfter > 0 {
		secs := f.RetryAfter.Seconds()
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(f.RetryAfter).UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", "fakebucket")
		scope := "user"
		if f.Global {
			h.Set("X-RateLimit-Global", "true")
			scope = "global"
		}
		h.Set("X-RateLimit-Scope", scope)
		status := f.Status
		if status == 0 {
			status = 429
		}
		return status, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": f.Global}, h
	}
	status := f.Status
	if status == 0 {
		switch f.Code {
		case 50001, 50013:
			status = 403
		case 10003, 10008, 10062:
			status = 404
		default:
			status = 400
		}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(status)
		switch f.Code {
		case 50001:
			msg = "Missing Access"
		case 50013:
			msg = "Missing Permissions"
		case 10003:
			msg = "Unknown Channel"
		}
	}
	return status, apiError{Message: msg, Code: f.Code}, h
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(500)
		return
	}
	writeEncoded(w, status, v == nil, b)
}

// writeEncoded writes an encoded JSON answer (none for 204 or a nil value).
func writeEncoded(w http.ResponseWriter, status int, empty bool, b []byte) {
	if status == http.StatusNoContent || empty {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func errorf(status, code int, format string, a ...any) (int, any) {
	return status, apiError{Message: fmt.Sprintf(format, a...), Code: code}
}

// Route handlers.

func (s *Server) getGateway(r *http.Request, _ []byte) (int, any) {
	return 200, map[string]any{"url": "ws://" + r.Host}
}

func (s *Server) getGatewayBot(r *http.Request, _ []byte) (int, any) {
	return 200, map[string]any{
		"url": "ws://" + r.Host, "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1},
	}
}

func (s *Server) getMe(*http.Request, []byte) (int, any) {
	return 200, s.botUser()
}

func (s *Server) botUser() map[string]any {
	return userObj(User{ID: s.BotID, Name: "gptaccess", Bot: true})
}

func userObj(u User) map[string]any {
	name := u.Name
	if name == "" {
		name = "user" + u.ID[max(0, len(u.ID)-4):]
	}
	o := map[string]any{"id": u.ID, "username": name, "global_name": name, "discriminator": "0", "avatar": nil, "public_flags": 0}
	if u.Bot {
		o["bot"] = true
		o["global_name"] = nil
	}
	return o
}

func (s *Server) putCommands(r *http.Request, body []byte) (int, any) {
	if r.PathValue("app") != s.AppID {
		return errorf(403, 50001, "Missing Access")
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(body, &cmds); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if len(cmds) > 100 {
		return errorf(400, 30032, "Maximum number of application commands reached")
	}
	for _, c := range cmds {
		if err := validateCommand(c); err != "" {
			return errorf(400, 50035, "Invalid Form Body: %s", err)
		}
	}
	guild := r.PathValue("guild")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cmds {
		c.ID = s.newIDLocked()
		c.ApplicationID = s.AppID
		c.GuildID = guild
		c.Version = s.newIDLocked()
		if c.Type == 0 {
			c.Type = discordgo.ChatApplicationCommand
		}
	}
	s.commands[guild] = cmds
	return 200, cmds
}

func validName(n string) bool {
	if n == "" || utf8.RuneCountInString(n) > 32 || strings.ToLower(n) != n {
		return false
	}
	for _, r := range n {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validateCommand(c *discordgo.ApplicationCommand) string {
	if !validName(c.Name) {
		return "name: " + c.Name
	}
	if (c.Type == 0 || c.Type == discordgo.ChatApplicationCommand) && (c.Description == "" || utf8.RuneCountInString(c.Description) > 100) {
		return "description of " + c.Name
	}
	return validateOptions(c.Options, 0)
}

func validateOptions(opts []*discordgo.ApplicationCommandOption, depth int) string {
	if len(opts) > 25 {
		return "more than 25 options"
	}
	seen := map[string]bool{}
	requiredDone := false
	for _, o := range opts {
		if !validName(o.Name) || seen[o.Name] {
			return "option name: " + o.Name
		}
		seen[o.Name] = true
		if o.Description == "" || utf8.RuneCountInString(o.Description) > 100 {
			return "description of option " + o.Name
		}
		if o.Required && requiredDone {
			return "required options must come first: " + o.Name
		}
		if !o.Required {
			requiredDone = true
		}
		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			if depth > 1 {
				return "subcommands nested too deep"
			}
			if e := validateOptions(o.Options, depth+1); e != "" {
				return e
			}
		case 0:
			return "option type missing: " + o.Name
		}
	}
	return ""
}

// msgBody is what clients send to create or edit a message.
type msgBody struct {
	Content         *string           `json:"content"`
	Embeds          []json.RawMessage `json:"embeds"`
	Components      []json.RawMessage `json:"components"`
	Flags           int               `json:"flags"`
	AllowedMentions json.RawMessage   `json:"allowed_mentions"`
	Reference       *struct {
		MessageID       string `json:"message_id"`
		ChannelID       string `json:"channel_id"`
		FailIfNotExists *bool  `json:"fail_if_not_exists"`
	} `json:"message_reference"`
	// Nonce (a string or an integer) with EnforceNonce makes a create
	// idempotent: Discord returns the message the bot already made with
	// that nonce instead of making another.
	Nonce        json.RawMessage `json:"nonce"`
	EnforceNonce bool            `json:"enforce_nonce"`
}

// validate checks Discord's limits; it returns "" when fine.
func (b *msgBody) validate(create bool) string {
	content := ""
	if b.Content != nil {
		content = *b.Content
	}
	if utf8.RuneCountInString(content) > 2000 {
		return "content: Must be 2000 or fewer in length."
	}
	if create && content == "" && len(b.Embeds) == 0 && len(b.Components) == 0 {
		return "empty"
	}
	if len(b.Embeds) > 10 {
		return "embeds: Must be 10 or fewer in length."
	}
	for _, e := range b.Embeds {
		var em discordgo.MessageEmbed
		if err := json.Unmarshal(e, &em); err != nil {
			return "embeds: invalid"
		}
		if utf8.RuneCountInString(em.Title) > 256 || utf8.RuneCountInString(em.Description) > 4096 {
			return "embeds: too long"
		}
	}
	if len(b.Components) > 5 {
		return "components: Must be 5 or fewer in length."
	}
	ids := map[string]bool{}
	for _, raw := range b.Components {
		var row struct {
			Type       int `json:"type"`
			Components []struct {
				Type     int    `json:"type"`
				Label    string `json:"label"`
				Style    int    `json:"style"`
				CustomID string `json:"custom_id"`
				URL      string `json:"url"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &row); err != nil || row.Type != 1 {
			return "components: top level must be action rows"
		}
		if len(row.Components) == 0 || len(row.Components) > 5 {
			return "components: an action row holds 1 to 5 buttons"
		}
		for _, c := range row.Components {
			if c.Type != 2 {
				continue
			}
			if utf8.RuneCountInString(c.Label) > 80 {
				return "components: label must be 80 or fewer in length"
			}
			if c.Style < 1 || c.Style > 6 {
				return "components: invalid button style"
			}
			if c.Style == 5 {
				continue
			}
			if c.CustomID == "" || utf8.RuneCountInString(c.CustomID) > 100 {
				return "components: custom_id must be 1 to 100 characters"
			}
			if ids[c.CustomID] {
				return "components: custom_id duplicated"
			}
			ids[c.CustomID] = true
		}
	}
	return ""
}

// createDM opens (or finds) the DM channel between the bot and a user.
func (s *Server) createDM(r *http.Request, body []byte) (int, any) {
	var b struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.RecipientID == "" {
		return errorf(400, 50035, "Invalid Form Body: recipient_id")
	}
	s.mu.Lock()
	id := s.dmChannelLocked(b.RecipientID)
	s.mu.Unlock()
	return 200, map[string]any{"id": id, "type": int(discordgo.ChannelTypeDM), "last_message_id": nil, "flags": 0,
		"recipients": []any{map[string]any{"id": b.RecipientID, "username": "user" + b.RecipientID, "discriminator": "0", "global_name": nil, "avatar": nil}}}
}

func (s *Server) createMessage(r *http.Request, body []byte) (int, any) {
	channel := r.PathValue("channel")
	var b msgBody
	if err := json.Unmarshal(body, &b); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if e := b.validate(true); e == "empty" {
		return errorf(400, 50006, "Cannot send an empty message")
	} else if e != "" {
		return errorf(400, 50035, "Invalid Form Body: %s", e)
	}
	nonce := strings.Trim(string(b.Nonce), `"`)
	if len(nonce) > 25 {
		return errorf(400, 50035, "Invalid Form Body: nonce: Must be 25 or fewer in length.")
	}
	s.mu.Lock()
	ch := s.channels[channel]
	if ch == nil {
		s.mu.Unlock()
		return errorf(404, 10003, "Unknown Channel")
	}
	if id, ok := s.nonces[nonce]; ok && b.EnforceNonce && nonce != "" {
		m := s.messages[id]
		s.mu.Unlock()
		return 200, m
	}
	var ref string
	if b.Reference != nil && b.Reference.MessageID != "" {
		rm := s.messages[b.Reference.MessageID]
		if rm == nil || rm["channel_id"] != channel {
			if b.Reference.FailIfNotExists == nil || *b.Reference.FailIfNotExists {
				s.mu.Unlock()
				return errorf(400, 50035, "Invalid Form Body: message_reference: Unknown message")
			}
		} else {
			ref = b.Reference.MessageID
		}
	}
	m := s.newMessageLocked(ch, s.botUser(), b, ref)
	m["flags"] = b.Flags &^ int(discordgo.MessageFlagsEphemeral)
	if nonce != "" {
		m["nonce"] = nonce
		if s.nonces == nil {
			s.nonces = map[string]string{}
		}
		s.nonces[nonce] = m["id"].(string)
	}
	echo := mustJSON(m) // m is stored and later edited under s.mu
	s.signalLocked()
	s.mu.Unlock()
	if !s.opts.NoEcho {
		s.DispatchRaw("MESSAGE_CREATE", echo)
	}
	return 200, m
}

// newMessageLocked stores a new message authored by author.
func (s *Server) newMessageLocked(ch *Channel, author map[string]any, b msgBody, ref string) map[string]any {
	id := s.newIDLocked()
	content := ""
	if b.Content != nil {
		content = *b.Content
	}
	m := map[string]any{
		"id": id, "channel_id": ch.ID, "content": content, "timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00"),
		"edited_timestamp": nil, "tts": false, "mention_everyone": false, "mentions": s.mentionsLocked(content),
		"mention_roles": []any{}, "attachments": []any{}, "embeds": rawList(b.Embeds), "components": rawList(b.Components),
		"pinned": false, "type": 0, "flags": b.Flags, "author": author,
	}
	if ch.GuildID != "" {
		m["guild_id"] = ch.GuildID
	}
	if ref != "" {
		m["type"] = 19
		m["message_reference"] = map[string]any{"type": 0, "message_id": ref, "channel_id": ch.ID, "guild_id": ch.GuildID}
		m["referenced_message"] = shallow(s.messages[ref])
	}
	s.messages[id] = m
	s.order = append(s.order, id)
	return m
}

func intOf(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

func rawList(r []json.RawMessage) []any {
	out := make([]any, 0, len(r))
	for _, x := range r {
		out = append(out, x)
	}
	return out
}

// shallow copies a message for referenced_message, which Discord sends
// one level deep.
func shallow(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	cp := make(map[string]any, len(m))
	for k, v := range m {
		if k != "referenced_message" {
			cp[k] = v
		}
	}
	return cp
}

// mentionsLocked derives the mentions array from <@id> markup.
func (s *Server) mentionsLocked(content string) []any {
	out := []any{}
	seen := map[string]bool{}
	rest := content
	for {
		i := strings.Index(rest, "<@")
		if i < 0 {
			return out
		}
		rest = rest[i+2:]
		rest = strings.TrimPrefix(rest, "!")
		j := strings.IndexByte(rest, '>')
		if j <= 0 {
			continue
		}
		id := rest[:j]
		if _, err := strconv.ParseUint(id, 10, 64); err != nil || seen[id] {
			continue
		}
		seen[id] = true
		if id == s.BotID {
			out = append(out, s.botUser())
		} else {
			out = append(out, userObj(User{ID: id}))
		}
	}
}

// listMessages is GET /channels/{channel}/messages as Discord answers it:
// at most limit (1 to 100, default 50) messages, newest first; with after,
// the ones right after that id (the oldest of those newer than it), with
// before the ones right before it, else the latest. Any snowflake will do
// as after or before, also one made from a time. The messages are the
// REST shape: without the guild_id and member the gateway adds, and
// without content (unless they mention the bot or are the bot's own) when
// the Message Content intent is not enabled for the app.
func (s *Server) listMessages(r *http.Request, _ []byte) (int, any) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errorf(400, 50035, "Invalid Form Body: limit: int value should be between 1 and 100.")
		}
		limit = n
	}
	if q.Get("around") != "" || q.Get("after") != "" && q.Get("before") != "" {
		return errorf(400, 50035, "Invalid Form Body: the fake takes at most one of after and before (around is not faked)")
	}
	after, err := snowflakeParam(q, "after")
	if err != nil {
		return errorf(400, 50035, "Invalid Form Body: %v", err)
	}
	before, err := snowflakeParam(q, "before")
	if err != nil {
		return errorf(400, 50035, "Invalid Form Body: %v", err)
	}
	channel := r.PathValue("channel")
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[channel]
	if ch == nil {
		return errorf(404, 10003, "Unknown Channel")
	}
	type entry struct {
		id uint64
		m  map[string]any
	}
	var all []entry
	for _, id := range s.order {
		m := s.messages[id]
		if m == nil || m["channel_id"] != channel || intOf(m["flags"])&int(discordgo.MessageFlagsEphemeral) != 0 {
			continue
		}
		n, _ := strconv.ParseUint(id, 10, 64)
		all = append(all, entry{n, m})
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	var page []entry
	switch {
	case after > 0:
		for _, e := range all {
			if e.id > after && len(page) < limit {
				page = append(page, e)
			}
		}
	case before > 0:
		for _, e := range all {
			if e.id < before {
				page = append(page, e)
			}
		}
		page = page[max(0, len(page)-limit):]
	default:
		page = all[max(0, len(all)-limit):]
	}
	out := make([]any, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- {
		out = append(out, s.restMessageLocked(page[i].m))
	}
	return 200, out
}

// snowflakeParam reads query parameter name as a snowflake; 0 when absent.
func snowflakeParam(q url.Values, name string) (uint64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: Value %q is not snowflake.", name, v)
	}
	return n, nil
}

// restMessageLocked is a stored message as REST returns it.
func (s *Server) restMessageLocked(m map[string]any) map[string]any {
	out := merge(m, nil)
	delete(out, "guild_id")
	delete(out, "member")
	if rm, ok := out["referenced_message"].(map[string]any); ok && rm != nil {
		rm = merge(rm, nil)
		delete(rm, "guild_id")
		delete(rm, "member")
		out["referenced_message"] = rm
	}
	author, _ := m["author"].(map[string]any)
	ch := s.channels[fmt.Sprint(m["channel_id"])]
	if ch != nil && ch.GuildID != "" && s.opts.PrivilegedIntents&discordgo.IntentMessageContent == 0 &&
		(author == nil || author["id"] != s.BotID) && !mentionsBot(out, s.BotID) {
		out["content"] = ""
		out["embeds"] = []any{}
		out["attachments"] = []any{}
		out["components"] = []any{}
	}
	return out
}

func (s *Server) getMessage(r *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[r.PathValue("message")]
	if m == nil || m["channel_id"] != r.PathValue("channel") || intOf(m["flags"])&int(discordgo.MessageFlagsEphemeral) != 0 {
		return errorf(404, 10008, "Unknown Message")
	}
	return 200, m
}

func (s *Server) editMessage(r *http.Request, body []byte) (int, any) {
	var b msgBody
	if err := json.Unmarshal(body, &b); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if e := b.validate(false); e != "" {
		return errorf(400, 50035, "Invalid Form Body: %s", e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[r.PathValue("message")]
	if m == nil || m["channel_id"] != r.PathValue("channel") {
		return errorf(404, 10008, "Unknown Message")
	}
	if a, _ := m["author"].(map[string]any); a == nil || a["id"] != s.BotID {
		return errorf(403, 50005, "Cannot edit a message authored by another user")
	}
	applyEdit(m, raw(body), b)
	s.signalLocked()
	return 200, m
}

// raw decodes a body to see which fields were present.
func raw(body []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	json.Unmarshal(body, &m)
	return m
}

func applyEdit(m map[string]any, present map[string]json.RawMessage, b msgBody) {
	if _, ok := present["content"]; ok {
		c := ""
		if b.Content != nil {
			c = *b.Content
		}
		m["content"] = c
	}
	if _, ok := present["embeds"]; ok {
		m["embeds"] = rawList(b.Embeds)
	}
	if _, ok := present["components"]; ok {
		m["components"] = rawList(b.Components)
	}
	m["edited_timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func (s *Server) getChannel(r *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[r.PathValue("channel")]
	if c == nil {
		return errorf(404, 10003, "Unknown Channel")
	}
	return 200, channelObj(c)
}

func channelObj(c *Channel) map[string]any {
	o := map[string]any{"id": c.ID, "type": int(c.Type), "name": c.Name, "flags": 0}
	if c.GuildID != "" {
		o["guild_id"] = c.GuildID
	}
	if c.ParentID != "" {
		o["parent_id"] = c.ParentID
	}
	if c.Type == discordgo.ChannelTypeGuildPublicThread || c.Type == discordgo.ChannelTypeGuildPrivateThread {
		o["thread_metadata"] = map[string]any{"archived": false, "auto_archive_duration": 1440, "locked": false,
			"archive_timestamp": time.Now().UTC().Format(time.RFC3339)}
		o["message_count"] = 0
		o["member_count"] = 1
	}
	return o
}

func (s *Server) startThread(r *http.Request, body []byte) (int, any) {
	var b struct {
		Name                string `json:"name"`
		AutoArchiveDuration int    `json:"auto_archive_duration"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if b.Name == "" || utf8.RuneCountInString(b.Name) > 100 {
		return errorf(400, 50035, "Invalid Form Body: name")
	}
	channel, msg := r.PathValue("channel"), r.PathValue("message")
	s.mu.Lock()
	parent := s.channels[channel]
	m := s.messages[msg]
	switch {
	case parent == nil:
		s.mu.Unlock()
		return errorf(404, 10003, "Unknown Channel")
	case parent.Type != discordgo.ChannelTypeGuildText && parent.Type != discordgo.ChannelTypeGuildNews:
		s.mu.Unlock()
		return errorf(400, 50024, "Cannot execute action on this channel type")
	case m == nil || m["channel_id"] != channel:
		s.mu.Unlock()
		return errorf(404, 10008, "Unknown Message")
	case s.channels[msg] != nil:
		s.mu.Unlock()
		return errorf(400, 160004, "A thread has already been created for this message")
	}
	// A thread started from a message has the message's id.
	t := &Channel{ID: msg, GuildID: parent.GuildID, ParentID: channel, Name: b.Name, Type: discordgo.ChannelTypeGuildPublicThread}
	s.channels[msg] = t
	obj := channelObj(t)
	m["thread"] = obj
	s.signalLocked()
	s.mu.Unlock()
	s.Dispatch("THREAD_CREATE", merge(obj, map[string]any{"newly_created": true}))
	return 201, obj
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Interactions.

func (s *Server) callback(r *http.Request, body []byte) (int, any) {
	s.mu.Lock()
	in := s.interactions[r.PathValue("id")]
	if in == nil || in.token != r.PathValue("token") {
		s.mu.Unlock()
		return errorf(404, 10062, "Unknown interaction")
	}
	s.mu.Unlock()
	return s.respond(in, body, false)
}

// respond applies an initial interaction response.
func (s *Server) respond(in *ixn, body []byte, viaHTTP bool) (int, any) {
	var resp struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data *json.RawMessage                  `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	var b msgBody
	if resp.Data != nil {
		if err := json.Unmarshal(*resp.Data, &b); err != nil {
			return errorf(400, 50035, "Invalid Form Body: data")
		}
		if e := b.validate(false); e != "" {
			return errorf(400, 50035, "Invalid Form Body: data: %s", e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signalLocked()
	if in.responded {
		return errorf(400, 40060, "Interaction has already been acknowledged.")
	}
	if !viaHTTP && time.Since(in.sent) > s.opts.InteractionDeadline {
		return errorf(404, 10062, "Unknown interaction")
	}
	ch := s.channels[in.channel]
	if ch == nil {
		ch = &Channel{ID: in.channel, GuildID: in.guild}
	}
	switch resp.Type {
	case discordgo.InteractionResponsePong:
		if in.typ != discordgo.InteractionPing {
			return errorf(400, 50035, "Invalid Form Body: type")
		}
	case discordgo.InteractionResponseChannelMessageWithSource:
		if b.Content == nil || *b.Content == "" {
			if len(b.Embeds) == 0 && len(b.Components) == 0 {
				return errorf(400, 50006, "Cannot send an empty message")
			}
		}
		m := s.newMessageLocked(ch, s.botUser(), b, "")
		s.interactionMetaLocked(m, in)
		in.original = m["id"].(string)
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		empty := ""
		b.Content = &empty
		m := s.newMessageLocked(ch, s.botUser(), b, "")
		m["flags"] = b.Flags | int(discordgo.MessageFlagsLoading)
		s.interactionMetaLocked(m, in)
		in.original = m["id"].(string)
	case discordgo.InteractionResponseDeferredMessageUpdate, discordgo.InteractionResponseUpdateMessage:
		if in.typ != discordgo.InteractionMessageComponent {
			return errorf(400, 40043, "Interaction response type is not valid for this interaction")
		}
		in.original = in.message
		if resp.Type == discordgo.InteractionResponseUpdateMessage && resp.Data != nil {
			if m := s.messages[in.message]; m != nil {
				applyEdit(m, raw(*resp.Data), b)
			}
		}
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		if in.typ != discordgo.InteractionApplicationCommandAutocomplete {
			return errorf(400, 40043, "Interaction response type is not valid for this interaction")
		}
	default:
		return errorf(400, 50035, "Invalid Form Body: type %d", resp.Type)
	}
	in.responded = true
	in.respType = resp.Type
	in.httpPending = false
	return 204, nil
}

func (s *Server) interactionMetaLocked(m map[string]any, in *ixn) {
	m["interaction_metadata"] = map[string]any{"id": in.id, "type": int(in.typ), "user": userObj(User{ID: in.user})}
	m["type"] = 20
	if in.typ == discordgo.InteractionMessageComponent {
		m["type"] = 19
	}
	m["webhook_id"] = s.AppID
}

// tokenIxn finds the interaction behind a webhook token, waiting briefly
// for an HTTP interaction whose response is still on its way (Discord
// processes the HTTP response before it accepts edits).
func (s *Server) tokenIxn(r *http.Request) (*ixn, int, any) {
	if r.PathValue("app") != s.AppID {
		st, v := errorf(404, 10015, "Unknown Webhook")
		return nil, st, v
	}
	token := r.PathValue("token")
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		var in *ixn
		for _, x := range s.interactions {
			if x.token == token {
				in = x
			}
		}
		var responded, pending bool
		if in != nil {
			responded, pending = in.responded, in.httpPending
		}
		ch := s.changed
		s.mu.Unlock()
		switch {
		case in == nil:
			st, v := errorf(404, 10015, "Unknown Webhook")
			return nil, st, v
		case responded:
			return in, 0, nil
		case !pending || time.Now().After(deadline):
			st, v := errorf(404, 10008, "Unknown Message")
			return nil, st, v
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
		}
	}
}

func (s *Server) editWebhookMessage(r *http.Request, body []byte) (int, any) {
	in, st, v := s.tokenIxn(r)
	if in == nil {
		return st, v
	}
	var b msgBody
	if err := json.Unmarshal(body, &b); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if e := b.validate(false); e != "" {
		return errorf(400, 50035, "Invalid Form Body: %s", e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("message")
	if id == "@original" {
		id = in.original
	}
	m := s.messages[id]
	if m == nil || in.deleted && id == in.original {
		return errorf(404, 10008, "Unknown Message")
	}
	applyEdit(m, raw(body), b)
	if f := intOf(m["flags"]); f&int(discordgo.MessageFlagsLoading) != 0 {
		m["flags"] = f &^ int(discordgo.MessageFlagsLoading)
	}
	s.signalLocked()
	return 200, m
}

func (s *Server) deleteWebhookMessage(r *http.Request, _ []byte) (int, any) {
	in, st, v := s.tokenIxn(r)
	if in == nil {
		return st, v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("message")
	if id == "@original" {
		id = in.original
		in.deleted = true
	}
	if s.messages[id] == nil {
		return errorf(404, 10008, "Unknown Message")
	}
	delete(s.messages, id)
	s.signalLocked()
	return 204, nil
}

func (s *Server) followup(r *http.Request, body []byte) (int, any) {
	in, st, v := s.tokenIxn(r)
	if in == nil {
		return st, v
	}
	var b msgBody
	if err := json.Unmarshal(body, &b); err != nil {
		return errorf(400, 50109, "The request body contains invalid JSON.")
	}
	if e := b.validate(true); e == "empty" {
		return errorf(400, 50006, "Cannot send an empty message")
	} else if e != "" {
		return errorf(400, 50035, "Invalid Form Body: %s", e)
	}
	s.mu.Lock()
	ch := s.channels[in.channel]
	if ch == nil {
		ch = &Channel{ID: in.channel, GuildID: in.guild}
	}
	m := s.newMessageLocked(ch, s.botUser(), b, "")
	s.interactionMetaLocked(m, in)
	m["webhook_id"] = s.AppID
	s.signalLocked()
	s.mu.Unlock()
	if r.URL.Query().Get("wait") != "true" {
		return 204, nil
	}
	return 200, m
}

// Sign signs an HTTP interaction body the way Discord does: Ed25519 over
// timestamp+body, hex encoded.
func Sign(priv ed25519.PrivateKey, timestamp string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(priv, append([]byte(timestamp), body...)))
}

// SignedRequest builds a POST of body to url with Discord's signature
// headers made with priv.
func SignedRequest(url string, priv ed25519.PrivateKey, body []byte, now time.Time) (*http.Request, error) {
	ts := strconv.FormatInt(now.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	req.Header.Set("X-Signature-Ed25519", Sign(priv, ts, body))
	req.Header.Set("X-Signature-Timestamp", ts)
	return req, nil
}

// PrivateKey is the key PostInteraction signs with (the pair of PublicKey).
func (s *Server) PrivateKey() ed25519.PrivateKey { return s.priv }
