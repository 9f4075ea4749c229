package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secretEnv gives every secret a distinctive value, each with a marker that
// must never appear in output.
var secretEnv = map[string]string{
	"SLACK_BOT_TOKEN":      "xoxb-SEKRIT1",
	"SLACK_APP_TOKEN":      "xapp-SEKRIT2",
	"SLACK_SIGNING_SECRET": "SEKRIT3",
	"DISCORD_BOT_TOKEN":    "SEKRIT4.abc.def",
	"DISCORD_PUBLIC_KEY":   "5e6b5269" + strings.Repeat("ab", 28), // hex of "^kRi"…
}

func leaks(out string) []string {
	var found []string
	for name, v := range secretEnv {
		if strings.Contains(out, v) || strings.Contains(out, "SEKRIT") ||
			strings.Contains(out, fmt.Sprintf("%x", v)) || strings.Contains(out, fmt.Sprintf("%X", v)) {
			found = append(found, name)
		}
	}
	return found
}

func TestSecretsNeverPrinted(t *testing.T) {
	c, err := Parse(strings.NewReader("discord: {interactions: true}\n"), env(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	if c.Secrets.SlackBotToken.Reveal() != secretEnv["SLACK_BOT_TOKEN"] {
		t.Fatalf("Reveal() = %q, want the token", c.Secrets.SlackBotToken.Reveal())
	}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T %v"} {
		outputs[verb+" config"] = fmt.Sprintf(verb, c)
		outputs[verb+" *config"] = fmt.Sprintf(verb, *c)
		outputs[verb+" secrets"] = fmt.Sprintf(verb, c.Secrets)
		outputs[verb+" &secrets"] = fmt.Sprintf(verb, &c.Secrets)
		outputs[verb+" secret"] = fmt.Sprintf(verb, c.Secrets.SlackBotToken)
		outputs[verb+" []secret"] = fmt.Sprintf(verb, []Secret{c.Secrets.SlackAppToken})
		outputs[verb+" map"] = fmt.Sprintf(verb, map[string]any{"k": c.Secrets.DiscordBotToken})
	}
	outputs["Sprint"] = fmt.Sprint(c, c.Secrets.SlackSigningSecret)
	outputs["Sprintln"] = fmt.Sprintln(*c, c.Secrets.DiscordPublicKey)
	outputs["String"] = c.Secrets.SlackBotToken.String()
	outputs["GoString"] = c.Secrets.SlackBotToken.GoString()
	outputs["error wrap"] = fmt.Errorf("with %v: %w", c.Secrets.SlackBotToken, fmt.Errorf("%s", c.Secrets.SlackAppToken)).Error()

	for _, h := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	} {
		var buf bytes.Buffer
		log := slog.New(h.new(&buf))
		log.Info("config", "config", c, "value", *c, "secrets", c.Secrets, "token", c.Secrets.SlackBotToken,
			slog.Any("any", c.Secrets.SlackAppToken), slog.Group("g", "key", c.Secrets.DiscordPublicKey))
		log.With("token", c.Secrets.DiscordBotToken).Info("with")
		log.Info("formatted", "msg", fmt.Sprintf("%v", c.Secrets.SlackSigningSecret))
		outputs["slog "+h.name] = buf.String()
		if !strings.Contains(buf.String(), redacted) {
			t.Errorf("slog %s output does not show %q:\n%s", h.name, redacted, buf.String())
		}
	}

	for name, v := range map[string]any{"config": c, "secrets": c.Secrets, "secret": c.Secrets.SlackBotToken} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		outputs["json "+name] = string(j)
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml.Marshal(%s): %v", name, err)
		}
		outputs["yaml "+name] = string(y)
	}
	text, _ := c.Secrets.SlackBotToken.MarshalText()
	outputs["MarshalText"] = string(text)

	for name, out := range outputs {
		if l := leaks(out); len(l) > 0 {
			t.Errorf("%s leaks %v:\n%s", name, l, out)
		}
	}
	if got := outputs["json secrets"]; !strings.Contains(got, `"slack_bot_token":"[redacted]"`) {
		t.Errorf("json secrets = %s, want redacted fields", got)
	}
	if got := outputs["%#v secret"]; got != `config.Secret("[redacted]")` {
		t.Errorf("%%#v = %s", got)
	}
	if got := outputs["%q secret"]; got != `"[redacted]"` {
		t.Errorf("%%q = %s", got)
	}
}

func TestSecretEmpty(t *testing.T) {
	var s Secret
	for name, got := range map[string]string{
		"String": s.String(),
		"%v":     fmt.Sprintf("%v", s),
		"slog":   s.LogValue().String(),
		"Reveal": s.Reveal(),
	} {
		if got != "" {
			t.Errorf("%s of an empty secret = %q, want \"\"", name, got)
		}
	}
	if j, _ := json.Marshal(s); string(j) != `""` {
		t.Errorf("json of an empty secret = %s", j)
	}
}

// TestSecretsNotInErrors checks that problems with secrets, and secrets in
// the wrong place in the file, are reported without the value.
func TestSecretsNotInErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
	}{
		{name: "public key", env: map[string]string{"DISCORD_BOT_TOKEN": "SEKRIT4", "DISCORD_PUBLIC_KEY": "SEKRIT5"}},
		{name: "white space", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-SEKRIT 1", "SLACK_APP_TOKEN": "xapp-SEKRIT2"}},
		{name: "key in file", yaml: "slack:\n  bot_token: xoxb-SEKRIT1\n  signing_secret: SEKRIT3\n"},
		{name: "token as a channel", yaml: "slack:\n  alert_channels: [xoxb-SEKRIT1]\n  support_channel: xapp-SEKRIT2\n"},
		{name: "token in an int", yaml: "http: {max_body_bytes: xoxp-SEKRIT9}\n"},
		{name: "secrets section", yaml: "secrets:\n  SLACK_BOT_TOKEN: SEKRIT1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.yaml), env(tt.env))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if strings.Contains(err.Error(), "SEKRIT") {
				t.Errorf("error echoes a secret:\n%v", err)
			}
		})
	}
}
