package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"gptaccess/delivery"
)

// Handler serves Slack's HTTP deliveries for HTTP mode:
//
//	POST /slack/events         Events API (mentions, messages, url_verification)
//	POST /slack/commands       the /gptaccess slash command
//	POST /slack/interactivity  button clicks
//
// Every request must carry a valid Slack signature no older than five
// minutes (401 otherwise, before anything is parsed); bodies over 1 MiB get
// 413 and malformed payloads 400. A delivery is answered 200 once it is in
// the inbox and processed after, exactly once; while Run is not running
// (the bot does not know who it is yet) or the inbox cannot take it, the
// answer is 503: Slack retries an event; a click it does not retry, but it
// shows the person an error on the button, who can click again (README,
// "Reliability: what is guaranteed"). A slash command gets "I'm busy".
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/slack/events", a.serveEvents)
	mux.HandleFunc("/slack/commands", a.serveCommand)
	mux.HandleFunc("/slack/interactivity", a.serveInteraction)
	return mux
}

// verified reads the body and checks Slack's signature over it; on failure
// it has answered the request.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, tooBig, err := readBody(r.Body)
	switch {
	case err != nil:
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return nil, false
	case tooBig:
		a.log.Warn("slack request too large; rejected", "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, string(a.signingSecret))
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Warn("slack request with a missing, stale or bad signature; rejected", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

func (a *Adapter) malformed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Warn("malformed slack payload; rejected", "path", r.URL.Path, "error", err)
	http.Error(w, "malformed payload", http.StatusBadRequest)
}

func (a *Adapter) busy(w http.ResponseWriter, r *http.Request, why error) {
	a.log.Warn("slack delivery refused", "path", r.URL.Path, "reason", why)
	http.Error(w, "busy, retry later", http.StatusServiceUnavailable)
}

var errNotRunning = errors.New("adapter not running")

// accept writes in to the inbox; false means the request was answered 503.
func (a *Adapter) accept(w http.ResponseWriter, r *http.Request, in delivery.Inbound) bool {
	if a.self.Load() == nil || !a.running.Load() {
		a.busy(w, r, errNotRunning)
		return false
	}
	if _, err := a.core.Accept(r.Context(), in); err != nil {
		a.busy(w, r, err)
		return false
	}
	return true
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	d, err := decodeEvents(body)
	if err != nil {
		a.malformed(w, r, err)
		return
	}
	switch d.kind {
	case deliveryVerification:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, d.challenge)
		return
	case deliveryRateLimited:
		a.log.Warn("slack is holding back event deliveries to this app (app_rate_limited)")
	case deliveryIgnored:
		a.log.Debug("event type not handled", "type", d.eventType)
	case deliveryCallback:
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			a.log.Debug("event redelivered", "retry_num", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
		}
		if a.self.Load() == nil {
			a.busy(w, r, errNotRunning)
			return
		}
		if in, relevant := a.eventInbound(d.event); relevant && !a.accept(w, r, in) {
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("ssl_check") == "1" {
		// Slack checking the certificate of the command URL.
		w.WriteHeader(http.StatusOK)
		return
	}
	cmd, err := decodeCommand(body)
	if err != nil {
		a.malformed(w, r, err)
		return
	}
	in := a.commandInbound("command:"+cmd.ChannelID+":"+r.Header.Get("X-Slack-Request-Timestamp")+":"+cmd.UserID, cmd)
	err = errNotRunning
	if a.self.Load() != nil && a.running.Load() {
		_, err = a.core.Accept(r.Context(), in)
	}
	if err != nil {
		// Slack does not retry slash commands: say so to the user.
		a.log.Warn("slash command refused", "reason", err)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"response_type":"ephemeral","text":"I'm busy right now. Please try again in a minute."}`)
		return
	}
	// An empty 200 acknowledges without a visible message; the answer
	// follows through response_url.
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verified(w, r)
	if !ok {
		return
	}
	ic, err := decodeInteraction(body)
	if err != nil {
		a.malformed(w, r, err)
		return
	}
	if in, relevant := a.clickInbound("interaction:"+r.Header.Get("X-Slack-Request-Timestamp")+":"+ic.User.ID, ic); relevant && !a.accept(w, r, in) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// deliveryKind is what an Events API request is.
type deliveryKind int

const (
	deliveryCallback     deliveryKind = iota // event_callback with an event the bot handles
	deliveryVerification                     // url_verification handshake
	deliveryRateLimited                      // app_rate_limited notice
	deliveryIgnored                          // a well-formed delivery the bot does not handle
)

type eventsDelivery struct {
	kind      deliveryKind
	challenge string
	eventType string
	event     slackevents.EventsAPIEvent
}

// handledEvents are the inner event types the bot reads.
var handledEvents = map[string]bool{"app_mention": true, "message": true}

// decodeEvents parses an Events API request body. Unknown inner event
// types are not errors: Slack must get a 200 for them, or it retries.
func decodeEvents(body []byte) (eventsDelivery, error) {
	var outer struct {
		Type      string          `json:"type"`
		Challenge string          `json:"challenge"`
		Event     json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		return eventsDelivery{}, fmt.Errorf("events payload: %w", err)
	}
	switch outer.Type {
	case "":
		return eventsDelivery{}, errors.New("events payload without a type")
	case slackevents.URLVerification:
		if outer.Challenge == "" {
			return eventsDelivery{}, errors.New("url_verification without a challenge")
		}
		return eventsDelivery{kind: deliveryVerification, challenge: outer.Challenge}, nil
	case slackevents.AppRateLimited:
		return eventsDelivery{kind: deliveryRateLimited}, nil
	case slackevents.CallbackEvent:
	default:
		return eventsDelivery{kind: deliveryIgnored, eventType: outer.Type}, nil
	}
	var inner struct {
		Type string `json:"type"`
	}
	if len(outer.Event) == 0 || json.Unmarshal(outer.Event, &inner) != nil || inner.Type == "" {
		return eventsDelivery{}, errors.New("event_callback without an event object")
	}
	if !handledEvents[inner.Type] {
		return eventsDelivery{kind: deliveryIgnored, eventType: inner.Type}, nil
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		return eventsDelivery{}, fmt.Errorf("event_callback: %w", err)
	}
	return eventsDelivery{kind: deliveryCallback, eventType: inner.Type, event: ev}, nil
}

// formRequest rebuilds a request around an already verified body, for the
// slack-go parsers that read forms from requests.
func formRequest(body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// decodeCommand parses a slash-command form.
func decodeCommand(body []byte) (slackapi.SlashCommand, error) {
	cmd, err := slackapi.SlashCommandParse(formRequest(body))
	if err != nil {
		return cmd, fmt.Errorf("slash command: %w", err)
	}
	if cmd.Command == "" || cmd.UserID == "" || cmd.ChannelID == "" {
		return cmd, errors.New("slash command without command, user_id or channel_id")
	}
	return cmd, nil
}

// decodeInteraction parses an interactivity request (payload=<json>).
func decodeInteraction(body []byte) (slackapi.InteractionCallback, error) {
	ic, err := slackapi.InteractionCallbackParse(formRequest(body))
	if err != nil {
		return ic, fmt.Errorf("interaction: %w", err)
	}
	if ic.Type == "" {
		return ic, errors.New("interaction without a type")
	}
	return ic, nil
}
