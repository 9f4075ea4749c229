package discord

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
)

// This file holds the pure translation between Discord payloads and bot
// types: no I/O, no session, table-tested in translate_test.go.

// Discord limits that shape rendering.
const (
	maxContent     = 2000 // characters in a message's content
	maxButtons     = 5    // buttons in one action row
	maxRows        = 5    // action rows in one message
	maxLabel       = 80   // characters in a button label
	maxCustomID    = 100  // characters in a custom_id
	maxThreadName  = 100  // characters in a thread name
	maxEmbedTitle  = 256
	maxEmbedDesc   = 4096
	commandName    = "gptaccess"
	questionOption = "question"
)

// Subcommands of /gptaccess, in the order they are registered. Every one
// but "ask" is passed to the bot as its own name.
var subcommands = []struct{ name, description string }{
	{"help", "What I can do"},
	{"status", "Is ChatGPT reachable from here right now?"},
	{"diagnose", "Find out step by step why you see Error 1020"},
	{"ask", "Ask a question about ChatGPT access errors"},
	{"subscribe", "Post ChatGPT reachability alerts in this channel"},
	{"unsubscribe", "Stop reachability alerts in this channel"},
	{"stats", "How diagnoses went in the last 7 days"},
}

// commands is what Run registers with a bulk overwrite.
func commands() []*discordgo.ApplicationCommand {
	opts := make([]*discordgo.ApplicationCommandOption, 0, len(subcommands))
	for _, s := range subcommands {
		o := &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionSubCommand,
			Name:        s.name,
			Description: s.description,
		}
		if s.name == "ask" {
			o.Options = []*discordgo.ApplicationCommandOption{{
				Type:        discordgo.ApplicationCommandOptionString,
				Name:        questionOption,
				Description: "Your question, e.g. why does ChatGPT say access denied?",
				Required:    true,
				MaxLength:   1000,
			}}
		}
		opts = append(opts, o)
	}
	contexts := []discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	return []*discordgo.ApplicationCommand{{
		Type:        discordgo.ChatApplicationCommand,
		Name:        commandName,
		Description: "Help with ChatGPT Error 1020 (Access denied) and live reachability",
		Contexts:    &contexts,
		Options:     opts,
	}}
}

// msgFacts is what the impure part of the adapter found out about an
// inbound message before translating it.
type msgFacts struct {
	BotID    string
	InThread bool // the channel is a thread
	Listen   bool // the channel (or the thread's parent) is a listen channel
	// Rooted says the message replies into a known conversation whose
	// thread key is Root ("" for one started by /gptaccess).
	Rooted bool
	Root   string
}

// toMessage translates a MESSAGE_CREATE into a bot.Message. ok is false
// for messages the bot must not see: its own, other bots', system messages
// and messages nobody addressed to it outside listen channels and threads.
func toMessage(m *discordgo.Message, f msgFacts) (bot.Message, bool) {
	if m == nil || m.Author == nil || m.Author.ID == "" || m.ID == "" || m.ChannelID == "" {
		return bot.Message{}, false
	}
	if m.Author.Bot || m.Author.System || m.Author.ID == f.BotID || m.WebhookID != "" {
		return bot.Message{}, false
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return bot.Message{}, false
	}
	if m.MessageReference != nil && m.MessageReference.Type == discordgo.MessageReferenceTypeForward {
		return bot.Message{}, false
	}
	out := bot.Message{
		Platform: bot.Discord,
		Channel:  m.ChannelID,
		User:     m.Author.ID,
		Text:     stripMention(m.Content, f.BotID),
	}
	mentioned := mentions(m, f.BotID)
	if m.GuildID == "" {
		out.DM = true
		out.Mention = mentioned
		return out, true
	}
	repliedToBot := m.ReferencedMessage != nil && m.ReferencedMessage.Author != nil &&
		f.BotID != "" && m.ReferencedMessage.Author.ID == f.BotID
	out.Shared = true
	switch {
	case f.InThread:
		out.Thread = m.ChannelID
	case f.Rooted:
		out.Thread = f.Root
	default:
		out.Thread = m.ID
	}
	switch {
	case mentioned || repliedToBot:
		out.Mention = true
	case f.Listen:
		out.Listen = true
	case f.InThread && out.Text != "":
		// A thread the bot may be talking in: the bot answers only when a
		// conversation exists under this key.
	default:
		return bot.Message{}, false
	}
	return out, true
}

