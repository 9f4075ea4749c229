package kb

import (
	"runtime"
	"testing"
)

// BenchmarkMatch matches every corpus message once per iteration and
// reports the cost per message.
func BenchmarkMatch(b *testing.B) {
	k := mustDefault(b)
	corpus := readCorpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, c := range corpus {
			k.Match(c.text)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(corpus)), "ns/msg")
}

// BenchmarkParse measures building the index, which happens once at start.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(guideYAML); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRetainedHeap reports the heap a loaded knowledge base keeps alive.
// The terminal bot's idle memory budget is small, and the index is most of
// what the bot holds; the limit leaves room for a bigger guide but catches
// an index that grows by megabytes (a symmetric-delete typo index took 4 MB).
func TestRetainedHeap(t *testing.T) {
	const limit = 3 << 20
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	k := mustDefault(t)
	k.Match("chatgtp says acess denied") // the first Match adds pooled scratch
	after := live()
	runtime.KeepAlive(k)
	retained := int64(after) - int64(before)
	t.Logf("a loaded knowledge base retains %d KiB of heap", retained>>10)
	if retained > limit {
		t.Errorf("a loaded knowledge base retains %d KiB of heap, want at most %d KiB", retained>>10, limit>>10)
	}
}
