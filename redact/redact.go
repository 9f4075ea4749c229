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

// sep is a "/" in a URL as logs may spell it: plain, JSON-escaped or
// percent-encoded.
const sep = `(?:\\*/|%2[Ff])`

// pathRest is the rest of a URL path, without the sentence punctuation
// after it or the backslash of an escaped quote.
const pathRest = `[^\s"'<>?#&\x60]*[^\s"'<>?#&\x60.,;:!)\\]`

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
	// An IPv6 address with an IPv4 tail (::ffff:192.0.2.1) is tried
	// first: the plain IPv6 pattern would stop at "192" and leave
	// ".0.2.1".
	ipRE = regexp.MustCompile(`(?:[0-9A-Fa-f]{0,4}:){2,6}(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}`)

	// Letters of any script are allowed, as internationalised addresses
	// have them ("josé@exämple.de").
	emailRE = regexp.MustCompile(`[\pL\pN._%+\-]+@[\pL\pN.\-]+\.\pL{2,}`)

	// A phone number: an optional +, then at least 7 digits in groups
	// separated by spaces, dots, dashes or parentheses. Error codes (1020)
	// and Ray IDs (hex) are too short or have letters.
	phoneRE = regexp.MustCompile(`(?:\+|\b)\(?\d{1,4}\)?(?:[ .\-]?\(?\d{2,4}\)?){2,5}\b`)

	// "password: hunter2", "my pw is x", "api_key=abc": keep the label, drop
	// the value.
	labelledRE = regexp.MustCompile(`(?i)\b(pass(?:word|wort|wd)?|pwd|pw|passcode|pin|secret|token|api[ _-]?key|access[ _-]?key|private[ _-]?key|mot de passe|contraseña|clave|credentials?)(\s*(?:is|ist|est|es|was)\b(?:\s*[:=])?\s*|\s*[:=]\s*|\s+)("[^"]*"|'[^']*'|\S+)`)

	// "password: correct horse battery staple": a password given with a
	// label may have spaces, so its value runs to the end of the line or
	// of the sentence (".", "!" or "?" before a space). Such marks at the
	// very end are taken as part of it: "Sw0rdf1sh!" is a password.
	passphraseRE = regexp.MustCompile(`(?i)\b(pass(?:word|wort|wd|phrase)?|kennwort|pwd|pw|passcode|mot de passe|contraseña|senha|clave)(\s*[:=]\s*|\s+(?:is|ist|est|es|é|was|lautet)(?:\s*[:=])?\s+)((?:[^\n.!?]|[.!?]+[^\s.!?]|[.!?]+$)+)`)

	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

	// Well-known token shapes: OpenAI (sk-), Slack (xox?-, xapp-), GitHub,
	// AWS access keys, JWTs, Discord bot tokens, "Bearer x".
	tokenRE = regexp.MustCompile(`\b(?:sk-[A-Za-z0-9_\-]{8,}|xox[abposre]-[A-Za-z0-9\-]+|xapp-[A-Za-z0-9\-]+|gh[pousr]_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*|[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,})|(?i:bearer\s+)[A-Za-z0-9._~+/\-]+=*`)

	// A URL, to look for tokens in its path and query.
	urlRE = regexp.MustCompile(`(?i)\b(?:https?|wss?|postgres(?:ql)?)://[^\s"'<>\x60]+`)

	// "user:password@host", with any scheme or none ("socks5://…",
	// "bob:hunter2@10.0.0.5:3128"): the user info is a credential. The
	// host must look like one (an IP address, or a name with a dot), so
	// that "10:30 @office" stays; the password runs to the last "@"
	// before it, as it may hold one.
	userinfoRE = regexp.MustCompile(`(\b[A-Za-z][A-Za-z0-9+.\-]*://)?[A-Za-z0-9._~%+\-]+:[^\s/"'<>\x60]*@((?:\d{1,3}\.){3}\d{1,3}\b|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)`)

	// The same URLs written into JSON ("https:\/\/hooks.slack.com\/…",
	// with more backslashes when that JSON was quoted again) or
	// percent-encoded into another URL ("https%3A%2F%2Fhooks…").
	jsonURLRE = regexp.MustCompile(`(?i)\b(?:https?|wss?):\\+/\\+/[^\s"'<>\x60]+`)
	pctURLRE  = regexp.MustCompile(`(?i)\b(?:https?|wss?)%3A%2F%2F[^\s"'<>&\x60]+`)

	// Discord interaction and webhook URLs carry the token after the id;
	// Slack response_urls and webhooks (/commands/T…/…, /actions/T…/…,
	// /services/T…/…, any path on hooks.slack.com) are credentials after
	// the team. Written without a scheme, their "/" may also be JSON's
	// "\/" or "%2F".
	discordTokenRE = regexp.MustCompile(`((?:webhooks|interactions)` + sep + `[0-9]+` + sep + `)[^/\\%?#&\s"']+`)
	slackPathRE    = regexp.MustCompile(`((?:commands|actions|services)` + sep + `T[A-Z0-9]+` + sep + `)` + pathRest)
	slackHostRE    = regexp.MustCompile(`(?i)(\bhooks\.slack(?:-gov)?\.com` + sep + `)` + pathRest)

	wordRE = regexp.MustCompile(`[^\s"'<>()\[\]{},;]+`)
)

