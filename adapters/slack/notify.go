package slack

import (
	"fmt"

	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/monitor"
)

// The monitor commits the notices of the platforms that are Outboxers
// with its alert state; it holds this adapter as one.
var _ monitor.Outboxer = (*Adapter)(nil)

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
