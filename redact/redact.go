// Package redact removes what must not be kept or logged: personal data in
// text people wrote (IP addresses, e-mail addresses, phone numbers, anything
// shaped like a token, key or password) and secrets in log lines (tokens,
// token-bearing URLs such as Slack response_urls and Discord interaction
// webhooks).
//
// It imports no other gptaccess package, so the core and every adapter may
// use it.
package redact

import (
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Placeholders that replace what was removed. They match none of the
// patterns, so redacting twice changes nothing.
const (
	IP     = "[ip]"
	Email  = "[email]"
	Phone  = "[phone]"
	Secret = "[secret]"
	URL    = "[url]"
)

// The patterns. Read-only after initialisation.
var (
	ipRE = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}`)

	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

	// A phone number: an optional +, then at least 7 digits in groups
	// separated by spaces, dots, dashes or parentheses. Error codes (1020)
	// and Ray IDs (hex) are too short or have letters.
	phoneRE = regexp.MustCompile(`(?:\+|\b)\(?\d{1,4}\)?(?:[ .\-]?\(?\d{2,4}\)?){2,5}\b`)

	// "password: hunter2", "my pw is x", "api_key=abc": keep the label, drop
	// the value.
	labelledRE = regexp.MustCompile(`(?i)\b(pass(?:word|wort|wd)?|pwd|pw|passcode|pin|secret|token|api[ _-]?key|access[ _-]?key|private[ _-]?key|mot de passe|contraseña|clave|credentials?)(\s*(?:is|ist|est|es|was)\b\s*|\s*[:=]\s*|\s+)("[^"]*"|'[^']*'|\S+)`)

	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

	// Well-known token shapes: OpenAI (sk-), Slack (xox?-, xapp-), GitHub,
	// AWS access keys, JWTs, Discord bot tokens, "Bearer x".
	tokenRE = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_\-]{8,}|xox[abposre]-[A-Za-z0-9\-]+|xapp-[A-Za-z0-9\-]+|gh[pousr]_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*|[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,})|(?i:bearer\s+)[A-Za-z0-9._~+/\-]+=*`)

	// A URL, to look for tokens in its path and query.
	urlRE = regexp.MustCompile(`(?i)\b(?:https?|wss?|postgres(?:ql)?)://[^\s"'<>\x60]+`)

	// Discord interaction and webhook URLs carry the token after the id.
	discordTokenRE = regexp.MustCompile(`((?:webhooks|interactions)/[0-9]+/)[^/?#\s"']+`)

	wordRE = regexp.MustCompile(`[^\s"'<>()\[\]{},;]+`)
)

// Text redacts personal data from text a person wrote before it is stored
// or shown to anyone but its author: IP addresses, e-mail addresses, phone
// numbers, URLs with tokens, and anything shaped like a token, key or
// password.
func Text(s string) string {
	// Invalid bytes become U+FFFD first: dropped later (by a store or a
	// JSON encoder), they would not join the halves of an address the
	// patterns below did not see as one.
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = urlRE.ReplaceAllStringFunc(s, scrubURL)
	s = emailRE.ReplaceAllString(s, Email)
	s = labelledRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := labelledRE.FindStringSubmatch(m)
		if strings.HasPrefix(sub[3], "[") {
			return m // already redacted
		}
		if strings.TrimSpace(sub[2]) == "" && isLowerWord(sub[3]) {
			return m // "password reset", "token expired": words, not values
		}
		return sub[1] + sub[2] + Secret
	})
	s = tokenRE.ReplaceAllString(s, Secret)
	s = ipRE.ReplaceAllString(s, IP)
	s = phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		if digits(m) < 7 || dateRE.MatchString(m) {
			return m
		}
		return Phone
	})
	return wordRE.ReplaceAllStringFunc(s, func(w string) string {
		if secretShaped(w) {
			return Secret
		}
		return w
	})
}

// Log redacts secrets from a log value: token-bearing URLs and anything
// shaped like a token. Unlike Text it keeps IP addresses of servers and
// ordinary words, which operators need to read a log.
func Log(s string) string {
	s = urlRE.ReplaceAllStringFunc(s, scrubURL)
	s = discordTokenRE.ReplaceAllString(s, "${1}"+Secret)
	s = labelledRE.ReplaceAllStringFunc(s, func(m string) string {
		// Only "token=x", "secret: x": a log line that says "token
		// expired" must stay readable.
		sub := labelledRE.FindStringSubmatch(m)
		if sep := strings.TrimSpace(sub[2]); sep != ":" && sep != "=" || strings.HasPrefix(sub[3], "[") {
			return m
		}
		return sub[1] + sub[2] + Secret
	})
	return tokenRE.ReplaceAllString(s, Secret)
}

