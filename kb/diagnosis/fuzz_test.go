package diagnosis

import (
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzParseAnswer feeds arbitrary answers (seeds in testdata/fuzz): no
// panic, and any answer is one of the three values.
func FuzzParseAnswer(f *testing.F) {
	m := mustDefault(f)
	f.Add("vpn", "yes, NordVPN on my laptop")
	f.Fuzz(func(t *testing.T, fact, text string) {
		v, ok := m.ParseAnswer(fact, text)
		if ok && v != Yes && v != No && v != Unsure {
			t.Fatalf("ParseAnswer(%q, %q) = %q", fact, text, v)
		}
		if !ok && v != "" {
			t.Fatalf("ParseAnswer(%q, %q) = %q with ok false", fact, text, v)
		}
	})
}

// FuzzExtract feeds arbitrary messages (seeds in testdata/fuzz): no panic,
// only askable facts with yes or no, and the same answer twice.
func FuzzExtract(f *testing.F) {
	m := mustDefault(f)
	f.Add("I'm on NordVPN, works on my phone")
	f.Fuzz(func(t *testing.T, text string) {
		got := m.Extract(text)
		for id, v := range got {
			fa, ok := m.Fact(id)
			if !ok || !fa.Askable {
				t.Fatalf("Extract(%q) returned fact %q", text, id)
			}
			if v != Yes && v != No {
				t.Fatalf("Extract(%q)[%s] = %q", text, id, v)
			}
		}
		again := m.Extract(text)
		if len(again) != len(got) {
			t.Fatalf("Extract(%q) not deterministic: %v then %v", text, got, again)
		}
		// Whatever was extracted must be a possible state for Next.
		if utf8.ValidString(text) {
			st := m.Next(got, nil, nil)
			if st.Fact != "" && slices.Contains(keys(got), st.Fact) {
				t.Fatalf("Next asked volunteered fact %q", st.Fact)
			}
		}
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// BenchmarkExtract is a first message with a pasted error page.
func BenchmarkExtract(b *testing.B) {
	m := mustDefault(b)
	text := "Hi, since this morning chatgpt says access denied. I'm not on a VPN, but it works on my phone with mobile data.\n" + cloudflarePage
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Extract(text)
	}
}

// BenchmarkParseAnswer is a typed answer with extra words.
func BenchmarkParseAnswer(b *testing.B) {
	m := mustDefault(b)
	b.ReportAllocs()
	for b.Loop() {
		m.ParseAnswer("vpn", "yeah, NordVPN on my work laptop")
	}
}