// mentions reports whether m mentions the bot.
func mentions(m *discordgo.Message, botID string) bool {
	if botID == "" {
		return false
	}
	for _, u := range m.Mentions {
		if u != nil && u.ID == botID {
			return true
		}
	}
	return strings.Contains(m.Content, "<@"+botID+">") || strings.Contains(m.Content, "<@!"+botID+">")
}

var spaces = regexp.MustCompile(`[ \t]{2,}`)

// stripMention removes the bot's mention markup and tidies the spaces it
// leaves behind.
func stripMention(s, botID string) string {
	if botID != "" {
		s = strings.ReplaceAll(s, "<@!"+botID+">", " ")
		s = strings.ReplaceAll(s, "<@"+botID+">", " ")
	}
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// channelInfo is the part of an interaction's channel object the adapter
// reads. discordgo v0.29.0 only keeps channel_id, so decodeInteraction
// decodes it separately.
type channelInfo struct {
	ID       string                `json:"id"`
	Type     discordgo.ChannelType `json:"type"`
	ParentID string                `json:"parent_id"`
}

// interaction is a decoded INTERACTION_CREATE (gateway) or HTTP interaction.
type interaction struct {
	*discordgo.Interaction
	Channel *channelInfo
}

// inThread reports whether the interaction came from a thread.
func (i interaction) inThread() bool {
	if i.Channel == nil {
		return false
	}
	switch i.Channel.Type {
	case discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return true
	}
	return false
}

// userID returns who triggered the interaction: member.user in guilds,
// user in DMs.
func (i interaction) userID() string {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User.ID
	}
	if i.User != nil {
		return i.User.ID
	}
	return ""
}

// errMalformed marks a payload that decoded but is unusable.
var errMalformed = errors.New("malformed payload")

// decodeInteraction decodes and checks an interaction payload. It returns
// an error for anything the adapter cannot answer; PINGs are valid.
func decodeInteraction(b []byte) (interaction, error) {
	var i discordgo.Interaction
	if err := json.Unmarshal(b, &i); err != nil {
		return interaction{}, fmt.Errorf("decode interaction: %w", err)
	}
	var extra struct {
		Channel *channelInfo `json:"channel"`
	}
	if err := json.Unmarshal(b, &extra); err != nil {
		return interaction{}, fmt.Errorf("decode interaction channel: %w", err)
	}
	out := interaction{Interaction: &i, Channel: extra.Channel}
	if i.Type == discordgo.InteractionPing {
		return out, nil
	}
	if i.ID == "" || i.Token == "" || i.AppID == "" {
		return interaction{}, fmt.Errorf("interaction without id, token or application id: %w", errMalformed)
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent,
		discordgo.InteractionApplicationCommandAutocomplete, discordgo.InteractionModalSubmit:
	default:
		return interaction{}, fmt.Errorf("interaction type %d: %w", i.Type, errMalformed)
	}
	if i.Type == discordgo.InteractionMessageComponent && i.Message == nil {
		return interaction{}, fmt.Errorf("component interaction without message: %w", errMalformed)
	}
	return out, nil
}

