package slack

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"gptaccess/bot"
)

// identity is who the bot is in this workspace, from auth.test.
type identity struct {
	UserID string // "U…": what <@…> mentions of the bot carry
	BotID  string // "B…": what the bot's own messages carry in bot_id
	URL    string // workspace URL, "https://team.slack.com/", for permalinks
}

// Subtypes of message events that are still a person writing to the bot.
// Everything else (edits, deletes, joins, bot messages, channel topic…) is
// ignored.
var userSubtypes = map[string]bool{
	"":                 true,
	"thread_broadcast": true, // a thread reply also sent to the channel
	"file_share":       true, // a message with an attachment, e.g. a screenshot
}

// place is what a payload tells of where it was written. Text is kept
// (redacted) only from public channels, so a place the payload does not
// name is private until Slack says otherwise (see Adapter.public).
type place string

const (
	placeUnknown place = ""        // not said: ask conversations.info
	placeDM      place = "dm"      // a direct message with the bot
	placePrivate place = "private" // a group DM or a private channel
	placePublic  place = "public"  // a public channel
)

// toMessage translates an Events API inner event (app_mention or message)
// into a bot.Message. ts is the message's own timestamp: with the channel it
// names the message for deduplication, since Slack sends both an
// app_mention and a message event for one mention. at is what the event
// says of the place; m is Private unless it is a public channel or a DM.
// ok is false for events the bot ignores.
func toMessage(inner any, self identity, listen map[string]bool) (m bot.Message, at place, ts string, ok bool) {
	switch ev := inner.(type) {
	case *slackevents.AppMentionEvent:
		if ev.User == "" || ev.BotID != "" || ev.User == self.UserID || ev.Edited != nil || ev.Channel == "" || ev.TimeStamp == "" {
			return bot.Message{}, "", "", false
		}
		m = bot.Message{Platform: bot.Slack, Channel: ev.Channel, User: ev.User, Text: plainText(ev.Text)}
		// app_mention carries no channel_type: only the id can tell.
		at = idPlace(ev.Channel)
		if at == placeDM {
			m.DM, m.Thread = true, ev.ThreadTimeStamp
			return m, at, ev.TimeStamp, true
		}
		m.Mention, m.Shared, m.Private = true, true, at != placePublic
		m.Thread = ev.ThreadTimeStamp
		if m.Thread == "" {
			m.Thread = ev.TimeStamp
		}
		return m, at, ev.TimeStamp, true

	case *slackevents.MessageEvent:
		if !userSubtypes[ev.SubType] || ev.User == "" || ev.BotID != "" || ev.User == self.UserID || ev.Channel == "" || ev.TimeStamp == "" {
			return bot.Message{}, "", "", false
		}
		if ev.Message != nil && (ev.Message.BotID != "" || ev.Message.SubType == "bot_message") {
			return bot.Message{}, "", "", false
		}
		m = bot.Message{Platform: bot.Slack, Channel: ev.Channel, User: ev.User, Text: plainText(ev.Text)}
		inThread := ev.ThreadTimeStamp != "" && ev.ThreadTimeStamp != ev.TimeStamp
		at = typePlace(ev.ChannelType, ev.Channel)
		if at == placeDM {
			m.DM = true
			if inThread {
				m.Thread = ev.ThreadTimeStamp
			}
			return m, at, ev.TimeStamp, true
		}
		m.Shared, m.Private = true, at != placePublic
		switch {
		case mentions(ev.Text, self.UserID):
			// The app_mention event for the same ts says the same; whichever
			// comes first is answered, the other is a duplicate.
			m.Mention = true
			m.Thread = ev.TimeStamp
			if inThread {
				m.Thread = ev.ThreadTimeStamp
			}
		case inThread:
			// A follow-up in a thread: answered only if the bot already has
			// a conversation there.
			m.Thread = ev.ThreadTimeStamp
		case listen[ev.Channel]:
			m.Listen = true
			m.Thread = ev.TimeStamp
		default:
			return bot.Message{}, "", "", false
		}
		return m, at, ev.TimeStamp, true
	}
	return bot.Message{}, "", "", false
}

// idPlace is what a conversation id alone tells: "D…" is a direct
// message; "G…" a private channel or a group DM from before Slack gave
// both "C…" ids; a "C…" id may be anything but a DM.
func idPlace(channel string) place {
	switch {
	case strings.HasPrefix(channel, "D"):
		return placeDM
	case strings.HasPrefix(channel, "G"):
		return placePrivate
	}
	return placeUnknown
}

// typePlace is what a message event's channel_type tells ("" when the
// event has none, e.g. in tests or older payloads: the id then).
func typePlace(channelType, channel string) place {
	switch channelType {
	case slackevents.ChannelTypeIM:
		return placeDM
	case slackevents.ChannelTypeChannel:
		return placePublic
	case slackevents.ChannelTypeGroup, slackevents.ChannelTypeMPIM:
		return placePrivate
	case "":
		return idPlace(channel)
	}
	return placeUnknown
}

func mentions(text, user string) bool {
	return user != "" && (strings.Contains(text, "<@"+user+">") || strings.Contains(text, "<@"+user+"|"))
}

var (
	markupRE = regexp.MustCompile(`<([^<>]*)>`)
	spaceRE  = regexp.MustCompile(`[ \t]+`)
)

