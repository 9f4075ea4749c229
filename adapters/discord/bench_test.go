package discord

import (
	"slices"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/delivery/deliverytest"
)

// BenchmarkGatewayRoundTrip measures a mention through the whole adapter
// and the delivery core on loopback: MESSAGE_CREATE on the gateway →
// decode → inbox → handler → outbox → POST /channels/{id}/messages
// answered by the fake; with the inbox and outbox in memory and in SQLite
// (a WAL file, as the bot runs). It reports the median and 99th
// percentile latency.
func BenchmarkGatewayRoundTrip(b *testing.B) {
	for _, store := range deliverytest.Stores {
		b.Run(store.Name, func(b *testing.B) {
			h := start(b, nil, setup{fake: discordtest.Options{NoEcho: true}, store: store.Open(b)})
			f := h.fake
			content := f.Mention() + " chatgpt says access denied 1020"
			var lat []time.Duration
			n := 0
			for b.Loop() {
				began := time.Now()
				f.SendMessage(discordtest.Message{Author: alice, Content: content})
				n++
				f.Await(b, "the reply", func() bool { return f.Count(discordtest.RouteCreateMessage) >= n })
				lat = append(lat, time.Since(began))
				<-h.h.got
			}
			slices.Sort(lat)
			q := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
		})
	}
}
