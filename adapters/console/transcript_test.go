package console

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/sqlite"
)

var update = flag.Bool("update", false, "rewrite golden transcripts in testdata/transcripts")

// A transcript file has sections "-- script --", "-- expect --" and
// "-- golden --". Script lines are user messages, except:
//
//	click CHOICE     press a button of the last question
//	wait DURATION    let the clock run
//	restart          a new engine over the same database (a process restart)
//	monitor down|blocked|network|dns|up  what the monitor reports from now on
//	sheet FACT=VALUE ...     the user's situation (yes, no, unsure)
//	answer           type the sheet's answer to the open question
//	press            click the sheet's answer to the open question
//	answer-all, press-all    keep doing that until the bot concludes
//
// Offered the diagnosis ("Find my cause"), answer and press take it.
//
// Typed answers are phrased the way people type (yes: "yep I think so",
// no: "nope", unsure: "no idea"); a fact missing from the sheet is unsure.
//
// "\n" in a message stands for a line break (pasted pages). Expect lines are
// checked whatever the golden says, so a careless -update cannot bless a
// broken dialog: "cause ID" (a reply concluded it), "handover", "questions N"
// (questions asked before the first conclusion), "no-diagnosis", "last-entry
// ID", "error-page CODE RAY", "says TEXT" (some reply contains TEXT).
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sec := sections(string(data))
			got, replies := play(t, sec["script"])
			if *update {
				out := "-- script --\n" + sec["script"] + "-- expect --\n" + sec["expect"] + "-- golden --\n" + got
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if diff := cmp.Diff(sec["golden"], got); diff != "" {
				t.Errorf("transcript differs (-want +got); run go test ./adapters/console -update and review:\n%s", diff)
			}
			checkExpect(t, sec["expect"], replies)
		})
	}
}

func sections(s string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") {
			name = strings.TrimSuffix(strings.TrimPrefix(trimmed, "-- "), " --")
			continue
		}
		out[name] += line
	}
	return out
}

// fakeStatus stands in for the monitor.
type fakeStatus struct{ rep bot.StatusReport }

func (f *fakeStatus) Status(context.Context) (bot.StatusReport, error) { return f.rep, nil }

// harness is one conversation at a terminal over a real database.
type harness struct {
	t      *testing.T
	path   string
	db     *sqlite.DB
	engine *bot.Engine
	now    time.Time
	ids    int
	status *fakeStatus
	last   bot.Reply
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "t.db"), now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC),
		status: &fakeStatus{rep: bot.StatusReport{Text: "All targets are up."}}}
	h.open()
	t.Cleanup(func() { h.db.Close() })
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := sqlite.Open(context.Background(), h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	db.Now = func() time.Time { return h.now }
	e := bottest.Engine(h.t, bot.Options{Store: db, Stats: db, Status: h.status,
		Now: func() time.Time { return h.now }, NewID: func() string { h.ids++; return fmt.Sprintf("c%d", h.ids) }})
	h.db, h.engine = db, e
}

func (h *harness) send(m bot.Message) bot.Reply {
	h.t.Helper()
	m.Platform, m.Channel, m.User, m.DM = bot.Console, "terminal", "ana", true
	r, err := h.engine.Handle(context.Background(), m)
	if err != nil {
		h.t.Errorf("handle %q: %v", m.Text, err)
	}
	if r.Question != nil {
		h.last = r
	}
	return r
}

