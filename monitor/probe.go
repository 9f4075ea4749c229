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
	"syscall"
	"time"

	"gptaccess/cloudflare"
)

// maxBody bounds what is read of an answer: enough for a summary.json
// and for the markers of any error page.
const maxBody = 1 << 20

// probe requests t once and classifies the answer. It never fails: a
// transport error is a result too (unreachable, or blocked-network when it
// shows a filter on our network). filtered is set when DNS said the name
// does not exist or answered a sinkhole: the words for it if the canary's
// own name resolves (our DNS works, so it filters this name), which only
// the round can tell.
func (m *Monitor) probe(ctx context.Context, t Target) (r Result, filtered string) {
	r = Result{Target: t.Name, Kind: t.Kind, CheckedAt: m.now()}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	ctx = withDialDeadline(ctx)
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, nil)
	if err != nil {
		r.Verdict, r.Detail = cloudflare.Unexpected, "bad request: "+err.Error()
		return r, ""
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
		r.Verdict, r.Status, r.Detail, filtered = transportVerdict(ctx, t, req.URL.Hostname(), err)
		return r, filtered
	}
	r.Latency = time.Since(start)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	r.Status = resp.StatusCode
	r.RayID, r.DataCenter = cloudflare.ParseRay(resp.Header.Get("Cf-Ray"))
	if err != nil {
		r.Verdict, r.Detail = cloudflare.Unreachable, "answer cut off: "+transportDetail(ctx, err, t.Timeout)
		return r, ""
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
	classify := cloudflare.Classify
	if t.fronted() {
		classify = cloudflare.ClassifyFronted
	}
	r.Verdict, r.Code = classify(resp.StatusCode, resp.Header, body, expected)
	if parsed {
		r.Official = &official
	}
	r.Detail = responseDetail(t, r, resp.Header, body)
	return r, ""
}

// transportVerdict classifies a request that got no answer from the site:
// TLS interception and a web proxy refusing CONNECT are our own network
// blocking it; DNS that says the name does not exist, or answers a
// sinkhole, may be (filtered, for the round to decide); the rest is
// unreachable.
func transportVerdict(ctx context.Context, t Target, host string, err error) (v cloudflare.Verdict, status int, detail, filtered string) {
	var (
		ne *nameError
		pr *proxyRefusal
	)
	switch {
	case errors.As(err, &ne) && ne.host == host && len(ne.sinkhole) > 0:
		sink := joinIPs(ne.sinkhole)
		return cloudflare.Unreachable, 0, "DNS answers only a sinkhole address (" + sink + ") for " + host,
			"our DNS answers " + host + " with a sinkhole address (" + sink + ")"
	case errors.As(err, &ne) && ne.host == host && ne.notFound():
		return cloudflare.Unreachable, 0, "DNS: no such host " + host, "our DNS says " + host + " does not exist"
	case errors.As(err, &pr):
		return proxyVerdict(t, pr)
	}
	if what, ok := certTrouble(err, host); ok {
		return cloudflare.BlockedNetwork, 0, "TLS interception: " + what + ", so something on our network intercepts HTTPS", ""
	}
	return cloudflare.Unreachable, 0, transportDetail(ctx, err, t.Timeout), ""
}

// proxyVerdict classifies a web proxy's refusal of CONNECT: for a host
// behind Cloudflare a 403, 407 or 451 is the proxy blocking it; anything
// else means the proxy could not get through.
func proxyVerdict(t Target, pr *proxyRefusal) (cloudflare.Verdict, int, string, string) {
	who := "our web proxy"
	if pr.filter != "" {
		who = "our web proxy (" + pr.filter + ")"
	}
	switch {
	case pr.status == http.StatusProxyAuthRequired && t.fronted():
		return cloudflare.BlockedNetwork, pr.status, "web proxy: " + who + " wants us to sign in (HTTP 407)", ""
	case (pr.status == http.StatusForbidden || pr.status == http.StatusUnavailableForLegalReasons) && t.fronted():
		return cloudflare.BlockedNetwork, pr.status, fmt.Sprintf("web proxy: %s refuses to connect to it (HTTP %d)", who, pr.status), ""
	}
	return cloudflare.Unreachable, pr.status, fmt.Sprintf("%s could not connect (HTTP %d)", who, pr.status), ""
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
func responseDetail(t Target, r Result, h http.Header, body []byte) string {
	switch r.Verdict {
	case cloudflare.BlockedNetwork:
		return filterDetail(r.Status, h, body)
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
		switch {
		case dnsErr.IsNotFound:
			return "DNS: no such host " + dnsErr.Name
		case dnsErr.IsTimeout:
			return "DNS: the lookup of " + dnsErr.Name + " timed out"
		}
		return "DNS lookup failed for " + dnsErr.Name + " (" + shortText(dnsErr.Err) + ")"
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

// shortText bounds s for a detail line.
func shortText(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
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

// filterDetail says what on our network refused a host behind Cloudflare.
func filterDetail(status int, h http.Header, body []byte) string {
	if host, ok := cloudflare.OffsiteRedirect(status, h); ok {
		// Only a filter's own host names it; an address says nothing to
		// the team and is not shown in chat.
		if net.ParseIP(host) != nil {
			host = "an address on our network"
		}
		return fmt.Sprintf("web filter: a redirect to %s, without Cloudflare's marks (HTTP %d)", host, status)
	}
	if name, ok := cloudflare.WebFilter(h, body); ok {
		if name == "" {
			return fmt.Sprintf("web filter: a block page from a filter on our network (HTTP %d)", status)
		}
		return fmt.Sprintf("web filter: the %s block page (HTTP %d)", name, status)
	}
	switch status {
	case http.StatusProxyAuthRequired:
		return "web proxy: our web proxy wants us to sign in (HTTP 407)"
	case http.StatusUnavailableForLegalReasons:
		return "web proxy: HTTP 451 (unavailable for legal reasons) without Cloudflare's marks, from a filter on our network"
	}
	return fmt.Sprintf("web proxy: HTTP %d without Cloudflare's marks, from a proxy or filter on our network", status)
}