// plainText turns Slack message markup into the text a person typed: user
// mentions are dropped, channel and group references keep their names,
// links keep their label (or URL), and &amp; &lt; &gt; are unescaped.
func plainText(s string) string {
	s = markupRE.ReplaceAllStringFunc(s, func(tag string) string {
		inner := tag[1 : len(tag)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			return ""
		case strings.HasPrefix(target, "#"):
			if hasLabel {
				return "#" + label
			}
			return "#channel"
		case strings.HasPrefix(target, "!subteam^"):
			if hasLabel {
				return label
			}
			return "@group"
		case strings.HasPrefix(target, "!date^"):
			return label
		case strings.HasPrefix(target, "!"):
			return "@" + strings.TrimPrefix(target, "!")
		case hasLabel && label != "":
			return label
		default:
			return strings.TrimPrefix(target, "mailto:")
		}
	})
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(spaceRE.ReplaceAllString(l, " "))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Subcommands of /gptaccess that pass through as the message text.
var subcommands = map[string]bool{
	"help": true, "status": true, "diagnose": true, "subscribe": true, "unsubscribe": true, "stats": true,
}

// commandMessage translates "/gptaccess <sub> [args]" into a bot.Message:
// the subcommand word, or the question for "ask <question>"; anything else
// is "help". A command typed in a direct message is a DM (keyed like the
// DM's messages, so a typed answer continues it); Slack names a group DM
// "mpdm-…" and a private channel "privategroup", both private places. A
// channel's own name does not say whether it is public, so at is then
// placeUnknown and m Private until Slack is asked.
func commandMessage(c slackapi.SlashCommand) (m bot.Message, at place) {
	sub, rest, _ := strings.Cut(plainText(c.Text), " ")
	sub = strings.ToLower(strings.TrimSpace(sub))
	rest = strings.TrimSpace(rest)
	text := "help"
	switch {
	case subcommands[sub]:
		text = sub
	case sub == "ask" && rest != "":
		text = rest
	}
	m = bot.Message{
		Platform: bot.Slack, Channel: c.ChannelID, User: c.UserID, Text: text,
		Command: true, Shared: true,
	}
	at = idPlace(c.ChannelID)
	switch {
	case c.ChannelName == "directmessage":
		at = placeDM
	case strings.HasPrefix(c.ChannelName, "mpdm-") || c.ChannelName == "privategroup":
		at = placePrivate
	}
	if at == placeDM {
		m.DM, m.Shared = true, false
		return m, at
	}
	m.Private = true
	return m, at
}

// Button wire format. The actions block's id carries the conversation the
// question belongs to, so a click keys the same conversation as the
// message that led to the question (a DM, a slash command without a
// thread, or a thread under a mention); a button's value carries the
// question id and the choice.
const (
	actionPrefix = "gptaccess_choice_"
	blockPrefix  = "gptaccess_q:"
)

// questionBlockID encodes m's conversation scope in the actions block id.
func questionBlockID(m bot.Message) string {
	scope := "s"
	if !m.Shared {
		scope = "d"
	}
	return blockPrefix + scope + ":" + m.Thread
}

// click is a decoded button click.
type click struct {
	msg         bot.Message
	channel     string // where the clicked message is
	messageTS   string
	ephemeral   bool
	responseURL string
	original    []slackapi.Block // the clicked message's blocks (none for ephemeral messages)
	choice      string
}

var (
	errNotAClick   = errors.New("not a block_actions interaction")
	errUnknownID   = errors.New("unknown action id")
	errBadValue    = errors.New("malformed button value")
	errNoRecipient = errors.New("interaction without user or channel")
	questionIDRE   = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,40}$`)
)

// toClick translates a block_actions interaction into a click. Errors other
// than errNotAClick deserve a polite note to the user.
func toClick(ic slackapi.InteractionCallback) (click, error) {
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return click{}, errNotAClick
	}
	if len(ic.ActionCallback.BlockActions) == 0 {
		return click{}, errNotAClick
	}
	act := ic.ActionCallback.BlockActions[0]
	c := click{
		channel:     ic.Container.ChannelID,
		messageTS:   ic.Container.MessageTs,
		ephemeral:   ic.Container.IsEphemeral,
		responseURL: ic.ResponseURL,
		original:    ic.Message.Blocks.BlockSet,
	}
	if c.channel == "" {
		c.channel = ic.Channel.ID
	}
	if c.messageTS == "" {
		c.messageTS = ic.Message.Timestamp
	}
	if ic.User.ID == "" || c.channel == "" {
		return c, errNoRecipient
	}
	if !strings.HasPrefix(act.ActionID, actionPrefix) {
		return c, fmt.Errorf("%w %q", errUnknownID, truncate(act.ActionID, 80))
	}
	id, choice, ok := strings.Cut(act.Value, "|")
	if !ok || !questionIDRE.MatchString(id) || strings.TrimSpace(choice) == "" || len(act.Value) > 2000 {
		return c, errBadValue
	}
	c.choice = choice
	m := bot.Message{
		Platform: bot.Slack, Channel: c.channel, User: ic.User.ID, Text: choice, Shared: true,
		Answer: &bot.Answer{Question: id, Choice: choice},
	}
	if scope, thread, ok := strings.Cut(strings.TrimPrefix(act.BlockID, blockPrefix), ":"); strings.HasPrefix(act.BlockID, blockPrefix) && ok && (scope == "s" || scope == "d") {
		m.Thread = thread
		if scope == "d" {
			m.DM, m.Shared = true, false
		}
	} else if c.ephemeral {
		m.Thread = ic.Container.ThreadTs
	} else {
		m.Thread = ic.Message.ThreadTimestamp
		if m.Thread == "" {
			m.Thread = c.messageTS
		}
	}
	c.msg = m
	return c, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
