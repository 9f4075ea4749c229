package slack

import (
	"context"
	"fmt"

	"gptaccess/bot"
	"gptaccess/delivery"
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

// NoticeItem is a monitor notice for channel as an outbox item
// (monitor.Outboxer), sent in order with the channel's replies. An
// opening notice (n.Thread == "") starts a message; updates, reminders
// and the recovery go into its thread (the recovery is also shown in the
// channel), found through the outbox when the monitor has no ref yet.
func (a *Adapter) NoticeItem(channel string, n monitor.Notice) (delivery.Outbound, error) {
	if channel == "" {
		return delivery.Outbound{}, fmt.Errorf("slack: notice: %w: no channel", monitor.ErrPermanent)
	}
	act := action{kind: actPost, channel: channel, thread: n.Thread, out: outgoing{Text: renderNotice(n)}}
	act.broadcast = n.Phase == monitor.PhaseResolved
	out := act.outbound()
	out.Kind = delivery.KindNotice
	out.Key, out.Parent = monitor.NoticeKey(bot.Slack, channel, n)
	return out, nil
}

// Committed wakes the outbox for notices the monitor committed
// (monitor.Outboxer).
func (a *Adapter) Committed(items []delivery.Outbound) { a.core.Committed(items) }

// Notify posts a monitor notice to channel through the outbox and waits
// until it is posted, returning the alert message's ts (monitor.Notifier;
// the monitor itself commits NoticeItem's items with its state instead).
// Errors that cannot be fixed by retrying wrap monitor.ErrPermanent.
func (a *Adapter) Notify(ctx context.Context, channel string, n monitor.Notice) (string, error) {
	out, err := a.NoticeItem(channel, n)
	if err != nil {
		return "", err
	}
	ts, err := a.core.Deliver(ctx, out)
	if err != nil {
		if delivery.IsPermanent(err) {
			return "", fmt.Errorf("slack: notify %s: %w (%w)", channel, monitor.ErrPermanent, err)
		}
		return "", fmt.Errorf("slack: notify %s: %w", channel, err)
	}
	if n.Thread != "" {
		return n.Thread, nil
	}
	return ts, nil
}
