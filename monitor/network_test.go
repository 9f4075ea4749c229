package monitor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/cloudflare"
	"gptaccess/monitor"
)

// The tests here play our own network: a resolver that answers what a DNS
// filter would, a dialer that sends "public" addresses to local servers,
// and certificates from a test CA that the client trusts (and from others
// it does not). Nothing leaves the loopback interface.

// answerDNS is what the fake resolver says for one name.
type answerDNS struct {
	addrs []string // IP addresses
	err   error    // or this error
}

// Resolver errors as net.Resolver reports them.
var (
	nxdomain = func(host string) error { return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true} }
	servfail = func(host string) error {
		return &net.DNSError{Err: "server misbehaving", Name: host, Server: "192.0.2.53:53", IsTemporary: true}
	}
	dnsTimeout = func(host string) error {
		return &net.DNSError{Err: "i/o timeout", Name: host, Server: "192.0.2.53:53", IsTimeout: true, IsTemporary: true}
	}
)

// fakeResolver answers from a table; unknown names do not exist.
type fakeResolver map[string]answerDNS

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	a, ok := f[host]
	if !ok {
		return nil, nxdomain(host)
	}
	if a.err != nil {
		return nil, a.err
	}
	var out []net.IPAddr
	for _, s := range a.addrs {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// fakeDialer connects "public" addresses to local listeners and refuses
// the rest; it records what was dialled.
type fakeDialer struct {
	routes map[string]string // "198.51.100.7:443" → "127.0.0.1:41234"
	mu     sync.Mutex
	dialed []string
}

func (d *fakeDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, address)
	d.mu.Unlock()
	to, ok := d.routes[address]
	if to == "hang" { // an address that swallows packets
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	}
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("connect: connection refused (no route to %s in the test)", address)}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func (d *fakeDialer) calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// pki is a test certificate authority.
type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t testing.TB, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate for names, valid from notBefore for a
// day (a zero notBefore means an hour ago).
func (p *pki) leaf(t testing.TB, notBefore time.Time, names ...string) tls.Certificate {
	t.Helper()
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, p.cert.Raw}, PrivateKey: key}
}

// serveTLS starts an HTTPS server with cert answering a.
func serveTLS(t testing.TB, cert tls.Certificate, a answer) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// trace is what Cloudflare's /cdn-cgi/trace answers, egress address and
// all: the address must never come out of the monitor.
const trace = "fl=123f45\nh=www.cloudflare.com\nip=203.0.113.7\nts=1757404800.123\nvisit_scheme=https\nuag=gptaccess/1.2.3\n" +
	"colo=FRA\nsliver=none\nhttp=http/2\nloc=DE\ntls=TLSv1.3\nsni=plaintext\nwarp=off\ngateway=off\nrbi=off\nkex=X25519\n"

// network is a fake Internet on loopback: names, routes and a trusted CA,
// with the canary (www.cloudflare.com's trace) reachable.
type network struct {
	t        *testing.T
	ca       *pki
	resolver fakeResolver
	dialer   *fakeDialer
	next     int
}

func newNetwork(t *testing.T) *network {
	n := &network{t: t, ca: newPKI(t, "Test Trusted Root"), resolver: fakeResolver{}, dialer: &fakeDialer{routes: map[string]string{}}}
	canary := serveTLS(t, n.ca.leaf(t, time.Time{}, "www.cloudflare.com"), answer{200, cfHeaders("Content-Type", "text/plain"), []byte(trace)})
	n.host("www.cloudflare.com", canary, 443)
	return n
}

// host makes name resolve to a fresh public-looking address whose port
// leads to srv.
func (n *network) host(name string, srv *httptest.Server, port int) {
	n.next++
	ip := fmt.Sprintf("198.51.100.%d", n.next)
	n.resolver[name] = answerDNS{addrs: []string{ip}}
	n.dialer.routes[net.JoinHostPort(ip, fmt.Sprint(port))] = srv.Listener.Addr().String()
}

