package monitor_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
)

// readFixture reads a capture from testdata/ or, for Cloudflare's pages,
// from the cloudflare package's testdata/.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if strings.HasPrefix(name, "cf:") {
		path = filepath.Join("..", "cloudflare", "testdata", strings.TrimPrefix(name, "cf:"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answer is what a fake server answers.
type answer struct {
	status  int
	headers map[string]string
	body    []byte
}

func serve(t testing.TB, a answer) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cfHeaders are what Cloudflare adds to every answer.
func cfHeaders(kv ...string) map[string]string {
	h := map[string]string{"Server": "cloudflare", "Cf-Ray": "8a1b2c3d4e5f6789-FRA"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// checkOne runs one round against a single target and returns its result.
func checkOne(t *testing.T, target monitor.Target, opts ...func(*monitor.Options)) (monitor.Result, monitor.Round) {
	t.Helper()
	o := monitor.Options{Targets: []monitor.Target{target}, Version: "1.2.3"}
	for _, f := range opts {
		f(&o)
	}
	m, err := monitor.New(o)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := m.CheckOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Results) != 1 {
		t.Fatalf("got %d results, want 1", len(rd.Results))
	}
	return rd.Results[0], rd
}

// brief is the part of a Result the probe tests compare.
type brief struct {
	Verdict          cloudflare.Verdict
	Code, Status     int
	RayID, DC        string
	DetailHas        string
	Official         string
	StatusIncidents  int
	OfficialInResult bool
}

func TestProbeResponses(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		answer answer
		want   brief
	}{
		{"api 401 is up", monitor.TargetAPI, answer{401, cfHeaders("Content-Type", "application/json"), readFixture(t, "api-401.json")},
			brief{Verdict: cloudflare.Up, Status: 401, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "front door"}},
		{"api 401 HTML is unexpected", monitor.TargetAPI, answer{401, nil, []byte("<html>sign in</html>")},
			brief{Verdict: cloudflare.Unexpected, Status: 401, DetailHas: "unexpected"}},
		{"api RFC 9457 1020", monitor.TargetAPI, answer{403, cfHeaders("Content-Type", "application/problem+json"), readFixture(t, "cf:1020.json")},
			brief{Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "1020"}},
		{"web plain 1020", monitor.TargetWeb, answer{403, cfHeaders(), readFixture(t, "cf:1020-plain.txt")},
			brief{Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "1020"}},
		{"web 1020 page", monitor.TargetWeb, answer{403, cfHeaders("Content-Type", "text/html"), readFixture(t, "cf:1020.html")},
			brief{Verdict: cloudflare.Blocked1020, Code: 1020, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "firewall rule"}},
		{"web challenge", monitor.TargetWeb, answer{403, cfHeaders("Cf-Mitigated", "challenge", "Content-Type", "text/html"), readFixture(t, "cf:challenge.html")},
			brief{Verdict: cloudflare.Challenged, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "challenge"}},
		{"web 1015 with 429", monitor.TargetWeb, answer{429, cfHeaders(), readFixture(t, "cf:1015.html")},
			brief{Verdict: cloudflare.RateLimited, Code: 1015, Status: 429, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "1015"}},
		{"web 1006", monitor.TargetWeb, answer{403, cfHeaders(), readFixture(t, "cf:1006.html")},
			brief{Verdict: cloudflare.BlockedOther, Code: 1006, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "IP address is banned"}},
		{"web 1010", monitor.TargetWeb, answer{403, cfHeaders(), readFixture(t, "cf:1010.html")},
			brief{Verdict: cloudflare.BlockedOther, Code: 1010, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "signature"}},
		{"web 1012", monitor.TargetWeb, answer{403, cfHeaders(), readFixture(t, "cf:1012.html")},
			brief{Verdict: cloudflare.BlockedOther, Code: 1012, Status: 403, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "malicious"}},
		{"web 522", monitor.TargetWeb, answer{522, cfHeaders("Cf-Error-Type", "52x"), readFixture(t, "cf:522.html")},
			brief{Verdict: cloudflare.OriginDown, Code: 522, Status: 522, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "cannot reach"}},
		{"web 503", monitor.TargetWeb, answer{503, cfHeaders(), []byte("upstream connect error")},
			brief{Verdict: cloudflare.OriginError, Status: 503, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "server error"}},
		{"web 200", monitor.TargetWeb, answer{200, cfHeaders(), []byte("<html><title>ChatGPT</title></html>")},
			brief{Verdict: cloudflare.Up, Status: 200, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "HTTP 200"}},
		{"web redirect is not followed", monitor.TargetWeb, answer{308, map[string]string{"Location": "https://chatgpt.com/"}, nil},
			brief{Verdict: cloudflare.Up, Status: 308, DetailHas: "HTTP 308"}},
		{"web 404", monitor.TargetWeb, answer{404, nil, []byte("not found")},
			brief{Verdict: cloudflare.Unexpected, Status: 404, DetailHas: "HTTP 404"}},
		{"status none", monitor.TargetStatus, answer{200, cfHeaders("Content-Type", "application/json"), readFixture(t, "summary-none.json")},
			brief{Verdict: cloudflare.Up, Status: 200, RayID: "8a1b2c3d4e5f6789", DC: "FRA", DetailHas: "none", Official: "none", OfficialInResult: true}},
		{"status minor", monitor.TargetStatus, answer{200, nil, readFixture(t, "summary-minor.json")},
			brief{Verdict: cloudflare.Up, Status: 200, DetailHas: "minor", Official: "minor", StatusIncidents: 1, OfficialInResult: true}},
		{"status major", monitor.TargetStatus, answer{200, nil, readFixture(t, "summary-major.json")},
			brief{Verdict: cloudflare.Up, Status: 200, DetailHas: "major", Official: "major", StatusIncidents: 1, OfficialInResult: true}},
		{"status critical", monitor.TargetStatus, answer{200, nil, readFixture(t, "summary-critical.json")},
			brief{Verdict: cloudflare.Up, Status: 200, DetailHas: "critical", Official: "critical", StatusIncidents: 2, OfficialInResult: true}},
		// A status page that answers HTML is "status unknown", not an outage.
		{"status HTML 200", monitor.TargetStatus, answer{200, map[string]string{"Content-Type": "text/html"}, readFixture(t, "status.html")},
			brief{Verdict: cloudflare.Unexpected, Status: 200, DetailHas: "status unknown", Official: monitor.IndicatorUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.answer)
			r, rd := checkOne(t, monitor.Target{Name: "x", Kind: tt.kind, URL: srv.URL})
			got := brief{Verdict: r.Verdict, Code: r.Code, Status: r.Status, RayID: r.RayID, DC: r.DataCenter, OfficialInResult: r.Official != nil}
			if strings.Contains(r.Detail, tt.want.DetailHas) {
				got.DetailHas = tt.want.DetailHas
			} else {
				got.DetailHas = r.Detail
			}
			if tt.kind == monitor.TargetStatus {
				got.Official, got.StatusIncidents = rd.Official.Indicator, len(rd.Official.Incidents)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if r.Latency <= 0 || r.CheckedAt.IsZero() {
				t.Errorf("latency %v, checked at %v: want both set", r.Latency, r.CheckedAt)
			}
		})
	}
}

// TestProbeStatusComponents pins what a status result keeps: components
// by name and the unresolved incidents with their links.
func TestProbeStatusComponents(t *testing.T) {
	srv := serve(t, answer{200, nil, readFixture(t, "summary-major.json")})
	r, _ := checkOne(t, monitor.Target{Name: "status", Kind: monitor.TargetStatus, URL: srv.URL})
	want := &monitor.Official{
		Indicator:   "major",
		Description: "Partial System Outage",
		Components:  map[string]string{"APIs": "operational", "ChatGPT": "partial_outage", "Login": "partial_outage"},
		Incidents:   []monitor.StatusIncident{{Name: "Elevated errors on ChatGPT", Impact: "major", Link: "https://status.openai.com/incidents/01K4MAJOR"}},
	}
	if diff := cmp.Diff(want, r.Official); diff != "" {
		t.Errorf("official (-want +got):\n%s", diff)
	}
}

func TestProbeSendsHonestHeaders(t *testing.T) {
	var ua, accept atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
		accept.Store(r.Header.Get("Accept"))
		w.WriteHeader(401)
		w.Write(readFixture(t, "api-401.json"))
	}))
	defer srv.Close()
	checkOne(t, monitor.Target{Name: "api", Kind: monitor.TargetAPI, URL: srv.URL})
	if got := ua.Load(); got != "gptaccess/1.2.3" {
		t.Errorf("User-Agent = %q, want gptaccess/1.2.3", got)
	}
	if got := accept.Load(); got != "application/json" {
		t.Errorf("Accept = %q, want application/json", got)
	}
}

