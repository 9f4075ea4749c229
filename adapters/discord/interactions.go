package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
)

// responder sends the initial response to an interaction: by REST for
// gateway interactions, in the HTTP response for HTTP interactions.
// Everything after it (edits, follow-ups) goes through the webhook REST
// endpoints in both cases.
type responder func(ctx context.Context, r *discordgo.InteractionResponse) error

func (a *Adapter) restResponder(i *discordgo.Interaction) responder {
	return func(ctx context.Context, r *discordgo.InteractionResponse) error {
		return a.call(ctx, "interaction callback", func(o ...discordgo.RequestOption) error {
			return a.s.InteractionRespond(i, r, o...)
		})
	}
}

// onInteraction handles one decoded interaction.
func (a *Adapter) onInteraction(ctx context.Context, i interaction, respond responder) {
	switch i.Type {
	case discordgo.InteractionPing:
		if err := respond(ctx, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}); err != nil {
			a.log.Error("could not answer PING", "err", a.errText(err))
		}
		return
	case discordgo.InteractionApplicationCommandAutocomplete:
		// /gptaccess has no autocompleted options; answer with none.
		_ = respond(ctx, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		})
		return
	}
	first, err := a.claims.first(ctx, "discord:interaction:"+i.ID)
	if err != nil {
		a.log.Error("claiming an interaction failed; answering anyway", "interaction_id", i.ID, "err", err)
	}
	if !first {
		a.log.Debug("duplicate interaction delivery ignored", "interaction_id", i.ID)
		return
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		a.command(ctx, i, respond)
	case discordgo.InteractionMessageComponent:
		a.click(ctx, i, respond)
	default:
		a.unreadable(ctx, i.Interaction, respond)
	}
}

// unreadable tells the user that their interaction could not be read.
func (a *Adapter) unreadable(ctx context.Context, i *discordgo.Interaction, respond responder) {
	a.note(ctx, respond, i.ID, "Sorry, I couldn't read that request. Try `/gptaccess help`.")
}

// note answers an interaction with an ephemeral message.
func (a *Adapter) note(ctx context.Context, respond responder, id, text string) {
	err := respond(ctx, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: quiet()},
	})
	if err != nil {
		a.log.Error("could not answer an interaction", "interaction_id", id, "err", a.errText(err))
	}
}

// command handles /gptaccess: defer at once (the bot may take longer than
// Discord's 3 s, e.g. for status), then edit the deferred response.
// Responses are ephemeral in guilds unless the reply is Public; a Public
// reply is posted as a follow-up for everyone and the ephemeral
// placeholder removed.
func (a *Adapter) command(ctx context.Context, i interaction, respond responder) {
	msg, err := commandMessage(i)
	if err != nil {
		a.log.Warn("unusable application command", "interaction_id", i.ID, "err", err)
		a.note(ctx, respond, i.ID, "Sorry, I don't know that command. Try `/gptaccess help`.")
		return
	}
	var flags discordgo.MessageFlags
	if !msg.DM {
		flags = discordgo.MessageFlagsEphemeral
	}
	err = respond(ctx, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: flags},
	})
	if err != nil {
		a.log.Error("could not acknowledge /gptaccess; Discord shows it as failed", "interaction_id", i.ID, "err", a.errText(err))
		return
	}
	reply, _ := a.handle(ctx, msg)
	parts := render(reply)
	switch {
	case reply.Ignore || len(parts) == 0:
		a.deleteOriginal(ctx, i.Interaction)
	case reply.Public && !msg.DM:
		if a.followups(ctx, i.Interaction, parts, 0, msg.Thread) == nil {
			a.deleteOriginal(ctx, i.Interaction)
		} else if a.editOriginal(ctx, i.Interaction, parts[0], msg.Thread) == nil {
			_ = a.followups(ctx, i.Interaction, parts[1:], flags, msg.Thread)
		}
	default:
		if a.editOriginal(ctx, i.Interaction, parts[0], msg.Thread) == nil {
			_ = a.followups(ctx, i.Interaction, parts[1:], flags, msg.Thread)
		}
	}
	if reply.Handover != nil {
		a.handover(ctx, reply.Handover, place{guild: i.GuildID, channel: i.ChannelID, thread: msg.Thread})
	}
}

// handled is the bot's answer to a click.
type handled struct {
	reply bot.Reply
	err   error
}

