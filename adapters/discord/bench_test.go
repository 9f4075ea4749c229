package discord

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/delivery"
	"gptaccess/sqlite"
)

// BenchmarkGatewayRoundTrip measures a mention through the whole adapter
// and the delivery core on loopback: MESSAGE_CREATE on the gateway →
// decode → inbox → handler → outbox → POST /channels/{id}/messages
// answered by the fake; with the inbox and outbox in memory and in SQLite
// (a WAL file, as the bot runs). It reports the median and 99th
// percentile latency.
func BenchmarkGatewayRoundTrip(b *testing.B) {
	for _, store := range []struct {
		name string
		open func(b *testing.B) delivery.Store
	}{
		{"memory", func(*testing.B) delivery.Store { return delivery.NewMemory() }},
		{"sqlite", openSQLite},
	} {
		b.Run(store.name, func(b *testing.B) {
			h := start(b, nil, setup{fake: discordtest.Options{NoEcho: true}, store: store.open(b)})
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

func openSQLite(b *testing.B) delivery.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
