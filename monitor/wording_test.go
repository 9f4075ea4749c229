package monitor_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/alerts")

// Results as the probes write them (the probe tests pin these details).
var (
	apiUp = monitor.Result{Verdict: cloudflare.Up, Status: 401, Latency: 83 * time.Millisecond, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA",
		Detail: "API front door answers (401 invalid_request_error)"}
	webUp       = monitor.Result{Verdict: cloudflare.Up, Status: 200, Latency: 120 * time.Millisecond, RayID: "8a1b2c3d4e5f6780", DataCenter: "FRA", Detail: "HTTP 200"}
	apiDown     = monitor.Result{Verdict: cloudflare.OriginError, Status: 503, Latency: 95 * time.Millisecond, RayID: "8a1b2c3d4e5f6781", DataCenter: "FRA", Detail: "server error (HTTP 503)"}
	webRefused  = monitor.Result{Verdict: cloudflare.Unreachable, Latency: 2 * time.Millisecond, Detail: "connection refused"}
	web1020     = monitor.Result{Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, Latency: 40 * time.Millisecond, RayID: "8a1b2c3d4e5f6782", DataCenter: "FRA", Detail: "Cloudflare error 1020: access denied by a firewall rule"}
	webChalleng = monitor.Result{Verdict: cloudflare.Challenged, Status: 403, Latency: 38 * time.Millisecond, RayID: "8a1b2c3d4e5f6783", DataCenter: "FRA", Detail: "Cloudflare challenge page (we never solve challenges)"}
	apiLimited  = monitor.Result{Verdict: cloudflare.RateLimited, Code: 1015, Status: 429, Latency: 41 * time.Millisecond, RayID: "8a1b2c3d4e5f6784", DataCenter: "FRA", Detail: "Cloudflare error 1015: rate limited"}
	webDNS      = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond,
		Detail: "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com"}
	apiDNS = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond,
		Detail: "DNS filter: our DNS says api.openai.com does not exist, while it resolves www.cloudflare.com"}
	webSinkhole = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 2 * time.Millisecond,
		Detail: "DNS filter: our DNS answers chatgpt.com with a sinkhole address (0.0.0.0), while it resolves www.cloudflare.com"}
	apiTLS = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 15 * time.Millisecond,
		Detail: "TLS interception: the certificate for api.openai.com is from an unknown authority, issued by “Zscaler Intermediate Root CA (zscaler.net)”, so something on our network intercepts HTTPS"}
	webZscaler = monitor.Result{Verdict: cloudflare.BlockedNetwork, Status: 403, Latency: 22 * time.Millisecond, Detail: "web filter: the Zscaler block page (HTTP 403)"}
	apiZscaler = monitor.Result{Verdict: cloudflare.BlockedNetwork, Status: 403, Latency: 21 * time.Millisecond, Detail: "web filter: the Zscaler block page (HTTP 403)"}
	apiProxy   = monitor.Result{Verdict: cloudflare.BlockedNetwork, Status: 407, Latency: 4 * time.Millisecond, Detail: "web proxy: our web proxy wants us to sign in (HTTP 407)"}
	// Our DNS says no name exists, and the canary, an IP address, cannot
	// tell whether our DNS works: DNS failures stay unreachable.
	apiNoHost = monitor.Result{Verdict: cloudflare.Unreachable, Latency: 2 * time.Millisecond, Detail: "DNS: no such host api.openai.com"}
	webNoHost = monitor.Result{Verdict: cloudflare.Unreachable, Latency: 2 * time.Millisecond, Detail: "DNS: no such host chatgpt.com"}
	// An http target, any host: what blocks it is worded with its name.
	intranetDNS = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond,
		Detail: "DNS filter: our DNS says intranet.example.com does not exist, while it resolves www.cloudflare.com"}
	intranetTLS = monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 14 * time.Millisecond,
		Detail: "TLS interception: the certificate for intranet.example.com is from an unknown authority, issued by “Corp Proxy CA”, so something on our network intercepts HTTPS"}
	webOther = monitor.Result{Verdict: cloudflare.BlockedOther, Code: 1009, Status: 403, Latency: 39 * time.Millisecond, RayID: "8a1b2c3d4e5f6785", DataCenter: "FRA",
		Detail: "Cloudflare error 1009: our country is banned"}
	apiOrigin = monitor.Result{Verdict: cloudflare.OriginDown, Code: 522, Status: 522, Latency: 15 * time.Second, RayID: "8a1b2c3d4e5f6786", DataCenter: "FRA",
		Detail: "Cloudflare cannot reach OpenAI's servers (error 522)"}
	statusNone = monitor.Result{Verdict: cloudflare.Up, Status: 200, Latency: 60 * time.Millisecond, Detail: "official status: none",
		Official: &monitor.Official{Indicator: "none", Description: "All Systems Operational"}}
	statusMajor = monitor.Result{Verdict: cloudflare.Up, Status: 200, Latency: 60 * time.Millisecond, Detail: "official status: major",
		Official: &monitor.Official{Indicator: "major", Description: "Partial System Outage",
			Incidents: []monitor.StatusIncident{{Name: "Elevated errors on ChatGPT", Impact: "major", Link: "https://status.openai.com/incidents/01K4MAJOR"}}}}
)

