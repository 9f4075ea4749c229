package config

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want func(c *Config)
	}{
		{
			name: "strings, ints, durations, bools, floats",
			env: map[string]string{
				"GPTACCESS_LOG_LEVEL":                  "warn",
				"GPTACCESS_HTTP_LISTEN":                "0.0.0.0:8080",
				"GPTACCESS_HTTP_MAX_BODY_BYTES":        " 2048 ",
				"GPTACCESS_HTTP_READ_TIMEOUT":          "1m30s",
				"GPTACCESS_KB_THRESHOLD":               "0.75",
				"GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE":  "0",
				"GPTACCESS_MONITOR_ENABLED":            "false",
				"GPTACCESS_MONITOR_SCHEDULE":           "@every 10m",
				"GPTACCESS_MONITOR_DIGEST":             "0 8 * * *",
				"GPTACCESS_MONITOR_REMINDER_INTERVAL":  "2h",
				"GPTACCESS_DISCORD_MESSAGE_CONTENT":    "1",
				"GPTACCESS_SLACK_API_URL":              "http://127.0.0.1:9000/api/",
				"GPTACCESS_MONITOR_FAILURE_THRESHOLD":  "4",
				"GPTACCESS_BOT_CONVERSATION_TIMEOUT":   "5m",
				"GPTACCESS_DISCORD_GUILD_ID":           "42",
				"GPTACCESS_MONITOR_CANARY":             "http://192.168.1.1/",
				"GPTACCESS_NOT_A_SETTING":              "ignored",
				"GPTACCESS_MONITOR_TARGETS":            "ignored: targets come from the file only",
				"GPTACCESS_MONITOR_TARGETS_0_NAME":     "ignored",
				"GPTACCESS_HTTP_SHUTDOWN_TIMEOUT":      "",
				"GPTACCESS_SLACK_SUPPORT_CHANNEL":      "C42",
				"GPTACCESS_BOT_RATE_LIMIT_BURST":       "2",
				"GPTACCESS_MONITOR_SUCCESS_THRESHOLD":  "3",
				"GPTACCESS_DISCORD_INTERACTIONS":       "false",
				"GPTACCESS_KB_FILE":                    "/etc/gptaccess/guide.yaml",
				"GPTACCESS_BOT_MAX_MESSAGE_BYTES":      "1000",
				"GPTACCESS_MONITOR_RETENTION":          "24h",
				"GPTACCESS_MONITOR_TIMEZONE":           "UTC",
				"GPTACCESS_LOG_FORMAT":                 "json",
				"GPTACCESS_KB_DIAGNOSIS_FILE":          "d.yaml",
				"GPTACCESS_DISCORD_SUPPORT_ROLE":       "7",
				"GPTACCESS_SLACK_SUPPORT_GROUP":        "S1",
				"GPTACCESS_DISCORD_SUPPORT_CHANNEL":    "8",
				"GPTACCESS_MONITOR_TIMEOUT":            "5s",
				"GPTACCESS_DISCORD_API_URL":            "http://127.0.0.1:9001/",
				"GPTACCESS_SLACK_MODE":                 "",
				"GPTACCESS_DATABASE_PATH":              "/data/db.sqlite",
				"GPTACCESS_SLACK_LISTEN_CHANNELS":      "C1",
				"GPTACCESS_DISCORD_LISTEN_CHANNELS":    "1,2",
				"GPTACCESS_DISCORD_ALERT_CHANNELS":     " 3 , ,4,",
				"GPTACCESS_SLACK_ALERT_CHANNELS":       "C1,C2",
				"GPTACCESS_HTTP_SHUTDOWN_TIMEOUT_TYPO": "1s",
			},
			want: func(c *Config) {
				c.Log = Log{Level: "warn", Format: "json"}
				c.HTTP.Listen = "0.0.0.0:8080"
				c.HTTP.MaxBodyBytes = 2048
				c.HTTP.ReadTimeout = 90 * time.Second
				c.Database.Path = "/data/db.sqlite"
				c.KB = KB{File: "/etc/gptaccess/guide.yaml", DiagnosisFile: "d.yaml", Threshold: 0.75}
				c.Bot = Bot{MaxMessageBytes: 1000, ConversationTimeout: 5 * time.Minute, OutcomeRetention: 90 * 24 * time.Hour, PendingFreshness: 10 * time.Minute, RateLimit: RateLimit{Burst: 2}}
				c.Slack = Slack{APIURL: "http://127.0.0.1:9000/api/", AlertChannels: []string{"C1", "C2"},
					ListenChannels: []string{"C1"}, SupportChannel: "C42", SupportGroup: "S1"}
				c.Discord = Discord{APIURL: "http://127.0.0.1:9001/", AlertChannels: []string{"3", "4"}, GuildID: "42",
					ListenChannels: []string{"1", "2"}, MessageContent: true, SupportChannel: "8", SupportRole: "7"}
				m := &c.Monitor
				m.Enabled = false
				m.Schedule = "@every 10m"
				m.Timezone = "UTC"
				m.Digest = "0 8 * * *"
				m.FailureThreshold, m.SuccessThreshold = 4, 3
				m.ReminderInterval = 2 * time.Hour
				m.Retention = 24 * time.Hour
				m.Timeout = 5 * time.Second
				m.Canary = "http://192.168.1.1/"
				for i := range m.Targets {
					m.Targets[i].Timeout = 5 * time.Second
				}
			},
		},
		{
			name: "environment wins over the file",
			yaml: "http: {listen: \":1\"}\nslack: {alert_channels: [C9]}\n",
			env:  map[string]string{"GPTACCESS_HTTP_LISTEN": ":2", "GPTACCESS_SLACK_ALERT_CHANNELS": "C3"},
			want: func(c *Config) {
				c.HTTP.Listen = ":2"
				c.Slack.AlertChannels = []string{"C3"}
			},
		},
		{
			name: "a list of only commas is empty",
			yaml: "slack: {alert_channels: [C9]}\n",
			env:  map[string]string{"GPTACCESS_SLACK_ALERT_CHANNELS": ","},
			want: func(c *Config) {},
		},
		{
			name: "GPTACCESS_DB",
			yaml: "database: {path: file.db}\n",
			env:  map[string]string{"GPTACCESS_DB": "/var/lib/gptaccess/db"},
			want: func(c *Config) { c.Database.Path = "/var/lib/gptaccess/db" },
		},
		{
			name: "GPTACCESS_DB agreeing with GPTACCESS_DATABASE_PATH",
			env:  map[string]string{"GPTACCESS_DB": "x.db", "GPTACCESS_DATABASE_PATH": "x.db"},
			want: func(c *Config) { c.Database.Path = "x.db" },
		},
		{
			name: "targets keep their own timeout",
			yaml: "monitor:\n  targets:\n    - {name: a, kind: web, url: \"https://a/\", timeout: 1s}\n",
			env:  map[string]string{"GPTACCESS_MONITOR_TIMEOUT": "20s"},
			want: func(c *Config) {
				c.Monitor.Timeout = 20 * time.Second
				c.Monitor.Targets = []Target{{Name: "a", Kind: "web", URL: "https://a/", Method: "GET", Timeout: time.Second}}
			},
		},
		{
			name: "secrets",
			env: map[string]string{
				"SLACK_BOT_TOKEN": "xoxb-b", "SLACK_APP_TOKEN": "xapp-a", "SLACK_SIGNING_SECRET": "sig",
				"DISCORD_BOT_TOKEN": "dbt", "DISCORD_PUBLIC_KEY": validPublicKey,
			},
			want: func(c *Config) {
				c.Secrets = Secrets{SlackBotToken: "xoxb-b", SlackAppToken: "xapp-a", SlackSigningSecret: "sig",
					DiscordBotToken: "dbt", DiscordPublicKey: validPublicKey}
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
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEnvOverridesEverySetting sets every overridable key from the
// environment and checks that each one lands in its field, so that a new
// key (or a new field type) cannot silently miss its variable.
func TestEnvOverridesEverySetting(t *testing.T) {
	ss := settings()
	if len(ss) < 30 {
		t.Fatalf("settings() lists %d keys; the schema has more", len(ss))
	}
	for _, s := range ss {
		t.Run(s.env, func(t *testing.T) {
			c := defaults()
			f := reflect.ValueOf(c).Elem().FieldByIndex(s.index)
			var raw string
			switch {
			case f.Type() == durationType:
				raw = (time.Duration(f.Int()) + 7*time.Second).String()
			case f.Kind() == reflect.String:
				raw = f.String() + "x"
			case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
				raw = strconv.FormatInt(f.Int()+7, 10)
			case f.Kind() == reflect.Float64:
				raw = "0.5"
			case f.Kind() == reflect.Bool:
				raw = strconv.FormatBool(!f.Bool())
			case f.Kind() == reflect.Slice:
				raw = "a,b"
			default:
				t.Fatalf("no test value for %v", f.Type())
			}
			before := reflect.ValueOf(defaults()).Elem().FieldByIndex(s.index).Interface()
			_, errs := c.applyEnv(env(map[string]string{s.env: raw}))
			if len(errs) > 0 {
				t.Fatalf("applyEnv(%s=%q): %v", s.env, raw, errs[0])
			}
			if reflect.DeepEqual(before, f.Interface()) {
				t.Errorf("%s=%q did not change %s", s.env, raw, s.path)
			}
		})
	}
}

func TestEnvNames(t *testing.T) {
	got := map[string]string{}
	for _, s := range settings() {
		got[s.path] = s.env
	}
	for path, want := range map[string]string{
		"http.listen":                "GPTACCESS_HTTP_LISTEN",
		"monitor.schedule":           "GPTACCESS_MONITOR_SCHEDULE",
		"slack.alert_channels":       "GPTACCESS_SLACK_ALERT_CHANNELS",
		"bot.rate_limit.per_minute":  "GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE",
		"database.path":              "GPTACCESS_DATABASE_PATH",
		"monitor.reminder_interval":  "GPTACCESS_MONITOR_REMINDER_INTERVAL",
		"discord.message_content":    "GPTACCESS_DISCORD_MESSAGE_CONTENT",
		"kb.threshold":               "GPTACCESS_KB_THRESHOLD",
		"monitor.failure_threshold":  "GPTACCESS_MONITOR_FAILURE_THRESHOLD",
		"log.level":                  "GPTACCESS_LOG_LEVEL",
		"http.max_body_bytes":        "GPTACCESS_HTTP_MAX_BODY_BYTES",
		"discord.interactions":       "GPTACCESS_DISCORD_INTERACTIONS",
		"slack.mode":                 "GPTACCESS_SLACK_MODE",
		"monitor.canary":             "GPTACCESS_MONITOR_CANARY",
		"bot.conversation_timeout":   "GPTACCESS_BOT_CONVERSATION_TIMEOUT",
		"monitor.enabled":            "GPTACCESS_MONITOR_ENABLED",
		"http.shutdown_timeout":      "GPTACCESS_HTTP_SHUTDOWN_TIMEOUT",
		"discord.api_url":            "GPTACCESS_DISCORD_API_URL",
		"kb.diagnosis_file":          "GPTACCESS_KB_DIAGNOSIS_FILE",
		"kb.lexicon_file":            "GPTACCESS_KB_LEXICON_FILE",
		"monitor.digest":             "GPTACCESS_MONITOR_DIGEST",
		"slack.support_group":        "GPTACCESS_SLACK_SUPPORT_GROUP",
		"discord.support_role":       "GPTACCESS_DISCORD_SUPPORT_ROLE",
		"monitor.timezone":           "GPTACCESS_MONITOR_TIMEZONE",
		"bot.rate_limit.burst":       "GPTACCESS_BOT_RATE_LIMIT_BURST",
		"monitor.success_threshold":  "GPTACCESS_MONITOR_SUCCESS_THRESHOLD",
		"monitor.retention":          "GPTACCESS_MONITOR_RETENTION",
		"monitor.timeout":            "GPTACCESS_MONITOR_TIMEOUT",
		"discord.guild_id":           "GPTACCESS_DISCORD_GUILD_ID",
		"slack.api_url":              "GPTACCESS_SLACK_API_URL",
		"bot.max_message_bytes":      "GPTACCESS_BOT_MAX_MESSAGE_BYTES",
		"log.format":                 "GPTACCESS_LOG_FORMAT",
		"kb.file":                    "GPTACCESS_KB_FILE",
		"http.read_timeout":          "GPTACCESS_HTTP_READ_TIMEOUT",
		"slack.listen_channels":      "GPTACCESS_SLACK_LISTEN_CHANNELS",
		"slack.support_channel":      "GPTACCESS_SLACK_SUPPORT_CHANNEL",
		"discord.alert_channels":     "GPTACCESS_DISCORD_ALERT_CHANNELS",
		"discord.listen_channels":    "GPTACCESS_DISCORD_LISTEN_CHANNELS",
		"discord.support_channel":    "GPTACCESS_DISCORD_SUPPORT_CHANNEL",
		"database.url":               "GPTACCESS_DATABASE_URL",
		"monitor.targets":            "",
		"monitor.targets[0].timeout": "",
		"bot.pending_freshness":      "GPTACCESS_BOT_PENDING_FRESHNESS",
	} {
		if got[path] != want {
			t.Errorf("env for %s = %q, want %q", path, got[path], want)
		}
	}
	if len(got) != 43 {
		t.Errorf("settings() has %d keys, want 43 (update this test with the schema)", len(got))
	}
}

func TestEnvErrorsWrapCause(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want error
	}{
		{map[string]string{"GPTACCESS_HTTP_MAX_BODY_BYTES": "x"}, strconv.ErrSyntax},
		{map[string]string{"GPTACCESS_HTTP_MAX_BODY_BYTES": "99999999999999999999"}, strconv.ErrRange},
		{map[string]string{"GPTACCESS_MONITOR_ENABLED": "maybe"}, strconv.ErrSyntax},
		{map[string]string{"GPTACCESS_KB_THRESHOLD": "1e999"}, strconv.ErrRange},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(""), env(tt.env))
		if !errors.Is(err, tt.want) {
			t.Errorf("Parse with %v = %v, want errors.Is %v", tt.env, err, tt.want)
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Env == "" {
			t.Errorf("Parse with %v: error %v does not name the variable in a FieldError", tt.env, err)
		}
	}
}

// TestCheckEnv: a misspelt GPTACCESS_ variable is reported with the name
// it most likely means, as an unknown YAML key is.
func TestCheckEnv(t *testing.T) {
	err := CheckEnv([]string{
		"PATH=/usr/bin",
		"GPTACCESS_HTTPLISTEN=:8080",
		"GPTACCESS_HTTP_LISTEN=:8080",
		"GPTACCESS_CONFIG=/etc/g.yaml",
		"GPTACCESS_DB=/data/g.db",
		"GPTACCESS_SLACK_ALERT_CHANNEL=C1",
		"GPTACCESS_TOTALLY_UNRELATED=1",
		"GPTACCESS_EMPTY=",
	})
	if err == nil {
		t.Fatal("no error for misspelt variables")
	}
	for _, want := range []string{
		"GPTACCESS_HTTPLISTEN: unknown key: unknown environment variable (did you mean GPTACCESS_HTTP_LISTEN?)",
		"GPTACCESS_SLACK_ALERT_CHANNEL: unknown key: unknown environment variable (did you mean GPTACCESS_SLACK_ALERT_CHANNELS?)",
		"GPTACCESS_TOTALLY_UNRELATED: unknown key: unknown environment variable (see README.md",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, known := range []string{"GPTACCESS_HTTP_LISTEN:", "GPTACCESS_CONFIG", "GPTACCESS_DB:", "GPTACCESS_EMPTY"} {
		if strings.Contains(err.Error(), known) {
			t.Errorf("reported %s:\n%v", known, err)
		}
	}
	if !errors.Is(err, ErrUnknownKey) {
		t.Error("not ErrUnknownKey")
	}
	if err := CheckEnv([]string{"GPTACCESS_LOG_LEVEL=debug", "HOME=/root"}); err != nil {
		t.Errorf("known variables: %v", err)
	}
}
