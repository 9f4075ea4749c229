package slack

import (
	"encoding/json"

	slackapi "github.com/slack-go/slack"

	"gptaccess/bot"
	"gptaccess/delivery"
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
	place       place  // fromEvent, fromCommand: what the payload told of the place
	responseURL string // fromCommand, fromClick
	click       click  // fromClick
	unusable    bool   // a click on a button the adapter cannot read
}

// plan decides the Slack calls that deliver r, in order. Hand-overs are
// routed by the delivery core (Adapter.Handover).
func plan(r bot.Reply, o origin) (acts []action) {
	if r.Ignore {
		return nil
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

	return acts
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

// The inbox and outbox keep origins and actions as JSON: plain fields, and
// blocks in Slack's own encoding (which slack-go reads back). A
// response_url in them is a credential: the store drops an item's body once
// it is finished.

type wireOrigin struct {
	Kind        originKind  `json:"kind"`
	Msg         bot.Message `json:"msg"`
	Place       place       `json:"place,omitempty"`
	ResponseURL string      `json:"response_url,omitempty"`
	Unusable    bool        `json:"unusable,omitempty"`
	// The clicked message, for fromClick.
	Channel   string          `json:"channel,omitempty"`
	MessageTS string          `json:"message_ts,omitempty"`
	Ephemeral bool            `json:"ephemeral,omitempty"`
	Original  slackapi.Blocks `json:"original"`
	Choice    string          `json:"choice,omitempty"`
}

func (o origin) wire() wireOrigin {
	return wireOrigin{Kind: o.kind, Msg: o.msg, Place: o.place, ResponseURL: o.responseURL, Unusable: o.unusable,
		Channel: o.click.channel, MessageTS: o.click.messageTS, Ephemeral: o.click.ephemeral,
		Original: slackapi.Blocks{BlockSet: o.click.original}, Choice: o.click.choice}
}

func decodeOrigin(b []byte) (origin, error) {
	var w wireOrigin
	if err := json.Unmarshal(b, &w); err != nil {
		return origin{}, err
	}
	return origin{kind: w.Kind, msg: w.Msg, place: w.Place, responseURL: w.ResponseURL, unusable: w.Unusable,
		click: click{msg: w.Msg, channel: w.Channel, messageTS: w.MessageTS, ephemeral: w.Ephemeral,
			responseURL: w.ResponseURL, original: w.Original.BlockSet, choice: w.Choice}}, nil
}

type wireAction struct {
	Kind      actKind         `json:"kind"`
	Channel   string          `json:"channel"`
	Thread    string          `json:"thread,omitempty"`
	User      string          `json:"user,omitempty"`
	TS        string          `json:"ts,omitempty"`
	URL       string          `json:"url,omitempty"`
	InChannel bool            `json:"in_channel,omitempty"`
	Replace   bool            `json:"replace,omitempty"`
	Broadcast bool            `json:"broadcast,omitempty"`
	Text      string          `json:"text"`
	Blocks    slackapi.Blocks `json:"blocks"`
}

// outbound is act as an outbox item in its channel's lane (responses in
// a lane of their own per channel).
func (act action) outbound() delivery.Outbound {
	body, _ := json.Marshal(wireAction{Kind: act.kind, Channel: act.channel, Thread: act.thread, User: act.user,
		TS: act.ts, URL: act.url, InChannel: act.inChannel, Replace: act.replace, Broadcast: act.broadcast,
		Text: act.out.Text, Blocks: slackapi.Blocks{BlockSet: act.out.Blocks}})
	lane := act.channel
	if act.kind == actRespond {
		// Responses go to Slack's response_url, not the channel: a dead
		// one must not hold the channel's replies back.
		lane = "response_url:" + act.channel
	}
	return delivery.Outbound{Platform: bot.Slack, Lane: lane, Body: body}
}

func (w wireAction) action() action {
	return action{kind: w.Kind, channel: w.Channel, thread: w.Thread, user: w.User, ts: w.TS, url: w.URL,
		inChannel: w.InChannel, replace: w.Replace, broadcast: w.Broadcast,
		out: outgoing{Text: w.Text, Blocks: w.Blocks.BlockSet}}
}
