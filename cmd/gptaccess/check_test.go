package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/config"
)

// traceBody is Cloudflare's /cdn-cgi/trace answer, with our egress address,
// which must appear nowhere.
const traceBody = "fl=123f45\nh=www.cloudflare.com\nip=203.0.113.7\nts=1757404800.123\nvisit_scheme=http\n" +
	"uag=gptaccess/dev\ncolo=FRA\nsliver=none\nhttp=http/1.1\nloc=DE\ntls=off\nsni=off\nwarp=off\ngateway=off\n"

// checkConfig writes a configuration with canary and targets (name, kind,
// url triples) and returns a getenv selecting it.
func checkConfig(t *testing.T, canary string, targets ...string) func(string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "monitor:\n  canary: %q\n  timeout: 5s\n  targets:\n", canary)
	for i := 0; i+2 < len(targets); i += 3 {
		fmt.Fprintf(&b, "    - {name: %s, kind: %s, url: %q}\n", targets[i], targets[i+1], targets[i+2])
	}
	path := filepath.Join(t.TempDir(), "gptaccess.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return env(t, "GPTACCESS_CONFIG", path)
}

func serveTrace(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cdn-cgi/trace" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, traceBody)
	}))
	t.Cleanup(srv.Close)
	// By name: "localhost" resolves without the network, and a canary with
	// a name lets the monitor tell a DNS filter from broken DNS.
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://localhost:" + port + "/cdn-cgi/trace"
}

// checkJSON is the part of `check --json` these tests read.
type checkJSON struct {
	Results []struct {
		Target, Verdict, Detail string
		Status                  int
	} `json:"results"`
	Canary map[string]any `json:"canary"`
}

// TestCheckJSONBlockedNetwork runs `gptaccess check --json` against local
// servers playing a company network that blocks ChatGPT: a TLS server with
// a certificate we do not trust (a proxy intercepting HTTPS), a proxy's
// block page without cf-ray, and a name our DNS (a fake filter, so the case
// runs whatever this machine's resolver does) says does not exist while
// the canary's resolves. Each is blocked-network with its reason, the
// canary tells where our traffic reaches Cloudflare and never our address,
// and the exit status is 1.
func TestCheckJSONBlockedNetwork(t *testing.T) {
	intercepting := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	intercepting.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	intercepting.StartTLS()
	defer intercepting.Close()
	squid, err := os.ReadFile("../../cloudflare/testdata/filters/squid.html")
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "squid/5.7")
		w.Header().Set("X-Squid-Error", "ERR_ACCESS_DENIED 0")
		w.WriteHeader(http.StatusForbidden)
		w.Write(squid)
	}))
	defer proxy.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()

	targets := []string{
		"web", "web", intercepting.URL + "/",
		"api", "api", proxy.URL + "/v1/models",
		"intranet", "http", up.URL + "/",
		"filtered", "web", "https://chatgpt.com/",
	}
	// Our DNS is a filter's, whatever this machine's resolver says, and no
	// proxy from the environment stands in the way.
	nw := network{resolver: dnsFilter{}, client: &http.Client{Transport: &http.Transport{}}}
	// The canary is named by a name only that DNS knows.
	canary := strings.Replace(serveTrace(t), "//localhost:", "//trace.localhost:", 1)
	out, stderr, err := runCmdOn(t, nw, checkConfig(t, canary, targets...), "", "check", "--json")
	if !errors.Is(err, errNotUp) || exitCode(err) != 1 {
		t.Errorf("check: %v (exit %d), want exit 1 for targets not up\nstderr: %s", err, exitCode(err), stderr)
	}
	var got checkJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	verdicts := map[string]string{}
	for _, r := range got.Results {
		verdicts[r.Target] = r.Verdict + ": " + r.Detail
	}
	want := map[string]string{
		"web":      "blocked-network: TLS interception: the certificate for 127.0.0.1 is from an unknown authority, issued by “Acme Co”, so something on our network intercepts HTTPS",
		"api":      "blocked-network: web filter: the Squid block page (HTTP 403)",
		"intranet": "up: HTTP 200",
		"filtered": "blocked-network: DNS filter: our DNS says chatgpt.com does not exist, while it resolves trace.localhost",
	}
	if diff := cmp.Diff(want, verdicts); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"ok": true, "data_center": "FRA", "country": "DE"}, got.Canary); diff != "" {
		t.Errorf("canary (-want +got):\n%s", diff)
	}
	for _, leak := range []string{"203.0.113.7", "ip="} {
		if strings.Contains(out+stderr, leak) {
			t.Errorf("output holds %q:\n%s\n%s", leak, out, stderr)
		}
	}

	// The table says the same in words.
	table, _, err := runCmdOn(t, nw, checkConfig(t, canary, targets...), "", "check")
	if exitCode(err) != 1 || !strings.Contains(table, "blocked-network") || !strings.Contains(table, "our traffic reaches Cloudflare in FRA (DE)") {
		t.Errorf("check (exit %d):\n%s", exitCode(err), table)
	}
}

