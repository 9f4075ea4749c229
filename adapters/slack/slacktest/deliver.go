package slacktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Event is one Events API event: Inner is the "event" object, ID the
// event_id of the event_callback that wraps it.
type Event struct {
	ID    string
	Time  int64
	Inner map[string]any
}

// NewEvent wraps inner (e.g. {"type":"message",...}) with a fresh event_id.
func (s *Server) NewEvent(inner map[string]any) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Event{ID: s.newIDLocked("Ev"), Time: time.Now().Unix(), Inner: inner}
}

// EventBody is the event_callback JSON Slack posts (HTTP) or puts in the
// envelope payload (Socket Mode) for e.
func (s *Server) EventBody(e Event) []byte {
	b, _ := json.Marshal(map[string]any{
		"token":                 "verification-token",
		"team_id":               s.cfg.TeamID,
		"api_app_id":            s.cfg.AppID,
		"event":                 e.Inner,
		"type":                  "event_callback",
		"event_id":              e.ID,
		"event_time":            e.Time,
		"event_context":         "4-context",
		"is_ext_shared_channel": false,
		"authorizations": []map[string]any{{
			"enterprise_id": nil, "team_id": s.cfg.TeamID, "user_id": s.cfg.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
	})
	return b
}

// Say is a message a test user posts.
type Say struct {
	Channel     string
	ChannelType string // "channel", "group", "im" or "mpim"; "" for the conversation's (AddConversation)
	User        string
	Text        string // Slack markup, e.g. "<@UBOT> hi"
	ThreadTS    string // reply in this thread
	TS          string // "" for a fresh one
}

// UserMessage records the message in the workspace and returns the events
// Slack delivers for it: for a message in a channel that mentions the bot,
// an app_mention and a message event (same ts, different event ids);
// otherwise the message event only.
func (s *Server) UserMessage(m Say) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ChannelType == "" {
		m.ChannelType = TypeChannel
		if c, ok := s.conversationLocked(m.Channel); ok {
			m.ChannelType = c.Type
		}
	}
	if m.TS == "" {
		m.TS = s.newTSLocked()
	}
	s.messages = append(s.messages, &Message{Channel: m.Channel, TS: m.TS, ThreadTS: m.ThreadTS, User: m.User, Text: m.Text})
	s.notifyLocked()

	base := func(typ string) map[string]any {
		ev := map[string]any{
			"type": typ, "user": m.User, "text": m.Text, "ts": m.TS, "channel": m.Channel,
			"event_ts": m.TS, "team": s.cfg.TeamID, "client_msg_id": fmt.Sprintf("msg-%s", m.TS),
			"blocks": []any{},
		}
		if m.ThreadTS != "" {
			ev["thread_ts"] = m.ThreadTS
		}
		return ev
	}
	now := time.Now().Unix()
	var out []Event
	if m.ChannelType != "im" && strings.Contains(m.Text, "<@"+s.cfg.BotUserID+">") {
		out = append(out, Event{ID: s.newIDLocked("Ev"), Time: now, Inner: base("app_mention")})
	}
	msg := base("message")
	msg["channel_type"] = m.ChannelType
	out = append(out, Event{ID: s.newIDLocked("Ev"), Time: now, Inner: msg})
	return out
}

// SlashCommand returns the form Slack posts when user types
// "<command> <text>" in channel, with a fresh response_url and trigger_id.
// command "" means "/gptaccess". channel_name is what Slack sends:
// "directmessage" for a direct message ("D…"), "privategroup" for a
// private channel, the "mpdm-…" name for a group DM, otherwise the
// channel's name (see AddConversation).
func (s *Server) SlashCommand(channel, user, command, text string) url.Values {
	if command == "" {
		command = "/gptaccess"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := "channel-" + strings.ToLower(channel)
	if c, ok := s.conversationLocked(channel); ok {
		switch c.Type {
		case TypeIM:
			name = "directmessage"
		case TypeGroup:
			name = "privategroup"
		default:
			name = c.Name
		}
	}
	return url.Values{
		"token":        {"verification-token"},
		"team_id":      {s.cfg.TeamID},
		"team_domain":  {"test"},
		"channel_id":   {channel},
		"channel_name": {name},
		"user_id":      {user},
		"user_name":    {"user-" + strings.ToLower(user)},
		"command":      {command},
		"text":         {text},
		"api_app_id":   {s.cfg.AppID},
		"response_url": {s.newResponseURLLocked(channel, user, "", nil)},
		"trigger_id":   {s.newIDLocked("trigger.")},
	}
}

// Click returns the block_actions payload Slack sends when user clicks the
// button on message m whose text or value equals choice; the payload
// carries a fresh response_url whose replace_original changes m. Ephemeral
// messages get a container with is_ephemeral and no message, like Slack.
func (s *Server) Click(m Message, user, choice string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.findLocked(m.Channel, m.TS)
	if cur == nil {
		return nil, fmt.Errorf("slacktest: no message %s/%s", m.Channel, m.TS)
	}
	var b *Button
	for _, x := range cur.Buttons() {
		if x.Text == choice || x.Value == choice || x.ActionID == choice {
			b = &x
			break
		}
	}
	if b == nil {
		return nil, fmt.Errorf("slacktest: message %s/%s has no button %q", m.Channel, m.TS, choice)
	}
	return s.clickLocked(cur, user, *b), nil
}

// ClickButton is Click with an arbitrary button (for forged action ids or
// values): the button need not be on the message.
func (s *Server) ClickButton(m Message, user string, b Button) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.findLocked(m.Channel, m.TS)
	if cur == nil {
		return nil, fmt.Errorf("slacktest: no message %s/%s", m.Channel, m.TS)
	}
	return s.clickLocked(cur, user, b), nil
}

func (s *Server) clickLocked(m *Message, user string, b Button) []byte {
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": m.Ephemeral}
	p := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": user, "username": "user-" + strings.ToLower(user), "name": "user-" + strings.ToLower(user), "team_id": s.cfg.TeamID},
		"api_app_id":            s.cfg.AppID,
		"token":                 "verification-token",
		"container":             container,
		"trigger_id":            s.newIDLocked("trigger."),
		"team":                  map[string]any{"id": s.cfg.TeamID, "domain": "test"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": m.Channel, "name": "channel-" + strings.ToLower(m.Channel)},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          s.newResponseURLLocked(m.Channel, user, m.ThreadTS, m),
		"actions": []map[string]any{{
			"action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value, "type": "button",
			"text":      map[string]any{"type": "plain_text", "text": b.Text, "emoji": true},
			"action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), s.nextSeqLocked()%1000000),
		}},
	}
	if !m.Ephemeral {
		msg := map[string]any{"type": "message", "user": m.User, "bot_id": m.BotID, "text": m.Text, "ts": m.TS, "team": s.cfg.TeamID}
		if len(m.Blocks) > 0 {
			msg["blocks"] = m.Blocks
		}
		if m.ThreadTS != "" {
			msg["thread_ts"] = m.ThreadTS
		}
		p["message"] = msg
	}
	out, _ := json.Marshal(p)
	return out
}

// Sign returns Slack's request signature for body sent at timestamp (unix
// seconds as a string): "v0=" + hex(HMAC-SHA256(secret, "v0:ts:body")).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// DeliveryOption changes how an HTTP delivery is sent.
type DeliveryOption func(*delivery)

type delivery struct {
	secret    string
	ts        time.Time
	signature string
	unsigned  bool
	retryNum  int
	retryWhy  string
	header    http.Header
}

// WithRetry marks the delivery as Slack's n-th retry (X-Slack-Retry-Num,
// X-Slack-Retry-Reason).
func WithRetry(n int, reason string) DeliveryOption {
	return func(d *delivery) { d.retryNum, d.retryWhy = n, reason }
}

// WithTimestamp signs with timestamp t instead of now.
func WithTimestamp(t time.Time) DeliveryOption { return func(d *delivery) { d.ts = t } }

// WithSecret signs with secret instead of the configured signing secret.
func WithSecret(secret string) DeliveryOption { return func(d *delivery) { d.secret = secret } }

// WithSignature sends sig as X-Slack-Signature (a forgery).
func WithSignature(sig string) DeliveryOption { return func(d *delivery) { d.signature = sig } }

// Unsigned sends no signature headers at all.
func Unsigned() DeliveryOption { return func(d *delivery) { d.unsigned = true } }

// WithHeader adds a header to the request.
func WithHeader(k, v string) DeliveryOption {
	return func(d *delivery) {
		if d.header == nil {
			d.header = http.Header{}
		}
		d.header.Add(k, v)
	}
}

// Delivery is the bot's answer to an HTTP delivery.
type Delivery struct {
	Status  int
	Body    string
	Header  http.Header
	Elapsed time.Duration
}

// PostSigned posts body to target signed like Slack signs requests.
func (s *Server) PostSigned(tb testing.TB, target, contentType string, body []byte, opts ...DeliveryOption) Delivery {
	tb.Helper()
	d := delivery{secret: s.cfg.SigningSecret, ts: time.Now()}
	for _, o := range opts {
		o(&d)
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("slacktest: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	if !d.unsigned {
		ts := strconv.FormatInt(d.ts.Unix(), 10)
		sig := d.signature
		if sig == "" {
			sig = Sign(d.secret, ts, body)
		}
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
	}
	if d.retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(d.retryNum))
		req.Header.Set("X-Slack-Retry-Reason", d.retryWhy)
	}
	for k, v := range d.header {
		req.Header[k] = v
	}
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("slacktest: post to %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Delivery{Status: resp.StatusCode, Body: string(b), Header: resp.Header, Elapsed: time.Since(start)}
}

// PostEvent posts e to target (the bot's /slack/events URL) as Slack does.
func (s *Server) PostEvent(tb testing.TB, target string, e Event, opts ...DeliveryOption) Delivery {
	tb.Helper()
	return s.PostSigned(tb, target, "application/json", s.EventBody(e), opts...)
}

// PostURLVerification posts the url_verification handshake with challenge.
func (s *Server) PostURLVerification(tb testing.TB, target, challenge string, opts ...DeliveryOption) Delivery {
	tb.Helper()
	b, _ := json.Marshal(map[string]string{"token": "verification-token", "challenge": challenge, "type": "url_verification"})
	return s.PostSigned(tb, target, "application/json", b, opts...)
}

// PostSlashCommand posts a slash command form (from SlashCommand) to target.
func (s *Server) PostSlashCommand(tb testing.TB, target string, form url.Values, opts ...DeliveryOption) Delivery {
	tb.Helper()
	return s.PostSigned(tb, target, "application/x-www-form-urlencoded", []byte(form.Encode()), opts...)
}

// PostInteraction posts an interactivity payload (from Click) to target as
// the form field payload=.
func (s *Server) PostInteraction(tb testing.TB, target string, payload []byte, opts ...DeliveryOption) Delivery {
	tb.Helper()
	body := url.Values{"payload": {string(payload)}}.Encode()
	return s.PostSigned(tb, target, "application/x-www-form-urlencoded", []byte(body), opts...)
}