// mix is what each target shows, round after round (the last repeats).
type mix map[string][]monitor.Result

func (x mix) probe(mu *sync.Mutex, round map[string]int) func(monitor.Target) monitor.Result {
	return func(t monitor.Target) monitor.Result {
		mu.Lock()
		defer mu.Unlock()
		rs := x[t.Name]
		r := rs[min(round[t.Name], len(rs)-1)]
		round[t.Name]++
		return r
	}
}

// TestAlertWording pins, in golden files, the notices each verdict mix
// sends and the chat status that follows: what blocks ChatGPT and who can
// lift it, never "nothing to fix on our side" while anything is blocked
// from here. `go test ./monitor -run TestAlertWording -update` rewrites
// them.
func TestAlertWording(t *testing.T) {
	ipCanary := &monitor.Canary{OK: true, Target: "1.1.1.1:53"}
	tests := []struct {
		name   string
		mix    mix
		rounds int
		canary *monitor.Canary // nil: the trace, answering from FRA
	}{
		{"down-origin-error", mix{"api": {apiDown}, "web": {webUp}}, 3, nil},
		{"down-unreachable", mix{"api": {apiUp}, "web": {webRefused}}, 3, nil},
		{"down-official-major", mix{"api": {apiUp}, "web": {webUp}, "status": {statusMajor}}, 1, nil},
		{"blocked-1020", mix{"api": {apiUp}, "web": {web1020}}, 3, nil},
		{"challenged", mix{"api": {apiUp}, "web": {webChalleng}}, 3, nil},
		{"rate-limited", mix{"api": {apiLimited}, "web": {webUp}}, 3, nil},
		{"network-dns", mix{"api": {apiDNS}, "web": {webDNS}, "status": {statusNone}}, 3, nil},
		{"network-sinkhole", mix{"api": {apiUp}, "web": {webSinkhole}}, 3, nil},
		{"network-tls", mix{"api": {apiTLS}, "web": {webUp}}, 3, nil},
		{"network-web-filter", mix{"api": {apiZscaler}, "web": {webZscaler}}, 3, nil},
		{"network-proxy-sign-in", mix{"api": {apiProxy}, "web": {webUp}}, 3, nil},
		{"mixed-down-and-network", mix{"api": {apiDown}, "web": {webDNS}}, 3, nil},
		{"mixed-1020-and-network", mix{"api": {apiTLS}, "web": {web1020}}, 3, nil},
		{"mixed-down-and-1020", mix{"api": {apiDown}, "web": {web1020}}, 3, nil},
		{"mixed-rate-limited-and-network", mix{"api": {apiLimited}, "web": {webDNS}}, 3, nil},
		{"mixed-challenged-and-network", mix{"api": {apiTLS}, "web": {webChalleng}}, 3, nil},
		// Our own network blocks a plain http target (not one of OpenAI's
		// hosts): the advice names it, not ChatGPT, and speaks neither of
		// OpenAI being up nor of OpenAI lifting it...
		{"network-dns-http-target", mix{"api": {apiUp}, "intranet": {intranetDNS}}, 3, nil},
		// ...and beside ChatGPT's own block, names both.
		{"network-tls-http-target-and-web", mix{"web": {webDNS}, "intranet": {intranetTLS}}, 3, nil},
		// The web target is blocked in the round the API's outage opens,
		// though not yet for long enough to alert: the outage notice must
		// not say there is nothing to fix on our side.
		{"down-while-web-blocked", mix{"api": {apiDown}, "web": {webUp, webUp, webZscaler}}, 3, nil},
		{"network-later-joins-1020", mix{"api": {apiUp, apiUp, apiUp, apiTLS}, "web": {web1020}}, 6, nil},
		// Up again, not yet for long enough to resolve: the status does not
		// list web as failing while its own line says up.
		{"network-recovering", mix{"api": {apiUp}, "web": {webDNS, webDNS, webDNS, webUp}}, 4, nil},
		{"network-resolved", mix{"api": {apiUp}, "web": {webDNS, webDNS, webDNS, webUp, webUp}}, 5, nil},
		{"network-reminder", mix{"api": {apiUp}, "web": {webZscaler}}, 10, nil},
		{"blocked-other", mix{"api": {apiUp}, "web": {webOther}}, 3, nil},
		{"down-origin-down", mix{"api": {apiOrigin}, "web": {webUp}}, 3, nil},
		// An outage and a DNS filter open one incident in the same round;
		// its later notices and the chat status follow what is left. The
		// API, up again once, is not yet counted recovered...
		{"mixed-down-and-network-recovering", mix{"api": {apiDown, apiDown, apiDown, apiUp}, "web": {webDNS}}, 4, nil},
		// ...now it is: only the DNS filter is left...
		{"mixed-down-and-network-partly-resolved", mix{"api": {apiDown, apiDown, apiDown, apiUp}, "web": {webDNS}}, 5, nil},
		// ...and when the filter is lifted too, it is the block that ends.
		{"mixed-down-and-network-resolved", mix{"api": {apiDown, apiDown, apiDown, apiUp}, "web": {webDNS, webDNS, webDNS, webDNS, webDNS, webUp}}, 7, nil},
		// Both recover in the same round: both are said.
		{"mixed-down-and-network-resolved-together", mix{"api": {apiDown, apiDown, apiDown, apiUp}, "web": {webDNS, webDNS, webDNS, webUp}}, 5, nil},
		{"mixed-official-major-and-network", mix{"api": {apiUp}, "web": {webDNS}, "status": {statusMajor}}, 3, nil},
		// No name resolves and the canary is an IP address: nothing tells
		// our DNS from OpenAI's, so it is never "nothing to fix on our side".
		{"dns-fails-with-an-ip-canary", mix{"api": {apiNoHost}, "web": {webNoHost}}, 3, ipCanary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wording(t, tt.mix, tt.rounds, tt.canary)
			path := filepath.Join("testdata", "alerts", tt.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
			// No message says OpenAI is not down beside OpenAI's own
			// major or critical indicator.
			for _, msg := range strings.Split(got, "\n=== ") {
				if strings.Contains(msg, "OpenAI is not down") && (strings.Contains(msg, "(major)") || strings.Contains(msg, "(critical)")) {
					t.Errorf("says OpenAI is not down while something says it may be:\n%s", msg)
				}
			}
			// What blocks a plain http target is worded with its name, and
			// only OpenAI's own hosts are "ChatGPT".
			switch tt.name {
			case "network-dns-http-target":
				if !strings.Contains(got, "blocks intranet (a DNS filter)") || strings.Contains(got, "blocks ChatGPT") || strings.Contains(got, "OpenAI") {
					t.Errorf("our own network's block of an http target is not worded with its name alone:\n%s", got)
				}
			case "network-tls-http-target-and-web":
				if !strings.Contains(got, "blocks ChatGPT and intranet (") {
					t.Errorf("our own network's blocks are not worded with both names:\n%s", got)
				}
			}
			if !strings.HasPrefix(tt.name, "down-") || tt.name == "down-while-web-blocked" {
				if strings.Contains(got, "nothing to fix on our side") {
					t.Errorf("says there is nothing to fix on our side while something is blocked from here:\n%s", got)
				}
			}
		})
	}
}

