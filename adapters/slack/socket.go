package slack

import (
	"context"
	"encoding/json"
	"fmt"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// acker acknowledges Socket Mode envelopes; *socketmode.Client implements it.
type acker interface {
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

// runSocket holds the Socket Mode connection until ctx ends. slack-go
// reconnects by itself (disconnect messages, missed pings, network
// errors); it gives up only on fatal auth errors, which end Run.
func (a *Adapter) runSocket(ctx context.Context) error {
	api := slackapi.New(string(a.botToken), a.clientOptions()...)
	sm := socketmode.New(api, socketmode.OptionLog(discardLogger{}))
	runErr := make(chan error, 1)
	go func() { runErr <- sm.RunContext(ctx) }()
	for {
		select {
		case err := <-runErr:
			a.connected.Store(false)
			if ctx.Err() != nil {
				return nil
			}
			if isFatalAuth(err) {
				a.log.Error("slack rejected the app-level token; check SLACK_APP_TOKEN", "error", err)
				return fmt.Errorf("slack: socket mode: %w", err)
			}
			return fmt.Errorf("slack: socket mode stopped: %w", err)
		case evt := <-sm.Events:
			a.onSocketEvent(ctx, sm, evt)
		}
	}
}

// onSocketEvent handles one event from the socketmode client: connection
// state, and envelopes, which are written to the inbox, then acknowledged,
// then processed.
func (a *Adapter) onSocketEvent(ctx context.Context, ack acker, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.connected.Store(false)
		a.log.Debug("socket mode connecting")
	case socketmode.EventTypeConnectionError:
		a.connected.Store(false)
		if ce, ok := evt.Data.(*slackapi.ConnectionErrorEvent); ok {
			a.log.Warn("socket mode connection failed; retrying", "attempt", ce.Attempt, "retry_in", ce.Backoff, "error", describe(ce.ErrorObj))
		}
	case socketmode.EventTypeConnected:
		a.log.Debug("socket mode websocket open")
	case socketmode.EventTypeHello:
		a.connected.Store(true)
		if a.hellos.Add(1) > 1 {
			a.core.Reconnected(bot.Slack)
		}
		a.log.Info("socket mode connected")
	case socketmode.EventTypeInvalidAuth:
		a.connected.Store(false)
		a.log.Error("socket mode: slack rejected the app-level token")
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		a.log.Warn("socket mode read/write error", "type", string(evt.Type))
	case socketmode.EventTypeErrorBadMessage:
		a.badEnvelope(ctx, ack, evt)

	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		in, relevant := a.eventInbound(ev)
		a.putThenAck(ctx, ack, evt.Request, in, relevant)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slackapi.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.putThenAck(ctx, ack, evt.Request, a.commandInbound("envelope:"+evt.Request.EnvelopeID, cmd), cmd.ChannelID != "")
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		in, relevant := a.clickInbound("envelope:"+evt.Request.EnvelopeID, ic)
		a.putThenAck(ctx, ack, evt.Request, in, relevant)
	}
}

// putThenAck writes the envelope's item to the inbox, then acknowledges
// the envelope, then lets the workers at it. When the inbox cannot take it
// the envelope stays unacknowledged, so Slack redelivers it instead of it
// being lost.
func (a *Adapter) putThenAck(ctx context.Context, ack acker, req *socketmode.Request, in delivery.Inbound, relevant bool) {
	added := false
	if relevant {
		var err error
		if added, err = a.core.Put(ctx, in); err != nil {
			a.log.Error("cannot record delivery; leaving envelope unacknowledged for slack to redeliver", "envelope_id", req.EnvelopeID, "error", err)
			return
		}
	}
	if err := ack.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		a.log.Warn("cannot acknowledge envelope", "envelope_id", req.EnvelopeID, "error", err)
	}
	if req.RetryAttempt > 0 {
		a.log.Debug("envelope redelivered", "envelope_id", req.EnvelopeID, "retry_attempt", req.RetryAttempt, "retry_reason", req.RetryReason)
	}
	if added {
		a.core.Wake(delivery.Lane{Platform: in.Platform, Name: in.Lane})
	}
}

// badEnvelope acknowledges an envelope slack-go could not parse (a
// malformed payload or an event type it does not know), so Slack does not
// redeliver it forever, and logs it.
func (a *Adapter) badEnvelope(ctx context.Context, ack acker, evt socketmode.Event) {
	bad, _ := evt.Data.(*socketmode.ErrorBadMessage)
	if bad == nil {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(bad.Message, &env)
	a.log.Warn("unusable socket mode message; acknowledged and dropped", "envelope_id", env.EnvelopeID, "type", env.Type, "error", bad.Cause)
	if env.EnvelopeID != "" {
		if err := ack.AckCtx(ctx, env.EnvelopeID, nil); err != nil {
			a.log.Warn("cannot acknowledge envelope", "envelope_id", env.EnvelopeID, "error", err)
		}
	}
}