// secretKeys are query parameters whose value is a credential.
var secretKeys = []string{"token", "key", "secret", "sig", "signature", "password", "pass", "pwd", "auth", "code", "access_token", "apikey", "api_key", "credential", "session"}

// scrubURL keeps a URL's scheme, host and the harmless part of its path,
// and removes what may be a credential: user info, Slack response_urls and
// webhooks (the whole path), Discord interaction and webhook tokens,
// token-shaped path segments, credential query values and the fragment.
func scrubURL(raw string) string {
	trail := ""
	for len(raw) > 0 && strings.ContainsRune(".,;:!?)", rune(raw[len(raw)-1])) {
		trail = raw[len(raw)-1:] + trail
		raw = raw[:len(raw)-1]
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return URL + trail
	}
	out := u.Scheme + "://" + u.Host
	host := strings.ToLower(u.Hostname())
	if strings.HasPrefix(host, "hooks.") && strings.Contains(host, "slack") || slackHookPath(u.Path) {
		return out + "/" + Secret + trail
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if i > 1 && (segs[i-2] == "webhooks" || segs[i-2] == "interactions") && isDigits(segs[i-1]) {
			segs[i] = Secret
			continue
		}
		if dec, err := url.PathUnescape(seg); err != nil || tokenShaped(dec) || tokenRE.MatchString(dec) {
			segs[i] = Secret
		}
	}
	out += strings.Join(segs, "/")
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			k, v, _ := strings.Cut(p, "=")
			dk, _ := url.QueryUnescape(k)
			dv, err := url.QueryUnescape(v)
			if err != nil || secretKey(strings.ToLower(dk)) || tokenShaped(dv) || tokenRE.MatchString(dv) {
				params[i] = k + "=" + Secret
			}
		}
		out += "?" + strings.Join(params, "&")
	}
	return out + trail
}

func secretKey(k string) bool {
	for _, s := range secretKeys {
		if k == s || strings.Contains(k, "token") || strings.Contains(k, "secret") || strings.Contains(k, "password") {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// tokenShaped reports whether s looks like a generated credential: 20 or
// more characters from a token alphabet, mixing letters and digits.
// Snowflakes and channel ids are all digits or too short.
func tokenShaped(s string) bool {
	if len(s) < 20 {
		return false
	}
	var letters, nums int
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			nums++
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letters++
		case strings.ContainsRune("-_.+/=~", r):
		default:
			return false
		}
	}
	return letters >= 4 && nums >= 2
}

// secretShaped reports whether a word people wrote looks like a password
// or key: token-shaped, or 8 or more characters without spaces that mix
// all four of lower case, upper case, digits and symbols, or three of them
// with a symbol. Apostrophes, hyphens and sentence punctuation at the end
// do not count as symbols ("Cloudflare's", "ChatGPT-4o" are words).
func secretShaped(w string) bool {
	if strings.Contains(w, "[") || strings.Contains(w, "://") {
		return false
	}
	if tokenShaped(w) {
		return true
	}
	w = strings.TrimRight(w, ".,;:")
	if !strings.ContainsAny(w, "0123456789") {
		w = strings.TrimRight(w, "!?") // "Thanks!!" is a sentence, "hunter2!" may not be
	}
	if len(w) < 8 || len(w) > 200 {
		return false
	}
	var lower, upper, num, sym bool
	for _, r := range w {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			num = true
		case r == '\'' || r == '-' || r == '’':
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			sym = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, num, sym} {
		if b {
			classes++
		}
	}
	return classes == 4 || classes == 3 && sym
}

// isLowerWord reports whether s is an ordinary lower-case word, perhaps
// followed by sentence punctuation.
func isLowerWord(s string) bool {
	s = strings.TrimRight(s, ".,;:!?")
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLower(r) && r != '\'' && r != '-' {
			return false
		}
	}
	return true
}

// slackHookPath reports whether path has the shape of a Slack response_url
// or incoming webhook (/commands/T…/…, /actions/T…/…, /services/T…/…),
// which may be served through a proxy or a test server: the path is the
// credential.
func slackHookPath(path string) bool {
	for _, p := range []string{"/commands/T", "/actions/T", "/services/T"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