// dnsFilter is a company network's DNS that filters ChatGPT: it says
// chatgpt.com does not exist, while it resolves the canary's name,
// trace.localhost, to the local server playing it (loopback is the right
// answer under .localhost, not a sinkhole). It says no other name exists
// either, so nothing leaves the machine; and since many resolvers do not
// know trace.localhost, the case shows that the check asks this DNS.
type dnsFilter struct{}

func (dnsFilter) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if host == "trace.localhost" {
		return []net.IPAddr{{IP: net.IPv4(127, 0, 0, 1)}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// runCmdOn is runCmd with the monitor reaching the Internet through nw.
func runCmdOn(t *testing.T, nw network, getenv func(string) string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = runOn(context.Background(), nw, append([]string{"gptaccess"}, args...), getenv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// TestCheckExitStatus: 0 when every target is up, 1 when one is not or
// OpenAI's status page reports a major or critical outage, 2 when the
// configuration is bad; a failed canary says why in the JSON.
func TestCheckExitStatus(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<title>ChatGPT</title>") }))
	defer up.Close()
	// A redirect is up for web and http targets (2xx and 3xx), as the
	// example configuration says.
	moved := httptest.NewServer(http.RedirectHandler("https://chatgpt.com/", http.StatusMovedPermanently))
	defer moved.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cf-Ray", "8a1b2c3d4e5f6789-FRA")
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()

	out, stderr, err := runCmd(t, checkConfig(t, serveTrace(t), "web", "web", up.URL, "old", "http", moved.URL), "", "check", "--json")
	if err != nil || exitCode(err) != 0 {
		t.Errorf("all up: %v (exit %d)\n%s\n%s", err, exitCode(err), out, stderr)
	}

	_, _, err = runCmd(t, checkConfig(t, serveTrace(t), "web", "web", up.URL, "api", "api", down.URL), "", "check")
	if exitCode(err) != 1 {
		t.Errorf("one down: %v (exit %d), want 1", err, exitCode(err))
	}

	// Every target up, but OpenAI's own status page reports a major
	// outage: not all is well, so cron and CI see exit 1; a minor one is
	// no outage.
	summary := func(indicator string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"page":{"id":"x","name":"OpenAI"},"status":{"indicator":%q,"description":"Partial System Outage"},"components":[],"incidents":[]}`, indicator)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	for indicator, want := range map[string]int{"major": 1, "critical": 1, "minor": 0} {
		out, stderr, err := runCmd(t, checkConfig(t, serveTrace(t), "web", "web", up.URL, "status", "status", summary(indicator)), "", "check", "--json")
		var got struct {
			Results []struct{ Verdict string } `json:"results"`
		}
		if jerr := json.Unmarshal([]byte(out), &got); jerr != nil {
			t.Fatalf("official %s: %v\n%s\n%s", indicator, jerr, out, stderr)
		}
		for _, r := range got.Results {
			if r.Verdict != "up" {
				t.Errorf("official %s: a target is %s, want every one up\n%s", indicator, r.Verdict, out)
			}
		}
		if exitCode(err) != want {
			t.Errorf("official %s, every target up: %v (exit %d), want %d", indicator, err, exitCode(err), want)
		}
	}

	// The canary refused: it says why.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer refusing.Close()
	out, _, _ = runCmd(t, checkConfig(t, refusing.URL+"/cdn-cgi/trace", "web", "web", up.URL), "", "check", "--json")
	var got checkJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if diff := cmp.Diff(map[string]any{"ok": false, "detail": "answered HTTP 403, not 2xx"}, got.Canary); diff != "" {
		t.Errorf("failed canary (-want +got):\n%s", diff)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("monitor: {canary: \"1.1.1.1\"}\n"), 0o600)
	_, _, err = runCmd(t, env(t, "GPTACCESS_CONFIG", bad), "", "check", "--json")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "monitor.canary") {
		t.Errorf("bad config: %v (exit %d), want exit 2", err, exitCode(err))
	}
}

// TestJSONLogDurations: durations in JSON logs read as "1m30s", not as
// nanoseconds.
func TestJSONLogDurations(t *testing.T) {
	cfg := config.Default()
	cfg.Log.Format = "json"
	var buf bytes.Buffer
	newLogger(cfg, &buf, false).Info("notice not sent; will retry", "retry_in", 90*time.Second)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["retry_in"] != "1m30s" {
		t.Errorf("retry_in = %v (%T), want \"1m30s\"", line["retry_in"], line["retry_in"])
	}
}

// TestSpanWords: the stats period in words (format.Span), not Go's
// notation.
func TestSpanWords(t *testing.T) {
	out, _, err := runCmd(t, env(t), "", "stats", "--since", "7d")
	if err != nil || !strings.Contains(out, "the last 7 days") || strings.Contains(out, "168h") {
		t.Errorf("stats: %v\n%s", err, out)
	}
}
