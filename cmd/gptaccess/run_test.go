package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env returns a getenv over vars with a private database and no network:
// the monitor is off and the HTTP server on a free port.
func env(t *testing.T, vars ...string) func(string) string {
	t.Helper()
	m := map[string]string{
		"GPTACCESS_DB":              filepath.Join(t.TempDir(), "gptaccess.db"),
		"GPTACCESS_MONITOR_ENABLED": "false",
		"GPTACCESS_HTTP_LISTEN":     "127.0.0.1:0",
	}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return func(k string) string { return m[k] }
}

func runCmd(t *testing.T, getenv func(string) string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"gptaccess"}, args...), getenv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// TestChatJSONContract pins docs/contracts.md, sections 1 and 2: one JSON line per input line,
// nothing else on stdout, exactly the contract's keys, question and
// diagnosis filled during a diagnosis.
func TestChatJSONContract(t *testing.T) {
	input := []string{
		"what is error 1020?",
		"I'm on NordVPN and get error 1020 on chatgpt",
		"no",
		"",
		"cancel",
		"the 1020 bus was late",
	}
	out, stderr, err := runCmd(t, env(t), strings.Join(input, "\n")+"\n", "chat", "--json")
	if err != nil {
		t.Fatalf("chat: %v\nstderr: %s", err, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(input) {
		t.Fatalf("got %d output lines for %d input lines:\n%s", len(lines), len(input), out)
	}
	wantKeys := []string{"confidence", "diagnosis", "entry", "error_page", "question", "text"}
	var replies []map[string]any
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, l)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("line %d keys (-want +got):\n%s", i+1, diff)
		}
		replies = append(replies, m)
	}
	if replies[0]["entry"] != "what-is" || replies[0]["question"] != nil || replies[0]["diagnosis"] != nil || replies[0]["error_page"] != nil {
		t.Errorf("plain question: %v", replies[0])
	}
	d, ok := replies[1]["diagnosis"].(map[string]any)
	if !ok || d["cause"] != "vpn-proxy" || !reflect.DeepEqual(d["steps"], []any{"fix-vpn", "fix-support"}) {
		t.Errorf("volunteered VPN: diagnosis = %v, want vpn-proxy [fix-vpn fix-support]", replies[1]["diagnosis"])
	}
	q, ok := replies[1]["question"].(map[string]any)
	if !ok || q["fact"] != "fixed" || !reflect.DeepEqual(q["choices"], []any{"yes", "no"}) {
		t.Errorf("volunteered VPN: question = %v, want the did-this-fix-it question", replies[1]["question"])
	}
	// "no" moves on to the next candidate: a question about another fact.
	q, ok = replies[2]["question"].(map[string]any)
	if !ok || q["fact"] == "fixed" || q["fact"] == "vpn" || len(q["choices"].([]any)) != 3 {
		t.Errorf("after no: question = %v, want a new fact question", replies[2]["question"])
	}
	if replies[5]["entry"] != "none" {
		t.Errorf("off-topic 1020: entry = %v, want none", replies[5]["entry"])
	}
}

