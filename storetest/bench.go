package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
)

// BenchEngines measures the bot's answer path over real stores: one
// engine per store in stores (one per replica, each with its own
// connections), clients goroutines each holding a conversation of its
// own and sending the messages of a short diagnosis (a report, two
// answers, the feedback) in turn, spread over the engines round-robin as
// a load balancer would. It reports messages/s and the p50 and p99 time
// to answer one message.
func BenchEngines(b *testing.B, stores []bot.Store, clients int) {
	ctx := context.Background()
	var engines []*bot.Engine
	for _, s := range stores {
		engines = append(engines, bottest.Engine(b, bot.Options{Store: s}))
	}
	script := []string{"chatgpt says access denied 1020", "no", "yes", "yes"}
	var (
		mu   sync.Mutex
		lats []time.Duration
		next = make(chan struct{}, clients)
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			var mine []time.Duration
			i := 0 // this client's messages so far
			for range next {
				e := engines[(c+i)%len(engines)]
				m := bot.Message{Platform: bot.Slack, Channel: fmt.Sprintf("C%d", c%50), Thread: fmt.Sprintf("%d.%d", c, i/len(script)),
					User: fmt.Sprintf("U%d", c), Mention: true, Text: script[i%len(script)]}
				t0 := time.Now()
				if _, err := e.Handle(ctx, m); err != nil {
					b.Error(err)
				}
				mine = append(mine, time.Since(t0))
				i++
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lats)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
}
