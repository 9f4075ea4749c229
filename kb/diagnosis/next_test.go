package diagnosis

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type facts = map[string]string

// TestHolds pins the three-valued semantics of docs/contracts.md, section 5: an unanswered
// fact satisfies nothing, not even "!yes".
func TestHolds(t *testing.T) {
	m := mustDefault(t)
	tests := []struct {
		cause string
		facts facts
		want  bool
	}{
		{"vpn-proxy", facts{"vpn": Yes}, true},
		{"vpn-proxy", facts{"vpn": Unsure}, false},
		{"vpn-proxy", facts{}, false},
		{"server", facts{"others_affected": Yes}, true},
		{"server", facts{MonitorDown: Yes}, true},
		{"server", facts{MonitorDown: No, "others_affected": No}, false},
		{"ip-block", facts{"api": Yes}, true},
		{"ip-block", facts{"other_network": Yes}, false}, // colleagues not asked yet
		{"ip-block", facts{"other_network": Yes, "same_network_others": No}, true},
		{"ip-block", facts{"other_network": Yes, "same_network_others": Unsure}, true},
		{"ip-block", facts{"other_network": Yes, "same_network_others": Yes}, false},
		{"network", facts{"other_network": Yes, "same_network_others": Yes}, true},
		{"network", facts{"other_network": Unsure, "same_network_others": Yes}, false},
		{"extensions", facts{"private_window": Yes, "extensions_off": Yes}, true},
		{"browser-cache", facts{"private_window": Yes}, false},
		{"browser-cache", facts{"private_window": Yes, "extensions_off": No}, true},
		{"browser-cache", facts{"private_window": Yes, "extensions_off": Unsure}, true},
		{"browser-cache", facts{"private_window": Yes, "extensions_off": Yes}, false},
		{"credentials", facts{"login": Yes}, true},
		{"policy", facts{"policy_notice": Yes}, true},
		// Values other than yes and no count as unsure.
		{"browser-cache", facts{"private_window": Yes, "extensions_off": "not sure"}, true},
		{"vpn-proxy", facts{"vpn": "YES"}, false},
		{"unknown", facts{}, false},
		{"unknown", allFacts(No), true},
		{"unknown", allFacts(Unsure), true},
		{"unknown", allFacts(Yes), false},
		{"no-such-cause", facts{"vpn": Yes}, false},
	}
	for _, tt := range tests {
		if got := m.Holds(tt.cause, tt.facts); got != tt.want {
			t.Errorf("Holds(%q, %v) = %v, want %v", tt.cause, tt.facts, got, tt.want)
		}
	}
}

// allFacts returns every askable fact of the design set answered v.
func allFacts(v string) facts {
	f := facts{}
	for _, id := range []string{"vpn", "others_affected", "api", "private_window", "extensions_off",
		"other_network", "same_network_others", "login", "policy_notice"} {
		f[id] = v
	}
	return f
}

// TestNext covers concluding, asking and giving up, and the rules that
// protect the user: never a question twice, never a tried cause again, no
// conclusion before the signature holds.
func TestNext(t *testing.T) {
	m := mustDefault(t)
	tests := []struct {
		name  string
		facts facts
		asked []string
		tried []string
		want  Step
	}{
		{"start: the likeliest cause first", nil, nil, nil, Step{Fact: "vpn"}},
		{"volunteered vpn", facts{"vpn": Yes}, nil, nil, Step{Cause: "vpn-proxy"}},
		{"monitor says down", facts{MonitorDown: Yes}, nil, nil, Step{Cause: "server"}},
		{"several hold: highest weight", facts{"vpn": Yes, "others_affected": Yes, "login": Yes}, nil, nil, Step{Cause: "vpn-proxy"}},
		{"then the next one", facts{"vpn": Yes, "others_affected": Yes, "login": Yes}, nil, []string{"vpn-proxy"}, Step{Cause: "server"}},
		{"other network alone is not enough", facts{"vpn": No, "other_network": Yes}, []string{"vpn"}, nil, Step{Fact: "same_network_others"}},
		{"ip-block once colleagues answered", facts{"other_network": Yes, "same_network_others": No}, nil, nil, Step{Cause: "ip-block"}},
		{"unsure colleagues still ip-block", facts{"other_network": Yes, "same_network_others": Unsure}, nil, nil, Step{Cause: "ip-block"}},
		{"asked but unanswered counts as unsure", facts{"other_network": Yes}, []string{"same_network_others"}, nil, Step{Cause: "ip-block"}},
		{"network", facts{"other_network": Yes, "same_network_others": Yes}, nil, nil, Step{Cause: "network"}},
		{"private window alone is not enough", facts{"vpn": No, "private_window": Yes}, nil, nil, Step{Fact: "extensions_off"}},
		{"browser cache", facts{"private_window": Yes, "extensions_off": Unsure}, nil, nil, Step{Cause: "browser-cache"}},
		{"api", facts{"api": Yes}, nil, nil, Step{Cause: "ip-block"}},
		{"nothing fits", allFacts(No), nil, nil, Step{Cause: Unknown}},
		{"all unsure", allFacts(Unsure), nil, nil, Step{Cause: Unknown}},
		{"everything asked, no answers", nil, []string{"vpn", "others_affected", "api", "private_window", "extensions_off",
			"other_network", "same_network_others", "login", "policy_notice"}, nil, Step{Cause: Unknown}},
		{"all tried", facts{"vpn": Yes}, nil, []string{"vpn-proxy", "server", "ip-block", "network", "extensions",
			"browser-cache", "credentials", "policy"}, Step{Cause: Unknown}},
		{"tried cause is not concluded again", facts{"vpn": Yes}, []string{"vpn"}, []string{"vpn-proxy"}, Step{Fact: "private_window"}},
		{"an asked fact is not asked again", nil, []string{"vpn"}, nil, Step{Fact: "private_window"}},
		{"unknown fact ids are ignored", facts{"colour": "blue"}, []string{"colour"}, []string{"no-such-cause"}, Step{Fact: "vpn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, m.Next(tt.facts, tt.asked, tt.tried)); diff != "" {
				t.Errorf("Next(%v, %v, %v) (-want +got):\n%s", tt.facts, tt.asked, tt.tried, diff)
			}
		})
	}
}

