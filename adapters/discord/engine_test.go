package discord

import (
	"strings"
	"testing"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
)

// TestRealEngineDialogByButtons runs the real bot engine behind the
// adapter: a problem report by mention, then every question answered by
// button until the bot stops asking. Whatever the engine asks, each click
// must land in the same conversation (never "no longer open") and update
// its question in place.
func TestRealEngineDialogByButtons(t *testing.T) {
	t.Parallel()
	e := bottest.Engine(t, bot.Options{})
	h := start(t, newRecorder(e.Handle), setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " ChatGPT says Access denied, error code 1020. What can I do?"})
	first := h.h.next(t)

	clicks := 0
	for step := 0; step < 15; step++ {
		ms := h.replies(t, f.ChannelID, step+1)
		last := ms[len(ms)-1]
		ids, _ := buttonIDs(last.Components)
		if len(ids) == 0 {
			break
		}
		// Prefer "no" so the diagnosis goes on as long as it can.
		id := ids[0]
		for _, c := range ids {
			if strings.HasSuffix(c, "|no") {
				id = c
			}
		}
		msgs := f.BotMessages(f.ChannelID)
		ix := f.SendClick(discordtest.Click{MessageID: msgs[len(msgs)-1].ID, CustomID: id, User: alice})
		h.editedQuestion(t, ix)
		got := h.h.next(t)
		if got.Key() != first.Key() || got.Answer == nil {
			t.Fatalf("step %d: click in conversation %q, want %q", step, got.Key(), first.Key())
		}
		clicks++
	}
	if clicks == 0 {
		t.Fatal("the engine asked no question with buttons for a problem report")
	}
	t.Logf("%d questions answered by button", clicks)
}
