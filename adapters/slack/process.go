package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// Receiving: each delivery becomes an inbox item named by what Slack calls
// the message or the user's action, so that retries, redeliveries after a
// restart and the app_mention + message pair for one mention are one item.

// eventInbound is the inbox item for an Events API delivery; relevant is
// false for deliveries the bot does not answer (other event types, its
// own messages, channels it does not listen in).
func (a *Adapter) eventInbound(ev slackevents.EventsAPIEvent) (in delivery.Inbound, relevant bool) {
	if _, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); !ok {
		return delivery.Inbound{}, false
	}
	self := a.self.Load()
	if self == nil {
		return delivery.Inbound{}, false
	}
	m, at, ts, ok := toMessage(ev.InnerEvent.Data, *self, a.listen)
	if !ok {
		return delivery.Inbound{}, false
	}
	// app_mention and message arrive for the same mention: the channel and
	// the message's ts name it either way.
	return a.inbound("msg:"+m.Channel+":"+ts, origin{kind: fromEvent, msg: m, place: at}), true
}

// commandInbound is the inbox item for a slash command; id names the
// delivery when Slack gives no trigger id.
func (a *Adapter) commandInbound(id string, cmd slackapi.SlashCommand) delivery.Inbound {
	if cmd.TriggerID != "" {
		id = "trigger:" + cmd.TriggerID
	}
	m, at := commandMessage(cmd)
	a.log.Debug("slash command", "channel", m.Channel, "user", m.User, "subcommand", subcommand(m))
	return a.inbound(id, origin{kind: fromCommand, msg: m, place: at, responseURL: cmd.ResponseURL})
}

// subcommand names m's subcommand for the log: m.Text is the subcommand
// word, or for ask the question, whose words are the user's and never
// logged (README, "Security and privacy").
func subcommand(m bot.Message) string {
	if subcommands[m.Text] {
		return m.Text
	}
	return "ask"
}

// clickInbound is the inbox item for an interaction; relevant is false for
// interactions that are not button clicks.
func (a *Adapter) clickInbound(id string, ic slackapi.InteractionCallback) (delivery.Inbound, bool) {
	if ic.TriggerID != "" {
		id = "trigger:" + ic.TriggerID
	}
	c, err := toClick(ic)
	switch {
	case errors.Is(err, errNotAClick):
		a.log.Debug("interaction ignored", "type", ic.Type)
		return delivery.Inbound{}, false
	case err != nil:
		a.log.Warn("unusable button click", "error", err, "channel", c.channel, "user", ic.User.ID)
		if ic.User.ID == "" || c.channel == "" {
			return delivery.Inbound{}, false
		}
		m := bot.Message{Platform: bot.Slack, Channel: c.channel, User: ic.User.ID, Thread: ic.Message.ThreadTimestamp}
		return a.inbound(id, origin{kind: fromClick, msg: m, responseURL: c.responseURL, click: c, unusable: true}), true
	}
	return a.inbound(id, origin{kind: fromClick, msg: c.msg, responseURL: c.responseURL, click: c}), true
}

// inbound wraps o as an inbox item; its lane is the channel, so the
// channel's replies keep their order.
func (a *Adapter) inbound(id string, o origin) delivery.Inbound {
	body, _ := json.Marshal(o.wire()) // plain strings and Slack's own blocks: cannot fail
	return delivery.Inbound{ID: bot.Slack + ":" + id, Platform: bot.Slack, Lane: o.msg.Channel, Body: body, Received: a.now()}
}

// Message implements delivery.Platform: the message was translated when it
// arrived; only where the payload did not say what kind of place it came
// from is Slack asked (Adapter.private), here rather than before the ack,
// which Slack wants within 3 seconds.
func (a *Adapter) Message(ctx context.Context, in delivery.Inbound) (delivery.Turn, bool, error) {
	o, err := decodeOrigin(in.Body)
	if err != nil {
		return delivery.Turn{}, false, err
	}
	if (o.kind == fromEvent || o.kind == fromCommand) && !o.msg.DM {
		// An item stored without a place (by an older version) is asked
		// about too: its Private flag may be missing.
		o.msg.Private = o.place != placePublic
		if o.place == placeUnknown {
			priv, err := a.private(ctx, o.msg.Channel)
			if err != nil {
				return delivery.Turn{}, false, err
			}
			o.msg.Private = priv
		}
	}
	t := delivery.Turn{Message: o.msg}
	if o.unusable {
		t.Reply = &bot.Reply{Text: bot.UnusableButton, Entry: "none", Private: true}
	}
	return t, true, nil
}

// Plan implements delivery.Platform: one outbox item per Slack call.
func (a *Adapter) Plan(in delivery.Inbound, _ bot.Message, r bot.Reply) ([]delivery.Outbound, error) {
	o, err := decodeOrigin(in.Body)
	if err != nil {
		return nil, err
	}
	acts := plan(r, o)
	out := make([]delivery.Outbound, len(acts))
	for i, act := range acts {
		out[i] = act.outbound()
	}
	return out, nil
}