// wording runs rounds scheduled checks over the mix (canary fine, traffic
// through FRA) and renders every notice sent and the chat status after.
func wording(t *testing.T, x mix, rounds int, canary *monitor.Canary) string {
	if canary == nil {
		canary = &monitor.Canary{OK: true, Target: "https://www.cloudflare.com/cdn-cgi/trace", DataCenter: "FRA", Country: "DE", NameResolved: true}
	}
	var out string
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		round := map[string]int{}
		var targets []monitor.Target
		for _, name := range []string{"api", "web", "status", "intranet"} {
			if _, ok := x[name]; !ok {
				continue
			}
			kind, url := monitor.TargetAPI, "https://api.openai.com/v1/models"
			switch name {
			case "web":
				kind, url = monitor.TargetWeb, "https://chatgpt.com/"
			case "status":
				kind, url = monitor.TargetStatus, "https://status.openai.com/api/v2/summary.json"
			case "intranet":
				kind, url = monitor.TargetHTTP, "https://intranet.example.com/"
			}
			targets = append(targets, monitor.Target{Name: name, Kind: kind, URL: url})
		}
		rec := &recorder{platform: "slack"}
		// A real database: the titles below read what it kept.
		db, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		m, err := monitor.New(monitor.Options{
			Targets: targets, Timezone: "UTC", ReminderInterval: 30 * time.Minute, Canary: canary.Target,
			Channels: map[string][]string{"slack": {"C-ALERTS"}}, Notifiers: []monitor.Notifier{rec}, Store: db,
		})
		if err != nil {
			t.Fatal(err)
		}
		monitor.SetProbes(m, x.probe(&mu, round), func() monitor.Canary { return *canary })
		ctx, cancel := context.WithCancel(t.Context())
		r := &rig{m: m, rec: rec, ctx: ctx}
		r.ticks(rounds)
		var b strings.Builder
		for _, s := range rec.all() {
			fmt.Fprintf(&b, "=== %s %s (title: %s)\n%s\n\n", s.Notice.Phase, s.Notice.Kind, s.Notice.Title, s.Notice.Text)
		}
		rep, ok := m.Latest(t.Context())
		if !ok {
			t.Fatal("no latest status")
		}
		fmt.Fprintf(&b, "=== status\n%s\n", rep.Text)
		digest, err := monitor.DigestNotice(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		_, incidents, _ := strings.Cut(digest.Text, "\nIncidents:\n")
		incidents, _, _ = strings.Cut(incidents, "\nOfficial status now:")
		fmt.Fprintf(&b, "\n=== digest\n%s\n", incidents)
		fmt.Fprintf(&b, "\n=== status page\n%s", pageTitles(t, db))
		checkTitlesAgree(t, rec.all(), rep.Text, incidents, pageTitles(t, db))
		checkNoticeSituations(t, rec.all())
		cancel()
		monitor.WaitDeliveries(m)
		out = b.String()
	})
	return out
}

