package slack

import (
	"context"
	"errors"
	"net"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"gptaccess/bot"
)

// eventTask is the work for an Events API delivery; relevant is false for
// deliveries with nothing to do (other event types).
func (a *Adapter) eventTask(ev slackevents.EventsAPIEvent) (t task, relevant bool) {
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return task{}, false
	}
	inner := ev.InnerEvent.Data
	var channel string
	switch e := inner.(type) {
	case *slackevents.AppMentionEvent:
		channel = e.Channel
	case *slackevents.MessageEvent:
		channel = e.Channel
	}
	if channel == "" {
		return task{}, false
	}
	return task{lane: channel, run: func(ctx context.Context) { a.processEvent(ctx, cb.EventID, inner) }}, true
}

// processEvent answers a message or mention once.
func (a *Adapter) processEvent(ctx context.Context, eventID string, inner any) {
	if ctx.Err() != nil {
		a.log.Warn("event not processed: shutting down", "event_id", eventID)
		return
	}
	m, ts, ok := toMessage(inner, *a.self.Load(), a.listen)
	if !ok {
		return
	}
	if eventID != "" && !a.claim(ctx, "event:"+eventID) {
		return
	}
	// app_mention and message arrive for the same mention.
	if !a.claim(ctx, "msg:"+m.Channel+":"+ts) {
		return
	}
	a.answer(ctx, origin{kind: fromEvent, msg: m})
}

// commandTask is the work for a slash command; key names the delivery.
func (a *Adapter) commandTask(key string, cmd slackapi.SlashCommand) task {
	return task{lane: cmd.ChannelID, run: func(ctx context.Context) {
		if ctx.Err() != nil {
			a.log.Warn("slash command not processed: shutting down", "channel", cmd.ChannelID)
			return
		}
		if key != "" && !a.claim(ctx, key) {
			return
		}
		m := commandMessage(cmd)
		a.log.Debug("slash command", "channel", m.Channel, "user", m.User, "subcommand", firstWord(m.Text))
		a.answer(ctx, origin{kind: fromCommand, msg: m, responseURL: cmd.ResponseURL})
	}}
}

func firstWord(s string) string {
	for i, r := range s {
		if r == ' ' || r == '\n' {
			return s[:i]
		}
	}
	return s
}

// clickTask is the work for an interaction; key names the delivery.
func (a *Adapter) clickTask(key string, ic slackapi.InteractionCallback) (task, bool) {
	channel := ic.Container.ChannelID
	if channel == "" {
		channel = ic.Channel.ID
	}
	if ic.Type != slackapi.InteractionTypeBlockActions || channel == "" {
		a.log.Debug("interaction ignored", "type", ic.Type)
		return task{}, false
	}
	return task{lane: channel, run: func(ctx context.Context) {
		if ctx.Err() != nil {
			a.log.Warn("button click not processed: shutting down", "channel", channel)
			return
		}
		if key != "" && !a.claim(ctx, key) {
			return
		}
		c, err := toClick(ic)
		switch {
		case errors.Is(err, errNotAClick):
			return
		case err != nil:
			a.log.Warn("unusable button click", "error", err, "channel", c.channel, "user", ic.User.ID)
			if ic.User.ID == "" || c.channel == "" {
				return
			}
			note := outgoing{Text: "Sorry, I can't use that button. Mention me or use `/gptaccess diagnose` to start again."}
			a.execute(ctx, []action{privateNote(c, bot.Message{User: ic.User.ID, Thread: ic.Message.ThreadTimestamp}, note)})
			return
		}
		a.answer(ctx, origin{kind: fromClick, msg: c.msg, responseURL: c.responseURL, click: c})
	}}, true
}

// answer asks the handler and delivers its reply.
func (a *Adapter) answer(ctx context.Context, o origin) {
	m := o.msg
	reply, err := a.handler.Handle(ctx, m)
	if err != nil {
		a.log.Error("handler failed", "channel", m.Channel, "user", m.User, "error", err)
		if !(m.Mention || m.DM || m.Command || m.Answer != nil) {
			return
		}
		// The engine's reply on error is an apology fit to send; keep it
		// when there is one.
		if reply.Text == "" && reply.Question == nil {
			reply = bot.Reply{Text: "Sorry, something went wrong on my side. Please try again in a minute."}
		}
		reply.Ignore = false
		reply.Private = reply.Private || o.kind == fromClick
	}
	sup := a.support
	if self := a.self.Load(); self != nil {
		sup.workspace = self.URL
	}
	acts, warning := plan(reply, o, sup)
	if warning != "" {
		a.log.Warn(warning, "channel", m.Channel, "user", m.User)
	}
	a.execute(ctx, acts)
}

// execute performs acts in order; a failed call is logged and the rest
// still go (the answer matters more than the cosmetic update before it).
func (a *Adapter) execute(ctx context.Context, acts []action) {
	for _, act := range acts {
		if _, err := a.perform(ctx, act); err != nil {
			if ctx.Err() != nil {
				a.log.Warn("reply not delivered: shutting down", "call", act.kind.String(), "channel", act.channel)
				continue
			}
			a.log.Error("cannot deliver to slack", "call", act.kind.String(), "channel", act.channel, "error", describe(err))
		}
	}
}

// perform makes one Slack call, waiting out rate limits (Retry-After) and
// retrying transient failures a few times; fatal auth errors stop Run.
func (a *Adapter) perform(ctx context.Context, act action) (ts string, err error) {
	transient := 0
	for attempt := 1; ; attempt++ {
		ts, err = a.call(ctx, act)
		if err == nil {
			return ts, nil
		}
		var wait time.Duration
		var rl *slackapi.RateLimitedError
		switch {
		case ctx.Err() != nil:
			return "", err
		case isFatalAuth(err):
			a.log.Error("slack rejected the bot token; stopping", "error", slackError(err))
			a.fail(err)
			return "", err
		case errors.As(err, &rl):
			if attempt >= maxRateLimitTries {
				a.log.Error("giving up after repeated rate limits", "call", act.kind.String(), "channel", act.channel, "attempts", attempt)
				return "", err
			}
			wait = max(rl.RetryAfter, time.Second)
			a.log.Warn("rate limited by slack; waiting", "call", act.kind.String(), "channel", act.channel, "retry_after", wait, "attempt", attempt)
			a.observer.RateLimitWait(bot.Slack, wait)
		case isTransient(err):
			transient++
			if transient >= maxTransientTries {
				a.log.Error("giving up after repeated failures", "call", act.kind.String(), "channel", act.channel, "attempts", attempt)
				return "", err
			}
			wait = time.Duration(transient) * time.Second
		default:
			return "", err
		}
		select {
		case <-a.after(wait):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
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
