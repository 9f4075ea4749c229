package discord

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/monitor"
)

var _ monitor.Notifier = (*Adapter)(nil)

// Notify posts a monitor notice to channel and returns the alert message's
// id. The opening notice (and a digest) is a new message with an embed;
// reminders, updates and the recovery go into a thread started on the
// alert message, so the channel shows one message per incident. If the
// thread cannot be used, they reply to the alert instead.
//
// Missing Access (50001), Missing Permissions (50013) and Unknown Channel
// (10003) wrap monitor.ErrPermanent: the monitor does not retry them.
func (a *Adapter) Notify(ctx context.Context, channel string, n monitor.Notice) (string, error) {
	msg := &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{noticeEmbed(n, a.o.Now())},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
	}
	if n.Thread == "" {
		m, err := a.send(ctx, channel, msg)
		if err != nil {
			return "", a.notifyFailed(channel, n, err)
		}
		a.log.Info("alert posted", "channel", channel, "incident", n.Incident, "phase", string(n.Phase), "message_id", m.ID)
		return m.ID, nil
	}
	if thread, ok := a.alertThread(ctx, channel, n); ok {
		_, err := a.send(ctx, thread, msg)
		if err == nil {
			a.log.Info("alert update posted in its thread", "channel", channel, "incident", n.Incident, "phase", string(n.Phase))
			return n.Thread, nil
		}
		if !permanent(err) && apiCode(err) != codeUnknownMessage {
			return "", a.notifyFailed(channel, n, err)
		}
		a.log.Warn("posting in the alert's thread failed; replying to the alert instead",
			"channel", channel, "thread", thread, "err", a.errText(err))
	}
	msg.Reference = &discordgo.MessageReference{MessageID: n.Thread, ChannelID: channel, FailIfNotExists: new(false)}
	if _, err := a.send(ctx, channel, msg); err != nil {
		return "", a.notifyFailed(channel, n, err)
	}
	a.log.Info("alert update posted as a reply", "channel", channel, "incident", n.Incident, "phase", string(n.Phase))
	return n.Thread, nil
}

// alertThread returns the thread on the alert message n.Thread, starting
// it on first use. A thread started from a message has that message's id,
// so the reference survives restarts without being stored.
func (a *Adapter) alertThread(ctx context.Context, channel string, n monitor.Notice) (string, bool) {
	if _, ok := a.alerts.get(n.Thread); ok {
		return n.Thread, true
	}
	var ch *discordgo.Channel
	err := a.call(ctx, "start alert thread", func(o ...discordgo.RequestOption) error {
		var err error
		ch, err = a.s.MessageThreadStartComplex(channel, n.Thread, &discordgo.ThreadStart{
			Name:                threadName(n),
			AutoArchiveDuration: 1440,
			Type:                discordgo.ChannelTypeGuildPublicThread,
		}, o...)
		return err
	})
	switch {
	case err == nil:
		id := n.Thread
		if ch != nil && ch.ID != "" {
			id = ch.ID
		}
		a.alerts.put(n.Thread, "")
		return id, true
	case apiCode(err) == codeThreadExists:
		a.alerts.put(n.Thread, "")
		return n.Thread, true
	}
	a.log.Warn("could not start a thread on the alert; replying to it instead",
		"channel", channel, "message_id", n.Thread, "err", a.errText(err))
	return "", false
}

// notifyFailed logs a failed notice and wraps permanent failures.
func (a *Adapter) notifyFailed(channel string, n monitor.Notice, err error) error {
	if permanent(err) {
		a.log.Error("cannot post alerts to this channel; check that it exists and that the bot can view it and has Send Messages, Send Messages in Threads, Create Public Threads and Embed Links there",
			"channel", channel, "incident", n.Incident, "code", apiCode(err), "err", a.errText(err))
		return fmt.Errorf("discord: alert to channel %s: %w: %s", channel, monitor.ErrPermanent, a.errText(err))
	}
	a.log.Warn("alert not delivered", "channel", channel, "incident", n.Incident, "err", a.errText(err))
	return fmt.Errorf("discord: alert to channel %s: %w", channel, err)
}

// Embed colours.
const (
	colorDown     = 0xE74C3C
	colorBlocked  = 0xE67E22
	colorLimited  = 0xF1C40F
	colorResolved = 0x2ECC71
	colorDigest   = 0x5865F2
)

// noticeEmbed renders a notice.
func noticeEmbed(n monitor.Notice, now time.Time) *discordgo.MessageEmbed {
	title := strings.TrimSpace(n.Title)
	if title == "" {
		title = kindTitle(n.Kind)
	}
	e := &discordgo.MessageEmbed{
		Title:       truncate(title, maxEmbedTitle),
		Description: truncate16(strings.TrimSpace(n.Text), maxEmbedDesc),
		Color:       noticeColor(n),
		Footer:      &discordgo.MessageEmbedFooter{Text: "gptaccess"},
	}
	ts := n.Started
	if ts.IsZero() || n.Phase == monitor.PhaseDigest {
		ts = now
	}
	e.Timestamp = ts.UTC().Format(time.RFC3339)
	if len(n.Targets) > 0 {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Targets", Value: truncate(strings.Join(n.Targets, ", "), 1024), Inline: true})
	}
	if n.Phase == monitor.PhaseResolved && n.Duration > 0 {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Lasted", Value: n.Duration.Round(time.Second).String(), Inline: true})
	}
	return e
}

func noticeColor(n monitor.Notice) int {
	switch {
	case n.Phase == monitor.PhaseResolved:
		return colorResolved
	case n.Phase == monitor.PhaseDigest:
		return colorDigest
	case n.Kind == monitor.KindBlocked:
		return colorBlocked
	case n.Kind == monitor.KindRateLimited:
		return colorLimited
	}
	return colorDown
}

func kindTitle(k monitor.Kind) string {
	switch k {
	case monitor.KindDown:
		return "ChatGPT is down"
	case monitor.KindBlocked:
		return "ChatGPT is blocked from our network"
	case monitor.KindRateLimited:
		return "ChatGPT is rate limiting us"
	}
	return "ChatGPT reachability"
}

// threadName names the thread on an alert.
func threadName(n monitor.Notice) string {
	return truncate(kindTitle(n.Kind)+" — updates", maxThreadName)
}
