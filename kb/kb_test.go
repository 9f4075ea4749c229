package kb

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func TestDefault(t *testing.T) {
	k := mustDefault(t)
	if k.Threshold != DefaultThreshold {
		t.Errorf("Threshold = %v, want DefaultThreshold %v", k.Threshold, DefaultThreshold)
	}
	var ids []string
	for _, e := range k.Entries() {
		ids = append(ids, e.ID)
	}
	// The guide's own file holds exactly the required entries, in the
	// order of design 3.3.
	if diff := cmp.Diff(RequiredIDs(), ids); diff != "" {
		t.Errorf("entry ids (-want +got):\n%s", diff)
	}
	for _, id := range RequiredIDs() {
		if !k.Has(id) {
			t.Errorf("Has(%q) = false", id)
		}
		e, ok := k.Entry(id)
		if !ok || e.ID != id {
			t.Errorf("Entry(%q) = %q, %v", id, e.ID, ok)
		}
	}
	if k.Has(NoneID) {
		t.Errorf("Has(%q) = true; none is not an entry", NoneID)
	}
	if _, ok := k.Entry("fix-foo"); ok {
		t.Error(`Entry("fix-foo") found an entry`)
	}
}

func TestEntriesIsACopy(t *testing.T) {
	k := mustDefault(t)
	es := k.Entries()
	es[0] = Entry{ID: "changed"}
	if got := k.Entries()[0].ID; got != RequiredIDs()[0] {
		t.Errorf("after changing the returned slice, first entry is %q", got)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kb.yaml")
	// An operator's copy may add entries next to the required ones.
	extra := guideWith(t, func(es []map[string]any) []map[string]any {
		return append(es, map[string]any{
			"id": "office-proxy", "title": "Our office proxy", "body": "Ask IT to allow chatgpt.com.",
			"examples": []string{"does the office proxy block chatgpt"}, "see": []string{"fix-vpn"},
		})
	})
	if err := os.WriteFile(path, extra, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if !k.Has("office-proxy") {
		t.Error("added entry missing")
	}

	_, err = LoadFile(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) error = %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("entries: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadFile(bad) error = %v, want it to name the file", err)
	}
}

// guideWith returns the embedded guide with its entries changed by edit.
func guideWith(t *testing.T, edit func([]map[string]any) []map[string]any) []byte {
	t.Helper()
	var f struct {
		Entries []map[string]any `yaml:"entries"`
	}
	if err := yaml.Unmarshal(guideYAML, &f); err != nil {
		t.Fatal(err)
	}
	f.Entries = edit(f.Entries)
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// editEntry returns an edit that applies fn to the entry with the given id.
func editEntry(id string, fn func(map[string]any)) func([]map[string]any) []map[string]any {
	return func(es []map[string]any) []map[string]any {
		for _, e := range es {
			if e["id"] == id {
				fn(e)
			}
		}
		return es
	}
}

// TestParseErrors covers every mistake Parse reports in a guide, each
// named by entry and field, and all of them at once. It is one table, long
// because there are that many mistakes, each case two or three lines.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string // substrings the error must contain
	}{
		{
			name: "bad YAML",
			data: []byte("entries:\n  - id: [what-is\n"),
			want: []string{"invalid YAML"},
		},
		{
			name: "empty file",
			data: nil,
			want: []string{"no entries"},
		},
		{
			name: "not a mapping",
			data: []byte("- id: what-is\n"),
			want: []string{"top level must be a mapping"},
		},
		{
			name: "unknown top-level key",
			data: append([]byte("version: 2\n"), guideYAML...),
			want: []string{`unknown top-level field "version"`},
		},
		{
			name: "unknown entry key",
			data: guideWith(t, editEntry("fix-vpn", func(e map[string]any) { e["tittle"] = "typo" })),
			want: []string{`entry "fix-vpn": unknown field "tittle"`},
		},
		{
			name: "wrong type",
			data: guideWith(t, editEntry("fix", func(e map[string]any) { e["examples"] = map[string]any{"a": 1} })),
			want: []string{`entry "fix": field "examples"`},
		},
		{
			name: "duplicate id",
			data: guideWith(t, func(es []map[string]any) []map[string]any {
				return append(es, map[string]any{"id": "fix-vpn", "title": "t", "body": "b", "examples": []string{"x"}})
			}),
			want: []string{`entry 16 ("fix-vpn"): duplicate id`},
		},
		{
			name: "missing required entry",
			data: guideWith(t, func(es []map[string]any) []map[string]any {
				return slices.DeleteFunc(es, func(e map[string]any) bool { return e["id"] == "fix-api" })
			}),
			want: []string{`entry "fix-api": missing`},
		},
		{
			name: "missing id",
			data: guideWith(t, func(es []map[string]any) []map[string]any {
				return append(es, map[string]any{"title": "t", "body": "b", "examples": []string{"x"}})
			}),
			want: []string{`entry 16: field "id" is required`},
		},
		{
			name: "empty title",
			data: guideWith(t, editEntry("fix-vpn", func(e map[string]any) { e["title"] = " " })),
			want: []string{`entry "fix-vpn": field "title" is required`},
		},
		{
			name: "empty body",
			data: guideWith(t, editEntry("status", func(e map[string]any) { delete(e, "body") })),
			want: []string{`entry "status": field "body" is required`},
		},
		{
			name: "no examples or keywords",
			data: guideWith(t, editEntry("help", func(e map[string]any) { delete(e, "examples"); delete(e, "keywords") })),
			want: []string{`entry "help": field "examples": give at least one example or keyword`},
		},
		{
			name: "bad keyword weight",
			data: guideWith(t, editEntry("help", func(e map[string]any) { e["keywords"] = map[string]any{"help": 0} })),
			want: []string{`entry "help": field "keywords": weight of "help"`},
		},
		{
			name: "unknown see",
			data: guideWith(t, editEntry("fix", func(e map[string]any) { e["see"] = []string{"fix-vpn", "fix-foo"} })),
			want: []string{`entry "fix": see: unknown entry "fix-foo"`},
		},
		{
			name: "reserved id",
			data: guideWith(t, func(es []map[string]any) []map[string]any {
				return append(es, map[string]any{"id": "none", "title": "t", "body": "b", "examples": []string{"x"}})
			}),
			want: []string{`entry "none": field "id": "none" is reserved`},
		},
		{
			// Every problem is reported at once, not just the first.
			name: "several problems",
			data: guideWith(t, func(es []map[string]any) []map[string]any {
				es = editEntry("fix-vpn", func(e map[string]any) { e["title"] = "" })(es)
				es = editEntry("fix", func(e map[string]any) { e["see"] = []string{"fix-foo"} })(es)
				return slices.DeleteFunc(es, func(e map[string]any) bool { return e["id"] == "prevent" })
			}),
			want: []string{
				`entry "fix-vpn": field "title" is required`,
				`entry "fix": see: unknown entry "fix-foo"`,
				`entry "prevent": missing`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse(tt.data)
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want an error", len(k.Entries()))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestGuideContent checks that every part of the guide made it into the
// bodies: the eight causes, all fix steps and sub-steps, the five tips, the
// FAQ answers, and the bot's own entries.
func TestGuideContent(t *testing.T) {
	k := mustDefault(t)
	want := map[string][]string{
		"what-is": {"1020", "can't use", "blocking", "IP or region", "suspicious", "Security rules",
			"network", "server problem", "work out what is blocking", "diagnose"},
		"causes": {"IP block", "Network issues", "Browser cache", "Browser extensions", "Wrong credentials",
			"VPN or proxy", "Temporary server issues", "OpenAI policy violation", "restricted region", "diagnose"},
		"fix": {"internet connection", "login details", "1. **VPN**", "2. **Browser**", "3. **Credentials**",
			"4. **Technical**", "5. **Other**", "restricted region", "cache and cookies", "extensions",
			"private window", "Ctrl+Shift+N", "Ctrl+Shift+P", "typos", "API key", "endpoint URL", "support page",
			"wait a while", "site owner"},
		"fix-vpn": {"Disconnect", "download", "Install", "connect to a server in a different location",
			"Try ChatGPT again", "restricted region"},
		"fix-browser": {"settings or preferences", "privacy or history", "clear browsing data", "Confirm",
			"extensions or add-ons manager", "Turn off", "Restart the browser", "incognito or private window",
			"Ctrl+Shift+N", "Ctrl+Shift+P"},
		"fix-credentials": {"username and password", "typos", "permissions", "contact OpenAI support"},
		"fix-api":         {"Sign in", "API section", "API key", "endpoint URL", "OpenAI's documentation", "again"},
		"fix-support": {"OpenAI's support page", "Fill in", "describe", "Submit", "wait", "Site owner",
			"contact details", "description", "instructions"},
		"fix-wait":  {"temporary", "some time", "once more", "status"},
		"prevent":   {"1. **Use reliable networks**", "2. **", "3. **", "4. **", "5. **", "API key", "latest version", "usage policies"},
		"data-risk": {"**No.**", "access", "personal data", "official"},
		"permanent": {"**Usually not.**", "temporary", "support"},
		"status":    {"status", "up, down, rate limited", "blocked from here"},
		"help":      {"Ask a question", "Report the error", "**status**", "**start over**", "**cancel**"},
		"other-code": {"1015", "rate limiting", "1010", "signature", "1012", "malicious activity", "1006, 1007, 1008",
			"banned your IP", "429", "usage limits", "unsupported_country_region_territory", "VPN", "Just a moment",
			"Verify you are human", "JavaScript and cookies"},
	}
	for id, phrases := range want {
		e, ok := k.Entry(id)
		if !ok {
			t.Errorf("entry %q missing", id)
			continue
		}
		for _, p := range phrases {
			if !strings.Contains(e.Body, p) {
				t.Errorf("entry %q: body lacks %q", id, p)
			}
		}
	}
}

// markdownLite is one line of a body: a paragraph, a bullet or a numbered
// item, nested by two spaces at a time.
var markdownLite = regexp.MustCompile(`^(  )*(- |\d+\. )?\S`)

// TestBodiesAreChatReady keeps bodies short and in the Markdown-lite the
// adapters translate.
func TestBodiesAreChatReady(t *testing.T) {
	k := mustDefault(t)
	for _, e := range k.Entries() {
		if n := len(e.Body); n > 1500 {
			t.Errorf("entry %q: body is %d characters, want at most 1500 for chat", e.ID, n)
		}
		if strings.Count(e.Body, "**")%2 != 0 {
			t.Errorf("entry %q: unbalanced ** in body", e.ID)
		}
		for _, line := range strings.Split(strings.TrimRight(e.Body, "\n"), "\n") {
			if !markdownLite.MatchString(line) || strings.Contains(line, "\t") || strings.HasPrefix(line, "#") {
				t.Errorf("entry %q: line is not Markdown-lite: %q", e.ID, line)
			}
		}
	}
}

// TestExamplesInEveryLanguage checks that each entry has examples in the
// four languages, as Match guesses them.
func TestExamplesInEveryLanguage(t *testing.T) {
	k := mustDefault(t)
	for _, e := range k.Entries() {
		langs := map[string]bool{}
		for _, ex := range e.Examples {
			langs[k.Match(ex).Lang] = true
		}
		for _, l := range []string{"en", "de", "fr", "es"} {
			if !langs[l] {
				t.Errorf("entry %q has no example recognised as %q", e.ID, l)
			}
		}
	}
}

// TestExamplesMatchTheirEntry: an example that matches another entry is a
// bad example (or a lexicon gap) and would teach the index the wrong thing.
func TestExamplesMatchTheirEntry(t *testing.T) {
	k := mustDefault(t)
	for _, e := range k.Entries() {
		for _, ex := range e.Examples {
			if got := k.Match(ex); got.ID != e.ID {
				t.Errorf("example %q of %q matches %q (%.2f)", ex, e.ID, got.ID, got.Confidence)
			}
		}
	}
}

// TestEverySectionIsReachable asks for each entry by its title.
func TestEverySectionIsReachable(t *testing.T) {
	k := mustDefault(t)
	for _, e := range k.Entries() {
		q := e.Title + "?"
		if got := k.Match(q); got.ID != e.ID {
			t.Errorf("Match(%q) = %q (%.2f), want %q", q, got.ID, got.Confidence, e.ID)
		}
	}
}

// TestFAQsMapToEntries: the guide's FAQ questions land on the entries that
// answer them.
func TestFAQsMapToEntries(t *testing.T) {
	k := mustDefault(t)
	faqs := map[string]string{
		"What is ChatGPT Error Code 1020: Access Denied?":    "what-is",
		"Why am I seeing this error?":                        "causes",
		"How can I resolve the 1020 error?":                  "fix",
		"Is my data at risk when I see this error?":          "data-risk",
		"Can this error be permanent?":                       "permanent",
		"How to Fix ChatGPT Error Code 1020: Access Denied":  "fix",
		"How to Prevent the ChatGPT error in Future?":        "prevent",
		"What causes ChatGPT Error Code 1020 Access Denied?": "causes",
	}
	for q, want := range faqs {
		if got := k.Match(q); got.ID != want {
			t.Errorf("Match(%q) = %q, want %q", q, got.ID, want)
		}
	}
}
