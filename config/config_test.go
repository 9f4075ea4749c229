package config

import (
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultTargetsResolved(t *testing.T) {
	for _, tg := range Default().Monitor.Targets {
		if tg.Method != "GET" || tg.Timeout != 10*time.Second {
			t.Errorf("default target %s: method %q timeout %v, want GET 10s", tg.Name, tg.Method, tg.Timeout)
		}
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n", "log:\n", "log: ~\nmonitor: {}\n"} {
		got, err := Parse(strings.NewReader(in), nil)
		if err != nil {
			t.Fatalf("Parse(%q) error: %v", in, err)
		}
		if diff := cmp.Diff(Default(), got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want func(c *Config)
	}{
		{
			name: "sections",
			yaml: `
log: {level: debug, format: json}
http:
  listen: ":0"
  max_body_bytes: 2048
  read_timeout: 3s
  shutdown_timeout: 1m
database: {path: /data/g.db}
kb: {file: guide.yaml, diagnosis_file: diag.yaml, threshold: 0.4}
bot:
  max_message_bytes: 100
  conversation_timeout: 1h
  rate_limit: {burst: 1, per_minute: 0}
`,
			want: func(c *Config) {
				c.Log = Log{Level: "debug", Format: "json"}
				c.HTTP = HTTP{Listen: ":0", MaxBodyBytes: 2048, ReadTimeout: 3 * time.Second, ShutdownTimeout: time.Minute}
				c.Database.Path = "/data/g.db"
				c.KB = KB{File: "guide.yaml", DiagnosisFile: "diag.yaml", Threshold: 0.4}
				c.Bot = Bot{MaxMessageBytes: 100, ConversationTimeout: time.Hour, OutcomeRetention: 90 * 24 * time.Hour, PendingFreshness: 10 * time.Minute, RateLimit: RateLimit{Burst: 1}}
			},
		},
		{
			name: "only one key in a section keeps the others",
			yaml: "http: {listen: \"0.0.0.0:9090\"}\n",
			want: func(c *Config) { c.HTTP.Listen = "0.0.0.0:9090" },
		},
		{
			name: "empty listen disables the server",
			yaml: "http: {listen: \"\"}\n",
			want: func(c *Config) { c.HTTP.Listen = "" },
		},
		{
			name: "slack and discord",
			yaml: `
slack:
  api_url: "http://127.0.0.1:9000/api/"
  alert_channels: [C0123456789, G1]
  listen_channels: ["D42"]
  support_channel: C9
  support_group: S0123
  mode: socket
discord:
  api_url: "http://127.0.0.1:9001/"
  alert_channels: [123456789012345678]
  guild_id: "42"
  listen_channels: ["7"]
  message_content: true
  support_channel: "8"
  support_role: "9"
  interactions: true
`,
			want: func(c *Config) {
				c.Slack = Slack{
					APIURL:         "http://127.0.0.1:9000/api/",
					AlertChannels:  []string{"C0123456789", "G1"},
					ListenChannels: []string{"D42"},
					SupportChannel: "C9",
					SupportGroup:   "S0123",
					Mode:           "socket",
				}
				c.Discord = Discord{
					APIURL:         "http://127.0.0.1:9001/",
					AlertChannels:  []string{"123456789012345678"},
					GuildID:        "42",
					ListenChannels: []string{"7"},
					MessageContent: true,
					SupportChannel: "8",
					SupportRole:    "9",
					Interactions:   true,
				}
			},
		},
		{
			name: "empty lists are nil",
			yaml: "slack: {alert_channels: []}\ndiscord: {listen_channels: ~}\n",
			want: func(c *Config) {},
		},
		{
			name: "monitor",
			yaml: `
monitor:
  enabled: false
  schedule: "*/30 * * * * *"
  timezone: Europe/Berlin
  digest: ""
  failure_threshold: 1
  success_threshold: 5
  reminder_interval: 1h
  retention: 24h
  timeout: 30s
  canary: "https://example.com/"
`,
			want: func(c *Config) {
				m := &c.Monitor
				m.Enabled = false
				m.Schedule = "*/30 * * * * *"
				m.Timezone = "Europe/Berlin"
				m.Digest = ""
				m.FailureThreshold, m.SuccessThreshold = 1, 5
				m.ReminderInterval = time.Hour
				m.Retention = 24 * time.Hour
				m.Timeout = 30 * time.Second
				m.Canary = "https://example.com/"
				for i := range m.Targets {
					m.Targets[i].Timeout = 30 * time.Second // follows monitor.timeout
				}
			},
		},
		{
			name: "targets replace the defaults and get theirs",
			yaml: `
monitor:
  timeout: 20s
  targets:
    - {name: api, kind: api, url: "https://api.openai.com/v1/models"}
    - name: intranet-proxy
      kind: http
      url: "http://proxy.internal:3128/health"
      method: HEAD
      expect_status: [200, 204]
      timeout: 1m
`,
			want: func(c *Config) {
				c.Monitor.Timeout = 20 * time.Second
				c.Monitor.Targets = []Target{
					{Name: "api", Kind: "api", URL: "https://api.openai.com/v1/models", Method: "GET", Timeout: 20 * time.Second},
					{Name: "intranet-proxy", Kind: "http", URL: "http://proxy.internal:3128/health", Method: "HEAD",
						ExpectStatus: []int{200, 204}, Timeout: time.Minute},
				}
			},
		},
		{
			name: "disabled monitor may have no targets",
			yaml: "monitor: {enabled: false, targets: []}\n",
			want: func(c *Config) {
				c.Monitor.Enabled = false
				c.Monitor.Targets = nil
			},
		},
		{
			name: "durations: zero without a unit, and quoted",
			yaml: "monitor: {reminder_interval: 0, retention: \"48h\"}\n",
			want: func(c *Config) { c.Monitor.Retention = 48 * time.Hour },
		},
		{
			name: "anchors, aliases and merge keys",
			yaml: `
monitor:
  targets:
    - &base {name: a, kind: web, url: "https://a.example/", timeout: 5s}
    - <<: *base
      name: b
      url: "https://b.example/"
slack:
  alert_channels: &ch [C1]
  listen_channels: *ch
`,
			want: func(c *Config) {
				c.Monitor.Targets = []Target{
					{Name: "a", Kind: "web", URL: "https://a.example/", Method: "GET", Timeout: 5 * time.Second},
					{Name: "b", Kind: "web", URL: "https://b.example/", Method: "GET", Timeout: 5 * time.Second},
				}
				c.Slack.AlertChannels = []string{"C1"}
				c.Slack.ListenChannels = []string{"C1"}
			},
		},
		{
			name: "slack auto mode with secrets",
			yaml: "",
			env:  map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": " xapp-1\n"},
			want: func(c *Config) {
				c.Secrets.SlackBotToken = "xoxb-1"
				c.Secrets.SlackAppToken = "xapp-1" // trimmed
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			want := Default()
			tt.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const validPublicKey = "7a0c2b6b0b4c3f2e1d0c9b8a7f6e5d4c3b2a19087f6e5d4c3b2a190807060504"

// TestParseErrors checks every error path: each case's error must mention
// every listed fragment (usually the YAML path, often the line) and wrap
// every listed error.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
		is   []error
	}{
		// Decoding.
		{name: "syntax", yaml: "log: [\n", want: []string{"yaml:", "line"}},
		{name: "tabs", yaml: "log:\n\tlevel: info\n", want: []string{"yaml:"}},
		{name: "two documents", yaml: "log: {}\n---\nlog: {}\n", want: []string{"one YAML document"}},
		{name: "root is a list", yaml: "- a\n", want: []string{"line 1: the configuration must be a YAML mapping"}},
		{name: "root is a scalar", yaml: "hello\n", want: []string{"must be a YAML mapping", `"hello"`}},
		{name: "unknown section", yaml: "logging: {}\n", want: []string{"line 1: logging: unknown key", `did you mean "log"`}, is: []error{ErrUnknownKey}},
		{name: "unknown key", yaml: "http:\n  lisen: x\n", want: []string{"line 2: http.lisen: unknown key", `did you mean "listen"`}, is: []error{ErrUnknownKey}},
		{name: "unknown key lists known keys", yaml: "bot:\n  zzzzzz: 1\n", want: []string{"bot.zzzzzz: unknown key (known keys: max_message_bytes, conversation_timeout, outcome_retention, pending_freshness, rate_limit)"}, is: []error{ErrUnknownKey}},
		{name: "unknown target key", yaml: "monitor:\n  targets:\n    - {name: a, kind: web, url: \"https://x/\", headers: {}}\n", want: []string{"line 3: monitor.targets[0].headers: unknown key"}, is: []error{ErrUnknownKey}},
		{name: "unknown anchored section", yaml: "x: &m {bogus: 1}\n", want: []string{"line 1: x: unknown key"}, is: []error{ErrUnknownKey}},
		{name: "unknown key through merge", yaml: "http:\n  <<: {bogus: 1}\n", want: []string{"http.bogus: unknown key"}, is: []error{ErrUnknownKey}},
		{name: "merge of a scalar", yaml: "http:\n  <<: 5\n", want: []string{"http: << must merge a mapping"}},
		{name: "merge of a list of scalars", yaml: "http:\n  <<: [5]\n", want: []string{"http: << must merge mappings"}},
		{name: "duplicate key", yaml: "log:\n  level: info\n  level: debug\n", want: []string{"line 3: log.level: duplicate key (first set on line 2)"}},
		{name: "complex key", yaml: "log:\n  ? [a]\n  : b\n", want: []string{"log: keys must be plain names"}},
		{name: "section not a mapping", yaml: "http: 8080\n", want: []string{"line 1: http: must be a mapping", `"8080"`}},
		{name: "not an integer", yaml: "http: {max_body_bytes: lots}\n", want: []string{"http.max_body_bytes: must be a whole number", `"lots"`}},
		{name: "not a bool", yaml: "monitor: {enabled: maybe}\n", want: []string{"monitor.enabled: must be true or false"}},
		{name: "not a number", yaml: "kb: {threshold: high}\n", want: []string{"kb.threshold: must be a number"}},
		{name: "string given a list", yaml: "log: {level: [info]}\n", want: []string{"log.level: must be a single value, found a list"}},
		{name: "duration without unit", yaml: "http: {read_timeout: 10}\n", want: []string{"line 1: http.read_timeout: invalid duration \"10\""}},
		{name: "duration garbage", yaml: "monitor:\n  retention: a month\n", want: []string{"line 2: monitor.retention: invalid duration"}},
		{name: "duration given a mapping", yaml: "monitor: {timeout: {s: 1}}\n", want: []string{"monitor.timeout: must be a duration"}},
		{name: "list given a scalar", yaml: "slack: {alert_channels: C1}\n", want: []string{"slack.alert_channels: must be a list"}},
		{name: "list item not a scalar", yaml: "slack: {alert_channels: [[C1]]}\n", want: []string{"slack.alert_channels[0]: must be a single value"}},
		{name: "targets not a list", yaml: "monitor: {targets: {name: a}}\n", want: []string{"monitor.targets: must be a list"}},
		{name: "target not a mapping", yaml: "monitor: {targets: [api]}\n", want: []string{"monitor.targets[0]: must be a mapping"}},
		{name: "expect_status not integers", yaml: "monitor:\n  targets:\n    - name: a\n      kind: web\n      url: \"https://a/\"\n      expect_status: [ok]\n", want: []string{"line 6: monitor.targets[0].expect_status[0]: must be a whole number"}},
		{name: "many problems at once", yaml: "log: {level: 1, bogus: 2}\nhttp: {read_timeout: x}\n", want: []string{"log.bogus", "http.read_timeout"}},

		// Secrets in the file.
		{name: "secret key", yaml: "slack:\n  bot_token: xoxb-123-456\n", want: []string{"line 2: slack.bot_token: secrets are read only from the environment", "set SLACK_BOT_TOKEN"}, is: []error{ErrSecretInFile}},
		{name: "signing secret key", yaml: "slack: {signing_secret: abc}\n", want: []string{"slack.signing_secret", "SLACK_SIGNING_SECRET"}, is: []error{ErrSecretInFile}},
		{name: "app token key", yaml: "slack: {app_token: abc}\n", want: []string{"SLACK_APP_TOKEN"}, is: []error{ErrSecretInFile}},
		{name: "discord token key", yaml: "discord: {token: abc}\n", want: []string{"discord.token", "DISCORD_BOT_TOKEN"}, is: []error{ErrSecretInFile}},
		{name: "discord public key", yaml: "discord: {public_key: abc}\n", want: []string{"DISCORD_PUBLIC_KEY"}, is: []error{ErrSecretInFile}},
		{name: "secrets section", yaml: "secrets: {slack_bot_token: abc}\n", want: []string{"secrets: secrets are read only from the environment"}, is: []error{ErrSecretInFile}},
		{name: "other token-like key", yaml: "discord: {oauth_secret: abc}\n", want: []string{"discord.oauth_secret", "DISCORD_BOT_TOKEN"}, is: []error{ErrSecretInFile}},
		{name: "token pasted as a value", yaml: "slack: {support_channel: xoxb-1-2-abc}\n", want: []string{"slack.support_channel", "looks like a Slack token"}, is: []error{ErrSecretInFile}},

		// Environment.
		{name: "env int", env: map[string]string{"GPTACCESS_HTTP_MAX_BODY_BYTES": "1MB"}, want: []string{`GPTACCESS_HTTP_MAX_BODY_BYTES (http.max_body_bytes): invalid whole number "1MB"`}},
		{name: "env duration", env: map[string]string{"GPTACCESS_MONITOR_TIMEOUT": "10"}, want: []string{"GPTACCESS_MONITOR_TIMEOUT (monitor.timeout): invalid duration"}},
		{name: "env bool", env: map[string]string{"GPTACCESS_MONITOR_ENABLED": "yes please"}, want: []string{"GPTACCESS_MONITOR_ENABLED"}},
		{name: "env float", env: map[string]string{"GPTACCESS_KB_THRESHOLD": "high"}, want: []string{"GPTACCESS_KB_THRESHOLD"}},
		{name: "env value invalid", env: map[string]string{"GPTACCESS_HTTP_LISTEN": "localhost"}, want: []string{"GPTACCESS_HTTP_LISTEN (http.listen): must be host:port"}},
		{name: "env list item invalid", env: map[string]string{"GPTACCESS_SLACK_ALERT_CHANNELS": "C1,#general"}, want: []string{"GPTACCESS_SLACK_ALERT_CHANNELS (slack.alert_channels[1])"}},
		{name: "env db conflict", env: map[string]string{"GPTACCESS_DB": "a.db", "GPTACCESS_DATABASE_PATH": "b.db"}, want: []string{"GPTACCESS_DB (database.path)", "GPTACCESS_DATABASE_PATH"}},

		// Validation, section by section.
		{name: "log level", yaml: "log: {level: verbose}\n", want: []string{`line 1: log.level: must be debug, info, warn or error, found "verbose"`}},
		{name: "log format", yaml: "log: {format: xml}\n", want: []string{"log.format"}},
		{name: "listen", yaml: "http: {listen: \"8080\"}\n", want: []string{"http.listen: must be host:port"}},
		{name: "listen port", yaml: "http: {listen: \"localhost:http\"}\n", want: []string{"http.listen: port must be a number"}},
		{name: "listen port range", yaml: "http: {listen: \":70000\"}\n", want: []string{"http.listen: port"}},
		{name: "body", yaml: "http: {max_body_bytes: 0}\n", want: []string{"http.max_body_bytes: must be between 1024 and 67108864, found 0"}},
		{name: "body huge", yaml: "http: {max_body_bytes: 10000000000}\n", want: []string{"http.max_body_bytes: must be between"}},
		{name: "http timeouts", yaml: "http: {read_timeout: 0s, shutdown_timeout: -1s}\n", want: []string{"http.read_timeout: must be between 1s and 10 minutes, found 0s", "http.shutdown_timeout"}},
		{name: "conversation timeout a typo", yaml: "bot: {conversation_timeout: 1ms}\n", want: []string{"bot.conversation_timeout: must be between 1 minute and 24 hours, found 1ms"}},
		{name: "conversation timeout env", env: map[string]string{"GPTACCESS_BOT_CONVERSATION_TIMEOUT": "1ms"}, want: []string{"GPTACCESS_BOT_CONVERSATION_TIMEOUT (bot.conversation_timeout): must be between 1 minute and 24 hours"}},
		{name: "message bytes", yaml: "bot: {max_message_bytes: 100000000}\n", want: []string{"bot.max_message_bytes: must be between 16 and 1048576"}},
		{name: "rate limit huge", yaml: "bot: {rate_limit: {burst: 5000, per_minute: 100000}}\n", want: []string{"bot.rate_limit.burst: must be between 1 and 1000", "bot.rate_limit.per_minute: must be between 0 and 6000"}},
		{name: "privacy retention", yaml: "privacy: {retention: 1s}\n", want: []string{"privacy.retention: must be between 1 hour and 365 days, found 1s"}},
		{name: "privacy retention forever", yaml: "privacy: {retention: 87600h}\n", want: []string{"privacy.retention: must be between 1 hour and 365 days, found 87600h0m0s"}},
		{name: "database", yaml: "database: {path: \"\"}\n", want: []string{"database.path: must not be empty"}},
		{name: "threshold", yaml: "kb: {threshold: 1.5}\n", want: []string{"kb.threshold: must be between 0 and 1"}},
		{name: "threshold nan", yaml: "kb: {threshold: .nan}\n", want: []string{"kb.threshold"}},
		{name: "threshold negative", yaml: "kb: {threshold: -0.1}\n", want: []string{"kb.threshold"}},
		{name: "bot", yaml: "bot: {max_message_bytes: 0, conversation_timeout: 0s}\n", want: []string{"bot.max_message_bytes", "bot.conversation_timeout"}},
		{name: "rate limit", yaml: "bot: {rate_limit: {burst: 0, per_minute: 5}}\n", want: []string{"bot.rate_limit.burst: must be at least 1"}},
		{name: "rate limit negative", yaml: "bot: {rate_limit: {burst: -1, per_minute: -1}}\n", want: []string{"bot.rate_limit.burst", "bot.rate_limit.per_minute"}},
		{name: "slack api_url slash", yaml: "slack: {api_url: \"http://127.0.0.1:9000/api\"}\n", want: []string{`slack.api_url: must be a base URL ending in "/"`}},
		{name: "slack api_url scheme", yaml: "slack: {api_url: \"ftp://x/\"}\n", want: []string{"slack.api_url: must be an absolute http or https URL"}},
		{name: "slack api_url relative", yaml: "slack: {api_url: \"/api/\"}\n", want: []string{"slack.api_url"}},
		{name: "slack api_url query", yaml: "slack: {api_url: \"https://x/api/?a=b\"}\n", want: []string{"slack.api_url"}},
		{name: "slack channels", yaml: "slack:\n  alert_channels: [C1, \"#general\", C1]\n  listen_channels: [c1]\n  support_channel: general\n", want: []string{
			`line 2: slack.alert_channels[1]: must be a Slack channel id such as C0123456789 (not a #name), found "#general"`,
			"slack.alert_channels[2]: duplicate of slack.alert_channels[0]",
			"slack.listen_channels[0]", "line 4: slack.support_channel"}},
		{name: "slack group", yaml: "slack: {support_group: C123}\n", want: []string{"slack.support_group: must be a Slack user group id"}},
		{name: "slack mode", yaml: "slack: {mode: websocket}\n", want: []string{"slack.mode: must be socket, http"}},
		{name: "slack socket without app token", yaml: "slack: {mode: socket}\n", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, want: []string{"line 1: slack.mode", "needs SLACK_APP_TOKEN"}, is: []error{ErrMissingSecret}},
		{name: "slack http without signing secret", yaml: "slack: {mode: http}\n", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, want: []string{"slack.mode", "needs SLACK_SIGNING_SECRET"}, is: []error{ErrMissingSecret}},
		{name: "slack bot token alone", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, want: []string{"SLACK_BOT_TOKEN: missing secret", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"}, is: []error{ErrMissingSecret}},
		{name: "slack app token alone", env: map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, want: []string{"SLACK_APP_TOKEN: missing secret: set, but SLACK_BOT_TOKEN is not"}, is: []error{ErrMissingSecret}},
		{name: "slack signing secret alone", env: map[string]string{"SLACK_SIGNING_SECRET": "s"}, want: []string{"SLACK_SIGNING_SECRET: missing secret"}, is: []error{ErrMissingSecret}},
		{name: "slack http mode needs listen", yaml: "http: {listen: \"\"}\n", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, want: []string{"http.listen: must be set: Slack http mode"}},
		{name: "secret with white space", env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1 xoxb-2", "SLACK_APP_TOKEN": "xapp-1"}, want: []string{"SLACK_BOT_TOKEN: contains white space"}},
		{name: "discord api_url", yaml: "discord: {api_url: \"http://127.0.0.1:9001\"}\n", want: []string{"discord.api_url"}},
		{name: "discord ids", yaml: "discord:\n  alert_channels: [\"12a\", \"5\", \"5\"]\n  listen_channels: [\"-1\"]\n  guild_id: my-guild\n  support_channel: \"#help\"\n  support_role: \"99999999999999999999999\"\n", want: []string{
			"line 2: discord.alert_channels[0]: must be a Discord channel id", "discord.alert_channels[2]: duplicate", "discord.listen_channels[0]",
			"line 4: discord.guild_id", "discord.support_channel", "discord.support_role"}},
		{name: "discord interactions without public key", yaml: "discord: {interactions: true}\n", env: map[string]string{"DISCORD_BOT_TOKEN": "t"}, want: []string{"line 1: discord.interactions", "DISCORD_PUBLIC_KEY"}, is: []error{ErrMissingSecret}},
		{name: "discord interactions without listen", yaml: "discord: {interactions: true}\nhttp: {listen: \"\"}\n", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_PUBLIC_KEY": validPublicKey}, want: []string{"discord.interactions: needs the HTTP server"}},
		{name: "discord public key not hex", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_PUBLIC_KEY": "zz"}, want: []string{"DISCORD_PUBLIC_KEY: must be the application's public key"}},
		{name: "discord public key short", env: map[string]string{"DISCORD_BOT_TOKEN": "t", "DISCORD_PUBLIC_KEY": validPublicKey[:62]}, want: []string{"DISCORD_PUBLIC_KEY: must be"}},
		{name: "discord public key alone", env: map[string]string{"DISCORD_PUBLIC_KEY": validPublicKey}, want: []string{"DISCORD_PUBLIC_KEY: missing secret"}, is: []error{ErrMissingSecret}},
		{name: "schedule", yaml: "monitor: {schedule: \"every five minutes\"}\n", want: []string{`line 1: monitor.schedule: invalid cron spec "every five minutes"`}},
		{name: "schedule empty", yaml: "monitor: {schedule: \"\"}\n", want: []string{"monitor.schedule: must be set"}},
		{name: "schedule too often", yaml: "monitor: {schedule: \"@every 1s\"}\n", want: []string{"monitor.schedule", "the minimum is 30s"}},
		{name: "schedule every second", yaml: "monitor: {schedule: \"* * * * * *\"}\n", want: []string{"monitor.schedule", "fires every 1s"}},
		{name: "schedule never", yaml: "monitor: {schedule: \"0 0 30 2 *\"}\n", want: []string{"monitor.schedule", "never fires"}},
		{name: "schedule bad tz", yaml: "monitor: {schedule: \"CRON_TZ=Mars/Olympus 0 * * * *\"}\n", want: []string{"monitor.schedule: invalid cron spec"}},
		{name: "schedule tz only", yaml: "monitor: {schedule: \"CRON_TZ=UTC\"}\n", want: []string{"monitor.schedule: invalid cron spec", "time zone prefix"}},
		{name: "timezone", yaml: "monitor: {timezone: Mars/Olympus}\n", want: []string{`monitor.timezone: unknown time zone "Mars/Olympus"`}},
		{name: "digest", yaml: "monitor: {digest: \"9am\"}\n", want: []string{"monitor.digest: invalid cron spec"}},
		{name: "digest too often", yaml: "monitor: {digest: \"*/5 * * * *\"}\n", want: []string{"monitor.digest", "the minimum is 1h0m0s"}},
		{name: "thresholds", yaml: "monitor: {failure_threshold: 0, success_threshold: -1}\n", want: []string{"monitor.failure_threshold: must be between 1 and 100, found 0", "monitor.success_threshold"}},
		{name: "thresholds huge", yaml: "monitor: {failure_threshold: 1000, success_threshold: 101}\n", want: []string{"monitor.failure_threshold: must be between 1 and 100, found 1000", "monitor.success_threshold: must be between 1 and 100, found 101"}},
		{name: "reminder", yaml: "monitor: {reminder_interval: 1m}\n", want: []string{"monitor.reminder_interval: must be 0 (no reminders) or between 5 minutes and 7 days, found 1m0s"}},
		{name: "reminder negative", yaml: "monitor: {reminder_interval: -5m}\n", want: []string{"monitor.reminder_interval"}},
		{name: "reminder a month", yaml: "monitor: {reminder_interval: 720h}\n", want: []string{"monitor.reminder_interval: must be 0 (no reminders) or between 5 minutes and 7 days"}},
		{name: "retention", yaml: "monitor: {retention: 0s}\n", want: []string{"monitor.retention"}},
		{name: "retention a typo", env: map[string]string{"GPTACCESS_MONITOR_RETENTION": "1ns"}, want: []string{"GPTACCESS_MONITOR_RETENTION (monitor.retention): must be between 1 hour and 3650 days, found 1ns"}},
		{name: "retention forever", yaml: "monitor: {retention: 100000h}\n", want: []string{"monitor.retention: must be between 1 hour and 3650 days"}},
		{name: "timeout", yaml: "monitor: {timeout: 3m}\n", want: []string{"monitor.timeout: must be between 1s and 2 minutes, found 3m0s", "monitor.targets[0].timeout"}},
		{name: "timeout a typo", yaml: "monitor: {timeout: 10ms}\n", want: []string{"monitor.timeout: must be between 1s and 2 minutes, found 10ms"}},
		{name: "canary host", yaml: "monitor: {canary: \"1.1.1.1\"}\n", want: []string{"monitor.canary: must be host:port"}},
		{name: "canary port", yaml: "monitor: {canary: \"1.1.1.1:0\"}\n", want: []string{"monitor.canary: port"}},
		{name: "canary url", yaml: "monitor: {canary: \"ftp://x\"}\n", want: []string{"monitor.canary: must be an absolute http or https URL"}},
		{name: "no targets", yaml: "monitor: {targets: []}\n", want: []string{"monitor.targets: must list at least one target"}},
		{name: "null targets", yaml: "monitor:\n  targets:\n", want: []string{"line 2: monitor.targets: must list at least one target"}},
		{name: "targets", yaml: `monitor:
  targets:
    - {name: api, kind: api, url: "https://api.openai.com/v1/models"}
    - {name: API, kind: ping, url: "api.openai.com", method: PUT, expect_status: [200, 200, 999], timeout: 5m}
    - {name: api, kind: web, url: "https://chatgpt.com/"}
    - {kind: web, url: "https://chatgpt.com/", timeout: -1s}
    - {name: lower, kind: web, url: "https://chatgpt.com/", method: get}
`, want: []string{
			`line 4: monitor.targets[1].name: must be lower-case letters, digits and dashes (at most 63), found "API"`,
			"monitor.targets[1].kind: must be api, web, status or http",
			`monitor.targets[1].url: must be an absolute http or https URL, found "api.openai.com"`,
			"monitor.targets[1].method: must be GET, HEAD or POST",
			"monitor.targets[1].expect_status[1]: duplicate status 200",
			"monitor.targets[1].expect_status[2]: must be an HTTP status code",
			"monitor.targets[1].timeout: must be between 1s and 2 minutes, found 5m0s",
			`line 5: monitor.targets[2].name: duplicate name "api" (also monitor.targets[0])`,
			"line 6: monitor.targets[3].name: must be set",
			"monitor.targets[3].timeout",
			"monitor.targets[4].method",
		}},
		{name: "long target name", yaml: "monitor:\n  targets:\n    - {name: " + strings.Repeat("a", 64) + ", kind: web, url: \"https://x/\"}\n", want: []string{"monitor.targets[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.yaml), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error mentioning %q", tt.want)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with an error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not mention %q:\n%s", w, msg)
				}
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false; err:\n%s", target, msg)
				}
			}
			for _, v := range tt.env {
				if strings.HasPrefix(v, "xox") || v == validPublicKey {
					if strings.Contains(msg, v) {
						t.Errorf("error echoes a secret:\n%s", msg)
					}
				}
			}
		})
	}
}

// TestValidateReportsEverything builds a Config with one problem per
// section by hand and checks that Validate names every one.
func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Log.Level = "loud"
	c.HTTP.Listen = "nowhere"
	c.Database.Path = ""
	c.KB.Threshold = 2
	c.Bot.MaxMessageBytes = -1
	c.Slack.Mode = "carrier-pigeon"
	c.Discord.GuildID = "x"
	c.Monitor.Schedule = "never"
	c.Monitor.Targets[2].URL = "status"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	want := []string{"log.level", "http.listen", "database.path", "kb.threshold", "bot.max_message_bytes",
		"slack.mode", "discord.guild_id", "monitor.schedule", "monitor.targets[2].url"}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("problem %q is not a *FieldError", e)
		}
		got = append(got, fe.Path)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem paths mismatch (-want +got):\n%s", diff)
	}
}

func TestFieldErrorLine(t *testing.T) {
	_, err := Parse(strings.NewReader("# comment\nmonitor:\n  targets:\n    - name: a\n      kind: web\n      url: nope\n"), nil)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	want := &FieldError{Path: "monitor.targets[0].url", Line: 6}
	if diff := cmp.Diff(want, fe, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Ignore())); diff != "" {
		t.Errorf("FieldError mismatch (-want +got):\n%s", diff)
	}
}

func TestParseNilReaderErrors(t *testing.T) {
	_, err := Parse(errReader{}, nil)
	if !errors.Is(err, errBoom) {
		t.Errorf("Parse(failing reader) = %v, want %v", err, errBoom)
	}
}

var errBoom = errors.New("boom")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBoom }

