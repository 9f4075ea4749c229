package cloudflare

import (
	"encoding/json"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Page is what ParsePage extracts from an error page. It deliberately has
// no field for the client IP that the page shows: whatever a user pastes,
// their address is never kept or echoed into a channel.
type Page struct {
	Code       int    // Cloudflare error code (1020, 1015, 1006, 522...), 0 when the page names none
	RayID      string // 16 hex digits
	DataCenter string // as the page writes it ("fra10") or the Ray ID suffix ("FRA")
	Country    string // two-letter code the page shows
	Title      string // page title or heading, IP addresses removed
}

// maxInput bounds the text looked at, so a huge paste costs little.
const maxInput = 256 << 10

// maxTitle bounds Page.Title (in runes): it is shown in chat.
const maxTitle = 120

var (
	reScriptStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	reTag         = regexp.MustCompile(`<[a-zA-Z!/][^>]*>`)
	reTitle       = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	// The challenge's titles: "Just a moment..." since 2022, "Please
	// Wait... | Cloudflare" on the 2021 managed challenge.
	reChallenge = regexp.MustCompile(`(?is)<title[^>]*>\s*(Just a moment(\.\.\.|…)|Please wait(\.\.\.|…)\s*\|\s*Cloudflare)`)
	// What only challenge pages carry: the challenge options object, the
	// 2019-2021 "cf-browser-verification" block and its jschl form. The
	// challenge-platform script path alone is no mark: Cloudflare's bot
	// detection injects it into ordinary pages too.
	reChallengeBody = regexp.MustCompile(`window\._cf_chl_opt\b|\bcf-browser-verification\b|__cf_chl_jschl_tk__|\bjschl_vc\b`)

	// "Error code 1020", "error code: 1020", JSON/YAML "error_code": 1020.
	reErrorCode = regexp.MustCompile(`(?i)\berror[ _-]?code\b[\s:#="']*(\d{3,4})\b`)
	// Cloudflare's older template: <span class="cf-error-code">1020</span>.
	reCFErrorCode = regexp.MustCompile(`(?i)cf-error-code[^>]*>\s*(\d{3,4})\b`)
	// "Error 1015" (older templates, Markdown headings): only counted next
	// to other signs of an error page, since chat says "error 1020" too.
	reErrorN = regexp.MustCompile(`(?i)\berror\s+(\d{3,4})\b`)
	reRay    = regexp.MustCompile(`(?i)\bray[\s_-]*id\b[\s:#="']*([0-9a-f]{16})(?:-([a-z]{3}))?\b`)
	reDC     = regexp.MustCompile(`(?i:\bdata[\s_-]*cent(?:er|re))[\s:="']*([A-Za-z]{3}\d{0,3})\b`)
	reCtry   = regexp.MustCompile(`(?i:\bcountry)[\s:="']*([A-Z]{2})\b`)
	rePlain  = regexp.MustCompile(`(?i)^error[ _-]?code[\s:]*\d{3,4}$`)
	// reIPv4Run is four dotted numbers anywhere, even inside a longer run
	// ("1234.5.6.7" holds "234.5.6.7"): a title is shown in chat, so it
	// loses every such run.
	reIPv4Run = regexp.MustCompile(`\d{1,3}(\.\d{1,3}){3}`)
	reIP      = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\b[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}\b`)
)

// doc is a page reduced to what the patterns read.
type doc struct {
	raw   string // as given (bounded)
	text  string // tags, entities and Markdown emphasis removed
	title string // <title>, if HTML
}

func normalise(s string) doc {
	if len(s) > maxInput {
		s = s[:maxInput]
	}
	d := doc{raw: s, text: s}
	if strings.IndexByte(s, '<') >= 0 {
		if m := reTitle.FindStringSubmatch(s); m != nil {
			d.title = html.UnescapeString(m[1])
		}
		t := reScriptStyle.ReplaceAllString(s, " ")
		t = reTag.ReplaceAllString(t, " ")
		d.text = html.UnescapeString(t)
	}
	if strings.ContainsAny(d.text, "*`|\u00a0") {
		d.text = strings.NewReplacer("*", "", "`", "", "|", " ", "\u00a0", " ").Replace(d.text)
	}
	return d
}

// cfCode reports whether n is a code that Cloudflare error pages carry.
func cfCode(n int) bool { return n >= 1000 && n <= 1999 || n >= 520 && n <= 527 || n == 530 }

func firstCode(re *regexp.Regexp, s string) int {
	for _, m := range re.FindAllStringSubmatch(s, 8) {
		if n, err := strconv.Atoi(m[1]); err == nil && cfCode(n) {
			return n
		}
	}
	return 0
}

