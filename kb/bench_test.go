package kb

import (
	"fmt"
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

// BenchmarkTrainOperatorGuide measures loading an operator's guide, which
// is trained at start-up: a copy of the embedded guide, guides within the
// limits (up to all of them at once: MaxEntries entries of MaxExamples
// examples of MaxLineBytes), and, past the limits, the guides of 1 MB that
// took a minute. cpu-s/op is the CPU time of one load, which a busy
// machine does not inflate as it does the wall time.
//
//	go test -run '^$' -bench TrainOperatorGuide -benchtime 1x ./kb
func BenchmarkTrainOperatorGuide(b *testing.B) {
	copyOf := append(append([]byte(nil), guideYAML...), "\n# an operator's copy\n"...)
	cases := []struct {
		name  string
		guide []byte
		lim   limits
	}{
		{"copy of the embedded guide", copyOf, guideLimits},
		{"entries=40", operatorGuide(guideShape{entries: MaxEntries, examples: 12, exampleBytes: 60}), guideLimits},
		{"entries=40/examples=40", operatorGuide(guideShape{entries: MaxEntries, examples: MaxExamples, exampleBytes: 60}), guideLimits},
		{"entries=40/examples=40/example_bytes=300", operatorGuide(guideShape{entries: MaxEntries, examples: MaxExamples, exampleBytes: MaxLineBytes}), guideLimits},
		// Long bodies and many keywords, up to the file's cap: they are
		// indexed, not trained on.
		{"entries=40/examples=40/body_bytes=4000/keywords=40", operatorGuide(guideShape{entries: MaxEntries, examples: MaxExamples, exampleBytes: 200,
			bodyBytes: 4000, keywords: MaxKeywords, keywordBytes: 100}), guideLimits},
		{"past the limits/entries=100", operatorGuide(guideShape{entries: 100, examples: 12, exampleBytes: 60}), limits{}},
		{"past the limits/entries=200", operatorGuide(guideShape{entries: 200, examples: 12, exampleBytes: 60}), limits{}},
		{"past the limits/entries=730", operatorGuide(guideShape{entries: 730, examples: 12, exampleBytes: 60}), limits{}},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/bytes=%d", c.name, len(c.guide)), func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := parse(c.guide, nil, c.lim); err != nil {
					b.Fatal(err)
				}
			}
			// Training runs on one goroutine: its CPU time is what the
			// wall time would be on an idle core.
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
