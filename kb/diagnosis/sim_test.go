package diagnosis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sheet is a simulated user's truth: the answer to every question (absent:
// the user does not know, and answers "not sure").
type sheet map[string]string

// askableIDs returns the model's askable facts in order.
func askableIDs(m *Model) []string {
	var ids []string
	for _, f := range m.Facts() {
		if f.Askable {
			ids = append(ids, f.ID)
		}
	}
	return ids
}

// session is one simulated diagnosis.
type session struct {
	concluded []string // causes concluded, in order (the first is the diagnosis)
	questions int      // questions before the first conclusion
	asked     []string
}

// converse runs a diagnosis against a scripted user: start facts (volunteered
// or from the monitor), then whatever Next asks is answered from the sheet.
// After each conclusion the steps "did not help" and the cause is tried, until
// Unknown, so that every conclusion of the whole dialog is checked.
//
// With r, the user types the answer in one of several everyday phrasings,
// which ParseAnswer must read back.
func converse(t testing.TB, m *Model, sh sheet, start map[string]string, r *rand.Rand) session {
	t.Helper()
	facts := make(map[string]string)
	for k, v := range start {
		facts[k] = v
	}
	var s session
	var tried []string
	for range 64 {
		st := m.Next(facts, s.asked, tried)
		switch {
		case st.Fact != "" && st.Cause != "":
			t.Fatalf("Next = %+v: both a fact and a cause", st)
		case st.Fact != "":
			if _, known := facts[st.Fact]; known {
				t.Fatalf("Next asked known fact %q (facts %v)", st.Fact, facts)
			}
			if slices.Contains(s.asked, st.Fact) {
				t.Fatalf("Next asked %q twice (asked %v)", st.Fact, s.asked)
			}
			s.asked = append(s.asked, st.Fact)
			if len(s.concluded) == 0 {
				s.questions++
			}
			v, ok := sh[st.Fact]
			if !ok {
				v = Unsure
			}
			if r != nil {
				say := phrasings[v][r.IntN(len(phrasings[v]))]
				got, ok := m.ParseAnswer(st.Fact, say)
				if !ok || got != v {
					t.Fatalf("ParseAnswer(%q, %q) = %q, %v; want %q", st.Fact, say, got, ok, v)
				}
			}
			facts[st.Fact] = v
		case st.Cause == Unknown:
			s.concluded = append(s.concluded, Unknown)
			return s
		case st.Cause != "":
			if slices.Contains(tried, st.Cause) {
				t.Fatalf("Next concluded tried cause %q", st.Cause)
			}
			s.concluded = append(s.concluded, st.Cause)
			tried = append(tried, st.Cause)
		default:
			t.Fatalf("Next = zero Step")
		}
	}
	t.Fatalf("diagnosis did not end: %+v", s)
	return s
}

// phrasings are typed answers a scripted user picks from.
var phrasings = map[string][]string{
	Yes:    {"yes", "Yes", "y", "yep", "yeah I am", "sure", "1", "I think so", "ja", "oui", "sí"},
	No:     {"no", "No", "n", "nope", "nah", "not really", "2", "I don't think so", "nein", "non"},
	Unsure: {"not sure", "Not sure", "no idea", "dunno", "idk", "3", "maybe", "keine Ahnung", "je ne sais pas"},
}

// complete returns the sheet as the user's answers: unknown -> unsure, plus
// the caller's monitor fact.
func complete(m *Model, sh sheet, monitor bool) map[string]string {
	out := make(map[string]string)
	for _, id := range askableIDs(m) {
		v, ok := sh[id]
		if !ok {
			v = Unsure
		}
		out[id] = v
	}
	if monitor {
		out[MonitorDown] = Yes
	}
	return out
}

// checkSound asserts that every conclusion holds on the full sheet, and that
// Unknown comes only once no untried cause holds.
func checkSound(t testing.TB, m *Model, sh sheet, monitor bool, s session) bool {
	t.Helper()
	full := complete(m, sh, monitor)
	for i, c := range s.concluded {
		if c == Unknown {
			for _, other := range m.Causes() {
				if other.ID != Unknown && !slices.Contains(s.concluded[:i], other.ID) && m.Holds(other.ID, full) {
					t.Errorf("sheet %v monitor=%v: concluded unknown but %q holds (dialog %v)", sh, monitor, other.ID, s.concluded)
					return false
				}
			}
			continue
		}
		if !m.Holds(c, full) {
			t.Errorf("sheet %v monitor=%v: concluded %q, whose signature does not hold (dialog %v)", sh, monitor, c, s.concluded)
			return false
		}
	}
	return true
}

