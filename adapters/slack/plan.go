package slack

import (
	"gptaccess/bot"
)

// actKind is the Slack call an action makes.
type actKind int

const (
	actPost      actKind = iota // chat.postMessage
	actEphemeral                // chat.postEphemeral
	actUpdate                   // chat.update
	actRespond                  // POST to a response_url
)

func (k actKind) String() string {
	switch k {
	case actPost:
		return "chat.postMessage"
	case actEphemeral:
		return "chat.postEphemeral"
	case actUpdate:
		return "chat.update"
	case actRespond:
		return "response_url"
	}
	return "unknown"
}

// action is one message to send. url (a response_url) is a bearer
// credential for the conversation: never log it.
type action struct {
	kind      actKind
	channel   string // where it lands (for actRespond: where the response_url belongs)
	thread    string // thread_ts for actPost / actEphemeral
	user      string // actEphemeral: the recipient
	ts        string // actUpdate: the message to change
	url       string // actRespond
	inChannel bool   // actRespond: response_type in_channel instead of ephemeral
	replace   bool   // actRespond: replace_original
	broadcast bool   // actPost: reply_broadcast
	out       outgoing
}

// originKind says how the message that got the reply arrived.
type originKind int

const (
	fromEvent   originKind = iota // a message or mention
	fromCommand                   // /gptaccess
	fromClick                     // a button
)

// origin is where a reply goes back to.
type origin struct {
	kind        originKind
	msg         bot.Message
	responseURL string // fromCommand, fromClick
	click       click  // fromClick
}

// support is where handovers go.
type support struct {
	channel   string // SupportChannel
	group     string // SupportGroup (user group id, "S…")
	workspace string // workspace URL from auth.test, for thread links
}

// plan decides the Slack calls that deliver r, in order. warning is set
// when something the reply asks for cannot be done as configured.
func plan(r bot.Reply, o origin, sup support) (acts []action, warning string) {
	if r.Ignore {
		return nil, ""
	}
	m := o.msg
	out := render(r, m)
	hasBody := out.Text != "" || len(out.Blocks) > 0

	switch o.kind {
	case fromEvent:
		if hasBody {
			if r.Private && !m.DM {
				acts = append(acts, action{kind: actEphemeral, channel: m.Channel, thread: m.Thread, user: m.User, out: out})
			} else {
				acts = append(acts, action{kind: actPost, channel: m.Channel, thread: m.Thread, out: out})
			}
		}
	case fromCommand:
		switch {
		case !hasBody:
		case o.responseURL != "":
			acts = append(acts, action{kind: actRespond, channel: m.Channel, url: o.responseURL, inChannel: r.Public && !r.Private, out: out})
		case r.Public && !r.Private:
			acts = append(acts, action{kind: actPost, channel: m.Channel, out: out})
		default:
			acts = append(acts, action{kind: actEphemeral, channel: m.Channel, user: m.User, out: out})
		}
	case fromClick:
		c := o.click
		if r.Private {
			// An expired or foreign question: tell the clicker only and
			// leave the buttons for whoever they belong to.
			if hasBody {
				acts = append(acts, privateNote(c, m, out))
			}
			break
		}
		done := answered(c.original, m.User, c.choice)
		if c.ephemeral {
			acts = append(acts, action{kind: actRespond, channel: c.channel, url: c.responseURL, replace: true, out: done})
		} else {
			acts = append(acts, action{kind: actUpdate, channel: c.channel, ts: c.messageTS, out: done})
		}
		if hasBody {
			if c.ephemeral {
				acts = append(acts, action{kind: actRespond, channel: c.channel, url: c.responseURL, out: out})
			} else {
				acts = append(acts, action{kind: actPost, channel: c.channel, thread: m.Thread, out: out})
			}
		}
	}

	if r.Handover != nil {
		h := *r.Handover
		if h.Channel == "" {
			h.Channel, h.Thread, h.User = m.Channel, m.Thread, m.User
		}
		switch {
		case sup.channel != "":
			acts = append(acts, action{kind: actPost, channel: sup.channel, out: outgoing{Text: renderHandover(h, sup.group, sup.workspace)}})
		case sup.group != "" && !m.DM:
			// No support channel: call the group into the conversation.
			thread := m.Thread
			if o.kind == fromClick && o.click.ephemeral {
				thread = ""
			}
			acts = append(acts, action{kind: actPost, channel: m.Channel, thread: thread, out: outgoing{Text: renderHandover(h, sup.group, "")}})
		default:
			warning = "handover requested but no support channel (or, outside DMs, support group) is configured"
		}
	}
	return acts, warning
}

// privateNote is a note only the clicker sees, next to the clicked message.
func privateNote(c click, m bot.Message, out outgoing) action {
	if c.ephemeral || m.DM {
		if c.responseURL != "" {
			return action{kind: actRespond, channel: c.channel, url: c.responseURL, out: out}
		}
	}
	return action{kind: actEphemeral, channel: c.channel, thread: m.Thread, user: m.User, out: out}
}
