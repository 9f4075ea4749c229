package discord

import (
	"context"
	"strings"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
)

// onMessage handles one MESSAGE_CREATE, in its channel's queue.
func (a *Adapter) onMessage(ctx context.Context, m *discordgo.Message) {
	botID, _ := a.s.self()
	if m.Author.ID == botID {
		return
	}
	f := msgFacts{BotID: botID}
	if m.GuildID != "" {
		thread, parent := a.channelKind(ctx, m.ChannelID)
		f.InThread = thread
		f.Listen = a.listen[m.ChannelID] || (parent != "" && a.listen[parent])
		if !thread {
			if root, ok := a.replyRoot(ctx, m, botID); ok {
				f.Root, f.Rooted = root, true
			}
		}
	}
	msg, ok := toMessage(m, f)
	if !ok {
		return
	}
	first, err := a.claims.first(ctx, "discord:msg:"+m.ID)
	if err != nil {
		a.log.Error("claiming a message failed; answering anyway", "message_id", m.ID, "err", err)
	}
	if !first {
		a.log.Debug("duplicate message delivery ignored", "message_id", m.ID)
		return
	}
	if m.GuildID != "" && !f.InThread {
		a.roots.put(m.ID, msg.Thread)
	}
	reply, _ := a.handle(ctx, msg)
	if reply.Ignore {
		return
	}
	if reply.Private && m.GuildID != "" {
		// Only the author may read it (e.g. stats). Discord has ephemeral
		// messages only for interactions, so it goes to their DMs; if that
		// fails it goes nowhere rather than into the channel.
		a.direct(ctx, m.Author.ID, render(reply))
		return
	}
	d := place{guild: m.GuildID, channel: m.ChannelID, thread: msg.Thread, source: m.ID}
	if m.GuildID != "" {
		d.ref = &discordgo.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID, FailIfNotExists: new(false)}
	}
	a.post(ctx, d, render(reply))
	if reply.Handover != nil {
		a.handover(ctx, reply.Handover, d)
	}
}

// place is where a reply goes: a channel (or thread or DM), optionally as
// a reply to a message, and the conversation it belongs to.
type place struct {
	guild, channel string
	thread         string // conversation thread key of what is posted
	source         string // message that started this turn, for links
	ref            *discordgo.MessageReference
}

// post sends parts in order; it stops at the first failure so that the
// conversation never shows a later part without an earlier one.
func (a *Adapter) post(ctx context.Context, d place, parts []part) bool {
	for i, p := range parts {
		send := &discordgo.MessageSend{
			Content:         p.Content,
			Components:      p.Components,
			AllowedMentions: quiet(),
		}
		if i == 0 {
			send.Reference = d.ref
		}
		m, err := a.send(ctx, d.channel, send)
		if err != nil {
			a.log.Error("reply not delivered", "channel", d.channel, "part", i+1, "parts", len(parts), "err", a.errText(err))
			return false
		}
		if d.guild != "" {
			a.roots.put(m.ID, d.thread)
		}
	}
	return true
}

// send posts one message.
func (a *Adapter) send(ctx context.Context, channel string, m *discordgo.MessageSend) (*discordgo.Message, error) {
	var out *discordgo.Message
	err := a.call(ctx, "send message", func(o ...discordgo.RequestOption) error {
		var err error
		out, err = a.s.ChannelMessageSendComplex(channel, m, o...)
		return err
	})
	if err == nil && out == nil {
		out = &discordgo.Message{}
	}
	return out, err
}

// direct sends parts to user's DM channel.
func (a *Adapter) direct(ctx context.Context, user string, parts []part) {
	var ch *discordgo.Channel
	err := a.call(ctx, "open DM", func(o ...discordgo.RequestOption) error {
		var err error
		ch, err = a.s.UserChannelCreate(user, o...)
		return err
	})
	if err != nil || ch == nil {
		a.log.Error("private reply not delivered: cannot open a DM", "user", user, "err", a.errText(err))
		return
	}
	a.post(ctx, place{channel: ch.ID}, parts)
}

// quiet lets a message ping nobody but the author it replies to: user text
// quoted back must not ping @everyone or roles.
func quiet() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, RepliedUser: true}
}

