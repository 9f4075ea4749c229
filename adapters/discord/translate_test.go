package discord

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
)

const botID = "100"

func TestToMessage(t *testing.T) {
	t.Parallel()
	user := &discordgo.User{ID: "7", Username: "alice"}
	botUser := &discordgo.User{ID: botID, Bot: true}
	guildMsg := func(content string, mentions ...*discordgo.User) *discordgo.Message {
		return &discordgo.Message{ID: "m1", ChannelID: "c1", GuildID: "g1", Author: user, Content: content, Mentions: mentions}
	}
	for _, tc := range []struct {
		name string
		m    *discordgo.Message
		f    msgFacts
		want bot.Message
		ok   bool
	}{
		{
			name: "mention in a channel",
			m:    guildMsg("<@100> chatgpt 1020", botUser),
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "m1", User: "7", Text: "chatgpt 1020", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "nickname mention mid-sentence",
			m:    guildMsg("hey <@!100>   help me", botUser),
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "m1", User: "7", Text: "hey help me", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "mention only in content (mentions array missing)",
			m:    guildMsg("<@100>"),
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "m1", User: "7", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "someone else mentioned",
			m:    guildMsg("<@200> hi", &discordgo.User{ID: "200"}),
		},
		{
			name: "in a thread",
			m:    guildMsg("<@100> x", botUser),
			f:    msgFacts{InThread: true},
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "c1", User: "7", Text: "x", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "un-mentioned in a thread with content",
			m:    guildMsg("yes"),
			f:    msgFacts{InThread: true},
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "c1", User: "7", Text: "yes", Shared: true},
			ok:   true,
		},
		{
			name: "un-mentioned in a thread without content",
			m:    guildMsg(""),
			f:    msgFacts{InThread: true},
		},
		{
			name: "listen channel",
			m:    guildMsg("error 1020"),
			f:    msgFacts{Listen: true},
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "m1", User: "7", Text: "error 1020", Listen: true, Shared: true},
			ok:   true,
		},
		{
			name: "reply to the bot",
			m: &discordgo.Message{ID: "m2", ChannelID: "c1", GuildID: "g1", Author: user, Content: "yes", Type: discordgo.MessageTypeReply,
				MessageReference:  &discordgo.MessageReference{MessageID: "b1"},
				ReferencedMessage: &discordgo.Message{ID: "b1", Author: botUser}},
			f:    msgFacts{Rooted: true, Root: "m0"},
			want: bot.Message{Platform: bot.Discord, Channel: "c1", Thread: "m0", User: "7", Text: "yes", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "reply into a /gptaccess conversation",
			m: &discordgo.Message{ID: "m2", ChannelID: "c1", GuildID: "g1", Author: user, Content: "no", Type: discordgo.MessageTypeReply,
				ReferencedMessage: &discordgo.Message{ID: "b1", Author: botUser}},
			f:    msgFacts{Rooted: true, Root: ""},
			want: bot.Message{Platform: bot.Discord, Channel: "c1", User: "7", Text: "no", Mention: true, Shared: true},
			ok:   true,
		},
		{
			name: "DM",
			m:    &discordgo.Message{ID: "m3", ChannelID: "d1", Author: user, Content: "hello"},
			want: bot.Message{Platform: bot.Discord, Channel: "d1", User: "7", Text: "hello", DM: true},
			ok:   true,
		},
		{name: "itself", m: &discordgo.Message{ID: "m", ChannelID: "c", Author: &discordgo.User{ID: botID}, Content: "<@100>"}},
		{name: "another bot", m: &discordgo.Message{ID: "m", ChannelID: "c", Author: &discordgo.User{ID: "9", Bot: true}, Content: "<@100>"}},
		{name: "system user", m: &discordgo.Message{ID: "m", ChannelID: "c", Author: &discordgo.User{ID: "9", System: true}, Content: "<@100>"}},
		{name: "webhook", m: &discordgo.Message{ID: "m", ChannelID: "c", WebhookID: "w", Author: user, Content: "<@100>"}},
		{name: "pin notice", m: &discordgo.Message{ID: "m", ChannelID: "c", Author: user, Type: discordgo.MessageTypeChannelPinnedMessage, Content: "<@100>"}},
		{name: "forward", m: &discordgo.Message{ID: "m", ChannelID: "c", Author: user, Content: "<@100>",
			MessageReference: &discordgo.MessageReference{Type: discordgo.MessageReferenceTypeForward, MessageID: "x"}}},
		{name: "no author", m: &discordgo.Message{ID: "m", ChannelID: "c", Content: "<@100>"}},
		{name: "nil", m: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.BotID = botID
			got, ok := toMessage(tc.m, f)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCustomIDs(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 70)
	msg := &discordgo.Message{Components: []discordgo.MessageComponent{&discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		&discordgo.Button{Label: long, CustomID: "q:1#0"},
		&discordgo.Button{Label: strings.Repeat("x", 79) + "…", CustomID: "q:1#1"},
	}}}}
	for _, tc := range []struct {
		id, q, choice string
		ok            bool
	}{
		{"c1:0|yes", "c1:0", "yes", true},
		{"c1:0|not sure", "c1:0", "not sure", true},
		{"c1:0|a|b", "c1:0", "a|b", true},
		{"q:1#0", "q:1", long, true}, // resolved through the label
		{"q:1#1", "", "", false},     // label truncated: cannot be resolved
		{"q:1#9", "", "", false},
		{"q:1#x", "", "", false},
		{"c1:0|", "", "", false},
		{"|yes", "", "", false},
		{"bad id|yes", "", "", false},
		{strings.Repeat("q", 41) + "|yes", "", "", false},
		{"garbage", "", "", false},
		{"", "", "", false},
		{"c1:0|\xff", "", "", false},
	} {
		q, choice, ok := parseCustomID(tc.id, msg)
		if q != tc.q || choice != tc.choice || ok != tc.ok {
			t.Errorf("parseCustomID(%.30q) = %q, %.20q, %v; want %q, %.20q, %v", tc.id, q, choice, ok, tc.q, tc.choice, tc.ok)
		}
	}
	// Round trips, short and long choices.
	for _, tc := range []struct {
		i int
		c string
	}{{0, "yes"}, {1, "not sure"}, {0, long}} {
		i, c := tc.i, tc.c
		id := customID("q:1", i, c)
		if utf8.RuneCountInString(id) > maxCustomID {
			t.Errorf("custom id %q is too long", id)
		}
		q, choice, ok := parseCustomID(id, msg)
		if !ok || q != "q:1" || choice != c {
			t.Errorf("round trip of %.20q via %q = %q %.20q %v", c, id, q, choice, ok)
		}
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	q := &bot.Question{ID: "c1:0", Text: "Are you on a VPN?", Choices: []string{"yes", "no", "not sure", "yes"}}
	for _, tc := range []struct {
		name string
		r    bot.Reply
		want []part
	}{
		{"empty", bot.Reply{}, nil},
		{"text", bot.Reply{Text: "  **Fix**\n- step  "}, []part{{Content: "**Fix**\n- step"}}},
		{"question already in the text", bot.Reply{Text: "Are you on a VPN? (yes / no / not sure)", Question: q}, []part{{
			Content: "Are you on a VPN? (yes / no / not sure)",
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "yes", Style: discordgo.PrimaryButton, CustomID: "c1:0|yes"},
				discordgo.Button{Label: "no", Style: discordgo.PrimaryButton, CustomID: "c1:0|no"},
				discordgo.Button{Label: "not sure", Style: discordgo.PrimaryButton, CustomID: "c1:0|not sure"},
			}}},
		}}},
		{"question appended", bot.Reply{Text: "Let's find out.", Question: &bot.Question{ID: "q", Text: "VPN?", Choices: []string{"a"}}}, []part{{
			Content: "Let's find out.\n\n**VPN?**",
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "a", Style: discordgo.PrimaryButton, CustomID: "q|a"},
			}}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, render(tc.r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderManyChoices(t *testing.T) {
	t.Parallel()
	var choices []string
	for i := range 30 {
		choices = append(choices, strings.Repeat("c", 90)+string(rune('a'+i%26))+string(rune('0'+i/26)))
	}
	parts := render(bot.Reply{Text: "pick", Question: &bot.Question{ID: "q", Text: "pick", Choices: choices}})
	rows := parts[len(parts)-1].Components
	if len(rows) != maxRows {
		t.Fatalf("%d rows, want %d", len(rows), maxRows)
	}
	for _, r := range rows {
		row := r.(discordgo.ActionsRow)
		if len(row.Components) > maxButtons {
			t.Errorf("row with %d buttons", len(row.Components))
		}
		for _, c := range row.Components {
			b := c.(discordgo.Button)
			if utf8.RuneCountInString(b.Label) > maxLabel || utf8.RuneCountInString(b.CustomID) > maxCustomID {
				t.Errorf("button %q / %q over the limits", b.Label, b.CustomID)
			}
		}
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"short", "a\nb", 10, []string{"a\nb"}},
		{"at lines", "aaaa\nbbbb\ncccc", 10, []string{"aaaa\nbbbb", "cccc"}},
		{"long line at a space", "aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"long word", "abcdefghijklmnop", 5, []string{"abcde", "fghij", "klmno", "p"}},
		{"emoji count double", "😀😀😀😀", 4, []string{"😀😀", "😀😀"}},
		{"blank lines dropped at cuts", "aaaa\n\n\nbbbb", 5, []string{"aaaa", "bbbb"}},
		{"empty", "", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := split(tc.in, tc.limit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, p := range got {
				if len16(p) > tc.limit {
					t.Errorf("part %q over the limit", p)
				}
			}
		})
	}
}

func TestAnswered(t *testing.T) {
	t.Parallel()
	msg := &discordgo.Message{Content: "VPN?", Components: []discordgo.MessageComponent{&discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		&discordgo.Button{Label: "yes", CustomID: "q|yes", Style: discordgo.PrimaryButton},
		&discordgo.Button{Label: "no", CustomID: "q|no", Style: discordgo.PrimaryButton},
		&discordgo.Button{Label: "docs", URL: "https://example.com", Style: discordgo.LinkButton},
	}}}}
	content, comps := answered(msg, "7", "no", "q|no")
	if content != "VPN?\n\n✔ <@7> answered: **no**" {
		t.Errorf("content = %q", content)
	}
	want := []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "yes", CustomID: "q|yes", Style: discordgo.SecondaryButton, Disabled: true},
		discordgo.Button{Label: "no", CustomID: "q|no", Style: discordgo.SuccessButton, Disabled: true},
		discordgo.Button{Label: "docs", URL: "https://example.com", Style: discordgo.LinkButton, Disabled: true},
	}}}
	if diff := cmp.Diff(want, comps); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	long, _ := answered(&discordgo.Message{Content: strings.Repeat("x", 3000)}, "7", "yes", "")
	if len16(long) > maxContent || !strings.HasSuffix(long, "answered: **yes**") {
		t.Errorf("long question: %d characters, ends %q", len16(long), long[len(long)-20:])
	}
}

