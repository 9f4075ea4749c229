package redact_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gptaccess/redact"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"chatgpt says access denied 1020", "chatgpt says access denied 1020"},
		{"Ray ID: 7afa59eb3bb7abf6 from kld01", "Ray ID: 7afa59eb3bb7abf6 from kld01"},
		{"my ip is 203.0.113.7 and 2001:db8::1", "my ip is [ip] and [ip]"},
		{"my ip is 203.0.11\xb03.7", "my ip is 203.0.11\uFFFD3.7"}, // no address to join later
		{"from 2001:db8:85a3::8a2e:370:7334 ok, version 1.2.3 and room 1020", "from [ip] ok, version 1.2.3 and room 1020"},
		{"write to ana.lopez+work@example.co.uk please", "write to [email] please"},
		{"call me at +44 20 7946 0958", "call me at [phone]"},
		{"or 555-867-5309.", "or [phone]."},
		{"my password is hunter2", "my password is [secret]"},
		{"password: Tr0ub4dor&3", "password: [secret]"},
		{"pw=abc", "pw=[secret]"},
		{"mein Passwort ist geheim", "mein Passwort ist [secret]"},
		{"key sk-proj-AbCdEf0123456789xyz fails", "key [secret] fails"},
		{"it's Hunter2!xyz, right?", "it's [secret], right?"},
		{"api token xoxb-1234-5678-abcdef", "api token [secret]"},
		{"Authorization: Bearer abc.def.ghi", "Authorization: [secret]"},
		{"see https://example.com/reset?token=abc123&lang=en", "see https://example.com/reset?token=[secret]&lang=en"},
		{"Cloudflare's page, ChatGPT-4o and Windows10 are words. Thanks!!", "Cloudflare's page, ChatGPT-4o and Windows10 are words. Thanks!!"},
		{"error 1020 since 2024-05-01", "error 1020 since 2024-05-01"},
		// IPv4-mapped and IPv4-embedded IPv6 addresses, whole.
		{"from ::ffff:192.0.2.1 today", "from [ip] today"},
		{"via 64:ff9b::198.51.100.7, then 1020", "via [ip], then 1020"},
		{"::00000.0.0.0", "[ip]"}, // no address left beside the placeholder
		// A labelled password runs to the end of the line or sentence.
		{"password: correct horse battery staple", "password: [secret]"},
		{"password: correct horse battery staple. Still 1020", "password: [secret]. Still 1020"},
		{"and the password is Sw0rdf1sh!", "and the password is [secret]"},
		{"password:! 0", "password:[secret] 0"},
		{"my password is correct horse battery staple\nand chatgpt says 1020", "my password is [secret]\nand chatgpt says 1020"},
		{"my password is: letmein", "my password is: [secret]"},
		{"the pw is = abc", "the pw is = [secret]"},
		// Addresses with letters of any script.
		{"write to josé@example.com", "write to [email]"},
		{"müller@exämple.de is me", "[email] is me"},
		{"mot de passe : cheval correct agrafe", "mot de passe : [secret]"},
		{"Kennwort = Pferd Batterie Heft! Fehler 1020", "Kennwort = [secret]! Fehler 1020"},
		{"my password is wrong and I see 1020", "my password is wrong and I see 1020"},
		{"das Passwort ist abgelaufen", "das Passwort ist abgelaufen"},
		// A password-like token (letters and digits) next to a password word.
		{"I use Summer2024 as my password and get 1020", "I use [secret] as my password and get 1020"},
		{"tried the pw Summer2024, no luck", "tried the pw [secret] no luck"},
		{"my token is expired", "my token is expired"},
		{"mi contraseña nueva Invierno2025 no funciona", "mi contraseña nueva [secret] no funciona"},
		{"Summer2024 was fun; later I reset my password and got error 1020", "Summer2024 was fun; later I reset my password and got error 1020"},
		{"my Windows10 laptop, password reset, error 1020", "my [secret] laptop, password reset, error 1020"},
		{"password reset on Windows fails with error 1020", "password reset on Windows fails with error 1020"},
		// User info before a host, with or without a scheme.
		{"user:pass@10.0.0.5", "[secret]@[ip]"},
		{"our proxy is bob:hunter2@10.0.0.5:3128 and I get 1020", "our proxy is [secret]@[ip] and I get 1020"},
		{"user:p@ss@10.0.0.5", "[secret]@[ip]"},
		{"socks5://bob:Hunter22@proxy.corp.example", "socks5://[secret]@proxy.corp.example"},
		{"ftp://anna:geheim@files.example.org/x", "ftp://[secret]@files.example.org/x"},
		{"http://user:pass@10.0.0.5/", "http://[ip]/"},
		{"https://user:pass@proxy.example.com:3128/x", "https://proxy.example.com:3128/x"},
		{"set HTTPS_PROXY=admin:Secr3t@[2001:db8::7]:8080", "set HTTPS_PROXY=[secret]@[[ip]]:8080"},
		{"ana:x@example.com wrote", "[secret]@example.com wrote"},
	} {
		if got := redact.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if got := redact.Text(redact.Text(tc.in)); got != tc.want {
			t.Errorf("Text is not idempotent on %q: %q", tc.in, got)
		}
	}
}

