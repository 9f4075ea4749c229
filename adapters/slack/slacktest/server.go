// Package slacktest is a fake Slack for tests: the Web API methods the bot
// calls, Socket Mode over a real websocket, response_url endpoints, and
// helpers that deliver Events API, slash-command and interactivity requests
// over HTTP signed exactly as Slack signs them.
//
// It speaks the wire protocols as Slack documents them and as the
// slack-go client (the version in go.mod) sends and expects them; these are
// the facts the fake relies on, so a test passes only against what the real
// Slack does: the bot token travels as the form field "token" for chat.*
// methods (slack-go posts forms, not JSON); apps.connections.open takes the
// app token as a Bearer header and returns a ws:// URL; the websocket sends
// a "hello" envelope first and PING frames regularly; every envelope has a
// unique envelope_id and is redelivered, with retry_attempt and
// retry_reason, when it is not acked in time; and rate limits are HTTP 429
// with a Retry-After header in seconds.
//
// Every Web API call, message, response_url post and ack is recorded; the
// Wait helpers block until something has happened (no polling sleeps).
package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Config configures a Server. Zero values get the defaults noted.
type Config struct {
	BotToken      string // "xoxb-test-token"
	AppToken      string // "xapp-test-token"
	SigningSecret string // "test-signing-secret"
	TeamID        string // "T0TEST"
	BotUserID     string // "UBOT"
	BotID         string // "BBOT"
	AppID         string // "A0TEST"

	// PingInterval is how often the websocket sends a PING control frame;
	// slack-go reconnects when none arrives within its own interval (30 s
	// by default). Default 5 s.
	PingInterval time.Duration
	// AckTimeout is how long an envelope may stay unacked before it is
	// redelivered (Slack: a few seconds). Default 3 s; negative disables
	// automatic redelivery.
	AckTimeout time.Duration
	// MaxRetries is how many times an unacked envelope is redelivered.
	// Default 3, like Slack.
	MaxRetries int
	// ResponseURLUses is how many posts one response_url accepts (Slack: 5).
	ResponseURLUses int
	// Spread sends Socket Mode envelopes to the app's open connections in
	// turn, as Slack does when an app opens several (one per replica), and
	// a redelivery to the next one; a connection told to disconnect gets
	// no more. When false, envelopes go to the newest connection only.
	Spread bool
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.BotToken, "xoxb-test-token")
	def(&c.AppToken, "xapp-test-token")
	def(&c.SigningSecret, "test-signing-secret")
	def(&c.TeamID, "T0TEST")
	def(&c.BotUserID, "UBOT")
	def(&c.BotID, "BBOT")
	def(&c.AppID, "A0TEST")
	if c.PingInterval <= 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 3 * time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.ResponseURLUses <= 0 {
		c.ResponseURLUses = 5
	}
}

// Server is a running fake Slack. Create it with New or Start.
type Server struct {
	cfg      Config
	http     *httptest.Server
	upgrader websocket.Upgrader

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced whenever anything is recorded
	seq       int64         // ts / id generator
	calls     []Call
	posts     int        // successful chat.postMessage calls
	messages  []*Message // in posting order
	responses []Response
	respURLs  map[string]*responseURL
	faults    []*fault
	tickets   map[string]bool
	opens     int
	hellos    int
	conns     map[*wsConn]bool
	current   *wsConn
	order     []*wsConn // open connections in the order they said hello (Spread)
	turn      int       // the next connection's turn in order (Spread)
	envs      map[string]*envelope
	queue     []*envelope // waiting for a connection
	acks      []Ack
	convs     map[string]Conversation // AddConversation's
	closed    bool
}

