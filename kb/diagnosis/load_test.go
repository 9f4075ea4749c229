package diagnosis

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// entries are the knowledge-base entry ids of docs/contracts.md, section 4.
var entries = []string{
	"what-is", "causes", "fix", "fix-vpn", "fix-browser", "fix-credentials", "fix-api",
	"fix-support", "fix-wait", "prevent", "data-risk", "permanent", "status", "help",
	"other-code", "none",
}

func entryExists(id string) bool { return slices.Contains(entries, id) }

// TestDefaultContract pins what other packages rely on: the design's fact
// and cause ids, the signatures' meaning and steps that exist.
func TestDefaultContract(t *testing.T) {
	m, err := Default(entryExists)
	if err != nil {
		t.Fatal(err)
	}
	type factView struct {
		ID      string
		Askable bool
		Choices []string
	}
	var gotFacts []factView
	for _, f := range m.Facts() {
		gotFacts = append(gotFacts, factView{f.ID, f.Askable, f.Choices})
		if f.Askable && !strings.HasSuffix(f.Question, "?") {
			t.Errorf("fact %q: question %q is not a question", f.ID, f.Question)
		}
	}
	ync := []string{"yes", "no", "not sure"}
	wantFacts := []factView{
		{"vpn", true, ync}, {"others_affected", true, ync}, {"private_window", true, ync},
		{"extensions_off", true, ync}, {"other_network", true, ync}, {"same_network_others", true, ync},
		{"api", true, ync}, {"login", true, ync}, {"policy_notice", true, ync}, {MonitorDown, false, nil},
		{MonitorNetwork, false, nil},
	}
	if diff := cmp.Diff(wantFacts, gotFacts); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}

	type causeView struct {
		ID        string
		Signature []Alternative
		Steps     []string
	}
	var gotCauses []causeView
	for _, c := range m.Causes() {
		gotCauses = append(gotCauses, causeView{c.ID, c.Signature, c.Steps})
		if c.Title == "" || c.Explanation == "" {
			t.Errorf("cause %q: title or explanation empty", c.ID)
		}
	}
	y := func(f string) Condition { return Condition{f, Yes} }
	wantCauses := []causeView{
		{"vpn-proxy", []Alternative{{y("vpn")}}, []string{"fix-vpn", "fix-support"}},
		{"browser-cache", []Alternative{{y("private_window"), {"extensions_off", NotYes}}}, []string{"fix-browser"}},
		{"extensions", []Alternative{{y("private_window"), y("extensions_off")}}, []string{"fix-browser"}},
		{"server", []Alternative{{y("others_affected")}, {y(MonitorDown)}}, []string{"fix-wait", "status"}},
		{"network", []Alternative{{y("other_network"), y("same_network_others")}}, []string{"fix-support"}},
		{"ip-block", []Alternative{{y("api")}, {y("other_network"), {"same_network_others", NotYes}}}, []string{"fix-vpn", "fix-support"}},
		{"credentials", []Alternative{{y("login")}}, []string{"fix-credentials", "fix-support"}},
		{"policy", []Alternative{{y("policy_notice")}}, []string{"fix-support"}},
		{"unknown", nil, []string{"fix", "fix-support"}},
	}
	if diff := cmp.Diff(wantCauses, gotCauses); diff != "" {
		t.Errorf("causes (-want +got):\n%s", diff)
	}

	// The mix the design asks for: VPN and browser causes most likely, then
	// server, network, ip-block; credentials and policy rare.
	w := func(id string) float64 { c, _ := m.Cause(id); return c.Weight }
	order := []string{"vpn-proxy", "browser-cache", "server", "network", "ip-block", "credentials", "policy"}
	for i := 1; i < len(order); i++ {
		if w(order[i-1]) <= w(order[i]) {
			t.Errorf("weight(%s) = %v <= weight(%s) = %v", order[i-1], w(order[i-1]), order[i], w(order[i]))
		}
	}
}

