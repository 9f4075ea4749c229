package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/format"
	"gptaccess/monitor"
)

// The monitor commits the notices of the platforms that are Outboxers
// with its alert state; it holds this adapter as one.
var _ monitor.Outboxer = (*Adapter)(nil)

// NoticeItem is a monitor notice for channel as an outbox item
// (monitor.Outboxer): in order with the channel's replies, and with a
// nonce, so that a notice re-sent after a crash is not posted twice. The
// opening notice (and a digest) is a new message with an embed;
// reminders, updates and the recovery go into a thread started on the
// alert message, so the channel shows one message per incident. If the
// thread cannot be used, they reply to the alert instead.
func (a *Adapter) NoticeItem(channel string, n monitor.Notice) (delivery.Outbound, error) {
	embeds, err := json.Marshal([]*discordgo.MessageEmbed{noticeEmbed(n, a.o.Now())})
	if err != nil {
		return delivery.Outbound{}, fmt.Errorf("discord: notice: %w", err)
	}
	s := step{Kind: stepNotice, Channel: channel, Embeds: embeds, Alert: n.Thread, ThreadName: threadName(n),
		Mentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}
	out := s.outbound(channel)
	out.Kind = delivery.KindNotice
	out.Key, out.Parent = monitor.NoticeKey(bot.Discord, channel, n)
	return out, nil
}

// sendNotice posts a notice step: a new message, or one in the thread on
// its alert (the monitor's ref, else the outbox's ref of the incident's
// opening notice), or failing that a reply to the alert. It returns the
// alert message's id.
func (a *Adapter) sendNotice(ctx context.Context, s step, out delivery.Outbound) (string, error) {
	ref, err := a.postNotice(ctx, s, out)
	if err != nil && delivery.IsPermanent(err) {
		a.log.Error("cannot post alerts to this channel; check that it exists and that the bot can view it and has Send Messages, Send Messages in Threads, Create Public Threads and Embed Links there",
			"channel", s.Channel, "key", out.Key, "err", err)
	}
	return ref, err
}

// postNotice makes sendNotice's calls.
func (a *Adapter) postNotice(ctx context.Context, s step, out delivery.Outbound) (string, error) {
	alert := s.Alert
	if alert == "" {
		alert = out.ParentRef
	}
	n := nonce(out.Key)
	if alert == "" {
		m, err := a.create(ctx, s.Channel, s, n)
		if err != nil {
			return "", a.sendError(err)
		}
		return m.ID, nil
	}
	if thread, ok := a.alertThread(ctx, s.Channel, alert, s.ThreadName); ok {
		_, err := a.create(ctx, thread, s, n)
		if err == nil {
			return alert, nil
		}
		if !permanent(err) && apiCode(err) != codeUnknownMessage {
			return "", a.sendError(err)
		}
		a.log.Warn("posting in the alert's thread failed; replying to the alert instead",
			"channel", s.Channel, "thread", thread, "err", a.errText(err))
	}
	s.Reference = &discordgo.MessageReference{MessageID: alert, ChannelID: s.Channel, FailIfNotExists: new(false)}
	if _, err := a.create(ctx, s.Channel, s, n); err != nil {
		return "", a.sendError(err)
	}
	return alert, nil
}

// alertThread returns the thread on the alert message, starting it on
// first use. A thread started from a message has that message's id, so
// the reference survives restarts without being stored.
func (a *Adapter) alertThread(ctx context.Context, channel, alert, name string) (string, bool) {
	if _, ok := a.alerts.get(alert); ok {
		return alert, true
	}
	var ch *discordgo.Channel
	err := a.call(ctx, "start alert thread", func(o ...discordgo.RequestOption) error {
		var err error
		ch, err = a.s.MessageThreadStartComplex(channel, alert, &discordgo.ThreadStart{
			Name:                name,
			AutoArchiveDuration: 1440,
			Type:                discordgo.ChannelTypeGuildPublicThread,
		}, o...)
		return err
	})
	switch {
	case err == nil:
		id := alert
		if ch != nil && ch.ID != "" {
			id = ch.ID
		}
		a.alerts.put(alert, "")
		return id, true
	case apiCode(err) == codeThreadExists:
		a.alerts.put(alert, "")
		return alert, true
	}
	a.log.Warn("could not start a thread on the alert; replying to it instead",
		"channel", channel, "message_id", alert, "err", a.errText(err))
	return "", false
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
		title = n.Kind.Title(n.Phase != monitor.PhaseResolved)
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
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Lasted", Value: format.Duration(n.Duration), Inline: true})
	}
	return e
}

// noticeColor is a notice's colour, for what its title says (what its
// targets showed), not for the kind its incident opened with: an update
// that only a block is left in is orange, though the incident opened as an
// outage; the most serious part of a mixed title wins.
func noticeColor(n monitor.Notice) int {
	s := n.Situation
	switch {
	case n.Phase == monitor.PhaseResolved:
		return colorResolved
	case n.Phase == monitor.PhaseDigest:
		return colorDigest
	case s.Has(monitor.SituationDown):
		return colorDown
	case s.Blocked():
		return colorBlocked
	case s.Has(monitor.SituationRateLimited):
		return colorLimited
	case n.Kind == monitor.KindBlocked:
		return colorBlocked
	case n.Kind == monitor.KindRateLimited:
		return colorLimited
	}
	return colorDown
}

// threadName names the thread on an alert after the opening notice's
// title, the message it hangs from ("ChatGPT is down and blocked by our
// own network — updates"), whichever later notice starts it.
func threadName(n monitor.Notice) string {
	title := strings.TrimSpace(n.Opening)
	if title == "" {
		title = n.Kind.Title(true)
	}
	return truncate(title+" — updates", maxThreadName)
}
