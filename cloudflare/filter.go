package cloudflare

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Web filters and proxies on a company network answer in the site's place
// when policy forbids it: a block page of their own, or a bare 403, 407 or
// 451. What follows recognises them, so that the monitor can tell "our own
// network blocks ChatGPT" (IT can lift it) from "ChatGPT is down".

// filterSign is how one product's block page shows itself.
type filterSign struct {
	name string
	// header reports a response header only this product sends.
	header func(h http.Header) bool
	// strong marks name the product unmistakably (in the raw page, lower
	// case): one suffices.
	strong []string
	// weak marks name the product but also turn up elsewhere: they count
	// only on a page that also says it blocks something.
	weak []string
}

// filters are the common products, each from real block pages (see the
// fixtures in testdata/filters/ for their sources).
var filters = []filterSign{
	{
		name:   "Zscaler",
		header: func(h http.Header) bool { return headerHas(h, "Server", "zscaler") },
		strong: []string{"<title>internet security by zscaler</title>", "zscaler makes the internet safe"},
		weak:   []string{"zscaler", "zscloud.net"},
	},
	{
		name:   "Cisco Umbrella",
		strong: []string{"cisco umbrella", "block.opendns.com", "opendns.com/contact-netadmin"},
		weak:   []string{"umbrella", "opendns"},
	},
	{
		name:   "Fortinet FortiGuard",
		strong: []string{"fortiguard", "url.fortinet.net", "<title>web filter violation</title>", "<title>application control violation</title>"},
		weak:   []string{"fortinet", "fortigate"},
	},
	{
		name: "Palo Alto Networks",
		// The PAN-OS default URL-filtering response page names no vendor;
		// its sentence is its mark.
		strong: []string{"has been blocked in accordance with company policy", "paloaltonetworks", "palo alto networks"},
		weak:   []string{"pan-os", "globalprotect"},
	},
	{
		name: "Sophos",
		weak: []string{"sophos"},
	},
	{
		name: "Squid",
		header: func(h http.Header) bool {
			return strings.HasPrefix(strings.ToUpper(h.Get("X-Squid-Error")), "ERR_ACCESS_DENIED") || headerHas(h, "Server", "squid")
		},
		strong: []string{"access control configuration prevents your request from being allowed"},
		weak:   []string{"squid", "err_access_denied"},
	},
}

// blockWords say that a page refuses something.
var blockWords = []string{"blocked", "block page", "denied", "not allowed", "violation", "restricted", "prohibited", "forbidden"}

// reGeneric matches the wording of block pages whose product is unknown or
// rebranded: "blocked by your organization's policy" and its kin.
var reGeneric = regexp.MustCompile(`(?i)` +
	`blocked by (your|the|our) (organi[sz]ation|company|employer|network|it department|administrator|network administrator|system administrator|firewall|web filter|proxy)` +
	`|(organi[sz]ation|company|corporate)('s|s)? (security |internet |web |acceptable use )?polic(y|ies)` +
	`|(internet|web|acceptable) (usage|use) policy` +
	`|(web|content|url) filter(ing)?\b` +
	`|(site|website|web page|page|url|request) (is|was|has been) blocked` +
	`|access to (this|the requested) (site|website|web page|page|url|resource) (is|was|has been) (blocked|denied|restricted)` +
	`|(site|website|page|url) blocked\b`)

// WebFilter reports whether a response is a web filter's or proxy's block
// page rather than the site's own answer, and names the product when the
// page shows it (name is "" for a page of unknown make, such as a generic
// "blocked by your organisation's policy" page). An answer carrying
// Cloudflare's or OpenAI's marks (HasOriginMarks) is never a block page:
// Cloudflare's own block pages say "access denied" too.
func WebFilter(h http.Header, body []byte) (name string, ok bool) {
	if HasOriginMarks(h, body) {
		return "", false
	}
	if len(body) > maxInput {
		body = body[:maxInput]
	}
	raw := strings.ToLower(string(body))
	d := normalise(string(body))
	text := strings.ToLower(d.title + " " + d.text)
	blocking := containsAny(text, blockWords)
	for _, f := range filters {
		if f.header != nil && f.header(h) && (blocking || len(body) == 0) {
			return f.name, true
		}
		if containsAny(raw, f.strong) || blocking && containsAny(raw, f.weak) {
			return f.name, true
		}
	}
	if reGeneric.MatchString(text) {
		return "", true
	}
	return "", false
}

// OwnNetworkRefusal reports whether a response to a host that always
// answers through Cloudflare was made by something on our own network
// instead: a 403, 407 or 451 without Cloudflare's or OpenAI's marks, a
// redirect without those marks to a host outside OpenAI (a filter sending
// the browser to its block page: Umbrella, Zscaler and others do), or a
// web filter's block page at any status.
func OwnNetworkRefusal(status int, h http.Header, body []byte) bool {
	if HasOriginMarks(h, body) {
		return false
	}
	switch status {
	case http.StatusForbidden, http.StatusProxyAuthRequired, http.StatusUnavailableForLegalReasons:
		return true
	}
	if _, ok := OffsiteRedirect(status, h); ok {
		return true
	}
	_, ok := WebFilter(h, body)
	return ok
}

// openAIDomains are the domains OpenAI's own redirects stay within
// (chat.openai.com to chatgpt.com, chatgpt.com to its sign-in pages).
var openAIDomains = []string{"openai.com", "chatgpt.com", "oaistatic.com", "oaiusercontent.com"}

// OffsiteRedirect reports whether a response is a redirect (3xx) to a
// host outside OpenAI's domains, and which host. A relative Location
// stays on the host asked.
func OffsiteRedirect(status int, h http.Header) (host string, ok bool) {
	if status < 300 || status > 399 {
		return "", false
	}
	u, err := url.Parse(strings.TrimSpace(h.Get("Location")))
	if err != nil || u.Host == "" {
		return "", false
	}
	host = strings.ToLower(u.Hostname())
	for _, d := range openAIDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return "", false
		}
	}
	return host, true
}

// HasCloudflareMarks reports whether the headers show the answer passed
// through Cloudflare: a cf-ray header or "server: cloudflare".
func HasCloudflareMarks(h http.Header) bool {
	return h.Get("Cf-Ray") != "" || headerHas(h, "Server", "cloudflare")
}

// HasOriginMarks reports whether an answer comes from Cloudflare or from
// OpenAI itself: Cloudflare's headers, a Cloudflare error page (Ray ID,
// its template or footer), or OpenAI's JSON error object. A proxy that
// forwards such an answer and drops the headers still forwards the page.
func HasOriginMarks(h http.Header, body []byte) bool {
	if HasCloudflareMarks(h) {
		return true
	}
	if len(body) == 0 {
		return false
	}
	if len(body) > maxInput {
		body = body[:maxInput]
	}
	if openAIError(body) {
		return true
	}
	d := normalise(string(body))
	return pageMarks(d, strings.ToLower(d.text)) || challengePage(body, true)
}

// openAIError reports whether body is OpenAI's JSON error object:
// {"error": {"message": ..., "type": ...}}.
func openAIError(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return false
	}
	var v struct {
		Error *struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Code    any     `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return false
	}
	return v.Error.Message != nil && (v.Error.Type != nil || v.Error.Code != nil)
}

func headerHas(h http.Header, key, sub string) bool {
	return strings.Contains(strings.ToLower(h.Get(key)), sub)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
