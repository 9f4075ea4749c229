package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
)

// Engines: two engines (two replicas' worth of in-process locks) answer
// messages in one conversation at once through the store. Each message
// is a question that also reports the error, so each adds one "Find my
// cause" offer to the conversation (its Turn): every message is
// answered, none with an apology, and the final Turn counts every one of
// them, so no update was lost to another.
func Engines(t *testing.T, open Open) {
	s := open(t, time.Now)
	EnginesOn(t, s, s, 2, 40)
}

// EnginesOn is Engines with one engine on each of a and b (two
// connections to one database, for two replicas), writers goroutines per
// engine sending each messages messages.
func EnginesOn(t *testing.T, a, b bot.Store, writers, messages int) {
	ctx := context.Background()
	engines := []*bot.Engine{bottest.Engine(t, bot.Options{Store: a}), bottest.Engine(t, bot.Options{Store: b})}
	m := bot.Message{Platform: bot.Slack, Channel: "C1", Thread: "1.1", User: "U1", Mention: true,
		Text: "I keep getting 1020, is my account at risk?"}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	for _, e := range engines {
		for range writers {
			wg.Go(func() {
				for range messages {
					r, err := e.Handle(ctx, m)
					if err != nil || r.Question == nil || r.Question.Fact != "diagnose" {
						mu.Lock()
						errs = append(errs, fmt.Sprintf("reply %q, err %v", r.Text, err))
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for i, e := range errs {
		if i == 5 {
			t.Errorf("... %d in all", len(errs))
			break
		}
		t.Error(e)
	}
	c, ok, err := a.Conversation(ctx, m.Key())
	if err != nil || !ok {
		t.Fatalf("conversation: %v, %v", ok, err)
	}
	if want := len(engines) * writers * messages; c.Turn != want {
		t.Errorf("turn = %d after %d messages: %d updates lost", c.Turn, want, want-c.Turn)
	}
}