func TestAskJSON(t *testing.T) {
	for _, args := range [][]string{
		{"ask", "--json", "how do I clear my cookies for chatgpt?"},
		{"ask", "how do I clear my cookies for chatgpt?", "--json"},
	} {
		out, stderr, err := runCmd(t, env(t), "", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		var r struct {
			Entry      string  `json:"entry"`
			Confidence float64 `json:"confidence"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, out)
		}
		if r.Entry != "fix-browser" || r.Confidence <= 0 || r.Confidence > 1 {
			t.Errorf("%v: entry %q confidence %v, want fix-browser in (0,1]", args, r.Entry, r.Confidence)
		}
		if strings.Count(out, "\n") != 1 {
			t.Errorf("%v: want exactly one line, got %q", args, out)
		}
	}
}

func TestAskNeedsNoDatabase(t *testing.T) {
	getenv := env(t, "GPTACCESS_DB", "/nonexistent/dir/g.db")
	out, _, err := runCmd(t, getenv, "", "ask", "what is error 1020?")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1020") {
		t.Errorf("ask output: %q", out)
	}
}

// TestDiagnosisSurvivesRestart: a question asked by one process is answered
// in the next.
func TestDiagnosisSurvivesRestart(t *testing.T) {
	getenv := env(t)
	out, _, err := runCmd(t, getenv, "I get error 1020 on chatgpt\n", "chat", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ Question *struct{ Fact string } }
	json.Unmarshal([]byte(out), &first)
	if first.Question == nil || first.Question.Fact != "vpn" {
		t.Fatalf("first reply should ask about the VPN: %s", out)
	}
	out, _, err = runCmd(t, getenv, "yes I am\n", "chat", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var second struct{ Diagnosis *struct{ Cause string } }
	json.Unmarshal([]byte(out), &second)
	if second.Diagnosis == nil || second.Diagnosis.Cause != "vpn-proxy" {
		t.Errorf("after restart, yes should conclude vpn-proxy: %s", out)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("monitor:\n  schedule: \"@every 10m\"\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("monitor:\n  schedule: \"every ten minutes\"\n  failure_treshold: 3\nlog:\n  level: loud\n"), 0o600)

	out, _, err := runCmd(t, env(t), "", "config", "validate", "--config", good)
	if err != nil || !strings.Contains(out, "valid") {
		t.Errorf("good config: %q, %v", out, err)
	}
	_, _, err = runCmd(t, env(t), "", "config", "validate", "--config", bad)
	if err == nil {
		t.Fatal("bad config validated")
	}
	for _, want := range []string{"monitor.schedule", "failure_treshold", "log.level"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	// A canary given as an IP address is valid, but tests no DNS: said,
	// with the default that does.
	ipCanary := filepath.Join(dir, "ip-canary.yaml")
	os.WriteFile(ipCanary, []byte("monitor:\n  canary: \"1.1.1.1:53\"\n"), 0o600)
	out, _, err = runCmd(t, env(t), "", "config", "validate", "--config", ipCanary)
	if err != nil || !strings.Contains(out, `warning: monitor.canary: "1.1.1.1:53" is an IP address, so the canary does not test DNS`) ||
		!strings.Contains(out, "https://www.cloudflare.com/cdn-cgi/trace") || !strings.HasSuffix(out, "configuration is valid\n") {
		t.Errorf("IP canary: %q, %v", out, err)
	}
	if out, _, _ := runCmd(t, env(t), "", "config", "validate", "--config", good); strings.Contains(out, "warning") {
		t.Errorf("good config warns: %q", out)
	}
	// The same message refuses a start.
	_, _, err = runCmd(t, env(t, "GPTACCESS_CONFIG", bad), "", "run")
	if err == nil || !strings.Contains(err.Error(), "monitor.schedule") {
		t.Errorf("run with a bad config: %v", err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runCmd(t, env(t), "", "version")
	if err != nil || !strings.HasPrefix(out, "gptaccess ") {
		t.Errorf("version: %q, %v", out, err)
	}
	_, stderr, err := runCmd(t, env(t), "", "frobnicate")
	if err == nil || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: %v, stderr %q", err, stderr)
	}
}

// TestTerminalBot runs the default command with no tokens: the terminal
// bot, which ends at end of input.
func TestTerminalBot(t *testing.T) {
	out, stderr, err := runCmd(t, env(t), "what is error 1020?\nhow can I avoid it in future?\n")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Try:", "> ", "1020", "prevent"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadDatabaseIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "corrupt.db")
	os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 1000), 0o600)
	_, _, err := runCmd(t, env(t, "GPTACCESS_DB", path), "hello\n", "chat")
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt database: err = %v", err)
	}
}

func TestStats(t *testing.T) {
	getenv := env(t)
	if _, _, err := runCmd(t, getenv, "I'm on a VPN and get 1020 on chatgpt\nyes\nwhere is the cafeteria\n", "chat", "--json"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, getenv, "", "stats", "--json", "--since", "7d")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Diagnoses  int            `json:"diagnoses"`
		Resolved   int            `json:"resolved"`
		ByCause    map[string]int `json:"by_cause"`
		Count      int            `json:"unanswered_count"`
		Unanswered []struct{ Text string }
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stats json: %v\n%s", err, out)
	}
	// The terminal is a direct conversation: its unanswered message is
	// counted, its words are not kept.
	if s.Diagnoses != 1 || s.Resolved != 1 || s.ByCause["vpn-proxy"] != 1 || s.Count != 1 || len(s.Unanswered) != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stuck := make(chan struct{})
		defer close(stuck)
		errc := make(chan error, 1)
		go func() { errc <- waitBounded(ctx, func() error { <-stuck; return nil }, 15*time.Second) }()
		time.Sleep(time.Hour) // running: no bound applies yet
		select {
		case err := <-errc:
			t.Fatalf("returned before shutdown: %v", err)
		default:
		}
		cancel()
		start := time.Now()
		if err := <-errc; err == nil || time.Since(start) != 15*time.Second {
			t.Errorf("stuck component: err %v after %v, want an error after 15s", err, time.Since(start))
		}

		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		if err := waitBounded(ctx, func() error { return nil }, time.Second); err != nil {
			t.Errorf("clean stop: %v", err)
		}
	})
}

func TestStatsPeriod(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour} {
		var p period
		if err := p.Set(in); err != nil || time.Duration(p) != want {
			t.Errorf("period %q = %v, %v; want %v", in, time.Duration(p), err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1d", "0h", "1w"} {
		var p period
		if err := p.Set(bad); err == nil {
			t.Errorf("period %q accepted", bad)
		}
	}
}

// TestOperatorKnowledgeFiles: kb.file and kb.diagnosis_file replace the
// embedded guide and model; a broken copy stops start-up with an error that
// names the entry or cause and field.
func TestOperatorKnowledgeFiles(t *testing.T) {
	dir := t.TempDir()
	guide, err := os.ReadFile("../../kb/guide.yaml")
	if err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile("../../kb/diagnosis/diagnosis.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The operator retitles an entry and rewords a question.
	ownGuide := write("guide.yaml", bytes.Replace(guide, []byte("title: What ChatGPT error 1020 means"), []byte("title: Error 1020, explained by ACME IT"), 1))
	ownModel := write("diagnosis.yaml", bytes.Replace(model, []byte("Are you connected through a VPN or proxy (a work proxy counts)?"), []byte("Is the ACME VPN switched on?"), 1))
	getenv := env(t, "GPTACCESS_KB_FILE", ownGuide, "GPTACCESS_KB_DIAGNOSIS_FILE", ownModel)
	out, stderr, err := runCmd(t, getenv, "what is error 1020?\nchatgpt says access denied 1020\n", "chat", "--json")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "ACME IT") || !strings.Contains(out, "Is the ACME VPN switched on?") {
		t.Errorf("operator's wording not used:\n%s", out)
	}

	broken := write("broken.yaml", bytes.Replace(guide, []byte("title: What ChatGPT error 1020 means"), []byte("tittle: oops"), 1))
	_, _, err = runCmd(t, env(t, "GPTACCESS_KB_FILE", broken), "", "ask", "hi")
	if err == nil || !strings.Contains(err.Error(), `"what-is"`) || !strings.Contains(err.Error(), "tittle") {
		t.Errorf("broken guide: %v", err)
	}
	badModel := write("badmodel.yaml", bytes.Replace(model, []byte("steps: [fix-vpn, fix-support]"), []byte("steps: [fix-vnp, fix-support]"), 1))
	_, _, err = runCmd(t, env(t, "GPTACCESS_KB_DIAGNOSIS_FILE", badModel), "", "ask", "hi")
	if err == nil || !strings.Contains(err.Error(), `unknown knowledge-base entry "fix-vnp"`) {
		t.Errorf("model naming a missing entry: %v", err)
	}
}