// looseInteraction reads just enough of a payload that failed to decode to
// tell the user so: id, token and type.
func looseInteraction(b []byte) (*discordgo.Interaction, bool) {
	var v struct {
		ID    string                    `json:"id"`
		AppID string                    `json:"application_id"`
		Type  discordgo.InteractionType `json:"type"`
		Token string                    `json:"token"`
	}
	if json.Unmarshal(b, &v) != nil || v.ID == "" || v.Token == "" {
		return nil, false
	}
	if v.Type != discordgo.InteractionApplicationCommand && v.Type != discordgo.InteractionMessageComponent {
		return nil, false
	}
	return &discordgo.Interaction{ID: v.ID, AppID: v.AppID, Type: v.Type, Token: v.Token}, true
}

// decodeMessage decodes a MESSAGE_CREATE payload.
func decodeMessage(b []byte) (*discordgo.Message, error) {
	var m discordgo.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	if m.ID == "" || m.ChannelID == "" || m.Author == nil {
		return nil, fmt.Errorf("message without id, channel or author: %w", errMalformed)
	}
	return &m, nil
}

// commandMessage translates a /gptaccess application command.
func commandMessage(i interaction) (bot.Message, error) {
	d, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return bot.Message{}, fmt.Errorf("not an application command: %w", errMalformed)
	}
	if d.Name != commandName {
		return bot.Message{}, fmt.Errorf("unknown command %q: %w", d.Name, errMalformed)
	}
	if len(d.Options) != 1 || d.Options[0] == nil || d.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand {
		return bot.Message{}, fmt.Errorf("command without a subcommand: %w", errMalformed)
	}
	sub := d.Options[0]
	text := ""
	for _, s := range subcommands {
		if s.name == sub.Name {
			text = s.name
		}
	}
	switch {
	case text == "":
		return bot.Message{}, fmt.Errorf("unknown subcommand %q: %w", sub.Name, errMalformed)
	case text == "ask":
		q := ""
		for _, o := range sub.Options {
			if o != nil && o.Name == questionOption {
				q, _ = o.Value.(string)
			}
		}
		if q = strings.TrimSpace(q); q == "" {
			return bot.Message{}, fmt.Errorf("ask without a question: %w", errMalformed)
		}
		text = q
	}
	user := i.userID()
	if user == "" || i.ChannelID == "" {
		return bot.Message{}, fmt.Errorf("command without user or channel: %w", errMalformed)
	}
	m := bot.Message{
		Platform: bot.Discord,
		Channel:  i.ChannelID,
		User:     user,
		Text:     text,
		Command:  true,
		DM:       i.GuildID == "",
		Shared:   i.GuildID != "",
	}
	if i.inThread() {
		m.Thread = i.ChannelID
	}
	return m, nil
}

// componentMessage translates a button click on a question. thread is the
// conversation thread of the question message.
func componentMessage(i interaction, thread string) (bot.Message, error) {
	d, ok := i.Data.(discordgo.MessageComponentInteractionData)
	if !ok {
		return bot.Message{}, fmt.Errorf("not a component: %w", errMalformed)
	}
	q, choice, ok := parseCustomID(d.CustomID, i.Message)
	if !ok {
		return bot.Message{}, fmt.Errorf("unknown custom id %q: %w", truncate(d.CustomID, maxCustomID), errMalformed)
	}
	user := i.userID()
	if user == "" || i.ChannelID == "" {
		return bot.Message{}, fmt.Errorf("click without user or channel: %w", errMalformed)
	}
	return bot.Message{
		Platform: bot.Discord,
		Channel:  i.ChannelID,
		Thread:   thread,
		User:     user,
		Text:     choice,
		DM:       i.GuildID == "",
		Shared:   i.GuildID != "",
		Answer:   &bot.Answer{Question: q, Choice: choice},
	}, nil
}

