package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// The adapter is a delivery.Platform: gateway events and HTTP interactions
// are written to the core's inbox as Discord sent them (Message translates
// them when their turn comes, walking reply chains if need be), and every
// message the bot sends is one outbox item (a step) that Send performs.

// Inbox item bodies: the payload as Discord sent it, and which it is.
type wireIn struct {
	Event string          `json:"event"` // "MESSAGE_CREATE" or "INTERACTION_CREATE"
	Data  json.RawMessage `json:"data"`
}

const (
	eventMessage     = "MESSAGE_CREATE"
	eventInteraction = "INTERACTION_CREATE"
)

func inbound(id, lane, event string, data []byte) delivery.Inbound {
	body, _ := json.Marshal(wireIn{Event: event, Data: data}) // data is JSON already
	return delivery.Inbound{ID: bot.Discord + ":" + id, Platform: bot.Discord, Lane: lane, Body: body}
}

// Step kinds: the one Discord call an outbox item makes.
const (
	stepPost     = "post"     // create a message in a channel (with a nonce)
	stepDirect   = "direct"   // open the user's DM, then post there
	stepEdit     = "edit"     // edit an interaction's original response
	stepFollowup = "followup" // an interaction follow-up message
	stepDelete   = "delete"   // delete an interaction's original response
	stepNotice   = "notice"   // a monitor notice (see NoticeItem)
)

// step is an outbox item's body.
type step struct {
	Kind    string `json:"kind"`
	Channel string `json:"channel,omitempty"`
	Guild   string `json:"guild,omitempty"`
	User    string `json:"user,omitempty"` // stepDirect
	// Thread is the conversation the message belongs to, remembered with
	// its id so that replies to it continue the conversation.
	Thread     string                            `json:"thread,omitempty"`
	Content    string                            `json:"content,omitempty"`
	Components json.RawMessage                   `json:"components,omitempty"`
	Embeds     json.RawMessage                   `json:"embeds,omitempty"`
	Reference  *discordgo.MessageReference       `json:"reference,omitempty"`
	Mentions   *discordgo.MessageAllowedMentions `json:"mentions,omitempty"`
	Flags      discordgo.MessageFlags            `json:"flags,omitempty"`
	// Interaction names the interaction whose webhook the step uses (its
	// token is a credential: the store drops the body once sent). A post
	// with one falls back to a follow-up when the bot cannot post in the
	// channel (the question came from a public /gptaccess response).
	Interaction *wireInteraction `json:"interaction,omitempty"`
	// Notices: the alert message to thread under ("" for an opening
	// notice, or when the outbox knows it: Outbound.ParentRef) and the
	// thread's name.
	Alert      string `json:"alert,omitempty"`
	ThreadName string `json:"thread_name,omitempty"`
}

type wireInteraction struct {
	ID    string `json:"id"`
	AppID string `json:"app_id"`
	Token string `json:"token"`
}

func (w *wireInteraction) interaction() *discordgo.Interaction {
	return &discordgo.Interaction{ID: w.ID, AppID: w.AppID, Token: w.Token}
}

func webhookOf(i *discordgo.Interaction) *wireInteraction {
	return &wireInteraction{ID: i.ID, AppID: i.AppID, Token: i.Token}
}

// outbound is s as an outbox item in lane, the channel it writes to.
// Steps through an interaction's webhook have a lane of their own per
// channel: a webhook that fails (an expired token) must not hold the
// channel's messages back.
func (s step) outbound(lane string) delivery.Outbound {
	body, _ := json.Marshal(s) // strings and Discord's own types: cannot fail
	switch s.Kind {
	case stepEdit, stepFollowup, stepDelete:
		lane = "webhook:" + lane
	}
	return delivery.Outbound{Platform: bot.Discord, Lane: lane, Body: body}
}

func componentsJSON(c []discordgo.MessageComponent) json.RawMessage {
	if len(c) == 0 {
		return nil
	}
	b, _ := json.Marshal(c)
	return b
}

