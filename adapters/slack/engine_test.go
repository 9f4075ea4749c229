package slack

import (
	"strings"
	"testing"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
	"gptaccess/bot/bottest"
)

// newEngine is the real engine with the embedded knowledge base and an
// in-memory store.
func newEngine(t *testing.T) *bot.Engine { return bottest.Engine(t, bot.Options{}) }

// The real engine's diagnosis, clicked through to the end in a thread:
// every question arrives with buttons, every click removes them, and no
// click is refused as expired.
func TestEngineDiagnosisByButtons(t *testing.T) {
	for _, mode := range []string{ModeSocket, ModeHTTP} {
		t.Run(mode, func(t *testing.T) {
			fake := newFake(t)
			h := startAdapter(t, fake, mode, withHandler(newEngine(t)))

			root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> chatgpt says access denied, error code 1020"})
			finished := false
			for step := 0; step < 12 && !finished; step++ {
				p := fake.WaitPosts(t, step+1, waitFor)[step]
				if p.ThreadTS != root {
					t.Fatalf("step %d: reply outside the thread: %+v", step, p)
				}
				buttons := p.Buttons()
				if len(buttons) == 0 {
					finished = true
					break
				}
				m, _ := fake.Message("C1", p.TS)
				h.click(m, "U1", buttons[0].Text)
				fake.Wait(t, waitFor, "buttons removed", func() bool {
					cur, _ := fake.Message("C1", p.TS)
					return len(cur.Buttons()) == 0
				})
			}
			if !finished {
				t.Fatal("the diagnosis did not finish")
			}
			if eph := fake.Calls("chat.postEphemeral"); len(eph) != 0 {
				t.Errorf("clicks refused: %+v", eph)
			}
			for _, p := range fake.Posts() {
				if strings.Contains(p.Text, "**") {
					t.Errorf("Markdown left unconverted: %q", p.Text)
				}
			}
		})
	}
}

// Typed answers in the thread (no mention) and /gptaccess diagnose with
// buttons, with the real engine.
func TestEngineTypedAnswersAndSlashDiagnose(t *testing.T) {
	fake := newFake(t)
	h := startAdapter(t, fake, ModeSocket, withHandler(newEngine(t)))

	root := h.say(slacktest.Say{Channel: "C1", User: "U1", Text: "<@UBOT> I get error 1020 access denied on chatgpt"})
	q := fake.WaitPosts(t, 1, waitFor)[0]
	if len(q.Buttons()) == 0 {
		t.Fatalf("no question: %+v", q)
	}
	h.say(slacktest.Say{Channel: "C1", User: "U1", Text: q.Buttons()[1].Text, ThreadTS: root})
	if next := fake.WaitPosts(t, 2, waitFor)[1]; next.ThreadTS != root {
		t.Errorf("typed answer got %+v", next)
	}

	h.command("C2", "U2", "diagnose")
	r := fake.WaitResponses(t, 1, waitFor)[0]
	if len(r.Buttons()) == 0 || r.ResponseType != "ephemeral" {
		t.Fatalf("diagnose = %+v", r)
	}
	m, _ := fake.Message("C2", r.TS)
	h.click(m, "U2", r.Buttons()[0].Text)
	rs := fake.WaitResponses(t, 3, waitFor)
	if !rs[1].ReplaceOriginal || len(rs[1].Buttons()) != 0 || rs[2].ReplaceOriginal || rs[2].Text == "" {
		t.Errorf("after the click: %+v", rs[1:])
	}
	if strings.Contains(rs[2].Text, "expired") {
		t.Errorf("the slash-command question was refused: %q", rs[2].Text)
	}
}