// Handover implements delivery.Platform: the summary for the support
// channel links the conversation; in place it goes into the thread (or,
// for a click on a private message, the channel).
func (a *Adapter) Handover(in delivery.Inbound, m bot.Message, h bot.Handover, to delivery.Route) (delivery.Outbound, error) {
	o, err := decodeOrigin(in.Body)
	if err != nil {
		return delivery.Outbound{}, err
	}
	if !to.InPlace {
		workspace := ""
		if self := a.self.Load(); self != nil {
			workspace = self.URL
		}
		return action{kind: actPost, channel: to.Channel, out: outgoing{Text: renderHandover(h, to.Mention, workspace)}}.outbound(), nil
	}
	thread := to.Thread
	if o.kind == fromClick && o.click.ephemeral {
		thread = ""
	}
	return action{kind: actPost, channel: to.Channel, thread: thread, out: outgoing{Text: renderHandover(h, to.Mention, "")}}.outbound(), nil
}

// Send implements delivery.Platform: one Slack call. Rate limits, network
// trouble and Slack's 5xx are for the core to retry; errors about the
// channel or the request are permanent; a revoked token stops Run.
func (a *Adapter) Send(ctx context.Context, out delivery.Outbound) (string, error) {
	var w wireAction
	if err := json.Unmarshal(out.Body, &w); err != nil {
		return "", delivery.Permanent(fmt.Errorf("slack: outbox item: %w", err))
	}
	act := w.action()
	if act.thread == "" && out.ParentRef != "" {
		act.thread = out.ParentRef
	}
	ts, err := a.call(ctx, act)
	if err == nil {
		return ts, nil
	}
	var rl *slackapi.RateLimitedError
	switch {
	case errors.As(err, &rl):
		return "", delivery.RetryAfter(err, max(rl.RetryAfter, time.Second))
	case isFatalAuth(err):
		a.log.Error("slack rejected the bot token; stopping", "error", slackError(err))
		a.fail(err)
		return "", fmt.Errorf("slack: %s: %w", act.kind, err)
	case isTransient(err) || transientErrors[slackError(err)]:
		return "", fmt.Errorf("slack: %s: %s", act.kind, describe(err))
	}
	code := slackError(err)
	if why, ok := permanentErrors[code]; ok {
		a.log.Error("cannot post to channel: "+why, "channel", act.channel, "slack_error", code)
	}
	return "", delivery.Permanent(fmt.Errorf("slack: %s to %s: %s", act.kind, act.channel, describe(err)))
}

// describe is err for the log: URLs lose their path, since a response_url
// is a credential for the conversation.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		where := "[url]"
		if perr == nil {
			where = u.Scheme + "://" + u.Host + "/…"
		}
		return ue.Op + " " + where + ": " + ue.Err.Error()
	}
	return err.Error()
}

// transientErrors are Slack's answers that say "try again"; its other
// errors are about the request or the channel and are permanent.
var transientErrors = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
}

func isTransient(err error) bool {
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= 500
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// call makes one Slack call for act.
func (a *Adapter) call(ctx context.Context, act action) (string, error) {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(act.out.Text, false)}
	if len(act.out.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(act.out.Blocks...))
	}
	switch act.kind {
	case actPost:
		if act.thread != "" {
			opts = append(opts, slackapi.MsgOptionTS(act.thread))
			if act.broadcast {
				opts = append(opts, slackapi.MsgOptionBroadcast())
			}
		}
		_, ts, err := a.api.PostMessageContext(ctx, act.channel, opts...)
		return ts, err
	case actEphemeral:
		if act.thread != "" {
			opts = append(opts, slackapi.MsgOptionTS(act.thread))
		}
		return a.api.PostEphemeralContext(ctx, act.channel, act.user, opts...)
	case actUpdate:
		if len(act.out.Blocks) == 0 {
			opts = append(opts, slackapi.MsgOptionBlocks())
		}
		_, ts, _, err := a.api.UpdateMessageContext(ctx, act.channel, act.ts, opts...)
		return ts, err
	case actRespond:
		if act.url == "" {
			return "", errors.New("no response_url")
		}
		if act.replace {
			opts = append(opts, slackapi.MsgOptionReplaceOriginal(act.url))
		} else {
			rt := slackapi.ResponseTypeEphemeral
			if act.inChannel {
				rt = slackapi.ResponseTypeInChannel
			}
			opts = append(opts, slackapi.MsgOptionResponseURL(act.url, rt))
		}
		_, ts, err := a.api.PostMessageContext(ctx, "", opts...)
		return ts, err
	}
	return "", errors.New("unknown action")
}