// New starts a fake Slack with cfg and closes it when the test ends.
func New(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := Start(cfg)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a fake Slack; the caller must Close it.
func Start(cfg Config) *Server {
	cfg.defaults()
	s := &Server{
		cfg:      cfg,
		changed:  make(chan struct{}),
		respURLs: map[string]*responseURL{},
		tickets:  map[string]bool{},
		conns:    map[*wsConn]bool{},
		envs:     map[string]*envelope{},
		upgrader: websocket.Upgrader{
			// slack-go always sends Origin: https://api.slack.com; the
			// default check would refuse the handshake.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/commands/", s.serveResponseURL)
	s.http = httptest.NewServer(mux)
	return s
}

// Close disconnects every websocket, stops redelivery and shuts the server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	for _, e := range s.envs {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.http.Close()
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// URL is the server's base URL, "http://127.0.0.1:port".
func (s *Server) URL() string { return s.http.URL }

// APIURL is the Web API base to give slack-go (slack.OptionAPIURL); it ends
// with "/api/".
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// notifyLocked wakes every waiter; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) nextSeqLocked() int64 {
	s.seq++
	return s.seq
}

// NewTS returns a fresh, increasing Slack timestamp ("1700000001.000001").
func (s *Server) NewTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTSLocked()
}

func (s *Server) newTSLocked() string {
	n := s.nextSeqLocked()
	return fmt.Sprintf("%d.%06d", 1700000000+n, n%1000000)
}

func (s *Server) newIDLocked(prefix string) string {
	return fmt.Sprintf("%s%06d", prefix, s.nextSeqLocked())
}

// Call is one recorded Web API call.
type Call struct {
	Method string     // "chat.postMessage", "auth.test", ...
	Form   url.Values // form fields (the token field removed)
	Token  string     // the token presented ("" when none)
	Bearer bool       // the token came in an Authorization header
	Status int        // HTTP status answered
	Error  string     // Slack error code answered, "" when ok
	// For chat.* calls:
	Channel  string
	Text     string
	ThreadTS string
	User     string          // chat.postEphemeral: the recipient
	TS       string          // posted/updated message ts
	Blocks   json.RawMessage // the blocks field as sent, nil when none
	At       time.Time
}

// OK says the call succeeded.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" }

// Buttons decodes the buttons in the call's blocks.
func (c Call) Buttons() []Button { return buttons(c.Blocks) }

// Message is a message in the fake workspace: posted by the bot, by a
// response_url, or by a test user through UserMessage.
type Message struct {
	Channel   string
	TS        string
	ThreadTS  string
	User      string // author; for ephemeral messages the only viewer
	BotID     string // set for the bot's messages
	Text      string
	Blocks    json.RawMessage
	Ephemeral bool
	Broadcast bool // reply_broadcast
	Edits     int  // chat.update / replace_original count
}

// Buttons decodes the buttons currently on the message.
func (m Message) Buttons() []Button { return buttons(m.Blocks) }

// Button is one button element found in blocks.
type Button struct {
	BlockID  string
	ActionID string
	Value    string
	Text     string
}

// BlockTexts returns the text of every section and context block, in order.
func (m Message) BlockTexts() []string { return blockTexts(m.Blocks) }

func buttons(raw json.RawMessage) []Button {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Text: e.Text.Text})
			}
		}
	}
	return out
}

func blockTexts(raw json.RawMessage) []string {
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []string
	for _, b := range blocks {
		switch b.Type {
		case "section", "header", "markdown":
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		case "context":
			for _, e := range b.Elements {
				out = append(out, e.Text)
			}
		}
	}
	return out
}

// Response is one post to a response_url.
type Response struct {
	URL             string
	Channel         string // where the response_url belongs
	User            string // who triggered it
	Text            string
	Blocks          json.RawMessage
	ResponseType    string // "ephemeral" (default) or "in_channel"
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	Status          int
	Error           string
	TS              string // ts of the message created or replaced
}

// Buttons decodes the buttons in the response's blocks.
func (r Response) Buttons() []Button { return buttons(r.Blocks) }

// Ack is one envelope acknowledgement received over Socket Mode.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
	At         time.Time
	Conn       int // the connection it came on: 1 for the first to say hello
}

type responseURL struct {
	id      string
	channel string
	user    string
	thread  string
	origin  *Message // the message replace_original changes (nil: none)
	uses    int
}

// Calls returns the recorded calls of method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Posts returns the successful chat.postMessage calls, in order.
func (s *Server) Posts() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.postsLocked()
}

func (s *Server) postsLocked() []Call {
	var out []Call
	for _, c := range s.calls {
		if c.Method == "chat.postMessage" && c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// Responses returns every response_url post, in order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses...)
}

// Acks returns every ack received, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// Acked says whether the envelope was acked.
func (s *Server) Acked(envelopeID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.envs[envelopeID]
	return e != nil && e.acked
}

// Message returns the current state of the message channel/ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Messages returns the current state of every message in channel ("" for
// all), in posting order, including users' messages.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if channel == "" || m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// BotMessages returns the bot's messages in channel ("" for all) that are
// not ephemeral, in posting order.
func (s *Server) BotMessages(channel string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.BotID != "" && !m.Ephemeral {
			out = append(out, m)
		}
	}
	return out
}