// check runs one round over targets with this network.
func (n *network) check(targets []monitor.Target, opts ...func(*monitor.Options)) monitor.Round {
	n.t.Helper()
	o := monitor.Options{
		Targets: targets, Canary: "https://www.cloudflare.com/cdn-cgi/trace", Version: "1.2.3",
		Resolver: n.resolver, Dialer: n.dialer,
		Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: n.ca.pool}}},
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := monitor.New(o)
	if err != nil {
		n.t.Fatal(err)
	}
	rd, err := m.CheckOnce(n.t.Context())
	if err != nil {
		n.t.Fatal(err)
	}
	return rd
}

// chatgpt is the web target as configured by default.
var chatgpt = monitor.Target{Name: "web", Kind: monitor.TargetWeb, URL: "https://chatgpt.com/", Timeout: 2 * time.Second}

// TestDNSSignals: a name our DNS says does not exist, or answers with a
// sinkhole, is our network filtering it, provided the canary's name
// resolves; SERVFAIL and timeouts are failures, not filters.
func TestDNSSignals(t *testing.T) {
	tests := []struct {
		name        string
		answer      answerDNS
		canary      *answerDNS // replaces the canary's answer
		want        cloudflare.Verdict
		detail      string
		canaryOK    bool
		noDialTo443 bool
	}{
		{"NXDOMAIN", answerDNS{err: nxdomain("chatgpt.com")}, nil, cloudflare.BlockedNetwork,
			"DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com", true, true},
		{"sinkhole 0.0.0.0", answerDNS{addrs: []string{"0.0.0.0"}}, nil, cloudflare.BlockedNetwork,
			"DNS filter: our DNS answers chatgpt.com with a sinkhole address (0.0.0.0), while it resolves www.cloudflare.com", true, true},
		{"sinkhole 127.0.0.1", answerDNS{addrs: []string{"127.0.0.1"}}, nil, cloudflare.BlockedNetwork, "sinkhole address (127.0.0.1)", true, true},
		{"sinkhole 127.0.53.53", answerDNS{addrs: []string{"127.0.53.53"}}, nil, cloudflare.BlockedNetwork, "sinkhole address (127.0.53.53)", true, true},
		{"sinkhole :: and ::1", answerDNS{addrs: []string{"::", "::1"}}, nil, cloudflare.BlockedNetwork, "sinkhole address (::, ::1)", true, true},
		{"SERVFAIL", answerDNS{err: servfail("chatgpt.com")}, nil, cloudflare.Unreachable,
			"DNS lookup failed for chatgpt.com (server misbehaving)", true, true},
		{"DNS timeout", answerDNS{err: dnsTimeout("chatgpt.com")}, nil, cloudflare.Unreachable, "DNS: the lookup of chatgpt.com timed out", true, true},
		// Every name fails: our DNS is broken, not filtering (the case of
		// the issue that brought this in).
		{"NXDOMAIN for the canary too", answerDNS{err: nxdomain("chatgpt.com")}, &answerDNS{err: nxdomain("www.cloudflare.com")}, cloudflare.Unreachable,
			"DNS: no such host chatgpt.com (the canary's name does not resolve either: our DNS itself seems broken)", false, true},
		{"sinkhole for the canary too", answerDNS{addrs: []string{"0.0.0.0"}}, &answerDNS{addrs: []string{"0.0.0.0"}}, cloudflare.Unreachable,
			"DNS answers only a sinkhole address (0.0.0.0) for chatgpt.com (the canary's name does not resolve either", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t)
			n.resolver["chatgpt.com"] = tt.answer
			if tt.canary != nil {
				n.resolver["www.cloudflare.com"] = *tt.canary
			}
			rd := n.check([]monitor.Target{chatgpt})
			r := rd.Results[0]
			if r.Verdict != tt.want || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got %q %q; want %q with %q", r.Verdict, r.Detail, tt.want, tt.detail)
			}
			if strings.Contains(r.Detail, "DNS itself seems broken") && strings.Contains(r.Detail, "canary failed") {
				t.Errorf("detail says it twice: %q", r.Detail)
			}
			if rd.Canary.OK != tt.canaryOK {
				t.Errorf("canary ok = %v (%s), want %v", rd.Canary.OK, rd.Canary.Detail, tt.canaryOK)
			}
			for _, a := range n.dialer.calls() {
				if tt.noDialTo443 && !strings.HasPrefix(a, "198.51.100.") {
					t.Errorf("dialled %s: a sinkhole or unresolved name must not be dialled", a)
				}
			}
		})
	}
}

