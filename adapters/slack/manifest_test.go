package slack

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The manifest asks for what the adapter uses: the events it translates,
// the scopes they need, the slash command and interactivity.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct {
				Command   string `yaml:"command"`
				UsageHint string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
			AppHome struct {
				MessagesTab bool `yaml:"messages_tab_enabled"`
			} `yaml:"app_home"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"app_mentions:read", "chat:write", "im:history", "im:read", "channels:history", "groups:history", "commands",
		"channels:read", "groups:read", "mpim:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
		}
	}
	for _, e := range []string{"app_mention", "message.im", "message.channels", "message.groups"} {
		if !slices.Contains(m.Settings.Events.BotEvents, e) {
			t.Errorf("event %s missing", e)
		}
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/gptaccess" || m.Features.SlashCommands[0].UsageHint == "" {
		t.Errorf("slash commands = %+v", m.Features.SlashCommands)
	}
	if len(m.Features.SlashCommands) == 1 {
		hint := m.Features.SlashCommands[0].UsageHint
		for sub := range subcommands {
			if !strings.Contains(hint, sub) {
				t.Errorf("subcommand %q not in the usage hint %q", sub, hint)
			}
		}
		if !strings.Contains(hint, "ask <question>") {
			t.Errorf("ask missing from the usage hint %q", hint)
		}
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode || !m.Features.AppHome.MessagesTab {
		t.Errorf("settings = %+v, app home = %+v", m.Settings, m.Features.AppHome)
	}
}
