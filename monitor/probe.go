package monitor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"gptaccess/cloudflare"
)

// maxBody bounds what is read of an answer: enough for a summary.json
// and for the markers of any error page.
const maxBody = 1 << 20

// canaryTimeout bounds the canary check.
const canaryTimeout = 5 * time.Second

// probe requests t once and classifies the answer. It never fails: a
// transport error is a result too (unreachable).
func (m *Monitor) probe(ctx context.Context, t Target) Result {
	r := Result{Target: t.Name, Kind: t.Kind, CheckedAt: m.now()}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, nil)
	if err != nil {
		r.Verdict, r.Detail = cloudflare.Unexpected, "bad request: "+err.Error()
		return r
	}
	// An honest name: we never pose as a browser or try to pass a
	// challenge, so a block we see is the block our users see.
	req.Header.Set("User-Agent", m.userAgent)
	if t.Kind == TargetWeb || t.Kind == TargetHTTP {
		req.Header.Set("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := m.client.Do(req)
	if err != nil {
		r.Latency = time.Since(start)
		r.Verdict, r.Detail = cloudflare.Unreachable, transportDetail(ctx, err, t.Timeout)
		return r
	}
	r.Latency = time.Since(start)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	r.Status = resp.StatusCode
	r.RayID, r.DataCenter = cloudflare.ParseRay(resp.Header.Get("Cf-Ray"))
	if err != nil {
		r.Verdict, r.Detail = cloudflare.Unreachable, "answer cut off: "+transportDetail(ctx, err, t.Timeout)
		return r
	}
	var official Official
	var parsed bool
	expected := func(status int, body []byte) bool {
		if !t.statusOK(status) {
			return false
		}
		switch t.Kind {
		case TargetAPI:
			return apiUp(status, body)
		case TargetStatus:
			official, parsed = parseSummary(body)
			return parsed
		}
		return true
	}
	r.Verdict, r.Code = cloudflare.Classify(resp.StatusCode, resp.Header, body, expected)
	if parsed {
		r.Official = &official
	}
	r.Detail = responseDetail(t, r)
	return r
}

// Cloudflare's 10xx block codes, in words.
var blockCodes = map[int]string{
	1005: "our network's ASN is banned",
	1006: "our IP address is banned",
	1007: "our IP address is banned",
	1008: "our IP address is banned",
	1009: "our country is banned",
	1010: "our client's signature is banned",
	1011: "hotlinking denied",
	1012: "access denied (malicious activity)",
	1106: "our IP address is banned",
}

// responseDetail says in a few words what an answer was.
func responseDetail(t Target, r Result) string {
	switch r.Verdict {
	case cloudflare.Up:
		switch {
		case r.Official != nil:
			return "official status: " + r.Official.Indicator
		case t.Kind == TargetAPI && r.Status == 401:
			return "API front door answers (401 invalid_request_error)"
		}
		return fmt.Sprintf("HTTP %d", r.Status)
	case cloudflare.Challenged:
		return "Cloudflare challenge page (we never solve challenges)"
	case cloudflare.Blocked1020:
		return "Cloudflare error 1020: access denied by a firewall rule"
	case cloudflare.RateLimited:
		if r.Code == 1015 {
			return "Cloudflare error 1015: rate limited"
		}
		return fmt.Sprintf("rate limited (HTTP %d)", r.Status)
	case cloudflare.BlockedOther:
		return fmt.Sprintf("Cloudflare error %d: %s", r.Code, blockCodes[r.Code])
	case cloudflare.OriginDown:
		return fmt.Sprintf("Cloudflare cannot reach OpenAI's servers (error %d)", r.Code)
	case cloudflare.OriginError:
		return fmt.Sprintf("server error (HTTP %d)", r.Status)
	}
	if t.Kind == TargetStatus && r.Status == 200 {
		return "status unknown: the status page did not answer with its JSON"
	}
	return fmt.Sprintf("unexpected answer (HTTP %d)", r.Status)
}

// transportDetail names what failed before an answer came: DNS, the
// connection, TLS or the clock.
func transportDetail(ctx context.Context, err error, timeout time.Duration) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "DNS: no such host " + dnsErr.Name
		}
		return "DNS lookup failed for " + dnsErr.Name
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return "TLS: certificate not accepted (" + shortErr(err) + ")"
	case errors.As(err, &record), errors.As(err, &alert):
		return "TLS handshake failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "network unreachable"
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return shortErr(err)
}

// shortErr drops the `Get "https://...": ` prefix that url.Error adds.
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// checkCanary tells whether our own network works: a TCP connection to
// host:port, or any HTTP answer from a URL.
func (m *Monitor) checkCanary(ctx context.Context) Canary {
	c := Canary{OK: true, Target: m.canary}
	if m.canary == "" {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, canaryTimeout)
	defer cancel()
	if strings.Contains(m.canary, "://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, m.canary, nil)
		if err == nil {
			req.Header.Set("User-Agent", m.userAgent)
			var resp *http.Response
			if resp, err = m.client.Do(req); err == nil {
				resp.Body.Close()
				return c
			}
		}
		c.OK, c.Detail = false, transportDetail(ctx, err, canaryTimeout)
		return c
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.canary)
	if err != nil {
		c.OK, c.Detail = false, transportDetail(ctx, err, canaryTimeout)
		return c
	}
	conn.Close()
	return c
}