// pageTitles is how the status page titles the incidents of store (as
// web does: Incident.Headline with the newest results of the targets still
// failing in it), one per line, newest first.
func pageTitles(t *testing.T, store monitor.Store) string {
	t.Helper()
	ctx := t.Context()
	incidents, err := store.Incidents(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	states, err := store.AlertState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, in := range incidents {
		var latest []monitor.Result
		for _, target := range in.Targets {
			rs, err := store.LatestResults(ctx, target, 1)
			if err != nil {
				t.Fatal(err)
			}
			in := slices.ContainsFunc(states, func(st monitor.TargetState) bool { return st.Target == target && st.Incident == in.ID })
			if len(rs) > 0 && in && rs[0].Verdict != cloudflare.Up {
				latest = append(latest, rs[0])
			}
		}
		state := "resolved"
		if in.Open() {
			state = "open"
		}
		fmt.Fprintf(&b, "- %s (%s)\n", in.Headline(latest, states), state)
	}
	return b.String()
}

// checkTitlesAgree: each incident has one title wherever it is listed. A
// resolved one reads the same in its recovery, the digest and on the status
// page; an open one in the chat status, the digest and on the status page.
func checkTitlesAgree(t *testing.T, notices []sent, status, digest, page string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(page), "\n") {
		if line == "" {
			continue
		}
		line = strings.TrimPrefix(line, "- ")
		if title, ok := strings.CutSuffix(line, " (resolved)"); ok {
			if !strings.Contains(digest, "- "+title+": ") {
				t.Errorf("the status page says %q, the digest does not:\n%s", title, digest)
			}
			if !slices.ContainsFunc(notices, func(s sent) bool { return s.Notice.Phase == monitor.PhaseResolved && s.Notice.Title == title }) {
				t.Errorf("the status page says %q, no recovery does", title)
			}
			continue
		}
		title := strings.TrimSuffix(line, " (open)")
		if !strings.Contains(digest, "- "+title+": since ") {
			t.Errorf("the status page says %q, the digest does not:\n%s", title, digest)
		}
		if !strings.Contains(status, "Open alert: "+title+" since ") {
			t.Errorf("the status page says %q, the chat status does not:\n%s", title, status)
		}
	}
}