// components decodes what componentsJSON encoded; nil stays nil.
func components(raw json.RawMessage) ([]discordgo.MessageComponent, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	out := make([]discordgo.MessageComponent, 0, len(rows))
	for _, r := range rows {
		c, err := discordgo.MessageComponentFromJSON(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Message implements delivery.Platform. For a message in a guild channel
// it answers which conversation the message belongs to: a thread, or the
// reply chain it continues (walked through REST when the chain is older
// than what the adapter remembers).
func (a *Adapter) Message(ctx context.Context, in delivery.Inbound) (delivery.Turn, bool, error) {
	var w wireIn
	if err := json.Unmarshal(in.Body, &w); err != nil {
		return delivery.Turn{}, false, err
	}
	switch w.Event {
	case eventMessage:
		m, err := decodeMessage(w.Data)
		if err != nil {
			return delivery.Turn{}, false, err
		}
		if botID, _ := a.s.self(); botID == "" {
			// Whether the bot is mentioned needs its id, from READY.
			return delivery.Turn{}, false, delivery.ErrNotReady
		}
		msg, ok := a.translate(ctx, m)
		return delivery.Turn{Message: msg}, ok, nil
	case eventInteraction:
		i, err := decodeInteraction(w.Data)
		if err != nil {
			return delivery.Turn{}, false, err
		}
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			msg, err := commandMessage(i)
			// An unusable command was answered when it came.
			return delivery.Turn{Message: msg}, err == nil, nil
		case discordgo.InteractionMessageComponent:
			thread := a.clickThread(ctx, i)
			msg, err := componentMessage(i, thread)
			if err != nil {
				a.log.Warn("unknown button", "interaction_id", i.ID, "err", err)
				msg = bot.Message{Platform: bot.Discord, Channel: i.ChannelID, Thread: thread, User: i.userID(), DM: i.GuildID == ""}
				return delivery.Turn{Message: msg, Reply: &bot.Reply{Entry: "none", Private: true, Text: bot.UnusableButton}}, true, nil
			}
			return delivery.Turn{Message: msg}, true, nil
		}
		return delivery.Turn{}, false, nil
	}
	return delivery.Turn{}, false, fmt.Errorf("discord: unknown inbox event %q", w.Event)
}

// Plan implements delivery.Platform: one step per message to send, in
// order.
func (a *Adapter) Plan(in delivery.Inbound, m bot.Message, r bot.Reply) ([]delivery.Outbound, error) {
	var w wireIn
	if err := json.Unmarshal(in.Body, &w); err != nil {
		return nil, err
	}
	if r.Ignore && w.Event == eventMessage {
		return nil, nil
	}
	if w.Event == eventMessage {
		dm, err := decodeMessage(w.Data)
		if err != nil {
			return nil, err
		}
		return a.planMessage(dm, m, r), nil
	}
	i, err := decodeInteraction(w.Data)
	if err != nil {
		return nil, err
	}
	if i.Type == discordgo.InteractionApplicationCommand {
		return planCommand(i, m, r), nil
	}
	return planClick(i, m, r), nil
}

// planMessage answers a message: in its channel as a reply to it, or, for
// a private reply in a guild, in the author's DMs (Discord has ephemeral
// messages only for interactions; if the DM fails it goes nowhere rather
// than into the channel).
func (a *Adapter) planMessage(dm *discordgo.Message, m bot.Message, r bot.Reply) []delivery.Outbound {
	parts := render(r)
	var out []delivery.Outbound
	if r.Private && dm.GuildID != "" {
		for _, p := range parts {
			out = append(out, step{Kind: stepDirect, User: dm.Author.ID, Content: p.Content,
				Components: componentsJSON(p.Components), Mentions: quiet()}.outbound("dm:"+dm.Author.ID))
		}
		return out
	}
	for i, p := range parts {
		s := step{Kind: stepPost, Channel: dm.ChannelID, Guild: dm.GuildID, Thread: m.Thread, Content: p.Content,
			Components: componentsJSON(p.Components), Mentions: quiet()}
		if i == 0 && dm.GuildID != "" {
			s.Reference = &discordgo.MessageReference{MessageID: dm.ID, ChannelID: dm.ChannelID, GuildID: dm.GuildID, FailIfNotExists: new(false)}
		}
		out = append(out, s.outbound(dm.ChannelID))
	}
	return out
}

// planCommand answers /gptaccess, whose response was deferred when it
// came: the deferred response is edited into the answer (ephemeral in
// guilds), or, for a reply meant for the channel, the answer is posted as
// a public follow-up and the placeholder removed.
func planCommand(i interaction, m bot.Message, r bot.Reply) []delivery.Outbound {
	wi := webhookOf(i.Interaction)
	parts := render(r)
	lane := i.ChannelID
	if r.Ignore || len(parts) == 0 {
		return []delivery.Outbound{step{Kind: stepDelete, Interaction: wi}.outbound(lane)}
	}
	var flags discordgo.MessageFlags
	if !m.DM {
		flags = discordgo.MessageFlagsEphemeral
	}
	var out []delivery.Outbound
	if r.Public && !m.DM {
		for _, p := range parts {
			out = append(out, step{Kind: stepFollowup, Interaction: wi, Thread: m.Thread, Content: p.Content,
				Components: componentsJSON(p.Components), Mentions: quiet()}.outbound(lane))
		}
		return append(out, step{Kind: stepDelete, Interaction: wi}.outbound(lane))
	}
	out = append(out, step{Kind: stepEdit, Interaction: wi, Thread: m.Thread, Content: parts[0].Content,
		Components: componentsJSON(parts[0].Components), Mentions: quiet()}.outbound(lane))
	for _, p := range parts[1:] {
		out = append(out, step{Kind: stepFollowup, Interaction: wi, Thread: m.Thread, Content: p.Content,
			Components: componentsJSON(p.Components), Flags: flags, Mentions: quiet()}.outbound(lane))
	}
	return out
}

// planClick answers a button click, deferred when it came: a click that
// does not count (an expired or someone else's question, the bot's
// apology) gets a private follow-up and leaves the question alone;
// otherwise the question shows who answered what with its buttons
// disabled, and the answer follows in the conversation.
func planClick(i interaction, m bot.Message, r bot.Reply) []delivery.Outbound {
	wi := webhookOf(i.Interaction)
	lane := i.ChannelID
	parts := render(r)
	var out []delivery.Outbound
	followups := func(flags discordgo.MessageFlags) {
		for _, p := range parts {
			out = append(out, step{Kind: stepFollowup, Interaction: wi, Thread: m.Thread, Content: p.Content,
				Components: componentsJSON(p.Components), Flags: flags, Mentions: quiet()}.outbound(lane))
		}
	}
	switch {
	case r.Ignore:
		return nil
	case r.Private || m.Answer == nil:
		followups(discordgo.MessageFlagsEphemeral)
		return out
	}
	data, _ := i.Data.(discordgo.MessageComponentInteractionData)
	content, comps := answered(i.Message, m.User, m.Answer.Choice, data.CustomID)
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	cj, _ := json.Marshal(comps)
	out = append(out, step{Kind: stepEdit, Interaction: wi, Content: content, Components: cj, Mentions: quiet()}.outbound(lane))
	if i.Message.Flags&discordgo.MessageFlagsEphemeral != 0 {
		followups(discordgo.MessageFlagsEphemeral)
		return out
	}
	for n, p := range parts {
		s := step{Kind: stepPost, Channel: i.ChannelID, Guild: i.GuildID, Thread: m.Thread, Content: p.Content,
			Components: componentsJSON(p.Components), Mentions: quiet(), Interaction: wi}
		if n == 0 && m.Thread != "" && m.Thread != i.ChannelID {
			s.Reference = &discordgo.MessageReference{MessageID: m.Thread, ChannelID: i.ChannelID, GuildID: i.GuildID, FailIfNotExists: new(false)}
		}
		out = append(out, s.outbound(lane))
	}
	return out
}

// Handover implements delivery.Platform: the summary mentions the support
// role (and only it), and, in the support channel, links the conversation.
func (a *Adapter) Handover(in delivery.Inbound, m bot.Message, h bot.Handover, to delivery.Route) (delivery.Outbound, error) {
	mentions := quiet()
	if to.Mention != "" {
		mentions.Roles = []string{to.Mention}
	}
	link := ""
	if !to.InPlace {
		guild, source := a.sourceOf(in)
		link = messageLink(guild, m.Channel, source)
	}
	text := handoverText(&h, to.Mention, link)
	return step{Kind: stepPost, Channel: to.Channel, Content: truncate16(text, maxContent), Mentions: mentions}.outbound(to.Channel), nil
}

// sourceOf returns the guild and the message a turn started from, for
// links.
func (a *Adapter) sourceOf(in delivery.Inbound) (guild, message string) {
	var w wireIn
	if json.Unmarshal(in.Body, &w) != nil {
		return "", ""
	}
	if w.Event == eventMessage {
		if m, err := decodeMessage(w.Data); err == nil {
			return m.GuildID, m.ID
		}
		return "", ""
	}
	if i, err := decodeInteraction(w.Data); err == nil {
		if i.Message != nil {
			return i.GuildID, i.Message.ID
		}
		return i.GuildID, ""
	}
	return "", ""
}

// Send implements delivery.Platform: the one call of a step.
func (a *Adapter) Send(ctx context.Context, out delivery.Outbound) (string, error) {
	var s step
	if err := json.Unmarshal(out.Body, &s); err != nil {
		return "", delivery.Permanent(fmt.Errorf("discord: outbox item: %w", err))
	}
	comps, err := components(s.Components)
	if err != nil {
		return "", delivery.Permanent(fmt.Errorf("discord: outbox item components: %w", err))
	}
	var m *discordgo.Message
	switch s.Kind {
	case stepPost:
		m, err = a.create(ctx, s.Channel, s, nonce(out.Key))
		if err != nil && s.Interaction != nil && permanent(err) {
			// Without channel access the interaction webhook still works.
			a.log.Info("posting the reply as an interaction follow-up instead", "interaction_id", s.Interaction.ID)
			m, err = a.followup(ctx, s, comps)
		}
	case stepDirect:
		m, err = a.direct(ctx, s, nonce(out.Key))
	case stepEdit:
		m, err = a.edit(ctx, s, comps)
		if at, terr := discordgo.SnowflakeTimestamp(s.Interaction.ID); apiCode(err) == codeUnknownMessage && terr == nil && a.o.Now().Sub(at) < ackGrace {
			// The deferred response this edits may still be on its way:
			// the inbox item can be answered (by this replica's worker
			// or another's) while the replica that took the interaction
			// is acknowledging it. Try again shortly, until ackGrace
			// has passed: then the 404 is given up below.
			return "", delivery.NotYet(errors.New(a.errText(err)))
		}
	case stepFollowup:
		m, err = a.followup(ctx, s, comps)
	case stepDelete:
		err = a.call(ctx, "delete interaction response", func(o ...discordgo.RequestOption) error {
			return a.s.InteractionResponseDelete(s.Interaction.interaction(), o...)
		})
		if httpStatus(err) == http.StatusNotFound {
			err = nil // gone already: what a retry after a crash finds
		}
	case stepNotice:
		return a.sendNotice(ctx, s, out)
	default:
		return "", delivery.Permanent(fmt.Errorf("discord: unknown step %q", s.Kind))
	}
	if err != nil {
		return "", a.sendError(err)
	}
	if m == nil || m.ID == "" {
		return "", nil
	}
	if s.Thread != "" || s.Guild != "" || s.Interaction != nil {
		a.roots.put(m.ID, s.Thread)
	}
	return m.ID, nil
}

// ackGrace is how long after an interaction an edit of its response that
// Discord does not know yet is retried (every delivery.Options.Backoff, 1 s)
// rather than given up (README, "Discord": "tried again for up to 30
// seconds").
const ackGrace = 30 * time.Second

// sendError tells the core how to go on after a failed call.
func (a *Adapter) sendError(err error) error {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return delivery.RetryAfter(errors.New(a.errText(err)), rl.RetryAfter)
	}
	st := httpStatus(err)
	if st >= 400 && st < 500 && st != http.StatusTooManyRequests && st != http.StatusRequestTimeout {
		return delivery.Permanent(errors.New(a.errText(err)))
	}
	return errors.New(a.errText(err))
}

// nonce is what Discord dedupes a message create by (enforce_nonce): at
// most 25 characters, derived from the outbox key, so a call repeated
// after a crash returns the message made the first time instead of a
// second one.
func nonce(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:12])
}

