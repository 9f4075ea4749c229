package kb_test

import (
	"testing"

	"gptaccess/kb"
)

// TestAnswerVerbsReadAlike: the verbs that say ChatGPT loads somewhere
// ("opens", "funciona") read as "works" does, whichever one the training
// answers happen to use (kb/lexicon.yaml, outcome_words).
func TestAnswerVerbsReadAlike(t *testing.T) {
	k, err := kb.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ fact, text, want string }{
		{"other_network", "it opens on my phone", "yes"},
		{"other_network", "on my phone with 4g it opens", "yes"},
		{"other_network", "works on my phone", "yes"},
		{"other_network", "on my phone same thing", "no"},
		{"private_window", "in incognito it opens", "yes"},
		{"private_window", "no, it doesn't open in incognito either", "no"},
	} {
		if got, p := k.ReadAnswer(c.fact, c.text); got != c.want {
			t.Errorf("%s %q: read %s (%.2f), want %s", c.fact, c.text, got, p, c.want)
		}
	}
}
