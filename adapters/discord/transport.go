package discord

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewrite points one Session's REST calls at the configured api_url.
//
// discordgo v0.29.0 keeps its endpoints in package-level variables
// (EndpointAPI, EndpointChannels, ...), computed once at init. Reassigning
// them would redirect every Session in the process — other adapters, other
// parallel tests — and races with requests in flight. A RoundTripper on
// this Session's own http.Client changes this Session only: every request
// discordgo builds for https://discord.com/api/v9/... goes to
// <api_url>api/v9/... instead.
//
// The gateway needs no rewriting: Session.Open asks GET /api/v9/gateway
// (rewritten like any REST call) where to connect, exactly as it does with
// the real Discord, so a test server or proxy hands out its own websocket
// URL.
type rewrite struct {
	from string // discordgo.EndpointAPI
	to   string // <api_url>api/v9/
	next http.RoundTripper
}

func (rw *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	u := r.URL.String()
	if !strings.HasPrefix(u, rw.from) {
		return rw.next.RoundTrip(r)
	}
	nu, err := url.Parse(rw.to + u[len(rw.from):])
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("rewrite discord url: %w", err)
	}
	r2 := r.Clone(r.Context())
	r2.URL = nu
	r2.Host = nu.Host
	return rw.next.RoundTrip(r2)
}

// restClient returns the http.Client for the Session: a copy of base with
// the rewriting transport when apiURL is set.
func restClient(base *http.Client, apiURL string) (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if base != nil {
		cp := *base
		c = &cp
	}
	if apiURL == "" {
		return c, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discord: api_url %q is not an http(s) URL", apiURL)
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	c.Transport = &rewrite{from: discordgo.EndpointAPI, to: apiURL + "api/v" + discordgo.APIVersion + "/", next: next}
	return c, nil
}

// dialer remembers the gateway's network connection so that a handshake
// that hangs can be aborted: Session.Open waits for HELLO and READY with no
// deadline of its own. An abort that comes before the connection exists
// (Open still busy with the REST call that finds the gateway) is kept, so
// the connection is refused when it comes.
type dialer struct {
	mu      sync.Mutex
	conn    net.Conn
	aborted bool
	nd      net.Dialer
}

// errAborted refuses a gateway connection whose handshake was given up.
var errAborted = errors.New("gateway handshake aborted")

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.aborted {
		c.Close()
		return nil, errAborted
	}
	d.conn = c
	return c, nil
}

// reset readies the dialer for a new handshake.
func (d *dialer) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn, d.aborted = nil, false
}

// abort closes the current gateway connection, or the next one to come.
func (d *dialer) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	if d.conn != nil {
		d.conn.Close()
	}
}

// call runs one REST request with a timeout. discordgo's own 429 handling
// sleeps for retry_after and retries without limit and without a context,
// so the Session has it turned off (ShouldRetryOnRateLimit=false): a 429
// comes back as *discordgo.RateLimitError, and the delivery core waits it
// out for that channel. discordgo's buckets (X-RateLimit-* headers) still
// pace requests before they are sent.
func (a *Adapter) call(ctx context.Context, what string, f func(opts ...discordgo.RequestOption) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	cctx, cancel := context.WithTimeout(ctx, a.callTimeout)
	defer cancel()
	if err := f(discordgo.WithContext(cctx)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// apiCode returns Discord's JSON error code of a failed call, or 0.
func apiCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// httpStatus returns the HTTP status of a failed call, or 0.
func httpStatus(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// Discord JSON error codes the adapter acts on.
const (
	codeUnknownChannel     = 10003
	codeUnknownMessage     = 10008
	codeMissingAccess      = 50001
	codeMissingPermissions = 50013
	codeThreadExists       = 160004
)

// permanent reports whether a send to a channel will never succeed as
// configured: the channel is gone or the bot may not see or write it.
func permanent(err error) bool {
	switch apiCode(err) {
	case codeMissingAccess, codeMissingPermissions, codeUnknownChannel:
		return true
	}
	return false
}

// tokenInURL matches the secret part of interaction and webhook URLs.
var tokenInURL = regexp.MustCompile(`((?:webhooks|interactions)/[0-9]+/)[^/?\s"]+`)

// errText is errText naming the server the request really went to: with
// api_url set, discordgo still builds (and net/http still quotes)
// https://discord.com/api/v9/... URLs, which the transport redirects.
func (a *Adapter) errText(err error) string {
	s := errText(err)
	if a.o.APIURL != "" {
		base := strings.TrimSuffix(a.o.APIURL, "/") + "/api/v" + discordgo.APIVersion + "/"
		s = strings.ReplaceAll(s, discordgo.EndpointAPI, base)
	}
	return s
}

// errText describes err for the log without secrets: interaction tokens
// travel in URLs, and net/http errors quote the URL.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		s := re.Response.Status
		if re.Message != nil {
			s += fmt.Sprintf(" (code %d: %s)", re.Message.Code, re.Message.Message)
		}
		return s
	}
	return tokenInURL.ReplaceAllString(err.Error(), "${1}[redacted]")
}