// checkNoticeSituations: a notice says what its title is worded for (its
// Situation, which Discord colours by) and, on every notice of an
// incident, its opening notice's title (which Discord names the thread
// after).
func checkNoticeSituations(t *testing.T, notices []sent) {
	t.Helper()
	opening := map[string]string{}
	for _, s := range notices {
		if s.Notice.Phase == monitor.PhaseOpened {
			opening[s.Notice.Incident] = s.Notice.Title
		}
	}
	for _, s := range notices {
		n := s.Notice
		if want := n.Situation.Title(n.Phase != monitor.PhaseResolved); want == "" || !strings.HasSuffix(n.Title, want) {
			t.Errorf("%s notice %q: situation %b reads %q", n.Phase, n.Title, n.Situation, want)
		}
		if n.Opening != opening[n.Incident] {
			t.Errorf("%s notice %q: opening %q, want %q", n.Phase, n.Title, n.Opening, opening[n.Incident])
		}
	}
}

// TestKindTitle: an incident is worded in the present while it lasts and
// in the past once resolved, the same on every surface.
func TestKindTitle(t *testing.T) {
	for _, c := range []struct {
		kind monitor.Kind
		open bool
		want string
	}{
		{monitor.KindDown, true, "ChatGPT is down"},
		{monitor.KindDown, false, "ChatGPT was down"},
		{monitor.KindBlocked, true, "ChatGPT is blocked from our network"},
		{monitor.KindRateLimited, false, "ChatGPT was rate limiting our network"},
	} {
		if got := c.kind.Title(c.open); got != c.want {
			t.Errorf("%s.Title(%v) = %q, want %q", c.kind, c.open, got, c.want)
		}
	}
}
