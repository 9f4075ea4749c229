package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// canaryTimeout bounds the canary check.
const canaryTimeout = 5 * time.Second

// maxTrace bounds what is read of a trace (about 300 bytes).
const maxTrace = 4 << 10

// Canary is whether our own network worked during a round. Its JSON form is
// the "canary" object of `gptaccess check --json`.
type Canary struct {
	OK     bool   `json:"ok"`               // true when the canary answered or none is configured
	Detail string `json:"detail,omitempty"` // why it failed, in words
	// DataCenter and Country are where our traffic reaches Cloudflare
	// (colo and loc of the trace): "FRA", "DE". Empty unless the canary is
	// a trace that answered.
	DataCenter string `json:"data_center,omitempty"`
	Country    string `json:"country,omitempty"`

	Target string `json:"-"` // host:port or URL; "" when disabled
	// NameResolved reports whether the canary's host name resolved to a
	// usable address: our DNS works, so a name it says does not exist is
	// filtered, not lost. False for an IP address canary, which cannot
	// tell.
	NameResolved bool `json:"-"`
}

// Egress is where our traffic reaches Cloudflare, in words: "our traffic
// reaches Cloudflare in FRA (DE)"; "" when the trace did not say.
func (c Canary) Egress() string {
	if c.DataCenter == "" {
		return ""
	}
	s := "our traffic reaches Cloudflare in " + c.DataCenter
	if c.Country != "" {
		s += " (" + c.Country + ")"
	}
	return s
}

// The trace fields read, by their shape so that nothing odd reaches a chat:
// an IATA code and a two-character country ("T1" is Tor).
var (
	reColo = regexp.MustCompile(`^[A-Z]{3,4}$`)
	reLoc  = regexp.MustCompile(`^[A-Z][A-Z0-9]$`)
)

// parseTrace reads colo and loc from a /cdn-cgi/trace answer. It reads no
// other line: the trace also holds our egress IP address ("ip="), which
// must never reach a chat, a log or the status page.
func parseTrace(r io.Reader) (colo, loc string) {
	sc := bufio.NewScanner(io.LimitReader(r, maxTrace))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "colo":
			if v = strings.ToUpper(v); reColo.MatchString(v) {
				colo = v
			}
		case "loc":
			if v = strings.ToUpper(v); reLoc.MatchString(v) {
				loc = v
			}
		}
	}
	return colo, loc
}

// checkCanary tells whether our own network works: a URL canary must
// resolve, connect, pass TLS and answer 2xx (and a trace says where we
// reach Cloudflare); a host:port canary must accept a TCP connection. A
// canary named by host name also tells whether our DNS resolves names.
func (m *Monitor) checkCanary(ctx context.Context) Canary {
	c := Canary{OK: true, Target: m.canary}
	if m.canary == "" {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, canaryTimeout)
	defer cancel()
	ctx = withDialDeadline(ctx)
	host := canaryHost(m.canary)
	if host != "" && net.ParseIP(host) == nil {
		_, err := m.resolve(ctx, host)
		c.NameResolved = err == nil
	}
	if !strings.Contains(m.canary, "://") {
		conn, err := m.dial(ctx, "tcp", m.canary)
		if err != nil {
			c.OK, c.Detail = false, canaryFailure(ctx, err, host)
			return c
		}
		conn.Close()
		return c
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.canary, nil)
	if err != nil {
		c.OK, c.Detail = false, "bad canary URL"
		return c
	}
	req.Header.Set("User-Agent", m.userAgent)
	req.Header.Set("Accept", "text/plain, */*;q=0.5")
	resp, err := m.client.Do(req)
	if err != nil {
		c.OK, c.Detail = false, canaryFailure(ctx, err, host)
		return c
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.OK, c.Detail = false, fmt.Sprintf("answered HTTP %d, not 2xx", resp.StatusCode)
		return c
	}
	c.DataCenter, c.Country = parseTrace(resp.Body)
	return c
}

// canaryFailure says in words why the canary failed.
func canaryFailure(ctx context.Context, err error, host string) string {
	var ne *nameError
	if errors.As(err, &ne) && len(ne.sinkhole) > 0 {
		return "DNS answers only a sinkhole address (" + joinIPs(ne.sinkhole) + ") for " + host
	}
	if what, ok := certTrouble(err, host); ok {
		return "TLS: " + what + " (something on our network intercepts HTTPS)"
	}
	return transportDetail(ctx, err, canaryTimeout)
}

// canaryHost is the host name or address of a canary.
func canaryHost(canary string) string {
	if strings.Contains(canary, "://") {
		u, err := url.Parse(canary)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	host, _, err := net.SplitHostPort(canary)
	if err != nil {
		return ""
	}
	return host
}