// findCode returns the error code that d names explicitly, or 0.
func findCode(d doc) int {
	if n := firstCode(reErrorCode, d.text); n != 0 {
		return n
	}
	if n := firstCode(reCFErrorCode, d.raw); n != 0 {
		return n
	}
	if pageMarks(d, strings.ToLower(d.text)) {
		return firstCode(reErrorN, d.text)
	}
	return 0
}

// pageMarks reports whether d carries marks of an error page that chat
// does not: a Ray ID, Cloudflare's template markup or its footer and
// title wording.
func pageMarks(d doc, lower string) bool {
	return reRay.MatchString(d.text) || reCFErrorCode.MatchString(d.raw) ||
		strings.Contains(lower, "performance & security by cloudflare") ||
		strings.Contains(lower, "used cloudflare to restrict access")
}

// challengePage reports whether body is a Cloudflare challenge page: by
// its title at any status, by the challenge scripts' marks only on a
// non-2xx answer.
func challengePage(body []byte, nonOK bool) bool {
	if len(body) > maxInput {
		body = body[:maxInput]
	}
	return reChallenge.Match(body) || nonOK && reChallengeBody.Match(body)
}

// Phrases that Cloudflare's and OpenAI's block pages show.
var phrases = []string{
	"access denied",
	"sorry, you have been blocked",
	"you are being rate limited",
	"used cloudflare to restrict access",
}

// ParsePage finds a Cloudflare (or OpenAI custom) error page in text pasted
// by a user or returned by a server: the "Access denied / Error code 1020 /
// Ray ID / Country / Data center" layout as HTML, as copied text or as
// Markdown; the plain "error code: 1020"; "Sorry, you have been blocked …
// Ray ID"; 1015 "You are being rate limited"; RFC 9457 JSON (error_code,
// ray_id). Ordinary chat that merely mentions a number ("the 1020 bus was
// late", "I got error 1020") is not a page: ok is false.
func ParsePage(text string) (Page, bool) {
	d := normalise(text)
	lower := strings.ToLower(d.text)
	var p Page
	p.Code = findCode(d)
	if m := reRay.FindStringSubmatch(d.text); m != nil {
		p.RayID = strings.ToLower(m[1])
		p.DataCenter = strings.ToUpper(m[2])
	}
	strong := pageMarks(d, lower)
	phrase := false
	for _, ph := range phrases {
		if strings.Contains(lower, ph) {
			phrase = true
			break
		}
	}
	if p.Code == 0 && strong && strings.Contains(lower, "you are being rate limited") {
		p.Code = 1015
	}
	trimmed := strings.TrimSpace(d.text)
	isJSON := strings.HasPrefix(trimmed, "{") && json.Valid([]byte(trimmed))
	// Without a code only a block page with a Ray ID counts ("Sorry, you
	// have been blocked … Ray ID"): a title alone tells nothing to act on.
	ok := p.Code != 0 && (strong || phrase || isJSON || rePlain.MatchString(trimmed)) ||
		p.Code == 0 && phrase && p.RayID != ""
	if !ok {
		return Page{}, false
	}
	if m := reDC.FindStringSubmatch(d.text); m != nil {
		p.DataCenter = m[1]
	}
	if m := reCtry.FindStringSubmatch(d.text); m != nil {
		p.Country = m[1]
	}
	p.Title = cleanTitle(pageTitle(d, trimmed, isJSON, lower))
	return p, true
}

func pageTitle(d doc, trimmed string, isJSON bool, lower string) string {
	if t := strings.TrimSpace(d.title); t != "" {
		return t
	}
	if isJSON {
		var v struct {
			Title string `json:"title"`
		}
		if json.Unmarshal([]byte(trimmed), &v) == nil && v.Title != "" {
			return v.Title
		}
	}
	for line := range strings.Lines(trimmed) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return h
		}
	}
	for _, ph := range []string{"Access denied", "Sorry, you have been blocked", "You are being rate limited"} {
		if strings.Contains(lower, strings.ToLower(ph)) {
			return ph
		}
	}
	return ""
}

// cleanTitle collapses whitespace, removes anything shaped like an IP
// address (a host name in a title may be one) and bounds the length.
func cleanTitle(s string) string {
	// Invalid bytes go first: dropped after the IPs, they could join the
	// pieces of one ("198.51.1\xb00.7").
	s = strings.ToValidUTF8(s, "")
	for reIP.MatchString(s) || reIPv4Run.MatchString(s) {
		// Again, since a removal can bring two halves together.
		s = reIPv4Run.ReplaceAllString(reIP.ReplaceAllString(s, ""), "")
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxTitle {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:maxTitle])) + "…"
	}
	return s
}
