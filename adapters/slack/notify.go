package slack

import (
	"context"
	"errors"
	"fmt"

	"gptaccess/monitor"
)

// permanentErrors are Slack errors that no retry can fix: the channel is
// gone or archived, or the bot may not post there.
var permanentErrors = map[string]string{
	"channel_not_found": "the channel does not exist or the bot cannot see it",
	"not_in_channel":    "the bot is not in the channel; invite it with /invite @gptaccess",
	"is_archived":       "the channel is archived",
	"missing_scope":     "the app lacks the chat:write scope; reinstall it with the manifest",
	"restricted_action": "the workspace does not allow the bot to post there",
}

// Notify posts a monitor notice to channel (monitor.Notifier). An opening
// notice (n.Thread == "") starts a message whose ts is returned; updates,
// reminders and the recovery go into that thread (the recovery is also
// shown in the channel) and return the thread again. Errors that cannot be
// fixed by retrying wrap monitor.ErrPermanent.
func (a *Adapter) Notify(ctx context.Context, channel string, n monitor.Notice) (string, error) {
	if channel == "" {
		return "", fmt.Errorf("slack: notify: %w: no channel", monitor.ErrPermanent)
	}
	act := action{kind: actPost, channel: channel, thread: n.Thread, out: outgoing{Text: renderNotice(n)}}
	act.broadcast = n.Thread != "" && n.Phase == monitor.PhaseResolved

	type result struct {
		ts  string
		err error
	}
	res := make(chan result, 1)
	if !a.reserve() {
		return "", errors.New("slack: notify: adapter not running or too busy")
	}
	a.submit(task{lane: channel, run: func(runCtx context.Context) {
		// Run's context bounds the send, and so does the caller's: once
		// the caller gave up, a late post would be a duplicate alert.
		sendCtx, cancel := context.WithCancel(runCtx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		ts, err := a.perform(sendCtx, act)
		res <- result{ts, err}
	}})

	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if r.err != nil {
		code := slackError(r.err)
		if why, ok := permanentErrors[code]; ok {
			a.log.Error("cannot post alerts to channel: "+why, "channel", channel, "slack_error", code)
			return "", fmt.Errorf("slack: notify %s: %w (%w)", channel, monitor.ErrPermanent, r.err)
		}
		return "", fmt.Errorf("slack: notify %s: %w", channel, r.err)
	}
	if n.Thread != "" {
		return n.Thread, nil
	}
	return r.ts, nil
}
