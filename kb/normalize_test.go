package kb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// words returns the folded tokens of text, as the tokenizer sees them.
func words(text string) []string {
	var ls [numLangs]int
	buf, toks := tokenize(nil, nil, text, &ls)
	var out []string
	for _, t := range toks {
		out = append(out, string(buf[t.start:t.end]))
	}
	return out
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		// Slack and Discord markup: mentions and channel links vanish, a
		// link's label stays.
		{"<@U024BE7LH> help", []string{"help"}},
		{"<@123> <@!456> <@&789> <!here> hi", []string{"hi"}},
		{"see <#C123|general> now", []string{"see", "now"}},
		{"<https://chatgpt.com|ChatGPT> is down", []string{"chatgpt", "is", "down"}},
		{"<https://example.com/a?b=c> broken", []string{"broken"}},
		{"<:blobsad:12345> <a:party:678> ok", []string{"ok"}},
		// Bare URLs are dropped; a host without a scheme is words.
		{"open https://chatgpt.com/c/abc?x=1 and www.example.com/foo now", []string{"open", "and", "now"}},
		{"chat.openai.com", []string{"chat", "openai", "com"}},
		// HTML tags from a pasted page are separators.
		{"<title>Access denied</title><h1>1020</h1>", []string{"access", "denied", "1020"}},
		{"a < b and 3<4", []string{"a", "b", "and", "3", "4"}},
		// Case and accents fold; ß becomes ss.
		{"Accès REFUSÉ", []string{"acces", "refuse"}},
		{"Größe über", []string{"grosse", "uber"}},
		{"¿Qué significa?", []string{"que", "significa"}},
		// French elision splits, English contractions join.
		{"l'erreur j'ai qu’est-ce", []string{"l", "erreur", "j", "ai", "qu", "est", "ce"}},
		{"can't won't don't", []string{"cant", "wont", "dont"}},
		// Letters and digits split, so codes stand alone.
		{"error1020 gpt4", []string{"error", "1020", "gpt", "4"}},
		{"#1020", []string{"1020"}},
		{"unsupported_country_region_territory", []string{"unsupported", "country", "region", "territory"}},
		// Non-Latin letters are kept as words of their own.
		{"ошибка 1020", []string{"ошибка", "1020"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, words(tt.in)); diff != "" {
			t.Errorf("tokenize(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestTokenizeBoundsWork(t *testing.T) {
	huge := strings.Repeat("access denied ", 200_000) // 2.8 MB
	if n := len(words(huge)); n > maxInput/2 {
		t.Errorf("tokenized %d words of a huge message; input should be cut at %d bytes", n, maxInput)
	}
	long := strings.Repeat("a", 500) + " vpn"
	if diff := cmp.Diff([]string{"vpn"}, words(long)); diff != "" {
		t.Errorf("a 500-letter run should be dropped (-want +got):\n%s", diff)
	}
	// Invalid UTF-8 and control bytes must not confuse the tokenizer.
	if diff := cmp.Diff([]string{"vpn", "1020"}, words("\xff\xfevpn\x00\x01 1020\xc3")); diff != "" {
		t.Errorf("invalid UTF-8 (-want +got):\n%s", diff)
	}
}

// TestTerms checks the whole normalisation: synonyms, stems, phrases and
// typo correction ("~" marks a corrected word, "?" an unknown one).
func TestTerms(t *testing.T) {
	k := mustDefault(t)
	tests := []struct {
		in   string
		want []string
	}{
		{"<@U024BE7LH> chatgtp says acess denied", []string{"chatgpt~", "access~", "denied"}},
		{"Chat GPT access denied", []string{"chatgpt", "denied"}},
		{"Zugriff verweigert", []string{"denied"}},
		{"accès refusé", []string{"denied"}},
		{"acceso denegado", []string{"denied"}},
		{"I'm on NordVPN", []string{"vpn"}},
		{"expressvpn, wireguard or a proxy", []string{"vpn", "vpn", "vpn"}},
		{"incognito InPrivate navigation privée", []string{"private", "private", "private"}},
		{"blocks blocking blocked", []string{"blocked", "blocked", "blocked"}},
		{"cookies Cookie galletas", []string{"cookie", "cookie", "cookie"}},
		{"what can you do", []string{"help"}},
		{"unsupported_country_region_territory", []string{"unsupportedregion"}},
		{"Ctrl+Shift+N", []string{"private"}},
		// Typos: distance 1 from 4 letters, 2 from 8.
		{"eror", []string{"error~"}},
		{"chatgtp", []string{"chatgpt~"}},
		{"acess", []string{"access~"}},
		{"incognitio", []string{"private~"}},
		{"cahce", []string{"cache~"}},
		{"permanant", []string{"permanent~"}},
		{"hlep dwon", []string{"help~", "down~"}},
		// Real words one letter from a term are left alone.
		{"late lunch", []string{"?late", "?lunch"}},
		{"held", []string{"?held"}},
		{"the bus", []string{"?bus"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, k.terms(tt.in)); diff != "" {
			t.Errorf("terms(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestStem(t *testing.T) {
	tests := map[string]string{
		"blocks": "block", "blocked": "block", "blocking": "block", "getting": "get", "stopped": "stop",
		"denies": "deny", "denied": "deny", "caches": "cach", "cache": "cach", "passes": "pass",
		"status": "status", "access": "access", "vpn": "vpn", "1020": "1020", "is": "is",
	}
	for in, want := range tests {
		if got := string(stem(nil, []byte(in))); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOSA(t *testing.T) {
	tests := []struct {
		a, b string
		max  int
		want int
	}{
		{"error", "error", 2, 0},
		{"eror", "error", 2, 1},
		{"chatgtp", "chatgpt", 2, 1}, // transposition counts once
		{"acess", "access", 2, 1},
		{"incognitio", "incognito", 2, 1},
		{"permanant", "permanent", 2, 1},
		{"abcd", "badc", 2, 2},
		{"kitten", "sitting", 3, 3},
		{"short", "muchlongerword", 2, 3}, // gives up past max
	}
	for _, tt := range tests {
		if got := osa([]byte(tt.a), []byte(tt.b), tt.max); got != tt.want {
			t.Errorf("osa(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
		}
	}
}

// TestFuzzyLookupMatchesScan checks the grouped typo index, and the letter
// sets that let it skip candidates, against a plain scan of every target
// under the same rules.
func TestFuzzyLookupMatchesScan(t *testing.T) {
	f := &mustDefault(t).idx.lex.fuzzy
	scan := func(w []byte) (wordInfo, bool) {
		d := maxEdits(len(w))
		best, bestDist := -1, d+1
		for id, tw := range f.words {
			if d == 0 || tw[0] != w[0] {
				continue
			}
			dist := osa(w, tw, d)
			if dist > d || len(w) == 4 && len(tw) == 4 && !isTransposition(w, tw) {
				continue
			}
			if dist < bestDist {
				best, bestDist = id, dist
			}
		}
		if best < 0 {
			return wordInfo{}, false
		}
		return f.info[best], true
	}
	// edits returns w with one letter deleted, swapped with the next,
	// replaced or inserted (from a few letters, and a digit that no target
	// has).
	edits := func(w string) []string {
		var out []string
		for i := range len(w) + 1 {
			if i < len(w) {
				out = append(out, w[:i]+w[i+1:])
			}
			if i+1 < len(w) {
				out = append(out, w[:i]+w[i+1:i+2]+w[i:i+1]+w[i+2:])
			}
			for _, c := range []string{"a", "e", "s", "t", "9"} {
				if i < len(w) {
					out = append(out, w[:i]+c+w[i+1:])
				}
				out = append(out, w[:i]+c+w[i:])
			}
		}
		return out
	}
	checked := 0
	for id := 0; id < len(f.words); id += 9 {
		one := edits(string(f.words[id]))
		probes := slices.Clone(one)
		for i := 0; i < len(one); i += 23 {
			probes = append(probes, edits(one[i])...)
		}
		for _, p := range probes {
			if p == "" {
				continue
			}
			wantInfo, wantOK := scan([]byte(p))
			gotInfo, gotOK := f.lookup([]byte(p))
			if gotInfo != wantInfo || gotOK != wantOK {
				t.Errorf("lookup(%q) = %+v, %v; a scan finds %+v, %v", p, gotInfo, gotOK, wantInfo, wantOK)
			}
			checked++
		}
	}
	t.Logf("%d probes", checked)
}

func TestLang(t *testing.T) {
	k := mustDefault(t)
	tests := map[string]string{
		"chatgpt says access denied":                  "en",
		"Ich bekomme den Fehler 1020 bei ChatGPT":     "de",
		"Warum ist mein Zugriff gesperrt?":            "de",
		"J'ai une erreur 1020 sur ChatGPT":            "fr",
		"Pourquoi l'accès est refusé ?":               "fr",
		"Me sale el error 1020 en ChatGPT":            "es",
		"¿Por qué no puedo entrar?":                   "es",
		"1020":                                        "en",
		"":                                            "en",
		"Größe":                                       "de",
		"<@U024BE7LH> est-ce que tu peux m'aider ?":   "fr",
		"hola, ¿me ayudas con el acceso denegado?":    "es",
		"the site owner may have set restrictions":    "en",
		"Mis datos personales están en riesgo o no ?": "es",
	}
	for in, want := range tests {
		if got := k.Match(in).Lang; got != want {
			t.Errorf("Match(%q).Lang = %q, want %q", in, got, want)
		}
	}
}

// TestMatch pins down behaviour the corpus measures only in bulk: reports,
// pasted pages, off-topic numbers and the threshold.
func TestMatch(t *testing.T) {
	k := mustDefault(t)
	tests := []struct {
		in     string
		id     string
		report bool
	}{
		{"what is 1020?", "what-is", false},
		{"chatgpt says access denied 1020", "fix", true},
		{"I'm on NordVPN and get 1020", "fix-vpn", true},
		{"why do I keep getting 1020?", "causes", true},
		{"how do I fix 1020", "fix", false},
		{"can I get 1020 if I use a VPN?", "fix-vpn", false},
		{"error code: 1020", "fix", true},
		{"Error 1015 Ray ID: 7afa59eb3bb7abf6 You are being rate limited", "other-code", true},
		{"the 1020 bus was late", NoneID, false},
		{"room 1020 is free", NoneID, false},
		{"order #1020 shipped", NoneID, false},
		{"the projector in classroom B1020 doesn't turn on", NoneID, false},
		{"flight LH1020 delayed again", NoneID, false},
		{"chatgpt error1020", "fix", true},
		{"my vpn works again, thanks", NoneID, false},
		{"cleared cookies and it worked, no more 1020", NoneID, false},
		{"our python worker gets 429 from the openai api, how do we handle that?", "other-code", true},
		{"ChatGPT shows 'Error 1020 Access denied'. It worked last week in the office.", "fix", true},
		// The error named next to a time gone by: "worked" is history.
		{"chatgpt 1020 on chrome, worked fine last week", "fix", true},
		{"1020 on chrome since monday, worked fine before", "fix", true},
		{"lol", NoneID, false},
		{"", NoneID, false},
		{"   \n\t", NoneID, false},
	}
	for _, tt := range tests {
		got := k.Match(tt.in)
		if got.ID != tt.id || got.Report != tt.report {
			t.Errorf("Match(%q) = %s report=%v (%.2f), want %s report=%v",
				tt.in, got.ID, got.Report, got.Confidence, tt.id, tt.report)
		}
	}
}

// TestThreshold: an entry whose confidence is below the threshold is not
// given; the message is not understood instead.
func TestThreshold(t *testing.T) {
	k := mustDefault(t)
	const msg = "how do I clear my cookies"
	m := k.Match(msg)
	if m.ID == NoneID || m.Confidence <= 0 {
		t.Fatalf("Match(%q) = %+v, want an entry", msg, m)
	}
	k.Threshold = m.Confidence + 0.01
	if got := k.Match(msg); got.ID != NoneID {
		t.Errorf("with Threshold %.2f, Match(%q) = %s (%.2f), want none", k.Threshold, msg, got.ID, got.Confidence)
	}
}

// TestLexiconForms keeps the word tables consistent: no form claimed by
// two concepts (the first would win silently), and every form resolvable.
func TestLexiconForms(t *testing.T) {
	lx, err := DefaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	concepts := lx.Concepts
	owner := map[string]string{}
	for _, name := range sortedKeys(concepts) {
		for _, f := range append([]string{name}, concepts[name]...) {
			key := strings.Join(words(f), " ")
			if key == "" {
				t.Errorf("concept %q: form %q has no words", name, f)
				continue
			}
			if prev, ok := owner[key]; ok && prev != name {
				t.Errorf("form %q is in both %q and %q", f, prev, name)
			}
			owner[key] = name
		}
	}
	k := mustDefault(t)
	for _, name := range sortedKeys(concepts) {
		if got := k.terms(name); !slices.Equal(got, []string{name}) {
			t.Errorf("concept name %q resolves to %v", name, got)
		}
	}
}

// TestOperatorLexicon: a synonym added in an operator's lexicon file is
// read like the built-in ones, without a rebuild.
func TestOperatorLexicon(t *testing.T) {
	k := mustDefault(t)
	const msg = "does netskope cause 1020?"
	if got := k.terms(msg); !slices.Contains(got, "?netskope") {
		t.Fatalf("before: %v, want netskope unknown", got)
	}
	data := strings.Replace(string(lexiconYAML), "  vpn: [vpn,", "  vpn: [vpn, netskope,", 1)
	lx, err := ParseLexicon([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParseWith(guideYAML, lx)
	if err != nil {
		t.Fatal(err)
	}
	if got := k2.terms(msg); !slices.Contains(got, "vpn") {
		t.Errorf("with the operator's lexicon: %v, want netskope read as vpn", got)
	}
	if m := k2.Match(msg); m.ID != "fix-vpn" {
		t.Errorf("Match(%q) = %+v, want fix-vpn", msg, m)
	}
}

func TestParseLexiconErrors(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"unknown key", "concepts: {vpn: [vpn]}\nsynonyms: {}\n", "synonyms"},
		{"unknown cue", "concepts: {vpn: [vpn]}\ncues: {shouting: [hey]}\n", "shouting"},
		{"unknown language", "concepts: {vpn: [vpn]}\nlanguage_hints: {xx: [foo]}\n", "xx"},
		{"no concepts", "stop_words: [a]\n", "concepts"},
	} {
		_, err := ParseLexicon([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to name %q", tt.name, err, tt.want)
		}
	}
}

func ExampleKB_Match() {
	k, err := Default()
	if err != nil {
		panic(err)
	}
	for _, msg := range []string{
		"<@U024BE7LH> chatgpt says access denied 1020",
		"Mit NordVPN bekomme ich Fehler 1020",
		"what's for lunch",
	} {
		m := k.Match(msg)
		fmt.Printf("%s report=%v lang=%s\n", m.ID, m.Report, m.Lang)
	}
	// Output:
	// fix report=true lang=en
	// fix-vpn report=true lang=de
	// none report=false lang=en
}