// TestSimulatedUsersExhaustive runs every combination of answers (yes, no,
// not sure for each askable fact, monitor down or not) and checks soundness
// of every conclusion of the dialog, including after "did not help".
func TestSimulatedUsersExhaustive(t *testing.T) {
	m := mustDefault(t)
	ids := askableIDs(m)
	vals := []string{Yes, No, Unsure}
	n := 1
	for range ids {
		n *= len(vals)
	}
	maxQ := 0
	for code := range n {
		sh := make(sheet, len(ids))
		c := code
		for _, id := range ids {
			sh[id] = vals[c%3]
			c /= 3
		}
		for _, monitor := range []bool{false, true} {
			var start map[string]string
			if monitor {
				start = map[string]string{MonitorDown: Yes}
			}
			s := converse(t, m, sh, start, nil)
			maxQ = max(maxQ, len(s.asked))
			if !checkSound(t, m, sh, monitor, s) {
				t.FailNow()
			}
		}
	}
	t.Logf("%d sheets x monitor up/down: all sound; at most %d questions in a whole dialog", n, maxQ)
}

// realistic mix of true causes among users who report error 1020. VPNs and
// the browser dominate; "none" are users for whom no known cause fits.
var userMix = []struct {
	cause  string
	weight float64
}{
	{"vpn-proxy", 30}, {"browser-cache", 18}, {"extensions", 14}, {"server", 12},
	{"ip-block", 9}, {"network", 8}, {"credentials", 5}, {"policy", 2}, {"none", 2},
}

// simUser is a generated user: the true cause, the sheet, whether the
// monitor sees the outage, and a first message.
type simUser struct {
	cause   string
	sheet   sheet
	monitor bool
	first   string
}

// volunteered phrasings of a fact, as a user would write it in a first
// message.
var volunteer = map[string][]string{
	"vpn=yes":                 {"I'm on NordVPN", "we go through a corporate proxy at work", "using expressvpn on my laptop", "Ich nutze ein VPN"},
	"vpn=no":                  {"I don't use a VPN", "no vpn", "je n'utilise pas de VPN", "sin vpn"},
	"private_window=yes":      {"weirdly it works in incognito", "fine in a private window though", "im Inkognito-Modus funktioniert es"},
	"extensions_off=yes":      {"works with extensions disabled"},
	"other_network=yes":       {"it works on my phone with mobile data", "works at home though", "funciona con datos móviles", "ça marche en 4G"},
	"others_affected=yes":     {"the whole team has it", "downdetector shows problems", "nobody can access it"},
	"same_network_others=yes": {"the whole office has it", "my coworkers too"},
	"api=yes":                 {"my python script gets 403 from api.openai.com", "calling the API with curl fails"},
	"login=yes":               {"it started after I changed my password"},
	"policy_notice=yes":       {"I got an email from OpenAI about a policy violation"},
}

const pastedPage = "Access denied\nError code 1020\nYou do not have access to chatgpt.com.\n" +
	"The site owner may have set restrictions that prevent you from accessing the site.\n" +
	"If you are using a VPN, try turning it off.\nRay ID: 8a1b2c3d4e5f6789\nTimestamp: 2024-05-01 10:00:00 UTC\n" +
	"Your IP address: 203.0.113.7\nRequested URL: chatgpt.com/\nError reference number: 1020\n" +
	"Server ID: FL_385F36\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\n"

// genUser draws a user: cause by userMix, everyday noise on the other facts
// (some "not sure", some unknown), and facts typical of the cause. With
// volunteering, the first message sometimes states one of the cause's facts
// and sometimes carries a pasted error page. The parts draw from r in
// this order, so a seed always gives the same users.
func genUser(r *rand.Rand, ids []string, volunteering bool) simUser {
	u := simUser{cause: drawCause(r), sheet: make(sheet)}
	for _, id := range ids {
		switch p := r.Float64(); {
		case p < 0.04: // does not know: answers "not sure"
		case p < 0.10:
			u.sheet[id] = Unsure
		case p < 0.12:
			u.sheet[id] = Yes // coincidences: a VPN user who also changed a password
		default:
			u.sheet[id] = No
		}
	}
	defining := typicalFacts(r, &u, ids)
	u.first = "chatgpt says access denied 1020"
	if volunteering {
		if len(defining) > 0 && r.Float64() < 0.4 {
			d := defining[r.IntN(len(defining))]
			if id, v, _ := strings.Cut(d, "="); u.sheet[id] == v {
				phr := volunteer[d]
				u.first = phr[r.IntN(len(phr))] + ", " + u.first
			}
		}
		if r.Float64() < 0.15 {
			u.first += "\n" + pastedPage
		}
	}
	return u
}