// TestDNSWithoutACanaryName: a host:port canary given as an IP address
// has no name to resolve, so DNS verdicts are impossible and DNS failures
// stay unreachable; so without a canary.
func TestDNSWithoutACanaryName(t *testing.T) {
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for _, canary := range []string{"192.0.2.53:53", ""} {
		for _, a := range []answerDNS{{err: nxdomain("chatgpt.com")}, {addrs: []string{"0.0.0.0"}}} {
			n := newNetwork(t)
			n.dialer.routes["192.0.2.53:53"] = live.Addr().String()
			n.resolver["chatgpt.com"] = a
			rd := n.check([]monitor.Target{chatgpt}, func(o *monitor.Options) { o.Canary = canary })
			if r := rd.Results[0]; r.Verdict != cloudflare.Unreachable || !strings.Contains(r.Detail, "chatgpt.com") {
				t.Errorf("canary %q, answer %v: got %q %q, want unreachable", canary, a, r.Verdict, r.Detail)
			}
			if !rd.Canary.OK || rd.Canary.NameResolved {
				t.Errorf("canary %q: %+v", canary, rd.Canary)
			}
		}
	}
}

// TestMixedAnswerDialsTheRealAddress: an answer holding a sinkhole and a
// real address is no filter; the real one is dialled.
func TestMixedAnswerDialsTheRealAddress(t *testing.T) {
	n := newNetwork(t)
	web := serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{200, cfHeaders(), []byte("<title>ChatGPT</title>")})
	n.host("chatgpt.com", web, 443)
	real := n.resolver["chatgpt.com"].addrs[0]
	n.resolver["chatgpt.com"] = answerDNS{addrs: []string{"0.0.0.0", real}}
	rd := n.check([]monitor.Target{chatgpt})
	if r := rd.Results[0]; r.Verdict != cloudflare.Up {
		t.Errorf("got %q %q, want up", r.Verdict, r.Detail)
	}
}

// TestTLSInterception: a certificate from an authority we do not trust,
// or for another name, is something on our network intercepting HTTPS; a
// trusted but expired certificate is not (unreachable).
func TestTLSInterception(t *testing.T) {
	n := newNetwork(t)
	proxyCA := newPKI(t, "Zscaler Intermediate Root CA (zscaler.net)")
	selfSigned := serveTLS(t, proxyCA.leaf(t, time.Time{}, "chatgpt.com"), answer{200, nil, nil})
	wrongName := serveTLS(t, n.ca.leaf(t, time.Time{}, "gateway.zscloud.example"), answer{200, nil, nil})
	expired := serveTLS(t, n.ca.leaf(t, time.Now().Add(-72*time.Hour), "chatgpt.com"), answer{200, nil, nil})
	tests := []struct {
		name   string
		srv    *httptest.Server
		want   cloudflare.Verdict
		detail string
	}{
		{"unknown authority", selfSigned, cloudflare.BlockedNetwork,
			"TLS interception: the certificate for chatgpt.com is from an unknown authority, issued by “Zscaler Intermediate Root CA (zscaler.net)”, so something on our network intercepts HTTPS"},
		{"wrong name", wrongName, cloudflare.BlockedNetwork,
			"TLS interception: the certificate presented for chatgpt.com is for another name (gateway.zscloud.example), so something on our network intercepts HTTPS"},
		{"expired", expired, cloudflare.Unreachable, "TLS: certificate not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.host("chatgpt.com", tt.srv, 443)
			r := n.check([]monitor.Target{chatgpt}).Results[0]
			if r.Verdict != tt.want || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got %q %q; want %q with %q", r.Verdict, r.Detail, tt.want, tt.detail)
			}
		})
	}
}

