package cloudflare_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gptaccess/cloudflare"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		want   cloudflare.Page
		wantOK bool
	}{
		{"1020 html", fixture(t, "1020.html"), cloudflare.Page{Code: 1020, RayID: "8a1b2c3d4e5f6789", DataCenter: "fra10", Country: "DE", Title: "Access denied | chatgpt.com used Cloudflare to restrict access"}, true},
		{"1020 legacy html", fixture(t, "1020-legacy.html"), cloudflare.Page{Code: 1020, RayID: "7afa59eb3bb7abf6", Title: "Access denied | chat.openai.com used Cloudflare to restrict access"}, true},
		{"1020 copied text with IP", fixture(t, "1020-copied.txt"), cloudflare.Page{Code: 1020, RayID: "8f2e6b1c9d0a4e37", DataCenter: "ams08", Country: "NL", Title: "Access denied"}, true},
		{"plain error code", fixture(t, "1020-plain.txt"), cloudflare.Page{Code: 1020}, true},
		{"plain error code with newline", "error code: 1020\n", cloudflare.Page{Code: 1020}, true},
		{"RFC 9457 JSON", fixture(t, "1020.json"), cloudflare.Page{Code: 1020, RayID: "9c41f2a7b3d86e05", Title: "Error 1020: Access denied"}, true},
		{"Markdown", fixture(t, "1020.md"), cloudflare.Page{Code: 1020, RayID: "9d0e1f2a3b4c5d6e", DataCenter: "lhr04", Country: "GB", Title: "Error 1020: Access denied"}, true},
		{"sorry you have been blocked", fixture(t, "blocked-custom.html"), cloudflare.Page{RayID: "86b1c3d5e7f90a12", Title: "Attention Required! | Cloudflare"}, true},
		{"sorry you have been blocked as text", "Sorry, you have been blocked\nYou are unable to access chatgpt.com\nCloudflare Ray ID: 86b1c3d5e7f90a12 • Your IP: Click to reveal • Performance & security by Cloudflare",
			cloudflare.Page{RayID: "86b1c3d5e7f90a12", Title: "Sorry, you have been blocked"}, true},
		{"1015 rate limited", fixture(t, "1015.html"), cloudflare.Page{Code: 1015, RayID: "8c4d5e6f7a8b9c0d", Title: "Access denied | chatgpt.com used Cloudflare to restrict access"}, true},
		{"1015 phrase without code", "You are being rate limited\nRay ID: 8c4d5e6f7a8b9c0d", cloudflare.Page{Code: 1015, RayID: "8c4d5e6f7a8b9c0d", Title: "You are being rate limited"}, true},
		{"1006", fixture(t, "1006.html"), cloudflare.Page{Code: 1006, RayID: "5a6b7c8d9e0f1a2b", Title: "Access denied | chatgpt.com used Cloudflare to restrict access"}, true},
		{"1010", fixture(t, "1010.html"), cloudflare.Page{Code: 1010, RayID: "6b7c8d9e0f1a2b3c", Title: "Access denied | chatgpt.com used Cloudflare to restrict access"}, true},
		{"1012", fixture(t, "1012.html"), cloudflare.Page{Code: 1012, RayID: "7c8d9e0f1a2b3c4d", Title: "Access denied | chatgpt.com used Cloudflare to restrict access"}, true},
		{"522", fixture(t, "522.html"), cloudflare.Page{Code: 522, RayID: "8d9e0f1a2b3c4d5e", Title: "chatgpt.com | 522: Connection timed out"}, true},
		{"ray with data centre suffix", "Access denied. Error code 1020. Ray ID: 8a1b2c3d4e5f6789-FRA", cloudflare.Page{Code: 1020, RayID: "8a1b2c3d4e5f6789", DataCenter: "FRA", Title: "Access denied"}, true},
		{"quoting the headline", "chatgpt says Access denied, error code 1020", cloudflare.Page{Code: 1020, Title: "Access denied"}, true},

		// Ordinary chat: a number is not a page.
		{"bus", "the 1020 bus was late", cloudflare.Page{}, false},
		{"error 1020 in chat", "I got error 1020 again this morning", cloudflare.Page{}, false},
		{"error code in chat", "what does error code 1020 mean?", cloudflare.Page{}, false},
		{"title alone is not a code", "used Cloudflare to restrict access", cloudflare.Page{}, false},
		{"access denied and cloudflare in chat", "I get access denied, is it cloudflare? error 1020", cloudflare.Page{}, false},
		{"block phrase without a Ray ID", "Sorry, you have been blocked", cloudflare.Page{}, false},
		{"empty", "", cloudflare.Page{}, false},
		{"other error code", "error code: 404", cloudflare.Page{}, false},
		{"JSON without error code", `{"error":{"type":"invalid_request_error","code":null}}`, cloudflare.Page{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cloudflare.ParsePage(tt.text)
			if ok != tt.wantOK {
				t.Fatalf("ParsePage ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePage (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsePageKeepsNoIP pins the privacy promise: whatever address the
// paste shows, no field of the Page carries it.
func TestParsePageKeepsNoIP(t *testing.T) {
	for name, ip := range map[string]string{
		"1020-copied.txt":     "192.0.2.146",
		"1020.html":           "203.0.113.77",
		"1020-legacy.html":    "198.51.100.23",
		"1020.md":             "2001:db8:85a3::8a2e:370:7334",
		"blocked-custom.html": "203.0.113.9",
	} {
		p, ok := cloudflare.ParsePage(fixture(t, name))
		if !ok {
			t.Fatalf("%s: not recognised", name)
		}
		if s := pageString(p); strings.Contains(s, ip) || strings.Contains(s, "IP") {
			t.Errorf("%s: page %+v holds the IP", name, p)
		}
	}
	// A title made of the host's address loses the address.
	p, ok := cloudflare.ParsePage(`<html><head><title>Access denied | 203.0.113.8 used Cloudflare to restrict access</title></head><body>Error code 1020</body></html>`)
	if !ok || strings.Contains(p.Title, "203.0.113.8") {
		t.Errorf("title with an IP: got %+v, %v", p, ok)
	}
}

func pageString(p cloudflare.Page) string {
	return strings.Join([]string{p.RayID, p.DataCenter, p.Country, p.Title}, "\x00")
}

func TestParseRay(t *testing.T) {
	tests := []struct{ in, id, dc string }{
		{"8a1b2c3d4e5f6789-FRA", "8a1b2c3d4e5f6789", "FRA"},
		{" 8a1b2c3d4e5f6789-fra ", "8a1b2c3d4e5f6789", "FRA"},
		{"8A1B2C3D4E5F6789-LHR", "8a1b2c3d4e5f6789", "LHR"},
		{"8a1b2c3d4e5f6789", "8a1b2c3d4e5f6789", ""},
		{"8a1b2c3d4e5f6789-", "8a1b2c3d4e5f6789", ""},
		{"8a1b2c3d4e5f6789-F4A", "8a1b2c3d4e5f6789", ""},
		{"", "", ""},
		{"-FRA", "", ""},
		{"not a ray-FRA", "", ""},
		{"<script>-FRA", "", ""},
	}
	for _, tt := range tests {
		id, dc := cloudflare.ParseRay(tt.in)
		if id != tt.id || dc != tt.dc {
			t.Errorf("ParseRay(%q) = %q, %q; want %q, %q", tt.in, id, dc, tt.id, tt.dc)
		}
	}
}

func TestClassify(t *testing.T) {
	cf := func(kv ...string) http.Header {
		h := http.Header{"Server": {"cloudflare"}, "Cf-Ray": {"8a1b2c3d4e5f6789-FRA"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	api401 := `{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}`
	isAPI := func(status int, body []byte) bool {
		return status == 401 && strings.Contains(string(body), "invalid_request_error")
	}
	tests := []struct {
		name     string
		status   int
		h        http.Header
		body     string
		expected func(int, []byte) bool
		want     cloudflare.Verdict
		wantCode int
	}{
		{"challenge header", 403, cf("Cf-Mitigated", "challenge", "Content-Type", "text/html"), fixture(t, "challenge.html"), nil, cloudflare.Challenged, 0},
		{"challenge title only (legacy 503)", 503, cf(), fixture(t, "challenge.html"), nil, cloudflare.Challenged, 0},
		// The 2021 managed challenge came as a 503 without cf-mitigated: it
		// is a challenge, not a server error (a false outage). The page is
		// assembled from several captures, with placeholder values
		// (testdata/filters/SOURCES.md).
		{"2021 challenge page, 503 without the header", 503, cf(), fixture(t, "challenge-2021.html"), nil, cloudflare.Challenged, 0},
		// The 2019-2020 "I'm under attack" page, known by its markup alone
		// (from the capture in VeNoMouS/cloudscraper#216).
		{"legacy challenge markup, 503", 503, cf(), legacyChallenge, nil, cloudflare.Challenged, 0},
		// Bot detection injects the challenge-platform script into ordinary
		// pages: that alone is no challenge.
		{"challenge-platform script on a normal page", 200, cf(), jsdPage, nil, cloudflare.Up, 0},
		{"challenge-platform script on a 403 is no challenge", 403, cf(), jsdPage, nil, cloudflare.Unexpected, 0},
		{"challenge before 1020", 403, cf("Cf-Mitigated", "challenge"), "error code: 1020", nil, cloudflare.Challenged, 0},
		{"1020 html", 403, cf(), fixture(t, "1020.html"), nil, cloudflare.Blocked1020, 1020},
		{"1020 legacy html", 403, cf(), fixture(t, "1020-legacy.html"), nil, cloudflare.Blocked1020, 1020},
		{"1020 plain", 403, cf(), "error code: 1020", nil, cloudflare.Blocked1020, 1020},
		{"1020 JSON", 403, cf("Content-Type", "application/problem+json"), fixture(t, "1020.json"), nil, cloudflare.Blocked1020, 1020},
		{"1020 Markdown", 403, cf("Content-Type", "text/markdown"), fixture(t, "1020.md"), nil, cloudflare.Blocked1020, 1020},
		{"1020 beats 429", 429, cf(), "error code: 1020", nil, cloudflare.Blocked1020, 1020},
		{"title alone is not 1020", 403, cf(), `<html><head><title>Access denied | chatgpt.com used Cloudflare to restrict access</title></head><body><h1>Access denied</h1></body></html>`, nil, cloudflare.Unexpected, 0},
		{"sorry you have been blocked has no code", 403, cf(), fixture(t, "blocked-custom.html"), nil, cloudflare.Unexpected, 0},
		{"1015 page with 429", 429, cf(), fixture(t, "1015.html"), nil, cloudflare.RateLimited, 1015},
		{"bare 429", 429, http.Header{}, `{"error":{"message":"Rate limit reached","type":"requests"}}`, nil, cloudflare.RateLimited, 0},
		{"1006", 403, cf(), fixture(t, "1006.html"), nil, cloudflare.BlockedOther, 1006},
		{"1010", 403, cf(), fixture(t, "1010.html"), nil, cloudflare.BlockedOther, 1010},
		{"1012", 403, cf(), fixture(t, "1012.html"), nil, cloudflare.BlockedOther, 1012},
		{"1106", 403, cf(), "error code: 1106", nil, cloudflare.BlockedOther, 1106},
		{"1013 is not in the block range", 403, cf(), "error code: 1013", nil, cloudflare.Unexpected, 1013},
		{"522 page", 522, cf("Cf-Error-Type", "52x"), fixture(t, "522.html"), nil, cloudflare.OriginDown, 522},
		{"520 bare", 520, cf(), "", nil, cloudflare.OriginDown, 520},
		{"526", 526, cf(), "", nil, cloudflare.OriginDown, 526},
		{"530 with 1016", 530, cf(), "error code: 1016", nil, cloudflare.OriginDown, 1016},
		{"527 is not origin-down", 527, cf(), "", nil, cloudflare.Unexpected, 0},
		{"500", 500, cf(), "Internal Server Error", nil, cloudflare.OriginError, 0},
		{"502", 502, cf(), "<html><title>502 Bad Gateway</title></html>", nil, cloudflare.OriginError, 0},
		{"503", 503, cf(), "", nil, cloudflare.OriginError, 0},
		{"504", 504, cf(), "", nil, cloudflare.OriginError, 0},
		{"501 is unexpected", 501, cf(), "", nil, cloudflare.Unexpected, 0},
		{"API 401 is up", 401, cf("Content-Type", "application/json"), api401, isAPI, cloudflare.Up, 0},
		{"401 HTML is unexpected for the API", 401, cf(), "<html>login</html>", isAPI, cloudflare.Unexpected, 0},
		{"200 default expectation", 200, cf(), "<html>ChatGPT</html>", nil, cloudflare.Up, 0},
		{"308 default expectation", 308, cf("Location", "https://chatgpt.com/"), "", nil, cloudflare.Up, 0},
		{"404 unexpected", 404, cf(), "not found", nil, cloudflare.Unexpected, 0},
		{"code in a 2xx body is not a block", 200, http.Header{}, `{"incidents":[{"name":"Error code 1020 for some users"}]}`, nil, cloudflare.Up, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, code := cloudflare.Classify(tt.status, tt.h, []byte(tt.body), tt.expected)
			if v != tt.want || code != tt.wantCode {
				t.Errorf("Classify = %q, %d; want %q, %d", v, code, tt.want, tt.wantCode)
			}
		})
	}
}

// legacyChallenge is the markup of the 2019-2020 challenge, abridged from
// the capture in VeNoMouS/cloudscraper#216.
const legacyChallenge = `<!DOCTYPE HTML><html lang="en-US"><head><title>Just a moment, please</title></head><body>
<div class="cf-browser-verification cf-im-under-attack"><div id="cf-content" style="display:none">
<h1><span data-translate="checking_browser">Checking your browser before accessing</span> chatgpt.com.</h1>
<p data-translate="process_is_automatic">This process is automatic. Your browser will redirect to your requested content shortly.</p>
</div><form class="challenge-form" id="challenge-form" action="/?__cf_chl_jschl_tk__=acbb26216452" method="POST"></form></div>
</body></html>`

// jsdPage is an ordinary page with the bot-detection snippet Cloudflare
// injects (written for these tests, after the snippet's public shape).
const jsdPage = `<!DOCTYPE html><html><head><title>ChatGPT</title></head><body><div id="root"></div>
<script>(function(){function c(){var b=a.contentDocument||a.contentWindow.document;if(b){var d=b.createElement('script');
d.innerHTML="window.__CF$cv$params={r:'8a1b2c3d4e5f6789',t:'MTcwMDAwMDAwMA=='};var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';document.getElementsByTagName('head')[0].appendChild(a);";
b.getElementsByTagName('head')[0].appendChild(d)}}var a=document.createElement('iframe');document.body.appendChild(a);c()})();</script></body></html>`

func TestVerdictOutageBlocked(t *testing.T) {
	type flags struct{ Outage, Blocked bool }
	want := map[cloudflare.Verdict]flags{
		cloudflare.Up:           {},
		cloudflare.Unreachable:  {Outage: true},
		cloudflare.Challenged:   {Blocked: true},
		cloudflare.Blocked1020:  {Blocked: true},
		cloudflare.RateLimited:  {},
		cloudflare.BlockedOther: {Blocked: true},
		cloudflare.OriginDown:   {Outage: true},
		cloudflare.OriginError:  {Outage: true},
		cloudflare.Unexpected:   {},
		// Our own network refusing is neither an outage nor Cloudflare's
		// block.
		cloudflare.BlockedNetwork: {},
	}
	got := map[cloudflare.Verdict]flags{}
	for v := range want {
		got[v] = flags{v.Outage(), v.Blocked()}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Outage/Blocked (-want +got):\n%s", diff)
	}
}

var (
	rayShape     = regexp.MustCompile(`^([0-9a-f]{16})?$`)
	countryShape = regexp.MustCompile(`^([A-Z]{2})?$`)
	dcShape      = regexp.MustCompile(`^([A-Za-z]{3}\d{0,3})?$`)
	ipv4         = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
)

// FuzzParsePage checks that no input panics ParsePage and that what it
// returns keeps its shape: nothing a user pasted beyond the fields' narrow
// forms (and so never an IP address) gets through.
func FuzzParsePage(f *testing.F) {
	for _, name := range []string{"1020.html", "1020-copied.txt", "1020.md", "1020.json", "1015.html"} {
		f.Add(fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, ok := cloudflare.ParsePage(text)
		if !ok {
			if p != (cloudflare.Page{}) {
				t.Fatalf("not ok but page %+v", p)
			}
			return
		}
		if !rayShape.MatchString(p.RayID) || !countryShape.MatchString(p.Country) || !dcShape.MatchString(p.DataCenter) {
			t.Fatalf("field out of shape: %+v", p)
		}
		if p.Code != 0 && (p.Code < 520 || p.Code > 1999) {
			t.Fatalf("code %d out of range", p.Code)
		}
		if ipv4.MatchString(p.Title) || len([]rune(p.Title)) > 121 {
			t.Fatalf("title %q holds an IP or is too long", p.Title)
		}
	})
}