func TestProbeTransportFailures(t *testing.T) {
	// A server that never answers: the per-target timeout must cut it.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()

	// A port nobody listens on any more.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/"
	ln.Close()

	// (A certificate the client does not trust is blocked-network: see
	// TestTLSInterception.)
	tests := []struct {
		name, url, detail string
	}{
		{"timeout", hang.URL, "timed out after 200ms"},
		{"refused", refused, "connection refused"},
		// Without a canary nothing tells a DNS filter from broken DNS.
		{"dns", "http://chatgpt.invalid/", "DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r, _ := checkOne(t, monitor.Target{Name: "web", Kind: monitor.TargetWeb, URL: tt.url, Timeout: 200 * time.Millisecond})
			if r.Verdict != cloudflare.Unreachable || r.Status != 0 || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got %q, status %d, detail %q; want unreachable, 0, detail with %q", r.Verdict, r.Status, r.Detail, tt.detail)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v: the timeout did not bound the probe", el)
			}
		})
	}
}

func TestCanary(t *testing.T) {
	down := serve(t, answer{502, cfHeaders(), nil})
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	httpCanary := serve(t, answer{200, nil, []byte("fl=1\nh=x\n")})
	// A URL canary must answer 2xx: a proxy's 403 or a captive portal's
	// redirect is not our network working.
	refusing := serve(t, answer{403, nil, nil})

	tests := []struct {
		canary      string
		ok, offline bool
	}{
		{"", true, false},
		{live.Addr().String(), true, false},
		{httpCanary.URL, true, false},
		{refusing.URL, false, true},
		{deadAddr, false, true},
		{"http://" + deadAddr + "/", false, true},
	}
	for _, tt := range tests {
		r, rd := checkOne(t, monitor.Target{Name: "web", Kind: monitor.TargetWeb, URL: down.URL}, func(o *monitor.Options) { o.Canary = tt.canary })
		if rd.Canary.OK != tt.ok || r.Offline != tt.offline {
			t.Errorf("canary %q: ok %v, offline %v; want %v, %v", tt.canary, rd.Canary.OK, r.Offline, tt.ok, tt.offline)
		}
	}
}