// handover posts a summary for human supporters: to the support channel
// (mentioning the role) or, without one, in place mentioning the role.
func (a *Adapter) handover(ctx context.Context, h *bot.Handover, d place) {
	role := a.o.SupportRole
	mentions := quiet()
	if role != "" {
		mentions.Roles = []string{role}
	}
	switch {
	case a.o.SupportChannel != "":
		link := messageLink(d.guild, d.channel, d.source)
		text := handoverText(h, role, link)
		for _, c := range split(text, maxContent) {
			if _, err := a.send(ctx, a.o.SupportChannel, &discordgo.MessageSend{Content: c, AllowedMentions: mentions}); err != nil {
				a.log.Error("handover not delivered to the support channel", "support_channel", a.o.SupportChannel, "err", a.errText(err))
				return
			}
		}
		a.log.Info("handed over to a human", "support_channel", a.o.SupportChannel, "channel", d.channel)
	case role != "":
		text := handoverText(h, role, "")
		for _, c := range split(text, maxContent) {
			if _, err := a.send(ctx, d.channel, &discordgo.MessageSend{Content: c, AllowedMentions: mentions}); err != nil {
				a.log.Error("handover not delivered", "channel", d.channel, "err", a.errText(err))
				return
			}
		}
		a.log.Info("handed over to a human in place", "channel", d.channel)
	default:
		a.log.Warn("handover requested but neither support_channel nor support_role is configured", "channel", d.channel, "user", h.User)
	}
}

// channelKind tells whether a guild channel is a thread (and its parent):
// from the gateway state (GUILD_CREATE and THREAD_CREATE fill it), else a
// small cache, else GET /channels/{id}.
func (a *Adapter) channelKind(ctx context.Context, id string) (thread bool, parent string) {
	if c, ok := a.s.cachedChannel(id); ok {
		return c.IsThread(), c.ParentID
	}
	if v, ok := a.channels.get(id); ok {
		p, isThread := strings.CutPrefix(v, "thread:")
		if isThread {
			return true, p
		}
		return false, ""
	}
	var c *discordgo.Channel
	err := a.call(ctx, "get channel", func(o ...discordgo.RequestOption) error {
		var err error
		c, err = a.s.Channel(id, o...)
		return err
	})
	if err != nil || c == nil {
		a.log.Debug("channel lookup failed; treating it as a plain channel", "channel", id, "err", a.errText(err))
		return false, ""
	}
	if c.IsThread() {
		a.channels.put(id, "thread:"+c.ParentID)
		return true, c.ParentID
	}
	a.channels.put(id, "channel")
	return false, ""
}

// maxChain bounds how far replyRoot follows a reply chain through REST.
const maxChain = 8

// replyRoot finds the conversation a reply belongs to when it replies to
// the bot (or to a message of a known conversation). Conversations in
// channels live in reply chains: the root is the message that started
// it, or "" for one started by /gptaccess. Recent message ids are
// remembered; after a restart the chain is walked through REST.
func (a *Adapter) replyRoot(ctx context.Context, m *discordgo.Message, botID string) (string, bool) {
	ref := m.MessageReference
	if ref == nil || ref.MessageID == "" || ref.Type == discordgo.MessageReferenceTypeForward {
		return "", false
	}
	if ref.ChannelID != "" && ref.ChannelID != m.ChannelID {
		return "", false
	}
	if root, ok := a.roots.get(ref.MessageID); ok {
		return root, true
	}
	rm := m.ReferencedMessage
	if rm == nil || rm.Author == nil || rm.Author.ID != botID {
		return "", false // a reply to someone else: not a follow-up
	}
	return a.rootOf(ctx, m.ChannelID, rm, rm.ID, botID), true
}

// rootOf walks the reply chain up from message id (m is that message when
// known) to the conversation root.
func (a *Adapter) rootOf(ctx context.Context, channel string, m *discordgo.Message, id, botID string) string {
	var seen []string
	root := ""
	for depth := 0; ; depth++ {
		if r, ok := a.roots.get(id); ok {
			root = r
			break
		}
		if depth == maxChain {
			root = id
			break
		}
		if m == nil || m.ID != id {
			var got *discordgo.Message
			err := a.call(ctx, "get message", func(o ...discordgo.RequestOption) error {
				var err error
				got, err = a.s.ChannelMessage(channel, id, o...)
				return err
			})
			if err != nil || got == nil {
				a.log.Debug("reply chain lookup failed", "channel", channel, "message_id", id, "err", a.errText(err))
				root = id
				break
			}
			m = got
		}
		seen = append(seen, id)
		ref := m.MessageReference
		if ref != nil && ref.MessageID != "" && ref.Type != discordgo.MessageReferenceTypeForward &&
			(ref.ChannelID == "" || ref.ChannelID == channel) {
			id, m = ref.MessageID, m.ReferencedMessage
			continue
		}
		if m.Author != nil && (m.Author.ID == botID || m.Author.Bot) {
			root = "" // a bot message that replies to nothing: a /gptaccess response or an alert
		} else {
			root = m.ID
		}
		break
	}
	for _, s := range seen {
		a.roots.put(s, root)
	}
	return root
}
