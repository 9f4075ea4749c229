package discordtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Message is a message a user posts, for SendMessage.
type Message struct {
	ID        string // "" for a fresh id
	ChannelID string // "" for Server.ChannelID (or the author's DM channel with DM)
	DM        bool   // a direct message to the bot
	Author    User   // required
	Content   string // mention the bot with Server.Mention()
	ReplyTo   string // id of the message this replies to
	NoPing    bool   // a reply that does not ping the replied-to author
	Type      int    // message type; 0 means 0, or 19 for replies
	WebhookID string // posted by a webhook
}

// channelLocked returns the channel a message or command comes from:
// channel when given, else the user's DM channel (dm) or the default guild
// channel, created on first use.
func (s *Server) channelLocked(channel string, dm bool, user string) *Channel {
	if dm && channel == "" {
		channel = s.dmChannelLocked(user)
	}
	if channel == "" {
		channel = s.ChannelID
	}
	ch := s.channels[channel]
	if ch == nil {
		ch = &Channel{ID: channel, GuildID: s.GuildID, Name: "channel", Type: discordgo.ChannelTypeGuildText}
		if dm {
			ch = &Channel{ID: channel, Type: discordgo.ChannelTypeDM}
		}
		s.channels[channel] = ch
	}
	return ch
}

// SendMessage stores m and dispatches MESSAGE_CREATE with the payload
// Discord would send: member in guilds, mentions derived from the
// content, referenced_message for replies, and — when the session lacks
// the Message Content intent — empty content unless the message is a DM
// or mentions the bot. It returns the message id.
func (s *Server) SendMessage(m Message) string {
	s.mu.Lock()
	ch := s.channelLocked(m.ChannelID, m.DM, m.Author.ID)
	content := m.Content
	b := msgBody{Content: &content}
	ref := ""
	if m.ReplyTo != "" {
		if _, ok := s.messages[m.ReplyTo]; ok {
			ref = m.ReplyTo
		}
	}
	obj := s.newMessageLocked(ch, userObj(m.Author), b, ref)
	if m.ID != "" {
		delete(s.messages, obj["id"].(string))
		s.order = s.order[:len(s.order)-1]
		obj["id"] = m.ID
		s.messages[m.ID] = obj
		s.order = append(s.order, m.ID)
	}
	if m.Type != 0 {
		obj["type"] = m.Type
	}
	if m.WebhookID != "" {
		obj["webhook_id"] = m.WebhookID
	}
	if ref != "" && !m.NoPing {
		if ra, _ := s.messages[ref]["author"].(map[string]any); ra != nil {
			mentions := obj["mentions"].([]any)
			found := false
			for _, u := range mentions {
				if u.(map[string]any)["id"] == ra["id"] {
					found = true
				}
			}
			if !found {
				obj["mentions"] = append(mentions, ra)
			}
		}
	}
	if ch.GuildID != "" {
		obj["member"] = member()
	}
	id := obj["id"].(string)
	payload := merge(obj, nil)
	s.signalLocked()
	s.mu.Unlock()

	if ch.GuildID != "" && s.Intents()&discordgo.IntentMessageContent == 0 && !mentionsBot(payload, s.BotID) {
		payload["content"] = ""
		payload["embeds"] = []any{}
		payload["attachments"] = []any{}
		payload["components"] = []any{}
	}
	s.Dispatch("MESSAGE_CREATE", payload)
	return id
}

func mentionsBot(m map[string]any, bot string) bool {
	ms, _ := m["mentions"].([]any)
	for _, u := range ms {
		if um, _ := u.(map[string]any); um != nil && um["id"] == bot {
			return true
		}
	}
	return false
}

func member() map[string]any {
	return map[string]any{"roles": []any{}, "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false,
		"flags": 0, "pending": false, "premium_since": nil, "nick": nil, "avatar": nil, "communication_disabled_until": nil}
}

func (s *Server) dmChannelLocked(user string) string {
	for _, c := range s.channels {
		if c.Type == discordgo.ChannelTypeDM && c.Name == "dm-"+user {
			return c.ID
		}
	}
	id := s.newIDLocked()
	s.channels[id] = &Channel{ID: id, Name: "dm-" + user, Type: discordgo.ChannelTypeDM}
	return id
}