// TestAccessorsCopy checks that callers cannot change the shared model
// through what accessors return.
func TestAccessorsCopy(t *testing.T) {
	m := mustDefault(t)
	f, _ := m.Fact("vpn")
	f.Choices[0] = "changed"
	c, _ := m.Cause("ip-block")
	c.Steps[0] = "changed"
	c.Signature[0][0].Value = No
	c.StepsWhen[0].Steps[0] = "changed"
	f2, _ := m.Fact("vpn")
	c2, _ := m.Cause("ip-block")
	if f2.Choices[0] != "yes" || c2.Steps[0] != "fix-vpn" || c2.Signature[0][0].Value != Yes || c2.StepsWhen[0].Steps[0] != "fix-api" {
		t.Errorf("model changed through accessor results: %+v %+v", f2, c2)
	}
	if _, ok := m.Fact("nope"); ok {
		t.Error(`Fact("nope") found`)
	}
	if _, ok := m.Cause("nope"); ok {
		t.Error(`Cause("nope") found`)
	}
	if got := f2.Label(Unsure); got != "not sure" {
		t.Errorf("Label(unsure) = %q, want %q", got, "not sure")
	}
}

// edit returns the default model text with each old replaced by new,
// failing when old does not occur exactly once (the test would silently
// test nothing otherwise).
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := string(defaultYAML)
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(s, pairs[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times", pairs[i], n)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// parseError is a model text with mistakes (yaml edits the default one)
// and what Parse's error must say about them.
type parseError struct {
	name string
	yaml func(t *testing.T) string
	want []string
}

// TestParseErrors covers every validation error path: each error names the
// fact or cause and the field, and all problems are reported together. The
// cases are grouped as the model file is: the document, facts, causes, and
// the language and error page.
func TestParseErrors(t *testing.T) {
	for _, group := range []struct {
		name  string
		cases []parseError
	}{
		{"document", documentErrors}, {"facts", factErrors}, {"causes", causeErrors}, {"language", languageErrors},
	} {
		for _, tt := range group.cases {
			t.Run(group.name+"/"+tt.name, func(t *testing.T) {
				_, err := Parse([]byte(tt.yaml(t)), entryExists)
				if err == nil {
					t.Fatal("Parse succeeded, want an error")
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q; got:\n%v", w, err)
					}
				}
			})
		}
	}
}

// documentErrors are mistakes in the YAML itself and its keys.
var documentErrors = []parseError{
	{"empty", func(*testing.T) string { return "" }, []string{"empty document"}},
	{"syntax", func(t *testing.T) string { return edit(t, "\nfacts:\n", "\nfacts: [\n") }, []string{"yaml:"}},
	{"two documents", func(*testing.T) string { return string(defaultYAML) + "---\nfacts: []\n" },
		[]string{"more than one YAML document"}},
	{"unknown top-level key", func(*testing.T) string { return string(defaultYAML) + "extra: 1\n" },
		[]string{"field extra not found"}},
	{"unknown fact key", func(t *testing.T) string {
		return edit(t, "    question: Are you connected", "    questoin: Are you connected")
	}, []string{"field questoin not found"}},
	{"unknown cause key", func(t *testing.T) string { return edit(t, "    weight: 32\n", "    weight: 32\n    priority: 1\n") },
		[]string{"field priority not found"}},
	{"alternative not a mapping", func(t *testing.T) string {
		return edit(t, "      - {policy_notice: yes}", "      - [policy_notice]")
	}, []string{"want a mapping of fact: value"}},
	{"fact twice in an alternative", func(t *testing.T) string {
		return edit(t, "{private_window: yes, extensions_off: yes}", "{private_window: yes, private_window: no}")
	}, []string{`fact "private_window" twice in one alternative`}},
}

// factErrors are mistakes in the facts.
var factErrors = []parseError{
	{"fact id missing", func(t *testing.T) string { return edit(t, "  - id: api\n", "  - id: \"\"\n") },
		[]string{`facts[6]: id: missing`, `facts: "api" missing`, `cause "ip-block": signature[0]: unknown fact "api"`,
			`cause "ip-block": steps_when[0]: when: unknown fact "api"`}},
	{"fact id malformed", func(t *testing.T) string { return edit(t, "  - id: login\n", "  - id: Log-in\n") },
		[]string{`fact "Log-in": id: want lower-case letters, digits and _`}},
	{"fact id twice", func(t *testing.T) string { return edit(t, "  - id: login\n", "  - id: vpn\n") },
		[]string{`fact "vpn": id: defined twice`, `facts: "login" missing`}},
	{"no facts", func(t *testing.T) string {
		s := string(defaultYAML)
		return "facts: []\n" + s[strings.Index(s, "\ncauses:"):]
	}, []string{"facts: none defined"}},
	{"too many facts", func(t *testing.T) string {
		return edit(t, "\n  # Not asked: the caller sets monitor_down", "\n"+manyFacts()+"  # Not asked: the caller sets monitor_down")
	}, []string{"facts: 33 defined, at most 32 allowed"}},
	{"question missing", func(t *testing.T) string {
		return edit(t, "    question: Are you connected through a VPN or proxy (a work proxy counts)?\n", "")
	}, []string{`fact "vpn": question: missing`}},
	{"choices", func(t *testing.T) string {
		return edit(t,
			"    question: Are you connected through a VPN or proxy (a work proxy counts)?\n    choices: [yes, no, not sure]",
			"    question: Are you connected through a VPN or proxy (a work proxy counts)?\n    choices: [yes, no]",
			"    question: Do people on other networks (at home, on mobile data) see the error too?\n    choices: [yes, no, not sure]",
			"    question: Do people on other networks (at home, on mobile data) see the error too?\n    choices: [yes, \"Yes!\", \"?\"]")
	}, []string{`fact "vpn": choices: want 3 labels (for yes, no and unsure), got 2`,
		`fact "others_affected": choices[1]: "Yes!" listed twice`, `fact "others_affected": choices[2]: empty`}},
	{"set_by", func(t *testing.T) string {
		return edit(t, "monitor_down\n    set_by: caller", "monitor_down\n    set_by: monitor")
	},
		[]string{`fact "monitor_down": set_by: "monitor", want user or caller`}},
	{"caller fact with question fields", func(t *testing.T) string {
		return edit(t, "monitor_down\n    set_by: caller", "monitor_down\n    set_by: caller\n    question: Is it down?\n    choices: [yes, no, not sure]\n"+
			"    cues: {yes: [down]}\n    answers: {yes: [down]}\n    subject: [outage]")
	}, []string{`fact "monitor_down": question: a fact set by the caller is never asked`,
		`fact "monitor_down": choices: a fact set by the caller is never asked`,
		`fact "monitor_down": cues: a fact set by the caller is not read from text`,
		`fact "monitor_down": answers: a fact set by the caller is never asked`,
		`fact "monitor_down": subject: a fact set by the caller is never asked`}},
	{"subject of two words", func(t *testing.T) string {
		return edit(t, "    subject: [vpn, vpns,", "    subject: [my vpn, vpns,")
	}, []string{`fact "vpn": subject: "my vpn", want one word`}},
	{"monitor_down asked", func(t *testing.T) string {
		return edit(t, "monitor_down\n    set_by: caller", "monitor_down\n    question: Is it down?\n    choices: [yes, no, not sure]")
	}, []string{`fact "monitor_down": set_by: want caller`}},
	{"monitor_network asked", func(t *testing.T) string {
		return edit(t, "monitor_network\n    set_by: caller", "monitor_network\n    question: Is it blocked here?\n    choices: [yes, no, not sure]")
	}, []string{`fact "monitor_network": set_by: want caller`}},
	{"cues", func(t *testing.T) string {
		return edit(t,
			"      yes: [vpn, vpns,", "      maybe: [vpn]\n      yes: [vpn, vpn, no vpn, \"?\", vpns,",
			"      yes: [api, a script,", "      sometimes: [api]\n      yes: [api, a script,",
			"      yes: [everyone, everybody,", "      unsure: [who knows]\n      yes: [everyone, everybody,")
	}, []string{`fact "vpn": cues: "maybe": want yes or no`, `fact "vpn": cues: yes[1]: "vpn" listed twice`,
		`fact "vpn": cues: yes[2]: "no vpn" is also listed under no`, `fact "vpn": cues: yes[3]: no words in "?"`,
		`fact "api": answers: "sometimes": want yes, no or unsure`, `fact "others_affected": cues: "unsure": want yes or no`}},
}

// manyFacts is 22 facts more, enough to pass the limit of 32.
func manyFacts() string {
	var b strings.Builder
	for i := range 22 {
		fmt.Fprintf(&b, "  - id: extra_%d\n    question: Extra %d?\n    choices: [yes, no, not sure]\n", i, i)
	}
	return b.String()
}

// causeErrors are mistakes in the causes.
var causeErrors = []parseError{
	{"cause id missing", func(t *testing.T) string { return edit(t, "  - id: policy\n", "  - id: \"\"\n") },
		[]string{`causes[7]: id: missing`, `causes: "policy" missing`}},
	{"cause id not in design", func(t *testing.T) string { return edit(t, "  - id: policy\n", "  - id: banned\n") },
		[]string{`cause "banned": id: not a design cause`, `causes: "policy" missing`}},
	{"cause id twice", func(t *testing.T) string { return edit(t, "  - id: policy\n", "  - id: credentials\n") },
		[]string{`cause "credentials": id: defined twice`}},
	{"title and explanation missing", func(t *testing.T) string {
		return edit(t, "    title: Your VPN or proxy\n", "",
			"    explanation: Cloudflare blocks many VPN and proxy addresses, so ChatGPT refuses requests that come through them.\n", "")
	}, []string{`cause "vpn-proxy": title: missing`, `cause "vpn-proxy": explanation: missing`}},
	{"steps", func(t *testing.T) string {
		return edit(t, "    steps: [fix-vpn, fix-support]\n\n  - id: browser-cache", "    steps: [fix-vpn, fix-vpn, \"\", fix-vnp]\n\n  - id: browser-cache",
			"    steps: [fix-support]\n\n  - id: unknown", "\n  - id: unknown")
	}, []string{`cause "vpn-proxy": steps[1]: "fix-vpn" listed twice`, `cause "vpn-proxy": steps[2]: empty`,
		`cause "vpn-proxy": steps[3]: unknown knowledge-base entry "fix-vnp"`, `cause "policy": steps: missing`}},
	{"unknown takes no weight or signature", func(t *testing.T) string {
		return edit(t, "    steps: [fix, fix-support]", "    steps: [fix, fix-support]\n    weight: 1\n    signature: [{vpn: yes}]\n"+
			"    steps_when: [{when: {vpn: yes}, steps: [fix]}]")
	}, []string{`cause "unknown": weight: unknown takes none`, `cause "unknown": signature: unknown takes none`,
		`cause "unknown": steps_when: unknown takes none`}},
	{"weight", func(t *testing.T) string {
		return edit(t, "    weight: 32\n", "    weight: 0\n", "    weight: 18\n", "    weight: -1\n", "    weight: 14\n", "    weight: .inf\n")
	}, []string{`cause "vpn-proxy": weight: want a positive number, got 0`, `cause "browser-cache": weight: want a positive number, got -1`,
		`cause "extensions": weight: want a positive number, got +Inf`}},
	{"signature missing", func(t *testing.T) string { return edit(t, "    signature:\n      - {policy_notice: yes}\n", "") },
		[]string{`cause "policy": signature: missing (the cause could never be concluded)`}},
	{"signature alternatives", func(t *testing.T) string {
		return edit(t,
			"      - {policy_notice: yes}", "      - {}",
			"      - {login: yes}", "      - {logged_in: yes}",
			"      - {vpn: yes}", "      - {vpn: maybe}",
			"      - {monitor_down: yes}", "      - {monitor_down: \"!yes\"}",
			"      - {others_affected: yes}", "      - {others_affected: \"!no\"}")
	}, []string{`cause "policy": signature[0]: empty (it would always hold)`,
		`cause "credentials": signature[0]: unknown fact "logged_in"`,
		`cause "vpn-proxy": signature[0]: fact "vpn": value "maybe", want yes, no, unsure or "!yes"`,
		`cause "server": signature[1]: fact "monitor_down": value "!yes" can never hold`,
		`cause "server": signature[0]: fact "others_affected": value "!no"`}},
	{"steps_when", func(t *testing.T) string {
		return edit(t, "      - when: {api: yes}\n        steps: [fix-api, fix-support]", "      - when: {apy: yes}\n        steps: [fix-apy]")
	}, []string{`cause "ip-block": steps_when[0]: when: unknown fact "apy"`,
		`cause "ip-block": steps_when[0]: steps[0]: unknown knowledge-base entry "fix-apy"`}},
}

// languageErrors are mistakes in the language lists and the error page.
var languageErrors = []parseError{
	{"language answers", func(t *testing.T) string {
		return edit(t, "  yes: [yes, y,", "  yes: [\"?\", nope, yes, y,", "  unsure: [not sure,", "  unsure: [nope, not sure,")
	}, []string{`language: yes[0]: no words in "?"`, `language: no[2]: "nope" is also in language: yes`,
		`language: unsure[0]: "nope" is also in language: yes`}},
	{"language answers missing", func(t *testing.T) string {
		s := edit(t, "  yes: [yes, y,", "  yes: []\n  x_yes: [yes, y,")
		return strings.Replace(s, "  x_yes:", "  # x_yes:", 1)
	}, []string{"yaml:"}},
	{"language words", func(t *testing.T) string {
		return edit(t, "  negations: [not,", "  negations: [do not, not,", "  question_starts: [is,", "  question_starts: [\"\", is,")
	}, []string{`language: negations[0]: want a single word, got "do not"`, `language: question_starts[0]: want a single word, got ""`}},
	{"language required lists", func(t *testing.T) string {
		s := string(defaultYAML)
		i := strings.Index(s, "\nlanguage:")
		j := strings.Index(s, "\nerror_page:")
		return s[:i] + "\nlanguage:\n  fillers: [well]\n" + s[j:]
	}, []string{"language: yes: missing", "language: no: missing", "language: unsure: missing",
		"language: negations: missing", "language: question_starts: missing"}},
	{"error page", func(t *testing.T) string {
		s := string(defaultYAML)
		i := strings.Index(s, "\nerror_page:")
		return s[:i] + "\nerror_page:\n  fields: [\"...\"]\n"
	}, []string{"error_page: phrases: missing", `error_page: fields[0]: no words in "..."`}},
	{"error page phrase", func(t *testing.T) string { return edit(t, "    - access denied\n", "    - \"--\"\n") },
		[]string{`error_page: phrases[0]: no words in "--"`}},
}

// TestParseUnquotedNotYes accepts !yes written without quotes, which YAML
// reads as a tag; an operator should not have to know that.
func TestParseUnquotedNotYes(t *testing.T) {
	// In block style: in a flow mapping ("{a: !yes}") YAML itself rejects it.
	m, err := Parse([]byte(edit(t, `      - {private_window: yes, extensions_off: "!yes"}`,
		"      - private_window: yes\n        extensions_off: !yes")), entryExists)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := m.Cause("browser-cache")
	want := []Alternative{{{"private_window", Yes}, {"extensions_off", NotYes}}}
	if diff := cmp.Diff(want, c.Signature); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
}

// TestParseNilEntryExists skips the entry check, for callers without a
// knowledge base at hand.
func TestParseNilEntryExists(t *testing.T) {
	if _, err := Parse([]byte(edit(t, "    steps: [fix-support]\n\n  - id: unknown", "    steps: [no-such-entry]\n\n  - id: unknown")), nil); err != nil {
		t.Fatal(err)
	}
}

// TestLoadFile loads an operator's copy and reports the path on errors.
func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	reworded := strings.Replace(string(defaultYAML), "Are you connected through a VPN or proxy (a work proxy counts)?", "VPN or proxy on?", 1)
	if err := os.WriteFile(good, []byte(reworded), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadFile(good, entryExists)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := m.Fact("vpn"); f.Question != "VPN or proxy on?" {
		t.Errorf("question = %q, want the operator's wording", f.Question)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("facts: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad, entryExists)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadFile(bad) = %v, want ErrInvalid naming %s", err, bad)
	}

	_, err = LoadFile(filepath.Join(dir, "missing.yaml"), entryExists)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("LoadFile(missing) = %v, want fs.ErrNotExist", err)
	}
}

// TestCheckEntriesAfterParse: a model parsed before the knowledge base is
// checked against it afterwards, with the same wording as Parse.
func TestCheckEntriesAfterParse(t *testing.T) {
	m, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckEntries(func(string) bool { return true }); err != nil {
		t.Errorf("all entries known: %v", err)
	}
	err = m.CheckEntries(func(id string) bool { return id != "fix-vpn" })
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `cause "vpn-proxy": steps[0]: unknown knowledge-base entry "fix-vpn"`) {
		t.Errorf("missing fix-vpn: %v", err)
	}
	// Parse reports the same problem the same way.
	_, perr := Default(func(id string) bool { return id != "fix-vpn" })
	if perr == nil || !strings.Contains(perr.Error(), `cause "vpn-proxy": steps[0]: unknown knowledge-base entry "fix-vpn"`) {
		t.Errorf("Parse wording differs: %v", perr)
	}
	m.Prepare() // idempotent with the plan Next builds
	if step := m.Next(map[string]string{}, nil, nil); step.Fact == "" {
		t.Errorf("after Prepare, the first step should be a question: %+v", step)
	}
}
