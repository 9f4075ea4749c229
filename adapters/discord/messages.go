package discord

import (
	"context"
	"strings"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
)

// translate turns a MESSAGE_CREATE into the bot's message, finding out
// what the pure toMessage cannot: whether the channel is a thread (or a
// listen channel's thread), and which conversation a reply continues.
func (a *Adapter) translate(ctx context.Context, m *discordgo.Message) (bot.Message, bool) {
	botID, _ := a.s.self()
	if m.Author.ID == botID {
		return bot.Message{}, false
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
	if ok && m.GuildID != "" && !f.InThread {
		a.roots.put(m.ID, msg.Thread)
	}
	return msg, ok
}

// quiet lets a message ping nobody but the author it replies to: user text
// quoted back must not ping @everyone or roles.
func quiet() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, RepliedUser: true}
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