// createBody is POST /channels/{id}/messages with the fields discordgo's
// MessageSend (v0.29) lacks: nonce and enforce_nonce.
type createBody struct {
	Content         string                            `json:"content,omitempty"`
	Components      json.RawMessage                   `json:"components,omitempty"`
	Embeds          json.RawMessage                   `json:"embeds,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Reference       *discordgo.MessageReference       `json:"message_reference,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

// create posts s in channel with the nonce n.
func (a *Adapter) create(ctx context.Context, channel string, s step, n string) (*discordgo.Message, error) {
	body := createBody{Content: s.Content, Components: s.Components, Embeds: s.Embeds, AllowedMentions: s.Mentions,
		Reference: s.Reference, Nonce: n, EnforceNonce: n != ""}
	var m discordgo.Message
	err := a.call(ctx, "send message", func(o ...discordgo.RequestOption) error {
		ep := discordgo.EndpointChannelMessages(channel)
		b, err := a.s.RequestWithBucketID(http.MethodPost, ep, body, ep, o...)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &m)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// direct opens the user's DM channel and posts s there.
func (a *Adapter) direct(ctx context.Context, s step, n string) (*discordgo.Message, error) {
	var ch *discordgo.Channel
	err := a.call(ctx, "open DM", func(o ...discordgo.RequestOption) error {
		var err error
		ch, err = a.s.UserChannelCreate(s.User, o...)
		return err
	})
	if err != nil || ch == nil {
		a.log.Error("private reply not delivered: cannot open a DM", "user", s.User, "err", a.errText(err))
		if err == nil {
			err = errors.New("no DM channel")
		}
		return nil, err
	}
	return a.create(ctx, ch.ID, s, n)
}

// edit replaces an interaction's original response with s.
func (a *Adapter) edit(ctx context.Context, s step, comps []discordgo.MessageComponent) (*discordgo.Message, error) {
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	content := s.Content
	var m *discordgo.Message
	err := a.call(ctx, "edit interaction response", func(o ...discordgo.RequestOption) error {
		var err error
		m, err = a.s.InteractionResponseEdit(s.Interaction.interaction(), &discordgo.WebhookEdit{
			Content: &content, Components: &comps, AllowedMentions: s.Mentions}, o...)
		return err
	})
	if err != nil {
		a.log.Error("reply not delivered", "interaction_id", s.Interaction.ID, "err", a.errText(err))
	}
	return m, err
}

// followup posts s as an interaction follow-up.
func (a *Adapter) followup(ctx context.Context, s step, comps []discordgo.MessageComponent) (*discordgo.Message, error) {
	var m *discordgo.Message
	err := a.call(ctx, "interaction follow-up", func(o ...discordgo.RequestOption) error {
		var err error
		m, err = a.s.FollowupMessageCreate(s.Interaction.interaction(), true, &discordgo.WebhookParams{
			Content: s.Content, Components: comps, Flags: s.Flags, AllowedMentions: s.Mentions}, o...)
		return err
	})
	if err != nil {
		a.log.Error("reply not delivered", "interaction_id", s.Interaction.ID, "err", a.errText(err))
	}
	return m, err
}
