package kb

import "testing"

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