// TestContractsVerdictTable: the verdict table of docs/contracts.md,
// section 3, lists the signals in the order the probes apply them, with
// their conditions (a DNS filter only while the canary's own name
// resolves; a refusal without Cloudflare's marks only for the OpenAI
// hosts) and whether each is an outage as Verdict.Outage says.
func TestContractsVerdictTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "| signal | verdict | outage? |\n| --- | --- | --- |\n")
	if !ok {
		t.Fatal("docs/contracts.md has no verdict table (| signal | verdict | outage? |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	type row struct{ signal, verdict, outage string }
	var rows []row
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 3 {
			t.Fatalf("row %q has %d cells", line, len(cells))
		}
		v, _, _ := strings.Cut(strings.Trim(cells[1], "`"), "`")
		rows = append(rows, row{cells[0], v, cells[2]})
	}
	order := []cloudflare.Verdict{cloudflare.BlockedNetwork, cloudflare.BlockedNetwork, cloudflare.Unreachable, cloudflare.Challenged,
		cloudflare.Blocked1020, cloudflare.RateLimited, cloudflare.BlockedOther, cloudflare.BlockedNetwork, cloudflare.OriginDown,
		cloudflare.OriginError, cloudflare.Up, cloudflare.Unexpected}
	var got []cloudflare.Verdict
	for _, r := range rows {
		got = append(got, cloudflare.Verdict(r.verdict))
	}
	if diff := cmp.Diff(order, got); diff != "" {
		t.Fatalf("verdicts in the order applied (-want +got):\n%s", diff)
	}
	for i, want := range map[int]string{0: "while the canary's own name resolves", 1: "TLS certificate", 7: "for the OpenAI hosts (kinds `api`, `web`)"} {
		if !strings.Contains(rows[i].signal, want) {
			t.Errorf("row %d (%s): signal %q lacks %q", i+1, rows[i].verdict, rows[i].signal, want)
		}
	}
	for _, r := range rows {
		v := cloudflare.Verdict(r.verdict)
		var want string
		switch {
		case v == cloudflare.Unreachable:
			want = "only when the canary is fine"
		case v.Outage():
			want = "yes"
		case v == cloudflare.Up:
			want = "—"
		default:
			want = "no"
		}
		if !strings.HasPrefix(r.outage, want) {
			t.Errorf("%s: outage? %q, want %q", v, r.outage, want)
		}
	}
}