// DMChannel returns the id of the DM channel between user and the bot.
func (s *Server) DMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmChannelLocked(user)
}

// Interaction is an interaction payload the fake built and knows.
type Interaction struct {
	ID, Token string
	Body      []byte // the JSON payload
}

// Command is a /command invocation, for SendCommand.
type Command struct {
	ChannelID string // "" for Server.ChannelID, or the user's DM channel with DM
	DM        bool
	User      User
	Name      string            // default "gptaccess"
	Sub       string            // subcommand, e.g. "status"
	Options   map[string]string // the subcommand's string options
	// Mutate may change the payload before it is encoded, e.g. to make
	// it malformed.
	Mutate func(payload map[string]any)
}

// Click is a button press on a message the fake stores, for SendClick.
type Click struct {
	MessageID string // the message with the button
	CustomID  string
	User      User
	Mutate    func(payload map[string]any)
}

// CommandInteraction builds a command interaction without dispatching it
// (for PostInteraction).
func (s *Server) CommandInteraction(c Command) Interaction {
	s.mu.Lock()
	ch := s.channelLocked(c.ChannelID, c.DM, c.User.ID)
	name := c.Name
	if name == "" {
		name = "gptaccess"
	}
	var opts []any
	for k, v := range c.Options {
		opts = append(opts, map[string]any{"name": k, "type": 3, "value": v})
	}
	sub := map[string]any{"name": c.Sub, "type": 1}
	if len(opts) > 0 {
		sub["options"] = opts
	}
	cmdID := "1100000000000000300"
	if cmds := s.commands[ch.GuildID]; len(cmds) > 0 {
		cmdID = cmds[0].ID
	} else if cmds := s.commands[""]; len(cmds) > 0 {
		cmdID = cmds[0].ID
	}
	data := map[string]any{"id": cmdID, "name": name, "type": 1, "options": []any{sub}}
	if c.Sub == "" {
		delete(data, "options")
	}
	p, in := s.interactionLocked(discordgo.InteractionApplicationCommand, ch, c.User, data)
	s.mu.Unlock()
	if c.Mutate != nil {
		c.Mutate(p)
	}
	return Interaction{ID: in.id, Token: in.token, Body: mustJSON(p)}
}

// ClickInteraction builds a button interaction without dispatching it.
func (s *Server) ClickInteraction(c Click) Interaction {
	s.mu.Lock()
	m := s.messages[c.MessageID]
	if m == nil {
		s.mu.Unlock()
		s.tb.Fatalf("discordtest: click on unknown message %s", c.MessageID)
		return Interaction{}
	}
	ch := s.channels[m["channel_id"].(string)]
	data := map[string]any{"custom_id": c.CustomID, "component_type": 2}
	p, in := s.interactionLocked(discordgo.InteractionMessageComponent, ch, c.User, data)
	p["message"] = shallow(m)
	in.message = c.MessageID
	s.mu.Unlock()
	if c.Mutate != nil {
		c.Mutate(p)
	}
	return Interaction{ID: in.id, Token: in.token, Body: mustJSON(p)}
}

// PingInteraction builds the PING Discord sends to check an interactions
// endpoint.
func (s *Server) PingInteraction() Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &ixn{id: s.newIDLocked(), token: "ping-" + s.newIDLocked(), typ: discordgo.InteractionPing}
	s.interactions[in.id] = in
	p := map[string]any{"id": in.id, "application_id": s.AppID, "type": 1, "token": in.token, "version": 1,
		"user": userObj(User{ID: "643945264868098049", Name: "discord", Bot: false})}
	return Interaction{ID: in.id, Token: in.token, Body: mustJSON(p)}
}

