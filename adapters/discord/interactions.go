package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// responder sends the initial response to an interaction: by REST for
// gateway interactions, in the HTTP response for HTTP interactions.
// Everything after it (edits, follow-ups) goes through the outbox and the
// webhook REST endpoints in both cases.
type responder func(ctx context.Context, i *discordgo.Interaction, r *discordgo.InteractionResponse) error

func (a *Adapter) restResponder(ctx context.Context, i *discordgo.Interaction, r *discordgo.InteractionResponse) error {
	return a.call(ctx, "interaction callback", func(o ...discordgo.RequestOption) error {
		return a.s.InteractionRespond(i, r, o...)
	})
}

// receive takes one interaction payload: it is written to the inbox and
// then acknowledged within Discord's 3 seconds with a deferred response
// (a command: "gptaccess is thinking…", ephemeral in guilds; a click: a
// deferred update that leaves the question as it is); the answer follows
// from the outbox (edits and follow-ups of the deferred response). PINGs
// and autocompletion are answered at once. first is false for an
// interaction already in the inbox; answered says whether respond was
// called.
func (a *Adapter) receive(ctx context.Context, raw []byte, respond responder) (first, answered bool) {
	i, err := decodeInteraction(raw)
	if err != nil {
		a.log.Warn("malformed interaction", "err", err)
		li, ok := looseInteraction(raw)
		if !ok {
			return false, false
		}
		// Written for its id alone: a retry is not answered twice.
		if first, err := a.core.Put(ctx, inbound("interaction:"+li.ID, li.ChannelID, eventInteraction, raw)); err != nil || !first {
			return false, false
		}
		a.note(ctx, respond, li, "Sorry, I couldn't read that request. Try `/gptaccess help`.")
		return true, true
	}
	switch i.Type {
	case discordgo.InteractionPing:
		if err := respond(ctx, i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}); err != nil {
			a.log.Error("could not answer PING", "err", a.errText(err))
		}
		return true, true
	case discordgo.InteractionApplicationCommandAutocomplete:
		// /gptaccess has no autocompleted options; answer with none.
		_ = respond(ctx, i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		})
		return true, true
	}
	in := inbound("interaction:"+i.ID, i.ChannelID, eventInteraction, raw)
	first, err = a.core.Put(ctx, in)
	if err != nil {
		a.log.Error("cannot write an interaction to the inbox; apologising", "interaction_id", i.ID, "err", err)
		a.note(ctx, respond, i.Interaction, bot.Sorry)
		return false, true
	}
	if !first {
		return false, false
	}
	resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		msg, err := commandMessage(i)
		if err != nil {
			a.log.Warn("unusable application command", "interaction_id", i.ID, "err", err)
			a.note(ctx, respond, i.Interaction, "Sorry, I don't know that command. Try `/gptaccess help`.")
			return true, true
		}
		resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{}}
		if !msg.DM {
			resp.Data.Flags = discordgo.MessageFlagsEphemeral
		}
	case discordgo.InteractionMessageComponent:
	default:
		a.note(ctx, respond, i.Interaction, "Sorry, I couldn't read that request. Try `/gptaccess help`.")
		return true, true
	}
	if err := respond(ctx, i.Interaction, resp); err != nil {
		a.log.Error("could not acknowledge an interaction; Discord shows it as failed", "interaction_id", i.ID, "err", a.errText(err))
	}
	// Only now: the answer edits the deferred response.
	a.core.Wake(delivery.Lane{Platform: in.Platform, Name: in.Lane})
	return true, true
}

// note answers an interaction with an ephemeral message.
func (a *Adapter) note(ctx context.Context, respond responder, i *discordgo.Interaction, text string) {
	err := respond(ctx, i, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: quiet()},
	})
	if err != nil {
		a.log.Error("could not answer an interaction", "interaction_id", i.ID, "err", a.errText(err))
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
	// The initial response is the HTTP response itself: written in this
	// goroutine, right after the interaction is in the inbox.
	wrote := false
	respond := func(_ context.Context, _ *discordgo.Interaction, resp *discordgo.InteractionResponse) error {
		wrote = true
		err := writeJSON(w, resp)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return err
	}
	first, answered := a.receive(r.Context(), body, respond)
	switch {
	case answered && wrote:
	case !first && !answered:
		if _, err := decodeInteraction(body); err != nil {
			http.Error(w, "malformed interaction", http.StatusBadRequest)
			return
		}
		// Nothing to say: a duplicate delivery.
		http.Error(w, "interaction already handled", http.StatusConflict)
	default:
		http.Error(w, "interaction not acknowledged", http.StatusInternalServerError)
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

// Wait waits for gateway interactions still being written to the inbox
// and acknowledged, e.g. before closing the store at shutdown.
func (a *Adapter) Wait() { a.receiving.Wait() }