func play(t *testing.T, script string) (string, []bot.Reply) {
	h := newHarness(t)
	var (
		out     strings.Builder
		replies []bot.Reply
		sheet   = map[string]string{}
	)
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "wait":
			d, err := time.ParseDuration(arg)
			if err != nil {
				t.Fatalf("wait: %v", err)
			}
			h.now = h.now.Add(d)
			fmt.Fprintf(&out, "~ %s later\n", d)
			continue
		case "restart":
			h.db.Close()
			h.open()
			out.WriteString("~ restart\n")
			continue
		case "monitor":
			h.status.rep = map[string]bot.StatusReport{
				"down":    {Text: "ChatGPT is down from here.", Down: true},
				"blocked": {Text: "Our network is blocked (1020).", Blocked: true},
				// As the monitor words it (monitor/testdata/alerts).
				"network": {Text: "**ChatGPT is blocked by our own network**\n" +
					"- web: blocked by our own network — DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com, 3 ms\n" +
					"Our traffic reaches Cloudflare in FRA (DE).", NetworkBlocked: true,
					NetworkBlock: "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com"},
				// No name resolves and the canary is an IP address: down
				// from here, but maybe our own DNS (monitor/testdata/alerts,
				// dns-fails-with-an-ip-canary).
				"dns": {Text: "**ChatGPT looks down from here, but only because our DNS does not resolve its names**\n" +
					"Our DNS does not resolve api.openai.com and chatgpt.com: that may be our own DNS rather than OpenAI (our canary is an IP address, so it cannot tell); ask IT to check our DNS.\n" +
					"- api: unreachable — DNS: no such host api.openai.com (2 ms), since 00:00 UTC\n" +
					"- web: unreachable — DNS: no such host chatgpt.com (2 ms), since 00:00 UTC", Down: true, DNSUnsure: true},
				"up": {Text: "All targets are up."},
			}[arg]
			fmt.Fprintf(&out, "~ monitor says %s\n", arg)
			continue
		}
		if cmd == "sheet" {
			sheet = map[string]string{}
			for _, kv := range strings.Fields(arg) {
				k, v, _ := strings.Cut(kv, "=")
				sheet[k] = v
			}
			fmt.Fprintf(&out, "~ sheet %s\n", arg)
			continue
		}
		if cmd == "answer-all" || cmd == "press-all" {
			for i := 0; i < 12; i++ {
				q := h.last.Question
				if q == nil || q.Fact == "fixed" || h.last.Diagnosis != nil {
					break
				}
				r := h.fromSheet(&out, sheet, cmd == "press-all")
				replies = append(replies, r)
				out.WriteString(describe(r))
				if r.Question == nil {
					break
				}
			}
			continue
		}
		var r bot.Reply
		if cmd == "answer" || cmd == "press" {
			r = h.fromSheet(&out, sheet, cmd == "press")
		} else if cmd == "click" {
			q := h.last.Question
			if q == nil {
				t.Fatalf("click %q: no question asked", arg)
			}
			fmt.Fprintf(&out, "> [click %s]\n", arg)
			r = h.send(bot.Message{Text: arg, Answer: &bot.Answer{Question: q.ID, Choice: arg}})
		} else {
			text := strings.ReplaceAll(line, `\n`, "\n")
			fmt.Fprintf(&out, "> %s\n", line)
			r = h.send(bot.Message{Text: text})
		}
		replies = append(replies, r)
		out.WriteString(describe(r))
	}
	return out.String(), replies
}

// typed is how people type each answer.
var typed = map[string]string{"yes": "yep I think so", "no": "nope", "unsure": "no idea"}

// fromSheet answers the open question from the sheet, typed or clicked.
func (h *harness) fromSheet(out *strings.Builder, sheet map[string]string, press bool) bot.Reply {
	h.t.Helper()
	q := h.last.Question
	if q == nil {
		h.t.Fatal("answer: no question asked")
	}
	v, ok := sheet[q.Fact]
	if !ok {
		v = "unsure"
	}
	if q.Fact == "diagnose" {
		v = "yes" // offered the diagnosis, the user takes it
	}
	if !press {
		fmt.Fprintf(out, "> %s\n", typed[v])
		return h.send(bot.Message{Text: typed[v]})
	}
	choice := map[string]int{"yes": 0, "no": 1, "unsure": 2}[v]
	label := q.Choices[min(choice, len(q.Choices)-1)]
	fmt.Fprintf(out, "> [click %s]\n", label)
	return h.send(bot.Message{Text: label, Answer: &bot.Answer{Question: q.ID, Choice: label}})
}