// TestBlockPagesFromOurNetwork: a web filter answering in place of
// chatgpt.com or api.openai.com (no cf-ray) is blocked-network, named; the
// same page with Cloudflare's marks is not, nor on an `http` target.
func TestBlockPagesFromOurNetwork(t *testing.T) {
	pages := []struct {
		file   string
		status int
		h      map[string]string
		detail string
	}{
		{"zscaler.html", 403, map[string]string{"Server": "Zscaler/5.6"}, "web filter: the Zscaler block page (HTTP 403)"},
		{"umbrella.html", 403, nil, "web filter: the Cisco Umbrella block page (HTTP 403)"},
		{"fortinet.html", 403, nil, "web filter: the Fortinet FortiGuard block page (HTTP 403)"},
		{"paloalto.html", 503, nil, "web filter: the Palo Alto Networks block page (HTTP 503)"},
		{"sophos.html", 403, nil, "web filter: the Sophos block page (HTTP 403)"},
		{"squid.html", 403, map[string]string{"Server": "squid/5.7", "X-Squid-Error": "ERR_ACCESS_DENIED 0"}, "web filter: the Squid block page (HTTP 403)"},
		{"generic.html", 403, nil, "web filter: a block page from a filter on our network (HTTP 403)"},
		{"", 403, nil, "web proxy: HTTP 403 without Cloudflare's marks, from a proxy or filter on our network"},
		{"", 407, map[string]string{"Proxy-Authenticate": "Basic"}, "web proxy: our web proxy wants us to sign in (HTTP 407)"},
		{"", 451, nil, "web proxy: HTTP 451 (unavailable for legal reasons) without Cloudflare's marks, from a filter on our network"},
		// A filter that sends the browser to its block page on its own host.
		{"", 302, map[string]string{"Location": "https://block.opendns.com/?url=chatgpt.com"}, "web filter: a redirect to block.opendns.com, without Cloudflare's marks (HTTP 302)"},
		{"", 307, map[string]string{"Location": "http://10.1.2.3:8080/blocked"}, "web filter: a redirect to an address on our network, without Cloudflare's marks (HTTP 307)"},
	}
	for _, p := range pages {
		t.Run(p.file+fmt.Sprint(p.status), func(t *testing.T) {
			var body []byte
			if p.file != "" {
				body = readFixture(t, "cf:"+filepath.Join("filters", p.file))
			}
			filter := serve(t, answer{p.status, p.h, body})
			for _, kind := range []string{monitor.TargetWeb, monitor.TargetAPI} {
				r, _ := checkOne(t, monitor.Target{Name: "x", Kind: kind, URL: filter.URL})
				if r.Verdict != cloudflare.BlockedNetwork || r.Detail != p.detail || r.Status != p.status {
					t.Errorf("%s: got %q %d %q; want blocked-network %d %q", kind, r.Verdict, r.Status, r.Detail, p.status, p.detail)
				}
			}
			// Any other host may answer 403 itself.
			if r, _ := checkOne(t, monitor.Target{Name: "x", Kind: monitor.TargetHTTP, URL: filter.URL}); r.Verdict == cloudflare.BlockedNetwork {
				t.Errorf("http target: got %q, want no blocked-network", r.Verdict)
			}
		})
	}
	// With Cloudflare's marks a 403 is Cloudflare's (or OpenAI's) own.
	cf := serve(t, answer{403, cfHeaders(), readFixture(t, "cf:"+filepath.Join("filters", "generic.html"))})
	if r, _ := checkOne(t, monitor.Target{Name: "x", Kind: monitor.TargetWeb, URL: cf.URL}); r.Verdict != cloudflare.Unexpected {
		t.Errorf("403 with cf-ray: got %q, want unexpected", r.Verdict)
	}
}