// drawCause draws a cause by its weight in userMix.
func drawCause(r *rand.Rand) string {
	var total float64
	for _, c := range userMix {
		total += c.weight
	}
	x := r.Float64() * total
	for _, c := range userMix {
		if x < c.weight {
			return c.cause
		}
		x -= c.weight
	}
	return userMix[len(userMix)-1].cause
}

// typicalFacts sets on u's sheet the facts typical of its cause and
// returns those that define it ("fact=value"), which a volunteering user
// may state at once.
func typicalFacts(r *rand.Rand, u *simUser, ids []string) (defining []string) {
	set := func(id, v string) { u.sheet[id] = v }
	maybe := func(p float64, id, yes, otherwise string) {
		if r.Float64() < p {
			set(id, yes)
		} else {
			set(id, otherwise)
		}
	}
	switch u.cause {
	case "vpn-proxy":
		maybe(0.95, "vpn", Yes, Unsure) // some do not know about the office proxy
		set("private_window", No)
		maybe(0.6, "other_network", Yes, No) // the phone without VPN works
		set("same_network_others", No)
		defining = []string{"vpn=yes", "other_network=yes"}
	case "browser-cache", "extensions":
		set("vpn", No)
		set("private_window", Yes)
		if u.cause == "extensions" {
			set("extensions_off", Yes)
		} else {
			maybe(0.8, "extensions_off", No, Unsure)
		}
		maybe(0.5, "other_network", Yes, No)
		set("same_network_others", No)
		defining = []string{"private_window=yes", "vpn=no"}
	case "server":
		maybe(0.85, "others_affected", Yes, Unsure)
		u.monitor = r.Float64() < 0.6
		set("private_window", No)
		set("other_network", No)
		maybe(0.7, "same_network_others", Yes, Unsure)
		defining = []string{"others_affected=yes"}
	case "network":
		set("others_affected", No)
		set("private_window", No)
		set("other_network", Yes)
		set("same_network_others", Yes)
		defining = []string{"other_network=yes", "same_network_others=yes"}
	case "ip-block":
		set("others_affected", No)
		set("private_window", No)
		if r.Float64() < 0.4 {
			set("api", Yes)
			defining = []string{"api=yes"}
		} else {
			set("other_network", Yes)
			set("same_network_others", No)
			defining = []string{"other_network=yes"}
		}
	case "credentials":
		set("login", Yes)
		set("private_window", No)
		defining = []string{"login=yes"}
	case "policy":
		set("policy_notice", Yes)
		set("private_window", No)
		defining = []string{"policy_notice=yes"}
	case "none":
		for _, id := range ids {
			if u.sheet[id] == Yes {
				set(id, No)
			}
		}
	}
	return defining
}

// TestSimulatedUsers plays a large seeded sample of realistic users. Every
// conclusion must be sound (its signature holds on the user's sheet); the
// first conclusion should usually be the true cause, after few questions.
func TestSimulatedUsers(t *testing.T) {
	m := mustDefault(t)
	ids := askableIDs(m)
	const users = 20000
	for _, volunteering := range []bool{true, false} {
		r := rand.New(rand.NewPCG(1020, 42))
		var questions, correct int
		perCause := make(map[string][3]int) // users, correct, questions
		for range users {
			u := genUser(r, ids, volunteering)
			start := m.Extract(u.first)
			for k, v := range start {
				// Volunteered facts come from the sheet; a misread would
				// make the simulation meaningless.
				if u.sheet[k] != v {
					t.Fatalf("Extract(%q)[%s] = %s, sheet says %q", u.first, k, v, u.sheet[k])
				}
			}
			if u.monitor {
				start[MonitorDown] = Yes
			}
			s := converse(t, m, u.sheet, start, r)
			if !checkSound(t, m, u.sheet, u.monitor, s) {
				t.FailNow()
			}
			want := u.cause
			if want == "none" {
				want = Unknown
			}
			pc := perCause[u.cause]
			pc[0]++
			pc[2] += s.questions
			questions += s.questions
			if s.concluded[0] == want {
				correct++
				pc[1]++
			}
			perCause[u.cause] = pc
		}
		mean := float64(questions) / users
		t.Logf("volunteering=%v: %d users, 100%% sound, accuracy %.1f%%, mean questions %.2f",
			volunteering, users, 100*float64(correct)/users, mean)
		var lines []string
		for _, c := range userMix {
			pc := perCause[c.cause]
			lines = append(lines, fmt.Sprintf("%s %d users %.0f%% right %.2f q", c.cause, pc[0],
				100*float64(pc[1])/float64(max(pc[0], 1)), float64(pc[2])/float64(max(pc[0], 1))))
		}
		t.Logf("  %s", strings.Join(lines, "; "))
		if volunteering && mean >= 2.5 {
			t.Errorf("mean questions = %.2f, want < 2.5", mean)
		}
	}
}