// click handles a choice button. The bot is asked first, within
// componentBudget: only its answer tells whether the click counts (a click
// on an expired or someone else's question must leave the question
// alone). Then the question is updated in place (type 7: who answered
// what, buttons disabled) and the reply posted after it. If the bot is
// slow the click is deferred (type 6) and the question edited later.
func (a *Adapter) click(ctx context.Context, i interaction, respond responder) {
	data, _ := i.Data.(discordgo.MessageComponentInteractionData)
	thread := a.clickThread(ctx, i)
	msg, err := componentMessage(i, thread)
	if err != nil {
		a.log.Warn("unknown button", "interaction_id", i.ID, "err", err)
		a.note(ctx, respond, i.ID, "Sorry, I don't recognise that button (it may be from an older conversation). Mention me or use `/gptaccess diagnose` to start again.")
		return
	}
	res := make(chan handled, 1)
	go func() {
		r, err := a.handle(ctx, msg)
		res <- handled{r, err}
	}()
	var h handled
	deferred := false
	t := time.NewTimer(a.componentBudget)
	select {
	case h = <-res:
		t.Stop()
	case <-t.C:
		deferred = true
		if err := respond(ctx, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
			a.log.Error("could not defer a button click", "interaction_id", i.ID, "err", a.errText(err))
		}
		h = <-res
	}

	parts := render(h.reply)
	ephemeral := i.Message.Flags&discordgo.MessageFlagsEphemeral != 0
	switch {
	case h.err != nil || h.reply.Private:
		// The question stays as it is; only the clicker sees the answer.
		if len(parts) == 0 {
			parts = []part{{Content: sorry}}
		}
		if deferred {
			_ = a.followups(ctx, i.Interaction, parts, discordgo.MessageFlagsEphemeral, thread)
			return
		}
		err := respond(ctx, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: parts[0].Content, Components: parts[0].Components,
				Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: quiet()},
		})
		if err != nil {
			a.log.Error("reply not delivered", "interaction_id", i.ID, "err", a.errText(err))
			return
		}
		_ = a.followups(ctx, i.Interaction, parts[1:], discordgo.MessageFlagsEphemeral, thread)
		return
	case h.reply.Ignore:
		if !deferred {
			_ = respond(ctx, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
		}
		return
	}

	content, comps := answered(i.Message, msg.User, msg.Answer.Choice, data.CustomID)
	if !deferred {
		err = respond(ctx, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Content: content, Components: comps, AllowedMentions: quiet()},
		})
	} else {
		_, err = a.editResponse(ctx, i.Interaction, &discordgo.WebhookEdit{Content: &content, Components: &comps, AllowedMentions: quiet()})
	}
	if err != nil {
		a.log.Error("could not mark the question answered", "interaction_id", i.ID, "err", a.errText(err))
	}

	if ephemeral {
		_ = a.followups(ctx, i.Interaction, parts, discordgo.MessageFlagsEphemeral, thread)
	} else {
		d := place{guild: i.GuildID, channel: i.ChannelID, thread: thread, source: i.Message.ID}
		if thread != "" && thread != i.ChannelID {
			d.ref = &discordgo.MessageReference{MessageID: thread, ChannelID: i.ChannelID, GuildID: i.GuildID, FailIfNotExists: new(false)}
		}
		if !a.post(ctx, d, parts) {
			// Without channel access (e.g. the question came from a
			// public /gptaccess response) the interaction webhook still
			// works.
			a.log.Info("posting the reply as an interaction follow-up instead", "interaction_id", i.ID)
			_ = a.followups(ctx, i.Interaction, parts, 0, thread)
		}
	}
	if h.reply.Handover != nil {
		a.handover(ctx, h.reply.Handover, place{guild: i.GuildID, channel: i.ChannelID, thread: thread, source: i.Message.ID})
	}
}

// clickThread finds the conversation of the question message clicked.
func (a *Adapter) clickThread(ctx context.Context, i interaction) string {
	if i.inThread() {
		return i.ChannelID
	}
	if i.GuildID == "" || i.Message == nil {
		return ""
	}
	botID, _ := a.s.self()
	return a.rootOf(ctx, i.ChannelID, i.Message, i.Message.ID, botID)
}

// editResponse edits the interaction's original response.
func (a *Adapter) editResponse(ctx context.Context, i *discordgo.Interaction, e *discordgo.WebhookEdit) (*discordgo.Message, error) {
	var m *discordgo.Message
	err := a.call(ctx, "edit interaction response", func(o ...discordgo.RequestOption) error {
		var err error
		m, err = a.s.InteractionResponseEdit(i, e, o...)
		return err
	})
	return m, err
}

// editOriginal replaces the deferred response with p.
func (a *Adapter) editOriginal(ctx context.Context, i *discordgo.Interaction, p part, thread string) error {
	content := p.Content
	comps := p.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	m, err := a.editResponse(ctx, i, &discordgo.WebhookEdit{Content: &content, Components: &comps, AllowedMentions: quiet()})
	if err != nil {
		a.log.Error("reply not delivered", "interaction_id", i.ID, "err", a.errText(err))
		return err
	}
	if m != nil && m.ID != "" {
		a.roots.put(m.ID, thread)
	}
	return nil
}

// followups posts parts as interaction follow-ups, in order.
func (a *Adapter) followups(ctx context.Context, i *discordgo.Interaction, parts []part, flags discordgo.MessageFlags, thread string) error {
	for n, p := range parts {
		var m *discordgo.Message
		err := a.call(ctx, "interaction follow-up", func(o ...discordgo.RequestOption) error {
			var err error
			m, err = a.s.FollowupMessageCreate(i, true, &discordgo.WebhookParams{
				Content: p.Content, Components: p.Components, Flags: flags, AllowedMentions: quiet(),
			}, o...)
			return err
		})
		if err != nil {
			a.log.Error("reply not delivered", "interaction_id", i.ID, "part", n+1, "parts", len(parts), "err", a.errText(err))
			return err
		}
		if m != nil && m.ID != "" {
			a.roots.put(m.ID, thread)
		}
	}
	return nil
}