// questionID is the alphabet of bot.Question.ID.
var questionID = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,40}$`)

// customID encodes a choice button: "<question>|<choice>", or
// "<question>#<index>" when the choice is too long for Discord's 100
// characters (the click is then resolved through the button's label).
func customID(question string, index int, choice string) string {
	id := question + "|" + choice
	if len(id) <= maxCustomID {
		return id
	}
	return question + "#" + strconv.Itoa(index)
}

// parseCustomID decodes a custom id made by customID. msg, the message the
// button is on, resolves the "#index" form; it may be nil otherwise.
func parseCustomID(id string, msg *discordgo.Message) (question, choice string, ok bool) {
	if i := strings.IndexByte(id, '|'); i >= 0 {
		question, choice = id[:i], id[i+1:]
		if !questionID.MatchString(question) || choice == "" || !utf8.ValidString(choice) {
			return "", "", false
		}
		return question, choice, true
	}
	i := strings.IndexByte(id, '#')
	if i < 0 {
		return "", "", false
	}
	question = id[:i]
	if !questionID.MatchString(question) {
		return "", "", false
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return "", "", false
	}
	for _, b := range buttons(msg) {
		if b.CustomID == id && !strings.HasSuffix(b.Label, "…") && b.Label != "" {
			return question, b.Label, true
		}
	}
	return "", "", false
}

// buttons lists the buttons of msg, row by row.
func buttons(msg *discordgo.Message) []*discordgo.Button {
	if msg == nil {
		return nil
	}
	var out []*discordgo.Button
	for _, c := range msg.Components {
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, rc := range row.Components {
			if b, ok := rc.(*discordgo.Button); ok {
				out = append(out, b)
			}
		}
	}
	return out
}

// part is one outbound message: Discord caps content at 2000 characters, so
// a long reply becomes several parts, sent in order.
type part struct {
	Content    string
	Components []discordgo.MessageComponent
}

// render turns a reply into the messages to send. It does not look at
// Ignore, Private, Public or Handover: the caller decides where parts go.
func render(r bot.Reply) []part {
	text := strings.TrimSpace(r.Text)
	var rows []discordgo.MessageComponent
	if q := r.Question; q != nil {
		if qt := strings.TrimSpace(q.Text); qt != "" && !strings.Contains(text, qt) {
			if text != "" {
				text += "\n\n"
			}
			text += "**" + qt + "**"
		}
		rows = questionRows(q)
	}
	if text == "" && len(rows) == 0 {
		return nil
	}
	chunks := split(text, maxContent)
	parts := make([]part, len(chunks))
	for i, c := range chunks {
		parts[i] = part{Content: c}
	}
	if len(parts) == 0 {
		parts = []part{{}}
	}
	parts[len(parts)-1].Components = rows
	return parts
}

// questionRows renders the choices of q as rows of buttons.
func questionRows(q *bot.Question) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row []discordgo.MessageComponent
	seen := map[string]bool{}
	for i, c := range q.Choices {
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if len(rows) == maxRows {
			break // Discord allows 25 buttons; the text fallback covers the rest
		}
		row = append(row, discordgo.Button{
			Label:    truncate(c, maxLabel),
			Style:    discordgo.PrimaryButton,
			CustomID: customID(q.ID, i, c),
		})
		if len(row) == maxButtons {
			rows = append(rows, discordgo.ActionsRow{Components: row})
			row = nil
		}
	}
	if len(row) > 0 && len(rows) < maxRows {
		rows = append(rows, discordgo.ActionsRow{Components: row})
	}
	return rows
}

// answered is the question message after a click: the same text, a line
// saying who answered what, and every button disabled (the chosen one
// green).
func answered(msg *discordgo.Message, user, choice, clicked string) (string, []discordgo.MessageComponent) {
	content := ""
	var comps []discordgo.MessageComponent
	if msg != nil {
		content = msg.Content
		comps = msg.Components
	}
	note := "✔ <@" + user + "> answered: **" + choice + "**"
	if room := maxContent - len16(note) - 2; len16(content) > room {
		content = truncate16(content, room)
	}
	if content != "" {
		content += "\n\n"
	}
	return content + note, disable(comps, clicked)
}

// disable returns a copy of comps with every button and select disabled.
func disable(comps []discordgo.MessageComponent, clicked string) []discordgo.MessageComponent {
	out := make([]discordgo.MessageComponent, 0, len(comps))
	for _, c := range comps {
		switch v := c.(type) {
		case *discordgo.ActionsRow:
			out = append(out, discordgo.ActionsRow{Components: disable(v.Components, clicked), ID: v.ID})
		case discordgo.ActionsRow:
			out = append(out, discordgo.ActionsRow{Components: disable(v.Components, clicked), ID: v.ID})
		case *discordgo.Button:
			out = append(out, disableButton(*v, clicked))
		case discordgo.Button:
			out = append(out, disableButton(v, clicked))
		case *discordgo.SelectMenu:
			s := *v
			s.Disabled = true
			out = append(out, s)
		default:
			if c != nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func disableButton(b discordgo.Button, clicked string) discordgo.Button {
	b.Disabled = true
	if b.Style != discordgo.LinkButton && b.Style != discordgo.PremiumButton {
		b.Style = discordgo.SecondaryButton
		if b.CustomID == clicked {
			b.Style = discordgo.SuccessButton
		}
	}
	return b
}

// handoverText is the message for human supporters.
func handoverText(h *bot.Handover, role, link string) string {
	var b strings.Builder
	if role != "" {
		b.WriteString("<@&" + role + "> ")
	}
	b.WriteString("**Someone needs a human with ChatGPT Error 1020**")
	if h.User != "" {
		b.WriteString(" — <@" + h.User + ">")
	}
	if link != "" {
		b.WriteString("\n" + link)
	}
	if s := strings.TrimSpace(h.Summary); s != "" {
		b.WriteString("\n\n" + s)
	}
	return b.String()
}

// messageLink links to a message (or a channel when message is "").
func messageLink(guild, channel, message string) string {
	if guild == "" {
		guild = "@me"
	}
	if channel == "" {
		return ""
	}
	l := "https://discord.com/channels/" + guild + "/" + channel
	if message != "" && message != channel {
		l += "/" + message
	}
	return l
}

// split cuts s into chunks of at most limit characters (UTF-16 code units,
// which is what Discord counts), at line boundaries where possible, then
// at spaces, then anywhere between runes.
func split(s string, limit int) []string {
	if s == "" {
		return nil
	}
	var out []string
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if t := strings.TrimRight(cur.String(), "\n"); strings.TrimSpace(t) != "" {
			out = append(out, t)
		}
		cur.Reset()
		curLen = 0
	}
	for line := range strings.Lines(s) {
		n := len16(line)
		if curLen+n <= limit {
			cur.WriteString(line)
			curLen += n
			continue
		}
		flush()
		for len16(line) > limit {
			head, rest := cutAt(line, limit)
			out = append(out, head)
			line = rest
		}
		cur.WriteString(line)
		curLen = len16(line)
	}
	flush()
	return out
}

// cutAt splits an over-long line at the last space within limit, or at the
// last rune boundary within it.
func cutAt(line string, limit int) (string, string) {
	n, end, lastSpace := 0, 0, -1
	for i, r := range line {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > limit {
			break
		}
		n += w
		end = i + utf8.RuneLen(r)
		if r == ' ' {
			lastSpace = i
		}
	}
	if lastSpace > 0 {
		return line[:lastSpace], line[lastSpace+1:]
	}
	if end == 0 { // cannot happen for limit >= 2; keep progress anyway
		_, w := utf8.DecodeRuneInString(line)
		end = w
	}
	return line[:end], line[end:]
}

// len16 is the length of s in UTF-16 code units.
func len16(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}

// truncate shortens s to at most n characters, ending in "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncate16 shortens s to at most n UTF-16 code units, ending in "…".
func truncate16(s string, n int) string {
	if len16(s) <= n {
		return s
	}
	head, _ := cutAt(s, n-1)
	return head + "…"
}
