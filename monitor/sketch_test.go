package monitor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
)

// exactQuantile is the nearest-rank q-quantile of ds, as the page used to
// compute it from every result.
func exactQuantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)]
}

// shown is a latency as the status page and the digest print it.
func shown(d time.Duration) string {
	if d < time.Second {
		return time.Duration(d.Milliseconds() * int64(time.Millisecond)).String()
	}
	return time.Duration(math.Round(d.Seconds()*10) * float64(time.Second/10)).String()
}

// TestSketchQuantilesShowAsExact: percentiles read from merged hourly
// sketches print as the exact percentiles of the raw latencies would.
func TestSketchQuantilesShowAsExact(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, base := range []time.Duration{300 * time.Microsecond, 80 * time.Millisecond, 900 * time.Millisecond, 4 * time.Second} {
		var all []time.Duration
		var merged Sketch
		for range 24 {
			var hour Sketch
			for range 1 + rnd.IntN(120) {
				d := base + time.Duration(rnd.Int64N(int64(base)))
				all = append(all, d)
				hour.Add(d)
			}
			merged.Merge(hour)
		}
		if merged.Count() != len(all) {
			t.Fatalf("count %d, want %d", merged.Count(), len(all))
		}
		for _, q := range []float64{0.5, 0.95, 0.99} {
			got, want := merged.Quantile(q), exactQuantile(all, q)
			if shown(got) != shown(want) && base < 8*time.Second {
				t.Errorf("base %v q%v: sketch %v (%s), exact %v (%s)", base, q, got, shown(got), want, shown(want))
			}
		}
	}
}

// TestSketchAboveTheExactRange: long latencies (timeouts) keep within
// 0.4% of their value.
func TestSketchAboveTheExactRange(t *testing.T) {
	for _, d := range []time.Duration{8191 * time.Millisecond, 8192 * time.Millisecond, 10 * time.Second, 30*time.Second + 7*time.Millisecond, 2 * time.Minute, 1000 * time.Hour} {
		var s Sketch
		s.Add(d)
		got := s.Quantile(0.5)
		if rel := math.Abs(float64(got-d)) / float64(d); rel > 0.004 {
			t.Errorf("%v reads back as %v (%.2f%% off)", d, got, 100*rel)
		}
	}
	var s Sketch
	s.Add(-time.Second)
	if got := s.Quantile(1); got != 0 {
		t.Errorf("a negative latency reads back as %v, want 0", got)
	}
}

func TestSketchEncoding(t *testing.T) {
	var s Sketch
	for _, d := range []time.Duration{0, 999 * time.Microsecond, time.Millisecond, 83 * time.Millisecond, 83 * time.Millisecond, 9 * time.Second, time.Hour} {
		s.Add(d)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Sketch
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.bins, got.bins) {
		t.Errorf("round trip: %v, want %v", got.bins, s.bins)
	}
	for _, bad := range [][]byte{nil, {5}, {1, 0}, {2, 1, 1, 0, 1}, {1, 1, 0}, append(b, 0)} {
		if err := got.UnmarshalBinary(bad); err == nil {
			t.Errorf("%v decoded without an error", bad)
		}
	}
}

func FuzzSketchDecode(f *testing.F) {
	var s Sketch
	s.Add(80 * time.Millisecond)
	s.Add(time.Minute)
	b, _ := s.MarshalBinary()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if s.UnmarshalBinary(b) != nil {
			return
		}
		// Whatever decodes survives a round trip and can be read.
		again, _ := s.MarshalBinary()
		var s2 Sketch
		if err := s2.UnmarshalBinary(again); err != nil || !slices.Equal(s.bins, s2.bins) {
			t.Errorf("%x: re-encoded as %x, which decodes to %v (%v), not %v", b, again, s2.bins, err, s.bins)
		}
		s.Quantile(0.5)
		s.Merge(s)
	})
}

// TestRollupOf: one round adds one count per target, hour, verdict, canary
// state and official indicator, and the timed latencies per target and
// hour, in the order first seen.
func TestRollupOf(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 59, 0, 0, time.UTC)
	rs := []Result{
		{Target: "web", Kind: "http", Verdict: cloudflare.Up, Status: 200, Latency: 80 * time.Millisecond, CheckedAt: at},
		{Target: "web", Kind: "http", Verdict: cloudflare.Up, Status: 200, Latency: 90 * time.Millisecond, CheckedAt: at.Add(30 * time.Second)},
		{Target: "api", Kind: "http", Verdict: cloudflare.Blocked1020, Status: 403, Latency: 40 * time.Millisecond, CheckedAt: at},
		{Target: "web", Kind: "http", Verdict: cloudflare.Up, Status: 200, Latency: 70 * time.Millisecond, CheckedAt: at.Add(2 * time.Minute)},
	}
	ro := RollupOf(rs)
	h10, h11 := HourOf(at), HourOf(at.Add(2*time.Minute))
	want := []Count{
		{Target: "web", Kind: "http", Hour: h10, Verdict: cloudflare.Up, N: 2},
		{Target: "api", Kind: "http", Hour: h10, Verdict: cloudflare.Blocked1020, N: 1},
		{Target: "web", Kind: "http", Hour: h11, Verdict: cloudflare.Up, N: 1},
	}
	if diff := cmp.Diff(want, ro.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if len(ro.Latencies) != 3 || len(ro.Latencies[0].Values) != 2 || ro.Latencies[0].Target != "web" || !ro.Latencies[2].Hour.Equal(h11) {
		t.Errorf("latencies = %+v", ro.Latencies)
	}
}