// TestNextOperatorOrder shows that the operator's fact order breaks ties.
// When only the two browser causes are left, both of their facts must be
// asked whatever the answers, so either order costs the same: the fact
// listed first is asked first.
func TestNextOperatorOrder(t *testing.T) {
	f := facts{"vpn": No, "others_affected": No, "api": No, "other_network": No, "login": No, "policy_notice": No}
	m := mustDefault(t)
	if got := m.Next(f, nil, nil); got.Fact != "private_window" {
		t.Errorf("default order: Next = %+v, want private_window", got)
	}

	// Move the extensions_off block above private_window.
	s := string(defaultYAML)
	pw := strings.Index(s, "  - id: private_window\n")
	eo := strings.Index(s, "  - id: extensions_off\n")
	on := strings.Index(s, "  - id: other_network\n")
	if pw < 0 || eo < pw || on < eo {
		t.Fatal("fact blocks not found")
	}
	reordered := s[:pw] + s[eo:on] + s[pw:eo] + s[on:]
	m2, err := Parse([]byte(reordered), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m2.Next(f, nil, nil); got.Fact != "extensions_off" {
		t.Errorf("reordered: Next = %+v, want extensions_off", got)
	}
}

// TestCandidates orders what can still hold: holding causes first (the one
// Next concludes leads), then by likelihood.
func TestCandidates(t *testing.T) {
	m := mustDefault(t)
	tests := []struct {
		facts facts
		tried []string
		want  []string
	}{
		// The monitor not reporting an outage makes server less likely than
		// its weight alone says.
		{nil, nil, []string{"vpn-proxy", "browser-cache", "extensions", "network", "ip-block", "server", "credentials", "policy"}},
		{facts{MonitorDown: Yes}, nil, []string{"server", "vpn-proxy", "browser-cache", "extensions", "network", "ip-block", "credentials", "policy"}},
		{facts{"vpn": No}, nil, []string{"browser-cache", "extensions", "network", "ip-block", "server", "credentials", "policy"}},
		{facts{"login": Yes, "vpn": Yes}, nil, []string{"vpn-proxy", "credentials", "browser-cache", "extensions", "network", "ip-block", "server", "policy"}},
		{facts{"login": Yes, "vpn": Yes}, []string{"vpn-proxy"}, []string{"credentials", "browser-cache", "extensions", "network", "ip-block", "server", "policy"}},
		{facts{"private_window": No, "vpn": No, "others_affected": No, "other_network": No, "api": No}, nil, []string{"credentials", "policy"}},
		{allFacts(No), nil, []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, m.Candidates(tt.facts, tt.tried)); diff != "" {
			t.Errorf("Candidates(%v, %v) (-want +got):\n%s", tt.facts, tt.tried, diff)
		}
	}
}

// TestStepsFor gives API users the API steps for a blocked address.
func TestStepsFor(t *testing.T) {
	m := mustDefault(t)
	tests := []struct {
		cause string
		facts facts
		want  []string
	}{
		{"ip-block", facts{"api": Yes}, []string{"fix-api", "fix-support"}},
		{"ip-block", facts{"other_network": Yes, "same_network_others": No}, []string{"fix-vpn", "fix-support"}},
		{"vpn-proxy", facts{"vpn": Yes}, []string{"fix-vpn", "fix-support"}},
		{"unknown", nil, []string{"fix", "fix-support"}},
		{"no-such-cause", nil, nil},
		// Told by people: the network may be Cloudflare's block of our
		// address, which OpenAI support can lift...
		{"network", facts{"other_network": Yes, "same_network_others": Yes}, []string{"fix-support"}},
		// ...found by the monitor on our own network: only IT can.
		{"network", facts{"other_network": Yes, "same_network_others": Yes, MonitorNetwork: Yes}, []string{"status"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, m.StepsFor(tt.cause, tt.facts)); diff != "" {
			t.Errorf("StepsFor(%q, %v) (-want +got):\n%s", tt.cause, tt.facts, diff)
		}
	}
}

// TestExplanationFor: the network cause that the monitor found on our own
// network is explained as IT's to lift, never OpenAI's; a rule without an
// explanation keeps the cause's.
func TestExplanationFor(t *testing.T) {
	m := mustDefault(t)
	network, _ := m.Cause("network")
	blocked := facts{"other_network": Yes, "same_network_others": Yes}
	if got := m.ExplanationFor("network", blocked); got != network.Explanation {
		t.Errorf("told by people: %q, want the cause's own", got)
	}
	blocked[MonitorNetwork] = Yes
	got := m.ExplanationFor("network", blocked)
	if !strings.Contains(got, "Tell your IT team") || strings.Contains(got, "OpenAI to lift") || strings.Contains(got, "Ray ID") {
		t.Errorf("found by the monitor: %q", got)
	}
	ipBlock, _ := m.Cause("ip-block")
	if got := m.ExplanationFor("ip-block", facts{"api": Yes}); got != ipBlock.Explanation {
		t.Errorf("a rule without an explanation: %q, want the cause's", got)
	}
	if got := m.ExplanationFor("no-such-cause", nil); got != "" {
		t.Errorf("unknown cause: %q", got)
	}
}

// TestMonitorNetworkIsOptional: an operator's copy made before
// monitor_network existed still loads, and its network cause keeps its steps.
func TestMonitorNetworkIsOptional(t *testing.T) {
	s := string(defaultYAML)
	a := strings.Index(s, "  # Not asked: the caller sets monitor_network")
	b := strings.Index(s, "\n# causes:")
	s = s[:a] + s[b+1:]
	a = strings.Index(s, "    # The monitor found what blocks it")
	b = strings.Index(s, "\n  - id: ip-block")
	s = s[:a] + s[b+1:]
	m, err := Parse([]byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Fact(MonitorNetwork); ok {
		t.Fatal("the edit left monitor_network in")
	}
	f := facts{"other_network": Yes, "same_network_others": Yes, MonitorNetwork: Yes}
	if diff := cmp.Diff([]string{"fix-support"}, m.StepsFor("network", f)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

// TestNextConcurrent runs first diagnoses in parallel: the plan is built
// once, on first use, and must be safe to share (run with -race).
func TestNextConcurrent(t *testing.T) {
	m := mustDefault(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := m.Next(nil, nil, nil); got.Fact != "vpn" {
				t.Errorf("Next = %+v, want vpn", got)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkNext is a question in the middle of a first diagnosis.
func BenchmarkNext(b *testing.B) {
	m := mustDefault(b)
	f := facts{"vpn": No, "private_window": No}
	asked := []string{"vpn", "private_window"}
	m.Next(f, asked, nil) // build the plan outside the timing
	b.ReportAllocs()
	for b.Loop() {
		m.Next(f, asked, nil)
	}
}

// BenchmarkNextTried is a question after a cause's steps did not help (the
// one-step estimate instead of the plan).
func BenchmarkNextTried(b *testing.B) {
	m := mustDefault(b)
	f := facts{"vpn": Yes}
	asked := []string{"vpn"}
	tried := []string{"vpn-proxy"}
	b.ReportAllocs()
	for b.Loop() {
		m.Next(f, asked, tried)
	}
}

// BenchmarkPlan is the one-off cost of planning a first diagnosis, for a
// model without a shipped plan (an operator's copy of diagnosis.yaml).
func BenchmarkPlan(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		m, err := Parse(defaultYAML, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		m.Next(nil, nil, nil)
	}
}