// Thread returns the messages in the thread rooted at channel/ts (replies
// only), in order.
func (s *Server) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts && m.TS != ts {
			out = append(out, m)
		}
	}
	return out
}

// Connections is how many Socket Mode connections said hello so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hellos
}

// OpenConnections is how many Socket Mode websockets are open now.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Opens is how many times apps.connections.open succeeded.
func (s *Server) Opens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

func (s *Server) findLocked(channel, ts string) *Message {
	for i := len(s.messages) - 1; i >= 0; i-- {
		if m := s.messages[i]; m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// waitFor is Wait for conditions over the recorded state: cond runs with
// s.mu held, so it must not call Server methods.
func (s *Server) waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
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
		case <-timer.C:
			tb.Fatalf("slacktest: timed out after %v waiting for %s", timeout, what)
			return
		}
	}
}

// Wait blocks until cond returns true, re-evaluating it whenever the fake
// records something; it fails the test after timeout. cond may call any
// Server method.
func (s *Server) Wait(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			tb.Fatalf("slacktest: timed out after %v waiting for %s", timeout, what)
			return
		}
	}
}

// WaitPosts waits until at least n chat.postMessage calls succeeded and
// returns them all.
func (s *Server) WaitPosts(tb testing.TB, n int, timeout time.Duration) []Call {
	tb.Helper()
	var out []Call
	s.waitFor(tb, timeout, fmt.Sprintf("%d chat.postMessage calls", n), func() bool {
		if s.posts < n {
			return false
		}
		out = s.postsLocked()
		return true
	})
	return out
}

// WaitCalls waits until at least n calls of method were made (successful or
// not) and returns them all.
func (s *Server) WaitCalls(tb testing.TB, method string, n int, timeout time.Duration) []Call {
	tb.Helper()
	var out []Call
	s.waitFor(tb, timeout, fmt.Sprintf("%d %s calls", n, method), func() bool {
		out = s.callsLocked(method)
		return len(out) >= n
	})
	return out
}

// WaitResponses waits until at least n response_url posts arrived and
// returns them all.
func (s *Server) WaitResponses(tb testing.TB, n int, timeout time.Duration) []Response {
	tb.Helper()
	var out []Response
	s.waitFor(tb, timeout, fmt.Sprintf("%d response_url posts", n), func() bool {
		out = append(out[:0], s.responses...)
		return len(out) >= n
	})
	return out
}

// WaitAck waits until envelopeID is acked.
func (s *Server) WaitAck(tb testing.TB, envelopeID string, timeout time.Duration) {
	tb.Helper()
	s.waitFor(tb, timeout, "ack of "+envelopeID, func() bool {
		e := s.envs[envelopeID]
		return e != nil && e.acked
	})
}

// WaitConnections waits until n Socket Mode connections said hello.
func (s *Server) WaitConnections(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	s.waitFor(tb, timeout, fmt.Sprintf("%d socket mode connections", n), func() bool {
		return s.hellos >= n && s.current != nil
	})
}

// fault is an injected failure for a Web API method.
type fault struct {
	method     string
	channel    string // "" matches any
	code       string // Slack error code; "" with retryAfter > 0 means 429
	retryAfter int
	status     int
	left       int // < 0: forever
}

// RateLimit makes the next times calls of method (to channel, "" for any)
// answer HTTP 429 with Retry-After: retryAfter seconds and
// {"ok":false,"error":"ratelimited"}, like Slack.
func (s *Server) RateLimit(method, channel string, retryAfter, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, channel: channel, retryAfter: retryAfter, status: http.StatusTooManyRequests, code: "ratelimited", left: times})
}

// Fail makes the next times calls of method (to channel, "" for any; times
// < 0 for every call) answer HTTP 200 {"ok":false,"error":code}, e.g.
// "channel_not_found", "not_in_channel", "invalid_auth", "token_revoked".
// method "response_url" applies to response_url posts.
func (s *Server) Fail(method, channel, code string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, channel: channel, code: code, status: http.StatusOK, left: times})
}

// ClearFaults removes every injected failure.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFaultLocked(method, channel string) *fault {
	for i, f := range s.faults {
		if f.method != method || (f.channel != "" && f.channel != channel) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func tokenFrom(r *http.Request, form url.Values) (tok string, bearer bool) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer "), true
	}
	return form.Get("token"), false
}