// interactionLocked builds the common interaction payload.
func (s *Server) interactionLocked(t discordgo.InteractionType, ch *Channel, u User, data map[string]any) (map[string]any, *ixn) {
	in := &ixn{id: s.newIDLocked(), typ: t, channel: ch.ID, guild: ch.GuildID, user: u.ID}
	in.token = "aW50ZXJhY3Rpb246" + in.id + "OnRva2Vu.fake-" + s.newIDLocked()
	s.interactions[in.id] = in
	perms := "2248473465835073"
	p := map[string]any{
		"id": in.id, "application_id": s.AppID, "type": int(t), "token": in.token, "version": 1,
		"channel_id": ch.ID, "channel": channelObj(ch), "data": data,
		"app_permissions": perms, "locale": "en-US", "entitlements": []any{},
	}
	if ch.GuildID != "" {
		mem := member()
		mem["user"] = userObj(u)
		mem["permissions"] = perms
		p["guild_id"] = ch.GuildID
		p["guild"] = map[string]any{"id": ch.GuildID, "locale": "en-US", "features": []any{}}
		p["guild_locale"] = "en-US"
		p["member"] = mem
		p["context"] = 0
		p["authorizing_integration_owners"] = map[string]any{"0": ch.GuildID}
	} else {
		p["user"] = userObj(u)
		p["context"] = 1
		p["authorizing_integration_owners"] = map[string]any{"0": "0"}
	}
	return p, in
}

// SendCommand dispatches a command interaction over the gateway.
func (s *Server) SendCommand(c Command) Interaction {
	ix := s.CommandInteraction(c)
	s.SendInteraction(ix)
	return ix
}

// SendClick dispatches a button interaction over the gateway.
func (s *Server) SendClick(c Click) Interaction {
	ix := s.ClickInteraction(c)
	s.SendInteraction(ix)
	return ix
}

// SendInteraction dispatches ix as INTERACTION_CREATE (again, for a
// duplicate delivery); the 3 s response deadline starts now.
func (s *Server) SendInteraction(ix Interaction) {
	s.mu.Lock()
	if in := s.interactions[ix.ID]; in != nil {
		in.sent = time.Now()
	}
	s.mu.Unlock()
	s.DispatchRaw("INTERACTION_CREATE", ix.Body)
}

// PostInteraction delivers ix to an HTTP interactions endpoint as Discord
// does: signed with PrivateKey, and the initial response read from the
// HTTP response (recorded as a RouteCallback call with HTTP set). It
// returns the status and body.
func (s *Server) PostInteraction(tb testing.TB, url string, ix Interaction) (int, []byte) {
	tb.Helper()
	req, err := SignedRequest(url, s.priv, ix.Body, time.Now())
	if err != nil {
		tb.Fatalf("discordtest: %v", err)
	}
	s.mu.Lock()
	in := s.interactions[ix.ID]
	if in != nil {
		in.sent = time.Now()
		in.httpPending = true
	}
	s.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("discordtest: post interaction: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if in != nil {
		c := Call{Route: RouteCallback, Method: http.MethodPost, Path: "/interactions/" + in.id + "/[token]/callback",
			Params: map[string]string{"id": in.id}, Body: body, HTTP: true, At: time.Now()}
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			c.Status, _ = s.respond(in, body, true)
		} else {
			c.Status = resp.StatusCode
			s.mu.Lock()
			in.httpPending = false
			s.mu.Unlock()
		}
		s.record(c)
	}
	return resp.StatusCode, body
}

// Response decodes a recorded interaction callback.
func Response(c Call) (*discordgo.InteractionResponse, error) {
	var r struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data *struct {
			Content    string                 `json:"content"`
			Flags      discordgo.MessageFlags `json:"flags"`
			Components []json.RawMessage      `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal(c.Body, &r); err != nil {
		return nil, err
	}
	out := &discordgo.InteractionResponse{Type: r.Type}
	if r.Data != nil {
		out.Data = &discordgo.InteractionResponseData{Content: r.Data.Content, Flags: r.Data.Flags}
		for _, raw := range r.Data.Components {
			mc, err := discordgo.MessageComponentFromJSON(raw)
			if err != nil {
				return nil, err
			}
			out.Data.Components = append(out.Data.Components, mc)
		}
	}
	return out, nil
}
