package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Secret is a value that must never reach a log, a reply or an error
// message. Every way of printing or marshalling it yields "[redacted]" (or ""
// when it is empty, so that "not set" stays visible); Reveal returns the
// value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is like String, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format redacts for every verb, including %x and %q, which would otherwise
// print a string type's bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		io.WriteString(f, s.String())
	}
}

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret for text encoders (slog's text handler
// among them).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML redacts the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Secrets are the credentials, read only from the environment variables
// named on each field.
type Secrets struct {
	// SlackBotToken (SLACK_BOT_TOKEN, xoxb-…) enables Slack.
	SlackBotToken Secret `json:"slack_bot_token"`
	// SlackAppToken (SLACK_APP_TOKEN, xapp-…) enables Socket Mode.
	SlackAppToken Secret `json:"slack_app_token"`
	// SlackSigningSecret (SLACK_SIGNING_SECRET) verifies HTTP requests from
	// Slack.
	SlackSigningSecret Secret `json:"slack_signing_secret"`
	// DiscordBotToken (DISCORD_BOT_TOKEN) enables Discord.
	DiscordBotToken Secret `json:"discord_bot_token"`
	// DiscordPublicKey (DISCORD_PUBLIC_KEY, 64 hex digits) verifies HTTP
	// interactions from Discord.
	DiscordPublicKey Secret `json:"discord_public_key"`
}

// vars pairs each secret's environment variable with its field, in the
// order problems are reported.
func (s *Secrets) vars() []struct {
	name string
	ptr  *Secret
} {
	return []struct {
		name string
		ptr  *Secret
	}{
		{"SLACK_BOT_TOKEN", &s.SlackBotToken},
		{"SLACK_APP_TOKEN", &s.SlackAppToken},
		{"SLACK_SIGNING_SECRET", &s.SlackSigningSecret},
		{"DISCORD_BOT_TOKEN", &s.DiscordBotToken},
		{"DISCORD_PUBLIC_KEY", &s.DiscordPublicKey},
	}
}

// read reads the secrets from the environment. Surrounding white
// space is dropped: it comes from env files and `echo`, never from the
// platform.
func (s *Secrets) read(getenv func(string) string) {
	for _, v := range s.vars() {
		*v.ptr = Secret(strings.TrimSpace(getenv(v.name)))
	}
}

// secretKeyHint returns the environment variable(s) to use instead of the
// file key at path, and whether path looks like a place for a secret at all.
func secretKeyHint(path string) (string, bool) {
	switch path {
	case "slack.bot_token", "slack.token":
		return "SLACK_BOT_TOKEN", true
	case "slack.app_token":
		return "SLACK_APP_TOKEN", true
	case "slack.signing_secret":
		return "SLACK_SIGNING_SECRET", true
	case "discord.bot_token", "discord.token":
		return "DISCORD_BOT_TOKEN", true
	case "discord.public_key":
		return "DISCORD_PUBLIC_KEY", true
	}
	section, key, _ := strings.Cut(path, ".")
	if path != "secrets" && !strings.Contains(key, "token") && !strings.Contains(key, "secret") &&
		!strings.Contains(key, "password") {
		return "", false
	}
	switch section {
	case "slack":
		return "SLACK_BOT_TOKEN, SLACK_APP_TOKEN or SLACK_SIGNING_SECRET", true
	case "discord":
		return "DISCORD_BOT_TOKEN or DISCORD_PUBLIC_KEY", true
	}
	return "SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, DISCORD_BOT_TOKEN or DISCORD_PUBLIC_KEY", true
}

// looksLikeToken reports whether a value in the file is a Slack token,
// which would otherwise be echoed back in an error message.
func looksLikeToken(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "xapp-") {
		return true
	}
	return len(s) > 5 && strings.HasPrefix(s, "xox") && s[4] == '-'
}
