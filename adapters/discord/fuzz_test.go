package discord

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"gptaccess/bot"
)

// FuzzInteractionPayload feeds arbitrary bytes through everything the
// adapter does with an interaction before any I/O: decoding, translation,
// custom id parsing and the answered-question update. None of it may
// panic, and what it produces must respect Discord's limits. Seeds are in
// testdata/fuzz/FuzzInteractionPayload (payloads as the fake sends them).
func FuzzInteractionPayload(f *testing.F) {
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte(`{"id":"1","application_id":"2","type":2,"token":"t","data":{"name":"gptaccess","options":[{"name":"ask","type":1,"options":[{"name":"question","type":3,"value":"x"}]}]},"member":{"user":{"id":"3"}},"channel_id":"4","guild_id":"5"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		i, err := decodeInteraction(b)
		if err != nil {
			looseInteraction(b)
			return
		}
		_ = i.inThread()
		_ = i.userID()
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			m, err := commandMessage(i)
			if err == nil && (m.User == "" || m.Channel == "" || !m.Command || m.Platform != bot.Discord || m.DM == m.Shared) {
				t.Errorf("command translated to an unusable message %+v", m)
			}
		case discordgo.InteractionMessageComponent:
			m, err := componentMessage(i, "thread")
			if err == nil && (m.Answer == nil || m.Answer.Choice == "" || m.User == "") {
				t.Errorf("click translated to an unusable message %+v", m)
			}
			if d, ok := i.Data.(discordgo.MessageComponentInteractionData); ok && err == nil {
				content, _ := answered(i.Message, m.User, m.Answer.Choice, d.CustomID)
				if len16(content) > maxContent+len16(m.User)+len16(m.Answer.Choice) {
					t.Errorf("answered content of %d characters", len16(content))
				}
			}
		}
	})
}

// FuzzMessagePayload does the same for MESSAGE_CREATE.
func FuzzMessagePayload(f *testing.F) {
	f.Add([]byte(`{"id":"1","channel_id":"2","guild_id":"3","content":"<@100> hi","author":{"id":"4"},"mentions":[{"id":"100"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		for _, facts := range []msgFacts{
			{BotID: botID},
			{BotID: botID, InThread: true},
			{BotID: botID, Listen: true},
			{BotID: botID, Rooted: true, Root: "r"},
		} {
			msg, ok := toMessage(m, facts)
			if !ok {
				continue
			}
			if msg.Platform != bot.Discord || msg.Channel == "" || msg.User == "" || msg.User == botID {
				t.Errorf("unusable message %+v", msg)
			}
			if strings.Contains(msg.Text, "<@"+botID+">") || strings.Contains(msg.Text, "<@!"+botID+">") {
				t.Errorf("mention left in %q", msg.Text)
			}
			if msg.DM == msg.Shared {
				t.Errorf("DM %v and Shared %v", msg.DM, msg.Shared)
			}
		}
	})
}
