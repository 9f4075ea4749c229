package kb

import (
	"math"
	"testing"
)

// FuzzMatch checks that no message, however broken, makes Match panic or
// return something outside its contract. Seeds live in
// testdata/fuzz/FuzzMatch; the corpus adds real messages.
func FuzzMatch(f *testing.F) {
	k, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range readCorpus(f) {
		f.Add(c.text)
	}
	langs := map[string]bool{"en": true, "de": true, "fr": true, "es": true}
	f.Fuzz(func(t *testing.T, text string) {
		m := k.Match(text)
		if math.IsNaN(m.Confidence) || m.Confidence < 0 || m.Confidence > 1 {
			t.Errorf("Match(%q).Confidence = %v, want within [0, 1]", text, m.Confidence)
		}
		if m.ID != NoneID && !k.Has(m.ID) {
			t.Errorf("Match(%q).ID = %q, not an entry", text, m.ID)
		}
		if m.ID == NoneID && m.Report {
			t.Errorf("Match(%q) reports with no entry", text)
		}
		if !langs[m.Lang] {
			t.Errorf("Match(%q).Lang = %q", text, m.Lang)
		}
		// Matching is a pure function of the text.
		if again := k.Match(text); again != m {
			t.Errorf("Match(%q) gave %+v, then %+v", text, m, again)
		}
	})
}
