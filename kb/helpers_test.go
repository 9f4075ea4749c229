package kb

import "testing"

// terms returns how k reads text: each resolved token as its term name,
// "+cue" for a cue-only word, "?word" for a word the knowledge base does not
// know; stop words are left out. A trailing "~" marks a typo correction.
func (k *KB) terms(text string) []string {
	var sc scratch
	var ls [numLangs]int
	sc.buf, sc.toks = tokenize(nil, nil, text, &ls)
	k.idx.lex.resolve(&sc, true)
	var out []string
	for _, q := range sc.q {
		raw := string(sc.buf[q.start:q.end])
		var s string
		switch {
		case q.info.term >= 0:
			s = k.idx.lex.names[q.info.term]
		case q.info.stop:
			continue
		case q.info.cues != 0:
			s = "+" + raw
		default:
			s = "?" + raw
		}
		if q.fuzzy {
			s += "~"
		}
		out = append(out, s)
	}
	return out
}

func mustDefault(t testing.TB) *KB {
	t.Helper()
	k, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