// TestRoundJSON pins the `check --json` contract of docs/contracts.md, section 3.
func TestRoundJSON(t *testing.T) {
	at := time.Date(2025, 9, 2, 8, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	rd := monitor.Round{
		Results: []monitor.Result{
			{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401, Latency: 83*time.Millisecond + 400*time.Microsecond,
				RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "API front door answers (401 invalid_request_error)", CheckedAt: at,
				Official: &monitor.Official{Indicator: "x"}, Offline: true, Code: 7},
		},
		Canary:   monitor.Canary{OK: true, Target: "1.1.1.1:53"},
		Official: monitor.Official{Indicator: "none", Description: "All Systems Operational"},
		At:       at,
	}
	got, err := json.Marshal(rd)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"results":[{"target":"api","verdict":"up","status":401,"latency_ms":83,"ray_id":"8a1b2c3d4e5f6789","data_center":"FRA",` +
		`"detail":"API front door answers (401 invalid_request_error)","checked_at":"2025-09-02T06:00:00Z"}],` +
		`"canary":{"ok":true},"official":{"indicator":"none","incidents":[]}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	empty, _ := json.Marshal(monitor.Round{Official: monitor.Official{Indicator: monitor.IndicatorUnknown}})
	if want := `{"results":[],"canary":{"ok":false},"official":{"indicator":"unknown","incidents":[]}}`; string(empty) != want {
		t.Errorf("empty round JSON = %s, want %s", empty, want)
	}
}

func TestRoundTable(t *testing.T) {
	rd := monitor.Round{
		Results: []monitor.Result{
			{Target: "api", Verdict: cloudflare.Up, Status: 401, Latency: 83 * time.Millisecond, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Detail: "API front door answers"},
			{Target: "web", Verdict: cloudflare.Blocked1020, Status: 403, Latency: 120 * time.Millisecond, RayID: "8a1b2c3d4e5f6780", DataCenter: "FRA", Detail: "Cloudflare error 1020"},
			{Target: "status", Verdict: cloudflare.Unreachable, Detail: "DNS: no such host"},
		},
		Canary:   monitor.Canary{OK: true, Target: "1.1.1.1:53"},
		Official: monitor.Official{Indicator: "major", Description: "Partial System Outage", Incidents: []monitor.StatusIncident{{Name: "Elevated errors", Impact: "major", Link: "https://stspg.io/x"}}},
	}
	want := `TARGET  VERDICT       EVIDENCE                                                    DETAIL
api     up            HTTP 401, 83 ms                                             API front door answers
web     blocked-1020  HTTP 403, Ray ID 8a1b2c3d4e5f6780, data centre FRA, 120 ms  Cloudflare error 1020
status  unreachable   -                                                           DNS: no such host
canary: ok (1.1.1.1:53)
official status: Partial System Outage (major); incidents: "Elevated errors" (major) https://stspg.io/x
`
	if diff := cmp.Diff(want, rd.Table()); diff != "" {
		t.Errorf("Table (-want +got):\n%s", diff)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    monitor.Options
		want string
	}{
		{"schedule", monitor.Options{Schedule: "every five minutes"}, "monitor.schedule"},
		{"digest", monitor.Options{Digest: "0 9 * * MON-XYZ"}, "monitor.digest"},
		{"timezone", monitor.Options{Timezone: "Mars/Olympus"}, "monitor.timezone"},
		{"threshold", monitor.Options{FailureThreshold: -1}, "monitor.failure_threshold"},
		{"canary", monitor.Options{Canary: "1.1.1.1"}, "monitor.canary"},
		{"target url", monitor.Options{Targets: []monitor.Target{{Name: "x", Kind: "web", URL: "ftp://x"}}}, "monitor.targets[0].url"},
		{"target kind", monitor.Options{Targets: []monitor.Target{{Name: "x", Kind: "ping", URL: "http://x"}}}, "monitor.targets[0].kind"},
		{"duplicate", monitor.Options{Targets: []monitor.Target{{Name: "x", URL: "http://x"}, {Name: "x", URL: "http://y"}}}, "monitor.targets[1].name"},
	}
	for _, tt := range tests {
		_, err := monitor.New(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error = %v, want one naming %s", tt.name, err, tt.want)
		}
	}
	// Seconds are optional, descriptors and CRON_TZ work.
	for _, spec := range []string{"@every 5m", "*/30 * * * * *", "0 9 * * 1-5", "CRON_TZ=Europe/Berlin 0 9 * * MON-FRI", "@daily"} {
		if _, err := monitor.New(monitor.Options{Schedule: spec, Digest: spec, Timezone: "Europe/Paris"}); err != nil {
			t.Errorf("spec %q: %v", spec, err)
		}
	}
}

// BenchmarkCheckRound measures one round over three local targets (API,
// web, status page), the work done every five minutes.
func BenchmarkCheckRound(b *testing.B) {
	api := serve(b, answer{401, cfHeaders("Content-Type", "application/json"), readFixture(b, "api-401.json")})
	web := serve(b, answer{200, cfHeaders("Content-Type", "text/html"), []byte("<!doctype html><title>ChatGPT</title>")})
	status := serve(b, answer{200, cfHeaders("Content-Type", "application/json"), readFixture(b, "summary-major.json")})
	m, err := monitor.New(monitor.Options{Targets: []monitor.Target{
		{Name: "api", Kind: monitor.TargetAPI, URL: api.URL},
		{Name: "web", Kind: monitor.TargetWeb, URL: web.URL},
		{Name: "status", Kind: monitor.TargetStatus, URL: status.URL},
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rd, err := m.CheckOnce(ctx)
		if err != nil || rd.Results[0].Verdict != cloudflare.Up {
			b.Fatalf("round: %v %+v", err, rd.Results)
		}
	}
}