// Text redacts personal data from text a person wrote before it is stored
// or shown to anyone but its author: IP addresses, e-mail addresses, phone
// numbers, URLs with tokens, and anything shaped like a token, key or
// password. A labelled password ("password: …", "my pw is …") is removed
// to the end of its line or sentence, since it may have spaces; a word
// mixing letters and digits within a few words of "password" (in several
// languages) is taken for one.
func Text(s string) string {
	// Invalid bytes become U+FFFD first: dropped later (by a store or a
	// JSON encoder), they would not join the halves of an address the
	// patterns below did not see as one.
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = urlRE.ReplaceAllStringFunc(s, scrubURL)
	s = userinfoRE.ReplaceAllString(s, "${1}"+Secret+"@${2}")
	s = emailRE.ReplaceAllString(s, Email)
	s = passphraseRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := passphraseRE.FindStringSubmatch(m)
		value := strings.TrimSpace(sub[3])
		if strings.HasPrefix(value, Secret) || strings.TrimSpace(sub[2]) != ":" && strings.TrimSpace(sub[2]) != "=" && notAPassword(value) {
			return m
		}
		return sub[1] + sub[2] + Secret
	})
	s = labelledRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := labelledRE.FindStringSubmatch(m)
		if strings.HasPrefix(sub[3], "[") {
			return m // already redacted
		}
		if strings.TrimSpace(sub[2]) == "" && isLowerWord(sub[3]) {
			return m // "password reset", "token expired": words, not values
		}
		if sep := strings.TrimSpace(sub[2]); sep != ":" && sep != "=" && sep != "" && notAPassword(sub[3]) {
			return m // "my token is expired"
		}
		return sub[1] + sub[2] + Secret
	})
	s = tokenRE.ReplaceAllString(s, Secret)
	s = redactIPs(s)
	s = phoneRE.ReplaceAllStringFunc(s, func(m string) string {
		if digits(m) < 7 || dateRE.MatchString(m) {
			return m
		}
		return Phone
	})
	s = wordRE.ReplaceAllStringFunc(s, func(w string) string {
		if secretShaped(w) {
			return Secret
		}
		return w
	})
	return nearPasswordWords(s)
}

// stateWords begin what people say about a password rather than the
// password itself: "my password is wrong", "das Passwort ist abgelaufen".
var stateWords = map[string]bool{
	"not": true, "no": true, "wrong": true, "incorrect": true, "invalid": true, "expired": true,
	"rejected": true, "fine": true, "ok": true, "okay": true, "right": true, "too": true,
	"still": true, "the": true, "a": true, "definitely": true, "probably": true, "also": true,
	"nicht": true, "falsch": true, "abgelaufen": true, "ungültig": true, "richtig": true,
	"pas": true, "faux": true, "expiré": true, "invalide": true, "bon": true,
	"incorrecta": true, "caducada": true, "inválida": true, "correcta": true,
	"não": true, "errada": true,
}

// notAPassword reports whether the value after "password is" starts like
// a statement about the password.
func notAPassword(value string) bool {
	first, _, _ := strings.Cut(value, " ")
	return stateWords[strings.ToLower(strings.TrimRight(first, ",;:"))]
}