// describe renders a reply: its contract fields on one line, then the text
// as the terminal shows it.
func describe(r bot.Reply) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "< entry=%s", r.Entry)
	if r.Question != nil {
		fmt.Fprintf(&b, " question=%s[%s]", r.Question.Fact, strings.Join(r.Question.Choices, "|"))
	}
	if r.Diagnosis != nil {
		fmt.Fprintf(&b, " diagnosis=%s[%s]", r.Diagnosis.Cause, strings.Join(r.Diagnosis.Steps, ","))
	}
	if r.ErrorPage != nil {
		fmt.Fprintf(&b, " error_page=%d/%s/%s/%s", r.ErrorPage.Code, r.ErrorPage.RayID, r.ErrorPage.DataCenter, r.ErrorPage.Country)
	}
	if r.Handover != nil {
		b.WriteString(" handover")
	}
	if r.Private {
		b.WriteString(" private")
	}
	b.WriteString("\n")
	for _, l := range strings.Split(Render(r), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

func checkExpect(t *testing.T, expect string, replies []bot.Reply) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(expect), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		what, arg, _ := strings.Cut(line, " ")
		switch what {
		case "cause":
			if !some(replies, func(r bot.Reply) bool { return r.Diagnosis != nil && r.Diagnosis.Cause == arg }) {
				t.Errorf("expected a diagnosis of %s", arg)
			}
		case "not-cause":
			if some(replies, func(r bot.Reply) bool { return r.Diagnosis != nil && r.Diagnosis.Cause == arg }) {
				t.Errorf("expected no diagnosis of %s", arg)
			}
		case "steps": // "steps CAUSE ID...": the steps given for CAUSE, in order
			cause, ids, _ := strings.Cut(arg, " ")
			if !some(replies, func(r bot.Reply) bool {
				return r.Diagnosis != nil && r.Diagnosis.Cause == cause && strings.Join(r.Diagnosis.Steps, " ") == ids
			}) {
				t.Errorf("expected a diagnosis of %s with steps %s", cause, ids)
			}
		case "handover":
			if !some(replies, func(r bot.Reply) bool { return r.Handover != nil }) {
				t.Error("expected a hand-over")
			}
		case "no-diagnosis":
			if some(replies, func(r bot.Reply) bool { return r.Diagnosis != nil }) {
				t.Error("expected no diagnosis")
			}
		case "questions":
			n := 0
			for _, r := range replies {
				if r.Diagnosis != nil {
					break
				}
				if r.Question != nil && r.Question.Fact != "fixed" && r.Question.Fact != "diagnose" {
					n++
				}
			}
			if fmt.Sprint(n) != arg {
				t.Errorf("questions before the diagnosis = %d, want %s", n, arg)
			}
		case "last-entry":
			if got := replies[len(replies)-1].Entry; got != arg {
				t.Errorf("last entry = %s, want %s", got, arg)
			}
		case "says":
			if !some(replies, func(r bot.Reply) bool { return strings.Contains(r.Text, arg) }) {
				t.Errorf("no reply says %q", arg)
			}
		case "never-says":
			if some(replies, func(r bot.Reply) bool {
				return strings.Contains(r.Text, arg) || r.Handover != nil && strings.Contains(r.Handover.Summary, arg)
			}) {
				t.Errorf("a reply says %q", arg)
			}
		case "error-page":
			if !some(replies, func(r bot.Reply) bool {
				return r.ErrorPage != nil && fmt.Sprintf("%d %s", r.ErrorPage.Code, r.ErrorPage.RayID) == arg
			}) {
				t.Errorf("expected error page %s", arg)
			}
		default:
			t.Fatalf("unknown expectation %q", line)
		}
	}
}

func some(rs []bot.Reply, f func(bot.Reply) bool) bool {
	for _, r := range rs {
		if f(r) {
			return true
		}
	}
	return false
}