// connectProxy is a web proxy that answers every CONNECT with status.
func connectProxy(t *testing.T, status int, h map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range h {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestProxyRefusesConnect: a web proxy refusing CONNECT to an OpenAI host
// with 403, 407 or 451 is our network blocking it; its 502 is a proxy that
// could not get through.
func TestProxyRefusesConnect(t *testing.T) {
	tests := []struct {
		status int
		h      map[string]string
		kind   string
		want   cloudflare.Verdict
		detail string
	}{
		{403, map[string]string{"Server": "squid/5.7"}, monitor.TargetWeb, cloudflare.BlockedNetwork, "web proxy: our web proxy (Squid) refuses to connect to it (HTTP 403)"},
		{407, map[string]string{"Proxy-Authenticate": "Negotiate"}, monitor.TargetAPI, cloudflare.BlockedNetwork, "web proxy: our web proxy wants us to sign in (HTTP 407)"},
		{451, nil, monitor.TargetWeb, cloudflare.BlockedNetwork, "web proxy: our web proxy refuses to connect to it (HTTP 451)"},
		{502, nil, monitor.TargetWeb, cloudflare.Unreachable, "our web proxy could not connect (HTTP 502)"},
		{403, nil, monitor.TargetHTTP, cloudflare.Unreachable, "our web proxy could not connect (HTTP 403)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.kind), func(t *testing.T) {
			n := newNetwork(t)
			proxy := connectProxy(t, tt.status, tt.h)
			n.host("proxy.example.internal", proxy, 3128)
			proxyURL := http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.example.internal:3128"})
			target := monitor.Target{Name: "x", Kind: tt.kind, URL: "https://chatgpt.com/", Timeout: 2 * time.Second}
			rd := n.check([]monitor.Target{target}, func(o *monitor.Options) {
				o.Canary = ""
				o.Client.Transport.(*http.Transport).Proxy = proxyURL
			})
			r := rd.Results[0]
			if r.Verdict != tt.want || r.Detail != tt.detail || r.Status != tt.status {
				t.Errorf("got %q %d %q; want %q %d %q", r.Verdict, r.Status, r.Detail, tt.want, tt.status, tt.detail)
			}
		})
	}
}

// TestCanaryTrace: the trace names where our traffic reaches Cloudflare;
// the egress address it also holds goes nowhere.
func TestCanaryTrace(t *testing.T) {
	n := newNetwork(t)
	web := serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{200, cfHeaders(), []byte("<title>ChatGPT</title>")})
	n.host("chatgpt.com", web, 443)
	rd := n.check([]monitor.Target{chatgpt})
	c := rd.Canary
	if !c.OK || c.DataCenter != "FRA" || c.Country != "DE" || !c.NameResolved || c.Detail != "" {
		t.Errorf("canary %+v", c)
	}
	if got, want := c.Egress(), "our traffic reaches Cloudflare in FRA (DE)"; got != want {
		t.Errorf("Egress = %q, want %q", got, want)
	}
	b, err := json.Marshal(rd)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"canary":{"ok":true,"data_center":"FRA","country":"DE"}`) {
		t.Errorf("JSON canary: %s", b)
	}
	for _, s := range []string{string(b), rd.Table(), fmt.Sprintf("%+v", rd)} {
		if strings.Contains(s, "203.0.113.7") || strings.Contains(s, "ip=") {
			t.Errorf("the egress address leaked: %s", s)
		}
	}
	if !strings.Contains(rd.Table(), "our traffic reaches Cloudflare in FRA (DE)") {
		t.Errorf("table lacks the data centre:\n%s", rd.Table())
	}
}

// TestCanaryFailures: the canary's detail says why, in words.
func TestCanaryFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(n *network)
		detail string
	}{
		{"no such host", func(n *network) { n.resolver["www.cloudflare.com"] = answerDNS{err: nxdomain("www.cloudflare.com")} },
			"DNS: no such host www.cloudflare.com"},
		{"intercepted", func(n *network) {
			other := newPKI(t, "Corp Proxy CA")
			n.host("www.cloudflare.com", serveTLS(t, other.leaf(t, time.Time{}, "www.cloudflare.com"), answer{200, nil, []byte(trace)}), 443)
		}, "TLS: the certificate for www.cloudflare.com is from an unknown authority, issued by “Corp Proxy CA” (something on our network intercepts HTTPS)"},
		{"refused by a filter", func(n *network) {
			n.host("www.cloudflare.com", serveTLS(t, n.ca.leaf(t, time.Time{}, "www.cloudflare.com"), answer{403, nil, nil}), 443)
		}, "answered HTTP 403, not 2xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t)
			tt.setup(n)
			n.resolver["chatgpt.com"] = answerDNS{err: servfail("chatgpt.com")}
			rd := n.check([]monitor.Target{chatgpt})
			if rd.Canary.OK || rd.Canary.Detail != tt.detail {
				t.Errorf("canary %+v, want failed with %q", rd.Canary, tt.detail)
			}
			b, _ := json.Marshal(rd.Canary)
			if want := fmt.Sprintf(`{"ok":false,"detail":%q}`, tt.detail); string(b) != want {
				t.Errorf("JSON %s, want %s", b, want)
			}
			if !rd.Results[0].Offline {
				t.Errorf("result not marked offline while the canary failed")
			}
		})
	}
}

// TestDialSharesTheTimeout: an address that swallows packets gets a share
// of the timeout, not all of it, and IPv4 is tried before IPv6, so one
// dead address does not make ChatGPT look unreachable.
func TestDialSharesTheTimeout(t *testing.T) {
	n := newNetwork(t)
	web := serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{200, cfHeaders(), []byte("<title>ChatGPT</title>")})
	n.host("chatgpt.com", web, 443)
	live := n.resolver["chatgpt.com"].addrs[0]
	n.dialer.routes["198.51.100.200:443"] = "hang"
	n.dialer.routes["[2001:db8::7]:443"] = "hang"

	n.resolver["chatgpt.com"] = answerDNS{addrs: []string{"2001:db8::7", live}}
	target := chatgpt
	target.Timeout = 4 * time.Second
	if r := n.check([]monitor.Target{target}).Results[0]; r.Verdict != cloudflare.Up {
		t.Errorf("IPv6 first in the answer: got %q %q, want up", r.Verdict, r.Detail)
	}
	if calls := n.dialer.calls(); len(calls) == 0 || strings.HasPrefix(calls[len(calls)-1], "[") {
		t.Errorf("dialled %v: IPv4 should come first", calls)
	}

	n.resolver["chatgpt.com"] = answerDNS{addrs: []string{"198.51.100.200", live}}
	start := time.Now()
	r := n.check([]monitor.Target{target}).Results[0]
	if r.Verdict != cloudflare.Up || time.Since(start) >= target.Timeout {
		t.Errorf("a dead address first: got %q %q after %v, want up within the timeout", r.Verdict, r.Detail, time.Since(start))
	}
}

// TestStatusReportFromARound: a real round (our resolver, dialer and TLS)
// that finds our own network blocking ChatGPT tells the bot so in the
// status report, with what blocks it, which the diagnosis concludes the
// network cause from; broken DNS (the canary's name fails too) and
// Cloudflare's own block are not our network blocking it.
func TestStatusReportFromARound(t *testing.T) {
	api := monitor.Target{Name: "api", Kind: monitor.TargetAPI, URL: "https://api.openai.com/v1/models", Timeout: 2 * time.Second}
	tests := []struct {
		name           string
		setup          func(t *testing.T, n *network)
		networkBlocked bool
		networkBlock   string
		blocked, down  bool
	}{
		{"DNS filter", func(t *testing.T, n *network) {
			n.resolver["chatgpt.com"] = answerDNS{err: nxdomain("chatgpt.com")}
		}, true, "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com", false, false},
		{"TLS interception", func(t *testing.T, n *network) {
			proxyCA := newPKI(t, "Corp Proxy CA")
			n.host("chatgpt.com", serveTLS(t, proxyCA.leaf(t, time.Time{}, "chatgpt.com"), answer{200, nil, nil}), 443)
		}, true, "TLS interception: the certificate for chatgpt.com is from an unknown authority, issued by “Corp Proxy CA”, so something on our network intercepts HTTPS", false, false},
		{"web filter", func(t *testing.T, n *network) {
			page := readFixture(t, "cf:"+filepath.Join("filters", "zscaler.html"))
			n.host("chatgpt.com", serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{403, map[string]string{"Server": "Zscaler/5.6"}, page}), 443)
		}, true, "web filter: the Zscaler block page (HTTP 403)", false, false},
		{"broken DNS, not a filter", func(t *testing.T, n *network) {
			n.resolver["chatgpt.com"] = answerDNS{err: nxdomain("chatgpt.com")}
			n.resolver["www.cloudflare.com"] = answerDNS{err: nxdomain("www.cloudflare.com")}
		}, false, "", false, false},
		{"Cloudflare's 1020", func(t *testing.T, n *network) {
			page := readFixture(t, "cf:1020.html")
			n.host("chatgpt.com", serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{403, cfHeaders(), page}), 443)
		}, false, "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNetwork(t)
			up := serveTLS(t, n.ca.leaf(t, time.Time{}, "api.openai.com"), answer{401, cfHeaders("Content-Type", "application/json"),
				[]byte(`{"error":{"message":"Missing bearer authentication in header","type":"invalid_request_error","param":null,"code":null}}`)})
			n.host("api.openai.com", up, 443)
			tt.setup(t, n)
			m, err := monitor.New(monitor.Options{
				Targets: []monitor.Target{api, chatgpt}, Canary: "https://www.cloudflare.com/cdn-cgi/trace", Version: "1.2.3",
				Resolver: n.resolver, Dialer: n.dialer,
				Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: n.ca.pool}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := m.Status(t.Context()) // no round yet: it runs one
			if err != nil {
				t.Fatal(err)
			}
			if rep.NetworkBlocked != tt.networkBlocked || rep.NetworkBlock != tt.networkBlock {
				t.Errorf("NetworkBlocked, NetworkBlock = %v, %q; want %v, %q\n%s", rep.NetworkBlocked, rep.NetworkBlock, tt.networkBlocked, tt.networkBlock, rep.Text)
			}
			if rep.Blocked != tt.blocked || rep.Down != tt.down {
				t.Errorf("Blocked, Down = %v, %v; want %v, %v\n%s", rep.Blocked, rep.Down, tt.blocked, tt.down, rep.Text)
			}
			if tt.networkBlocked && !strings.Contains(rep.Text, "blocked by our own network") {
				t.Errorf("the status does not say so:\n%s", rep.Text)
			}
			if strings.Contains(rep.Text, "203.0.113.7") {
				t.Errorf("the egress address leaked:\n%s", rep.Text)
			}
		})
	}
}

// TestNoNameResolvesWithAnIPCanary is the setup of the report that brought
// blocked-network in: DNS says "no such host" for every name while the
// canary, an IP address, accepts TCP. Nothing tells our DNS from OpenAI's,
// so the status says ChatGPT looks down only because its names do not
// resolve, which may be our own DNS, and a user's "chatgpt won't load"
// is not put down to ChatGPT's side: the diagnosis asks, as it would
// without the monitor, as the alert for the same round hedges.
func TestNoNameResolvesWithAnIPCanary(t *testing.T) {
	canary, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer canary.Close()
	go func() {
		for {
			c, err := canary.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	n := &network{t: t, resolver: fakeResolver{}, dialer: &fakeDialer{routes: map[string]string{canary.Addr().String(): canary.Addr().String()}}}
	api := monitor.Target{Name: "api", Kind: monitor.TargetAPI, URL: "https://api.openai.com/v1/models", Timeout: 2 * time.Second}
	m, err := monitor.New(monitor.Options{
		Targets: []monitor.Target{api, chatgpt}, Canary: canary.Addr().String(), Timezone: "UTC",
		Resolver: n.resolver, Dialer: n.dialer,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Down || !rep.DNSUnsure || rep.NetworkBlocked || rep.Blocked {
		t.Errorf("Down, DNSUnsure, NetworkBlocked, Blocked = %v, %v, %v, %v; want true, true, false, false\n%s",
			rep.Down, rep.DNSUnsure, rep.NetworkBlocked, rep.Blocked, rep.Text)
	}
	head, _, _ := strings.Cut(rep.Text, "\n")
	if want := "**ChatGPT looks down from here, but only because our DNS does not resolve its names**"; head != want {
		t.Errorf("headline %q, want %q", head, want)
	}
	for _, want := range []string{"may be our own DNS rather than OpenAI", "our canary is an IP address, so it cannot tell", "api.openai.com and chatgpt.com"} {
		if !strings.Contains(rep.Text, want) {
			t.Errorf("the status lacks %q:\n%s", want, rep.Text)
		}
	}

	e := bottest.Engine(t, bot.Options{Status: m})
	r, err := e.Handle(t.Context(), bot.Message{Platform: bot.Console, Channel: "terminal", User: "ana", DM: true, Text: "chatgpt won't load for me"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Diagnosis != nil || r.Question == nil {
		t.Errorf("diagnosis %+v, question %+v; want a question, as without the monitor:\n%s", r.Diagnosis, r.Question, r.Text)
	}
	if strings.Contains(r.Text, "likely not on your side") || !strings.Contains(r.Text, "may be our own network's DNS") {
		t.Errorf("the preface concludes ChatGPT's side, or does not give the DNS caveat:\n%s", r.Text)
	}
}

// TestOtherHostBlockedIsNotChatGPT: an `http` target may be any host; our
// network filtering it (an intranet page) is no reason to tell a user that
// it blocks ChatGPT, so the status report that the diagnosis reads leaves
// NetworkBlocked alone while ChatGPT's own front doors answer.
func TestOtherHostBlockedIsNotChatGPT(t *testing.T) {
	n := newNetwork(t)
	n.host("api.openai.com", serveTLS(t, n.ca.leaf(t, time.Time{}, "api.openai.com"), answer{401, cfHeaders("Content-Type", "application/json"),
		[]byte(`{"error":{"message":"Missing bearer authentication in header","type":"invalid_request_error","param":null,"code":null}}`)}), 443)
	n.host("chatgpt.com", serveTLS(t, n.ca.leaf(t, time.Time{}, "chatgpt.com"), answer{200, cfHeaders(), nil}), 443)
	n.resolver["intranet.example.com"] = answerDNS{err: nxdomain("intranet.example.com")}
	intranet := monitor.Target{Name: "intranet", Kind: monitor.TargetHTTP, URL: "https://intranet.example.com/", Timeout: 2 * time.Second}
	api := monitor.Target{Name: "api", Kind: monitor.TargetAPI, URL: "https://api.openai.com/v1/models", Timeout: 2 * time.Second}
	m, err := monitor.New(monitor.Options{
		Targets: []monitor.Target{api, chatgpt, intranet}, Canary: "https://www.cloudflare.com/cdn-cgi/trace",
		Resolver: n.resolver, Dialer: n.dialer,
		Client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: n.ca.pool}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.NetworkBlocked {
		t.Errorf("NetworkBlocked with ChatGPT's hosts answering and only intranet filtered (%q):\n%s", rep.NetworkBlock, rep.Text)
	}
	if !strings.Contains(rep.Text, "intranet") {
		t.Errorf("the status does not list the filtered target:\n%s", rep.Text)
	}
}
