package slack

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot"
)

var mentionRE = regexp.MustCompile(`<@[^<>]*>`)

// FuzzEventsPayload feeds arbitrary (already signature-checked) bodies to
// the Events API decoder and the translation after it: nothing may panic,
// and whatever becomes a message is well formed. Seeds: testdata/fuzz.
func FuzzEventsPayload(f *testing.F) {
	f.Add([]byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@UBOT> hi","ts":"1.1","channel":"C1"}}`))
	f.Add([]byte(`{"type":"url_verification","challenge":"x"}`))
	listen := map[string]bool{"CHELP": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodeEvents(body)
		if err != nil {
			return
		}
		switch d.kind {
		case deliveryVerification:
			if d.challenge == "" {
				t.Fatal("url_verification without a challenge accepted")
			}
		case deliveryCallback:
			m, at, ts, ok := toMessage(d.event.InnerEvent.Data, testSelf, listen)
			if !ok {
				return
			}
			if m.Platform != bot.Slack || m.Channel == "" || m.User == "" || ts == "" || m.User == testSelf.UserID {
				t.Fatalf("ill-formed message %+v (ts %q) from %s", m, ts, body)
			}
			if mentionRE.MatchString(m.Text) {
				t.Fatalf("mention markup left in %q", m.Text)
			}
			if m.DM == m.Shared {
				t.Fatalf("DM and Shared must differ: %+v", m)
			}
			if !m.DM && m.Private == (at == placePublic) {
				t.Fatalf("a channel message is private unless the event says the channel is public: %+v, place %q", m, at)
			}
			if !m.DM && m.Thread == "" {
				t.Fatalf("channel message without a thread to answer in: %+v", m)
			}
			// Whatever the engine answers renders into blocks Slack takes.
			out := render(bot.Reply{Text: m.Text, Question: &bot.Question{ID: "q1", Text: m.Text, Choices: []string{m.Text, "no"}}}, m)
			if len(out.Blocks) > 0 {
				b, _ := json.Marshal(out.Blocks)
				if err := slacktest.ValidateBlocks(b); err != nil && strings.TrimSpace(m.Text) != "" {
					t.Fatalf("blocks Slack would refuse for %q: %v", m.Text, err)
				}
			}
		}
	})
}

// FuzzInteractionPayload feeds arbitrary interactivity bodies
// (payload=<json>) to the decoder and toClick: nothing may panic, and a
// click that is accepted carries a valid question id and choice.
func FuzzInteractionPayload(f *testing.F) {
	f.Add([]byte(`payload=%7B%22type%22%3A%22block_actions%22%7D`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ic, err := decodeInteraction(body)
		if err != nil {
			return
		}
		c, err := toClick(ic)
		if err != nil {
			return
		}
		a := c.msg.Answer
		if a == nil || !questionIDRE.MatchString(a.Question) || strings.TrimSpace(a.Choice) == "" || c.msg.User == "" || c.msg.Channel == "" {
			t.Fatalf("ill-formed click %+v", c.msg)
		}
		if c.msg.DM == c.msg.Shared {
			t.Fatalf("DM and Shared must differ: %+v", c.msg)
		}
		o := origin{kind: fromClick, msg: c.msg, responseURL: c.responseURL, click: c}
		// What the inbox keeps of the click plans the same calls.
		var err2 error
		if o, err2 = decodeOrigin(mustJSON(t, o.wire())); err2 != nil {
			t.Fatalf("the inbox cannot read back a click: %v", err2)
		}
		acts := plan(bot.Reply{Text: "ok"}, o)
		if len(acts) != 2 {
			t.Fatalf("a click plans %d calls, want update + reply", len(acts))
		}
		// The clicked message's blocks come back from the payload as they
		// are; the update must end with who answered.
		blocks := acts[0].out.Blocks
		if len(blocks) == 0 || blocks[len(blocks)-1].BlockType() != "context" {
			t.Fatalf("update without the answer note: %+v", blocks)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