// passwordWords are the words next to which a token mixing letters and
// digits is taken for a password ("I use Summer2024 as my password").
var passwordWords = map[string]bool{
	"pw": true, "pwd": true, "pass": true, "passe": true, "password": true, "passwords": true,
	"passwort": true, "kennwort": true, "passcode": true, "passphrase": true,
	"contraseña": true, "senha": true, "clave": true,
}

// nearness is how many words either side of a password word are looked at.
const nearness = 3

// nearPasswordWords redacts tokens that mix letters and digits (six
// characters or more) within a few words of a password word. Ordinary
// words have no digits and stay; so does a bare number such as 1020.
func nearPasswordWords(s string) string {
	spans := wordRE.FindAllStringIndex(s, -1)
	near := make([]bool, len(spans))
	found := false
	for i, sp := range spans {
		if passwordWords[strings.ToLower(strings.Trim(s[sp[0]:sp[1]], ".,;:!?"))] {
			found = true
			for j := max(0, i-nearness); j <= min(len(spans)-1, i+nearness); j++ {
				near[j] = true
			}
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	last := 0
	for i, sp := range spans {
		w := s[sp[0]:sp[1]]
		core := strings.TrimRight(w, ".,;:!?")
		if !near[i] || !passwordLike(core) {
			continue
		}
		b.WriteString(s[last:sp[0]])
		b.WriteString(Secret)
		last = sp[0] + len(core)
	}
	b.WriteString(s[last:])
	return b.String()
}

// passwordLike reports whether w (a word without trailing punctuation)
// could be a password: six or more characters with letters and digits,
// and not something already redacted.
func passwordLike(w string) bool {
	if len(w) < 6 || strings.ContainsAny(w, "[@/") {
		return false
	}
	var letter, digit bool
	for _, r := range w {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	return letter && digit
}

// redactIPs replaces IP addresses with IP. A match that stops inside a
// longer run of address characters ("::00000.0.0.0") takes the rest of the
// run too, so no address is left beside the placeholder for a second pass
// to find.
func redactIPs(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range ipRE.FindAllStringIndex(s, -1) {
		if m[0] < last {
			continue
		}
		end := m[1]
		for end < len(s) && (isHex(s[end]) || s[end] == ':' || s[end] == '.' && end+1 < len(s) && isHex(s[end+1])) {
			end++
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(IP)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Log redacts secrets from a log value: token-bearing URLs and anything
// shaped like a token. Unlike Text it keeps IP addresses of servers and
// ordinary words, which operators need to read a log.
func Log(s string) string {
	s = urlRE.ReplaceAllStringFunc(s, scrubURL)
	s = jsonURLRE.ReplaceAllStringFunc(s, func(m string) string {
		// Backslashes at the end escape the quote that ends the string.
		body := strings.TrimRight(m, `\`)
		tail := m[len(body):]
		m = body
		colon := strings.IndexByte(m, ':')
		slash := colon + 1 + strings.IndexByte(m[colon+1:], '/')
		esc := m[colon+1:slash] + "/" // "\/", "\\\/", …
		return strings.ReplaceAll(scrubURL(strings.ReplaceAll(m, esc, "/")), "/", esc) + tail
	})
	s = pctURLRE.ReplaceAllStringFunc(s, func(m string) string {
		dec, err := url.QueryUnescape(m)
		if err != nil {
			return URL
		}
		return url.QueryEscape(scrubURL(dec))
	})
	s = slackHostRE.ReplaceAllString(s, "${1}"+Secret)
	s = slackPathRE.ReplaceAllString(s, "${1}"+Secret)
	s = userinfoRE.ReplaceAllString(s, "${1}"+Secret+"@${2}")
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

// ipHost stands in for the IP placeholder as a URL's host.
const ipHost = "ip.invalid"

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
	// A URL whose address was redacted already ("http://[ip]/…", from
	// Text) is read with a stand-in host, so that redacting twice changes
	// nothing.
	if i := strings.Index(raw, "://"+IP); i >= 0 {
		return strings.Replace(scrubURL(raw[:i]+"://"+ipHost+raw[i+len("://"+IP):]), "://"+ipHost, "://"+IP, 1) + trail
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