func TestLog(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Post "https://hooks.slack.com/commands/T1/123/AbCdEf": EOF`, `Post "https://hooks.slack.com/[secret]": EOF`},
		{`Post "https://discord.com/api/v9/webhooks/1100/aW50ZXJhY3Rpb246c2VjcmV0?wait=true": EOF`, `Post "https://discord.com/api/v9/webhooks/1100/[secret]?wait=true": EOF`},
		{`Post "http://127.0.0.1:9/api/v9/interactions/9/tok.en-x/callback": refused`, `Post "http://127.0.0.1:9/api/v9/interactions/9/[secret]/callback": refused`},
		{`Post "http://127.0.0.1:9000/commands/T0001/000042/R000042": EOF`, `Post "http://127.0.0.1:9000/[secret]": EOF`},
		{"webhooks/123/abc/messages/@original", "webhooks/123/[secret]/messages/@original"},
		{"GET https://user:pw@example.com/x?access_token=zzz&page=2#frag", "GET https://example.com/x?access_token=[secret]&page=2"},
		{"GET https://example.com/files/AbCdEfGh0123456789IjKl/raw", "GET https://example.com/files/[secret]/raw"},
		{"token expired", "token expired"},
		{"slack rejected the bot token; stopping", "slack rejected the bot token; stopping"},
		{"listening on 127.0.0.1:8080 channel C0123 ts 1712345678.123456", "listening on 127.0.0.1:8080 channel C0123 ts 1712345678.123456"},
		{"using xapp-1-A0-123-abc", "using [secret]"},
		// A database URL's password (database.url) never reaches a log.
		{"connect postgres://gptaccess:hunter2hunter@db:5432/g?sslmode=require: refused", "connect postgres://db:5432/g?sslmode=require: refused"},
		{"dial postgresql://u:p%40ss@10.0.0.5/g?password=x failed", "dial postgresql://10.0.0.5/g?password=[secret] failed"},
		// User info with another scheme, or none (a proxy setting).
		{"proxyconnect tcp: dial bob:hunter2@10.0.0.5:3128: refused", "proxyconnect tcp: dial [secret]@10.0.0.5:3128: refused"},
		{"cache redis://u:pw@cache.internal:6379 down", "cache redis://[secret]@cache.internal:6379 down"},
		// Token-bearing URLs without a scheme, JSON-escaped or
		// percent-encoded.
		{"respond to hooks.slack.com/commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA failed", "respond to hooks.slack.com/[secret] failed"},
		{"POST /commands/T0001/4242/Zx9KqW3mPbT7vLs2NcY8dRfA: 404", "POST /commands/T0001/[secret]: 404"},
		{"discord.com/api/v10/webhooks/1100/aW50ZXJhY3Rpb246c2VjcmV0/messages/@original", "discord.com/api/v10/webhooks/1100/[secret]/messages/@original"},
		{`{"response_url":"https:\/\/hooks.slack.com\/commands\/T0001\/4242\/Zx9KqW3mPbT7vLs2NcY8dRfA"}`, `{"response_url":"https:\/\/hooks.slack.com\/[secret]"}`},
		{`{"url":"https:\/\/discord.com\/api\/v10\/webhooks\/1100\/aW50ZXJhY3Rpb246c2VjcmV0\/messages\/@original"}`, `{"url":"https:\/\/discord.com\/api\/v10\/webhooks\/1100\/[secret]\/messages\/@original"}`},
		{`{"path":"interactions\/9\/aW50ZXJhY3Rpb246c2VjcmV0\/callback"}`, `{"path":"interactions\/9\/[secret]\/callback"}`},
		{`err="body {\"url\":\"https:\\/\\/hooks.slack.com\\/commands\\/T0001\\/4242\\/Zx9KqW3m\"}"`, `err="body {\"url\":\"https:\\/\\/hooks.slack.com\\/[secret]\"}"`},
		{`webhooks\\/1100\\/aW50ZXJhY3Rpb246c2VjcmV0\\/messages`, `webhooks\\/1100\\/[secret]\\/messages`},
		{"next=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0001%2F4242%2FZx9KqW3mPbT7vLs2NcY8dRfA&x=1", "next=https%3A%2F%2Fhooks.slack.com%2F%5Bsecret%5D&x=1"},
		{"q=discord.com%2Fapi%2Fwebhooks%2F1100%2FaW50ZXJhY3Rpb246c2VjcmV0&x=1", "q=discord.com%2Fapi%2Fwebhooks%2F1100%2F[secret]&x=1"},
		{"a=hooks.slack.com%2Fservices%2FT0001%2FB0002%2FXyZsecretXyZ", "a=hooks.slack.com%2F[secret]"},
	} {
		if got := redact.Log(tc.in); got != tc.want {
			t.Errorf("Log(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type valuer struct{ s string }

func (v valuer) LogValue() slog.Value { return slog.StringValue(v.s) }

// TestHandlerScrubsEverything: whatever shape a secret takes in a record
// (message, string, error, wrapped url.Error, Stringer, LogValuer, group,
// WithAttrs, a struct), it never reaches the output.
func TestHandlerScrubsEverything(t *testing.T) {
	const botToken = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.G1a2b3.abcdefghijklmnopqrstuvwxyz012345"
	const configured = "plain-secret-value"
	respURL := "https://hooks.slack.com/commands/T0001/1234/ZxYwVuTs"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		var next slog.Handler = slog.NewTextHandler(&buf, nil)
		if format == "json" {
			next = slog.NewJSONHandler(&buf, nil)
		}
		log := slog.New(redact.NewHandler(next, configured))
		uerr := &url.Error{Op: "Post", URL: respURL, Err: errors.New("connection refused")}
		log.With("app", configured).WithGroup("g").Error("failed with "+configured,
			"err", fmt.Errorf("respond: %w", uerr),
			"url", respURL,
			"s", stringer{"Bot " + botToken},
			"v", valuer{configured},
			slog.Group("inner", "u", "https://discord.com/api/v9/webhooks/1/secretinteractiontoken"),
			"cfg", struct{ Token string }{configured},
			"raw", []byte(configured),
		)
		out := buf.String()
		for _, secret := range []string{botToken, configured, "ZxYwVuTs", "secretinteractiontoken", "/commands/T0001"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output holds %q:\n%s", format, secret, out)
			}
		}
		for _, keep := range []string{"hooks.slack.com", "connection refused", "discord.com"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s output lost %q:\n%s", format, keep, out)
			}
		}
	}
}

func TestHandlerKeepsOrdinaryValues(t *testing.T) {
	var a, b bytes.Buffer
	plain := slog.New(slog.NewJSONHandler(&a, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	scrubbed := slog.New(redact.NewHandler(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: dropTime})))
	for _, l := range []*slog.Logger{plain, scrubbed} {
		l.Info("HTTP server listening", "addr", "127.0.0.1:8080", "channels", []string{"C1", "C2"}, "n", 3, "ok", true)
	}
	if diff := cmp.Diff(a.String(), b.String()); diff != "" {
		t.Errorf("ordinary record changed (-plain +scrubbed):\n%s", diff)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestTextKeepsWordsAfterLabels(t *testing.T) {
	for _, in := range []string{"password reset does not work", "my token expired", "how do I reset my api key?"} {
		if got := redact.Text(in); got != in {
			t.Errorf("Text(%q) = %q", in, got)
		}
	}
}
