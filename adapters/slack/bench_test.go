package slack

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/delivery/deliverytest"
)

// BenchmarkSocketModeRoundTrip measures one direct message going through
// the fake's websocket, slack-go's socketmode client, the adapter and the
// delivery core (inbox write, ack, handler, outbox write, render) and back
// out as chat.postMessage, on loopback; with the inbox and outbox in
// memory and in SQLite (a WAL file, as the bot runs).
func BenchmarkSocketModeRoundTrip(b *testing.B) {
	for _, store := range deliverytest.Stores {
		b.Run(store.Name, func(b *testing.B) {
			fake := slacktest.New(b, slacktest.Config{})
			startAdapter(b, fake, ModeSocket, withStore(store.Open(b)), withOptions(func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) }))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				ev := fake.UserMessage(slacktest.Say{Channel: "D1", ChannelType: "im", User: "U1", Text: "hello"})[0]
				t0 := time.Now()
				fake.Deliver(ev)
				fake.WaitPosts(b, i+1, waitFor)
				lat = append(lat, time.Since(t0))
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}
