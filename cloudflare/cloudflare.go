// Package cloudflare recognises Cloudflare (and OpenAI custom) error pages,
// the block pages that web filters on our own network answer with, and
// classifies HTTP responses the way the README's monitoring section lays
// out. The bot uses ParsePage on text that users paste; the monitor uses
// Classify and ClassifyFronted on what the probes get back.
package cloudflare

import (
	"net/http"
	"strings"
)

// Verdict is the classification of one probe result. The words are a
// contract (docs/contracts.md, section 3: the `check --json` output).
type Verdict string

// Verdicts, in the order Classify tries them (Unreachable comes from the
// transport, before there is a response).
const (
	Up             Verdict = "up"              // the expected answer
	BlockedNetwork Verdict = "blocked-network" // our own network blocks it: a DNS filter, TLS interception, a web proxy or filter
	Unreachable    Verdict = "unreachable"     // DNS, TCP, TLS failure or timeout
	Challenged     Verdict = "challenged"      // a Cloudflare challenge page
	Blocked1020    Verdict = "blocked-1020"    // Cloudflare error 1020: access denied by a firewall rule
	RateLimited    Verdict = "rate-limited"    // HTTP 429 or Cloudflare error 1015
	BlockedOther   Verdict = "blocked-other"   // Cloudflare errors 1005-1012, 1106
	OriginDown     Verdict = "origin-down"     // Cloudflare cannot reach the origin (520-526, 530)
	OriginError    Verdict = "origin-error"    // the origin answers 500, 502, 503 or 504
	Unexpected     Verdict = "unexpected"      // anything else
)

// Outage reports whether v says the service itself is down: origin errors
// and, provided our own network works (the monitor's canary), unreachable.
// Blocks and rate limits are about us, not about the service.
func (v Verdict) Outage() bool {
	switch v {
	case Unreachable, OriginDown, OriginError:
		return true
	}
	return false
}

// Blocked reports whether v says Cloudflare refuses us: a challenge, 1020
// or another 10xx block. Rate limiting is separate because it passes by
// itself, and BlockedNetwork because our own network, not Cloudflare,
// refuses.
func (v Verdict) Blocked() bool {
	switch v {
	case Challenged, Blocked1020, BlockedOther:
		return true
	}
	return false
}

// Classify applies the README's classification table, in its order, to a
// response from a host that may or may not answer through Cloudflare:
// challenge, explicit 1020, 429/1015, other 10xx, 52x/530,
// 500/502/503/504, expected, unexpected. It returns the Cloudflare error
// code found (the 10xx code, or the status for 52x/530) or 0.
//
// The error codes are looked for only in non-2xx bodies: a 2xx answer is
// not a Cloudflare error page, and a status page whose incident is titled
// "Error code 1020 for some users" must not read as a block. A challenge
// is recognised by its header (cf-mitigated: challenge) or by its page:
// the title "Just a moment..." or "Please Wait... | Cloudflare" at any
// status, and the challenge scripts' markers on a non-2xx answer, since
// older challenges came as a 503 without the header. expected decides
// "up"; nil means any 2xx or 3xx. Transport failures have no status and
// are the caller's to call Unreachable.
func Classify(status int, h http.Header, body []byte, expected func(status int, body []byte) bool) (Verdict, int) {
	return classify(status, h, body, expected, false)
}

// ClassifyFronted is Classify for a host that always answers through
// Cloudflare, as OpenAI's API and web app do. Such a host never refuses
// without Cloudflare's marks, so a 403, 407 or 451 without them, or a web
// filter's block page (WebFilter), comes from a proxy or filter on our own
// network: BlockedNetwork, checked after the Cloudflare blocks and before
// the server errors (a Palo Alto block page comes as a 503).
func ClassifyFronted(status int, h http.Header, body []byte, expected func(status int, body []byte) bool) (Verdict, int) {
	return classify(status, h, body, expected, true)
}

func classify(status int, h http.Header, body []byte, expected func(status int, body []byte) bool, fronted bool) (Verdict, int) {
	nonOK := status < 200 || status > 299
	if strings.EqualFold(strings.TrimSpace(h.Get("Cf-Mitigated")), "challenge") || challengePage(body, nonOK) {
		return Challenged, 0
	}
	code := 0
	if nonOK {
		code = findCode(normalise(string(body)))
	}
	switch {
	case code == 1020:
		return Blocked1020, code
	case status == http.StatusTooManyRequests || code == 1015:
		return RateLimited, code
	case code >= 1005 && code <= 1012 || code == 1106:
		return BlockedOther, code
	case fronted && OwnNetworkRefusal(status, h, body):
		return BlockedNetwork, 0
	case status >= 520 && status <= 526 || status == 530:
		if code == 0 {
			code = status
		}
		return OriginDown, code
	case status == 500 || status == 502 || status == 503 || status == 504:
		return OriginError, 0
	}
	if expected == nil {
		expected = func(status int, _ []byte) bool { return status >= 200 && status < 400 }
	}
	if expected(status, body) {
		return Up, 0
	}
	return Unexpected, code
}

// ParseRay splits a cf-ray header ("8a1b2c3d4e5f6789-FRA") into the Ray ID
// and the data-centre (IATA airport) code. A malformed header gives empty
// strings rather than whatever it holds, so nothing odd reaches a chat.
func ParseRay(header string) (rayID, dataCenter string) {
	header = strings.TrimSpace(header)
	id, dc, _ := strings.Cut(header, "-")
	if !isHex(id) || len(id) < 8 || len(id) > 32 {
		return "", ""
	}
	if !isLetters(dc) || len(dc) < 3 || len(dc) > 4 {
		dc = ""
	}
	return strings.ToLower(id), strings.ToUpper(dc)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}