func TestParseTooLarge(t *testing.T) {
	big := "# " + strings.Repeat("x", maxFileSize) + "\n"
	if _, err := Parse(strings.NewReader(big), nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Parse(huge) error = %v, want too large", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("http: {listen: \":9999\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("http: {listen: x, lisen: y}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("file", func(t *testing.T) {
		got, err := Load(good, env(map[string]string{"GPTACCESS_MONITOR_ENABLED": "false"}))
		if err != nil {
			t.Fatal(err)
		}
		want := Default()
		want.HTTP.Listen = ":9999"
		want.Monitor.Enabled = false
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Load mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("no path", func(t *testing.T) {
		got, err := Load("", env(map[string]string{"GPTACCESS_LOG_LEVEL": "debug"}))
		if err != nil {
			t.Fatal(err)
		}
		want := Default()
		want.Log.Level = "debug"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Load mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("missing", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.yaml")
		_, err := Load(missing, nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
		}
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("Load(missing) error %v does not name the file", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := Load(bad, nil)
		if err == nil {
			t.Fatal("Load(bad) succeeded")
		}
		for _, w := range []string{bad + ":\n", "http.lisen", "http.listen"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(bad) error does not mention %q:\n%v", w, err)
			}
		}
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("errors.Is(err, ErrUnknownKey) = false")
		}
	})
}

func TestPlatformHelpers(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		slack   bool
		mode    string
		discord bool
	}{
		{name: "none"},
		{name: "socket auto", env: map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a"}, slack: true, mode: "socket"},
		{name: "http auto", env: map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_SIGNING_SECRET": "s"}, slack: true, mode: "http"},
		{name: "socket wins in auto", env: map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a", "SLACK_SIGNING_SECRET": "s"}, slack: true, mode: "socket"},
		{name: "explicit http", yaml: "slack: {mode: http}\n", env: map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a", "SLACK_SIGNING_SECRET": "s"}, slack: true, mode: "http"},
		{name: "mode from env", env: map[string]string{"GPTACCESS_SLACK_MODE": "http", "SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a", "SLACK_SIGNING_SECRET": "s"}, slack: true, mode: "http"},
		{name: "mode without slack", yaml: "slack: {mode: socket}\n"},
		{name: "discord", env: map[string]string{"DISCORD_BOT_TOKEN": "d"}, discord: true},
		{name: "both", env: map[string]string{"DISCORD_BOT_TOKEN": "d", "SLACK_BOT_TOKEN": "b", "SLACK_APP_TOKEN": "a"}, slack: true, mode: "socket", discord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SlackEnabled(); got != tt.slack {
				t.Errorf("SlackEnabled() = %v, want %v", got, tt.slack)
			}
			if got := c.SlackMode(); got != tt.mode {
				t.Errorf("SlackMode() = %q, want %q", got, tt.mode)
			}
			if got := c.DiscordEnabled(); got != tt.discord {
				t.Errorf("DiscordEnabled() = %v, want %v", got, tt.discord)
			}
			if got := c.PlatformConfigured(); got != (tt.slack || tt.discord) {
				t.Errorf("PlatformConfigured() = %v, want %v", got, tt.slack || tt.discord)
			}
		})
	}
}

func TestMonitorLocation(t *testing.T) {
	if got := (Monitor{}).Location(); got != time.Local {
		t.Errorf(`Location() for "" = %v, want Local`, got)
	}
	if got := (Monitor{Timezone: "Europe/Berlin"}).Location().String(); got != "Europe/Berlin" {
		t.Errorf("Location() = %v, want Europe/Berlin", got)
	}
}

func TestTooManyProblems(t *testing.T) {
	in := "slack:\n  alert_channels: [" + strings.Repeat("\"#x\", ", 200) + "]\n"
	_, err := Parse(strings.NewReader(in), nil)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxProblems+1 || !strings.Contains(lines[maxProblems], "more problems") {
		t.Errorf("error has %d lines ending %q, want %d ending with a note about more problems", len(lines), lines[len(lines)-1], maxProblems+1)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"listen", "max_body_bytes", "read_timeout", "shutdown_timeout"}
	for key, want := range map[string]string{
		"lisen":           "listen",
		"Listen":          "listen",
		"listen_address":  "listen",
		"read_timout":     "read_timeout",
		"a":               "",
		"port":            "",
		"max_body":        "max_body_bytes",
		"shutdowntimeout": "shutdown_timeout",
	} {
		if got := suggest(key, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestImportFence keeps config a leaf: only cmd imports it, and it imports
// no other gptaccess package (but the leaves textfile and format), chat SDK
// or database driver.
func TestImportFence(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if path == "gptaccess/textfile" || path == "gptaccess/format" {
				continue // leaves themselves: bounded reading of the file, durations in words
			}
			if strings.HasPrefix(path, "gptaccess") || strings.Contains(path, "slack") ||
				strings.Contains(path, "discord") || strings.Contains(path, "sqlite") || strings.Contains(path, "prometheus") {
				t.Errorf("%s imports %s; config must stay a leaf package", name, path)
			}
		}
	}
}

// TestLoadRefusesWhatIsNotAConfigFile: a device, a pipe or a huge file given
// as the configuration is refused at once, neither read forever nor waited on.
func TestLoadRefusesWhatIsNotAConfigFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("# comment\n"), maxFileSize/9), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/dev/zero": "not a regular file (it is a character device)",
		fifo:        "not a regular file (it is a named pipe)",
		huge:        "file too large",
		dir:         "not a regular file (it is a directory)",
	} {
		_, err := Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want %q", path, err, want)
		}
	}
}

// TestWarnings: a canary given as an IP address is valid, but tests no DNS,
// which the operator is told (`check` uses it even with the schedule
// off), with the default that does; a canary named by a host name, or
// none, warns of nothing.
func TestWarnings(t *testing.T) {
	tests := []struct {
		yaml string
		want []string
	}{
		{"monitor: {canary: \"1.1.1.1:53\"}\n", []string{`monitor.canary: "1.1.1.1:53" is an IP address, so the canary does not test DNS: ` +
			`a DNS filter blocking ChatGPT cannot be told from broken DNS, and names that do not resolve count as an outage; ` +
			`the default "https://www.cloudflare.com/cdn-cgi/trace" tests DNS, TCP, TLS and HTTP`}},
		{"monitor: {canary: \"[2606:4700:4700::1111]:53\"}\n", []string{`monitor.canary: "[2606:4700:4700::1111]:53" is an IP address`}},
		{"", nil},
		{"monitor: {canary: \"one.one.one.one:53\"}\n", nil},
		{"monitor: {canary: \"\"}\n", nil},
	}
	for _, tt := range tests {
		c, err := Parse(strings.NewReader(tt.yaml), nil)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.yaml, err)
		}
		var got []string
		for _, w := range c.Warnings() {
			got = append(got, w.Error())
		}
		if len(got) != len(tt.want) {
			t.Errorf("Parse(%q).Warnings() = %q, want %d", tt.yaml, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.HasPrefix(got[i], w) {
				t.Errorf("Parse(%q).Warnings()[%d] = %q, want it to start %q", tt.yaml, i, got[i], w)
			}
		}
	}
}

// TestEveryNumberIsBounded: each duration and number in the configuration
// has a sane range, so a typo ("1ns" for "1h", a missing unit, an extra
// zero) is refused instead of, say, letting the janitor delete all
// history. A new key without a bound fails here.
func TestEveryNumberIsBounded(t *testing.T) {
	// walk visits the fields of the struct that at(c) finds in a Config.
	var walk func(at func(*Config) reflect.Value, typ reflect.Type, path string)
	walk = func(at func(*Config) reflect.Value, typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			p := strings.TrimPrefix(path+"."+name, ".")
			field := func(c *Config) reflect.Value { return at(c).Field(i) }
			var extremes []any
			switch {
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				// Default has targets: check the first one's fields.
				walk(func(c *Config) reflect.Value { return field(c).Index(0) }, f.Type.Elem(), p+"[0]")
				continue
			case f.Type.Kind() == reflect.Struct:
				walk(field, f.Type, p)
				continue
			case f.Type == reflect.TypeFor[time.Duration]():
				extremes = []any{time.Nanosecond, time.Duration(1 << 62)}
			case f.Type.Kind() == reflect.Int || f.Type.Kind() == reflect.Int64:
				extremes = []any{-1, 1 << 40}
			case f.Type.Kind() == reflect.Float64:
				extremes = []any{-0.5, 2.0}
			default:
				continue
			}
			for _, x := range extremes {
				c := Default()
				v := field(c)
				v.Set(reflect.ValueOf(x).Convert(v.Type()))
				found := false
				for _, e := range c.problems() {
					found = found || e.Path == p
				}
				if !found {
					t.Errorf("%s: %v is accepted; give it a sane range (and show it in the README)", p, x)
				}
			}
		}
	}
	walk(func(c *Config) reflect.Value { return reflect.ValueOf(c).Elem() }, reflect.TypeFor[Config](), "")
}