// deleteOriginal removes the deferred "thinking…" response.
func (a *Adapter) deleteOriginal(ctx context.Context, i *discordgo.Interaction) {
	err := a.call(ctx, "delete interaction response", func(o ...discordgo.RequestOption) error {
		return a.s.InteractionResponseDelete(i, o...)
	})
	if err != nil {
		a.log.Warn("could not remove the deferred response", "interaction_id", i.ID, "err", a.errText(err))
	}
}

// HTTP interactions.

const (
	maxInteractionBody = 1 << 20 // 1 MiB
	// httpAnswerWithin bounds the wait for the initial response; the
	// adapter always has one well before (commands defer at once, clicks
	// within componentBudget), and Discord gives up after 3 s.
	httpAnswerWithin = 2800 * time.Millisecond
	// interactionWork bounds the work after the initial response; the
	// interaction token lives 15 minutes.
	interactionWork = 5 * time.Minute
)

// Handler serves Discord's signed HTTP interactions ("Interactions
// Endpoint URL" in the Developer Portal) at /discord/interactions. Every
// request is checked against the application's Ed25519 public key before
// anything is parsed (401 otherwise). PINGs get a PONG; commands and
// clicks are handled as over the gateway, with the initial response in the
// HTTP response. Without Options.Interactions it answers 404.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /discord/interactions", a.serveInteraction)
	return mux
}

type httpReply struct {
	resp *discordgo.InteractionResponse
	done chan error
}

var errLate = errors.New("interaction response too late: the HTTP request is over")

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if a.pubKey == nil {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInteractionBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.Warn("rejected an oversized HTTP interaction", "limit_bytes", maxInteractionBody)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, a.pubKey) {
		a.log.Warn("rejected an HTTP interaction with a bad signature", "remote_addr", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	// The signature covers the timestamp: a request signed long ago is a
	// replay (Slack's requests are held to the same 5 minutes).
	if !fresh(r.Header.Get("X-Signature-Timestamp"), a.o.Now()) {
		a.log.Warn("rejected a stale HTTP interaction", "remote_addr", r.RemoteAddr, "timestamp", r.Header.Get("X-Signature-Timestamp"))
		http.Error(w, "stale request", http.StatusUnauthorized)
		return
	}
	i, err := decodeInteraction(body)
	if err != nil {
		a.log.Warn("malformed HTTP interaction", "err", err)
		if li, ok := looseInteraction(body); ok {
			if first, _ := a.claims.first(r.Context(), "discord:interaction:"+li.ID); first {
				writeJSON(w, &discordgo.InteractionResponse{
					Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: "Sorry, I couldn't read that request. Try `/gptaccess help`.",
						Flags: discordgo.MessageFlagsEphemeral},
				})
				return
			}
		}
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if i.Type == discordgo.InteractionPing {
		writeJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
		return
	}

	replies := make(chan httpReply)
	gone := make(chan struct{})
	finished := make(chan struct{})
	respond := func(ctx context.Context, resp *discordgo.InteractionResponse) error {
		hr := httpReply{resp: resp, done: make(chan error, 1)}
		select {
		case replies <- hr:
			return <-hr.done
		case <-gone:
			return errLate
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), interactionWork)
	a.httpWork.Add(1)
	go func() {
		defer a.httpWork.Done()
		defer cancel()
		defer close(finished)
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic while handling an HTTP interaction", "panic", fmt.Sprint(p))
			}
		}()
		a.onInteraction(ctx, i, respond)
	}()

	t := time.NewTimer(httpAnswerWithin)
	defer t.Stop()
	select {
	case hr := <-replies:
		err := writeJSON(w, hr.resp)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		hr.done <- err
	case <-finished:
		// Nothing to say: a duplicate delivery.
		http.Error(w, "interaction already handled", http.StatusConflict)
	case <-t.C:
		close(gone)
		a.log.Error("no interaction response in time", "interaction_id", i.ID)
		http.Error(w, "no response in time", http.StatusServiceUnavailable)
	case <-r.Context().Done():
		close(gone)
	}
}

// maxInteractionAge is how far a signed timestamp may be from now, either
// way (clocks drift).
const maxInteractionAge = 5 * time.Minute

// fresh reports whether ts (unix seconds) is within maxInteractionAge of now.
func fresh(ts string, now time.Time) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= maxInteractionAge && d >= -maxInteractionAge
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}

// Wait waits for HTTP interactions still being worked on after their HTTP
// response (edits and follow-ups), e.g. before closing the store at
// shutdown.
func (a *Adapter) Wait() { a.httpWork.Wait() }