func TestCommandMessage(t *testing.T) {
	t.Parallel()
	member := &discordgo.Member{User: &discordgo.User{ID: "7"}}
	cmd := func(sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordgo.ApplicationCommandInteractionData {
		return discordgo.ApplicationCommandInteractionData{Name: "gptaccess", Options: []*discordgo.ApplicationCommandInteractionDataOption{
			{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}}}
	}
	in := func(d discordgo.InteractionData, guild string) interaction {
		i := &discordgo.Interaction{ID: "i", Type: discordgo.InteractionApplicationCommand, ChannelID: "c", GuildID: guild, Data: d}
		if guild != "" {
			i.Member = member
		} else {
			i.User = member.User
		}
		return interaction{Interaction: i}
	}
	for _, tc := range []struct {
		name string
		i    interaction
		want bot.Message
		err  bool
	}{
		{"status", in(cmd("status"), "g"), bot.Message{Platform: bot.Discord, Channel: "c", User: "7", Text: "status", Command: true, Shared: true}, false},
		{"ask", in(cmd("ask", &discordgo.ApplicationCommandInteractionDataOption{Name: "question", Type: discordgo.ApplicationCommandOptionString, Value: " why 1020? "}), "g"),
			bot.Message{Platform: bot.Discord, Channel: "c", User: "7", Text: "why 1020?", Command: true, Shared: true}, false},
		{"ask in a DM", in(cmd("ask", &discordgo.ApplicationCommandInteractionDataOption{Name: "question", Value: "x"}), ""),
			bot.Message{Platform: bot.Discord, Channel: "c", User: "7", Text: "x", Command: true, DM: true}, false},
		{"ask without question", in(cmd("ask"), "g"), bot.Message{}, true},
		{"ask with a number", in(cmd("ask", &discordgo.ApplicationCommandInteractionDataOption{Name: "question", Value: 3.0}), "g"), bot.Message{}, true},
		{"unknown subcommand", in(cmd("reboot"), "g"), bot.Message{}, true},
		{"other command", in(discordgo.ApplicationCommandInteractionData{Name: "other"}, "g"), bot.Message{}, true},
		{"no subcommand", in(discordgo.ApplicationCommandInteractionData{Name: "gptaccess"}, "g"), bot.Message{}, true},
		{"nil option", in(discordgo.ApplicationCommandInteractionData{Name: "gptaccess", Options: []*discordgo.ApplicationCommandInteractionDataOption{nil}}, "g"), bot.Message{}, true},
		{"component data", in(discordgo.MessageComponentInteractionData{}, "g"), bot.Message{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := commandMessage(tc.i)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil && !errors.Is(err, errMalformed) {
				t.Errorf("err = %v, want errMalformed", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	thread := in(cmd("help"), "g")
	thread.Channel = &channelInfo{ID: "c", Type: discordgo.ChannelTypeGuildPublicThread}
	if m, _ := commandMessage(thread); m.Thread != "c" {
		t.Errorf("command in a thread: Thread = %q, want c", m.Thread)
	}
}

func TestDecodeInteraction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"ping", `{"type":1}`, true},
		{"command", `{"id":"1","application_id":"2","type":2,"token":"t","channel_id":"c","channel":{"id":"c","type":11},"data":{"name":"gptaccess"}}`, true},
		{"click", `{"id":"1","application_id":"2","type":3,"token":"t","data":{"custom_id":"q|a","component_type":2},"message":{"id":"m"}}`, true},
		{"click without message", `{"id":"1","application_id":"2","type":3,"token":"t","data":{"custom_id":"q|a"}}`, false},
		{"number permissions", `{"id":"1","application_id":"2","type":2,"token":"t","app_permissions":8}`, false},
		{"no token", `{"id":"1","application_id":"2","type":2}`, false},
		{"unknown type", `{"id":"1","application_id":"2","type":42,"token":"t"}`, false},
		{"unknown component", `{"id":"1","application_id":"2","type":3,"token":"t","data":{},"message":{"components":[{"type":99}]}}`, false},
		{"not json", `{`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, err := decodeInteraction([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.name == "command" && !i.inThread() {
				t.Error("channel type 11 not seen as a thread")
			}
		})
	}
	if li, ok := looseInteraction([]byte(`{"id":"1","application_id":"2","type":2,"token":"t","app_permissions":8}`)); !ok || li.ID != "1" || li.Token != "t" {
		t.Errorf("looseInteraction = %+v, %v", li, ok)
	}
}

func TestHandoverText(t *testing.T) {
	t.Parallel()
	got := handoverText(&bot.Handover{User: "7", Summary: "- cause: vpn-proxy"}, "55", messageLink("g", "c", "m"))
	want := "<@&55> **Someone needs a human with ChatGPT Error 1020** — <@7>\nhttps://discord.com/channels/g/c/m\n\n- cause: vpn-proxy"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if l := messageLink("", "d", ""); l != "https://discord.com/channels/@me/d" {
		t.Errorf("DM link = %q", l)
	}
}

func TestCommandsFitDiscordLimits(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(commands())
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(b, &cmds); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if len(c.Description) > 100 {
			t.Errorf("%s: description too long", c.Name)
		}
		for _, o := range c.Options {
			if len(o.Name) > 32 || len(o.Description) > 100 || o.Description == "" {
				t.Errorf("option %s over the limits", o.Name)
			}
		}
	}
}
