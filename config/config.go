// Package config reads gptaccess's configuration: built-in defaults, then an
// optional YAML file, then environment variables, validated as a whole.
//
// Every setting except the monitor targets can be overridden from the
// environment as GPTACCESS_<SECTION>_<KEY> in upper case, with dots and
// nesting turned into underscores (GPTACCESS_HTTP_LISTEN,
// GPTACCESS_BOT_RATE_LIMIT_BURST, GPTACCESS_SLACK_ALERT_CHANNELS=C1,C2).
// GPTACCESS_DB is a short name for GPTACCESS_DATABASE_PATH. An empty variable
// counts as unset. Targets are a list of records and only come from the file.
//
// Secrets (platform tokens) come only from the environment and are held in
// Secret values that do not print, log or marshal. A secret in the YAML file
// is an error.
//
// Only cmd imports this package; of gptaccess it imports only textfile.
package config

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"gptaccess/textfile"
)

// CronOptions are the robfig/cron parser options that monitor.schedule and
// monitor.digest are validated with. Build the scheduler with the same ones,
// cron.New(cron.WithParser(cron.NewParser(config.CronOptions))), so a spec
// that validates is a spec that runs.
const CronOptions = cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor

// Config is the whole configuration. Parse, Load and Default return one with
// defaults applied; the zero value is not useful.
type Config struct {
	Log      Log      `yaml:"log" json:"log"`
	HTTP     HTTP     `yaml:"http" json:"http"`
	Database Database `yaml:"database" json:"database"`
	KB       KB       `yaml:"kb" json:"kb"`
	Bot      Bot      `yaml:"bot" json:"bot"`
	Slack    Slack    `yaml:"slack" json:"slack"`
	Discord  Discord  `yaml:"discord" json:"discord"`
	Monitor  Monitor  `yaml:"monitor" json:"monitor"`
	Privacy  Privacy  `yaml:"privacy" json:"privacy"`

	// Secrets come from the environment only, never from the file.
	Secrets Secrets `yaml:"-" json:"secrets"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level" json:"level"`
	// Format is text or json; "" lets cmd choose (json when a chat platform
	// is configured, text in the terminal).
	Format string `yaml:"format" json:"format"`
}

// HTTP configures the bot's HTTP server (health, metrics, Slack events,
// Discord interactions).
type HTTP struct {
	// Listen is the host:port to listen on; "" disables the server.
	Listen string `yaml:"listen" json:"listen"`
	// MaxBodyBytes caps the size of a request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// ReadTimeout bounds reading one request.
	ReadTimeout time.Duration `yaml:"read_timeout" json:"read_timeout"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
}

// Database configures storage.
type Database struct {
	// Path is the SQLite file. GPTACCESS_DB overrides it.
	Path string `yaml:"path" json:"path"`
	// URL, when set, selects PostgreSQL instead of SQLite
	// (postgres://user@host:5432/database?sslmode=...), for several
	// replicas sharing one database. A password in it must come from the
	// environment (GPTACCESS_DATABASE_URL, or PGPASSWORD), never the file.
	URL DatabaseURL `yaml:"url" json:"url"`
}

// Postgres reports whether the state is kept in PostgreSQL (database.url).
func (d Database) Postgres() bool { return d.URL != "" }

// KB configures the knowledge base.
type KB struct {
	// File is the operator's own copy of the guide (YAML), relative to the
	// working directory; "" uses the embedded guide.
	File string `yaml:"file" json:"file"`
	// DiagnosisFile is the operator's own diagnosis model; "" uses the
	// embedded one.
	DiagnosisFile string `yaml:"diagnosis_file" json:"diagnosis_file"`
	// LexiconFile is the operator's own word tables (synonyms, brands,
	// languages; the format of kb/lexicon.yaml); "" uses the embedded ones.
	LexiconFile string `yaml:"lexicon_file" json:"lexicon_file"`
	// Threshold is the matching confidence threshold in [0, 1]; 0 means the
	// kb package's default.
	Threshold float64 `yaml:"threshold" json:"threshold"`
}

// Bot configures the conversation engine.
type Bot struct {
	// MaxMessageBytes is the longest message the bot reads; longer ones get
	// a polite refusal.
	MaxMessageBytes int `yaml:"max_message_bytes" json:"max_message_bytes"`
	// ConversationTimeout ends a conversation idle for this long.
	ConversationTimeout time.Duration `yaml:"conversation_timeout" json:"conversation_timeout"`
	// OutcomeRetention is how long the record of how each diagnosis
	// ended (for `gptaccess stats`) is kept.
	OutcomeRetention time.Duration `yaml:"outcome_retention" json:"outcome_retention"`
	// PendingFreshness is how old a message left unanswered by a restart
	// (or a backlog) may be and still be answered; older ones are dropped.
	PendingFreshness time.Duration `yaml:"pending_freshness" json:"pending_freshness"`
	// RateLimit limits replies per user.
	RateLimit RateLimit `yaml:"rate_limit" json:"rate_limit"`
}

// RateLimit is a token bucket per user.
type RateLimit struct {
	// Burst is how many replies a user may get at once.
	Burst int `yaml:"burst" json:"burst"`
	// PerMinute is the sustained rate; 0 disables rate limiting.
	PerMinute int `yaml:"per_minute" json:"per_minute"`
}

// Slack configures the Slack adapter. It is enabled by SLACK_BOT_TOKEN.
type Slack struct {
	// APIURL is an optional Web API base ending in "/", e.g. GovSlack or a
	// test server ("http://127.0.0.1:9000/api/"); "" is slack.com.
	APIURL string `yaml:"api_url" json:"api_url"`
	// AlertChannels are channel ids that get monitor alerts.
	AlertChannels []string `yaml:"alert_channels" json:"alert_channels"`
	// ListenChannels are help channels where un-mentioned questions are
	// answered too.
	ListenChannels []string `yaml:"listen_channels" json:"listen_channels"`
	// SupportChannel is where hand-over summaries go; "" = none.
	SupportChannel string `yaml:"support_channel" json:"support_channel"`
	// SupportGroup is a user group id (S…) mentioned on hand-over; "" = none.
	SupportGroup string `yaml:"support_group" json:"support_group"`
	// Mode is socket or http; "" chooses: socket when SLACK_APP_TOKEN is
	// set, else http when SLACK_SIGNING_SECRET is. See Config.SlackMode.
	Mode string `yaml:"mode" json:"mode"`
}

// Discord configures the Discord adapter. It is enabled by
// DISCORD_BOT_TOKEN.
type Discord struct {
	// APIURL is an optional REST and gateway base ending in "/"; REST is at
	// <api_url>api/v9/...; "" is discord.com.
	APIURL string `yaml:"api_url" json:"api_url"`
	// AlertChannels are channel snowflakes that get monitor alerts.
	AlertChannels []string `yaml:"alert_channels" json:"alert_channels"`
	// GuildID registers /gptaccess in one guild instead of globally.
	GuildID string `yaml:"guild_id" json:"guild_id"`
	// ListenChannels are help channels where un-mentioned questions are
	// answered too (needs MessageContent).
	ListenChannels []string `yaml:"listen_channels" json:"listen_channels"`
	// MessageContent requests the privileged message content intent.
	MessageContent bool `yaml:"message_content" json:"message_content"`
	// SupportChannel is where hand-over summaries go; "" = none.
	SupportChannel string `yaml:"support_channel" json:"support_channel"`
	// SupportRole is a role snowflake mentioned on hand-over; "" = none.
	SupportRole string `yaml:"support_role" json:"support_role"`
	// Interactions serves the HTTP interactions endpoint; it needs
	// DISCORD_PUBLIC_KEY and the HTTP server.
	Interactions bool `yaml:"interactions" json:"interactions"`
}

// Monitor configures the reachability monitor.
type Monitor struct {
	// Enabled runs the monitor on its schedule.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Schedule is a robfig/cron spec (CronOptions; a CRON_TZ= prefix wins
	// over Timezone). It must not fire more often than every 30 seconds.
	Schedule string `yaml:"schedule" json:"schedule"`
	// Timezone is an IANA name for Schedule and Digest; "" = local time.
	Timezone string `yaml:"timezone" json:"timezone"`
	// Digest is the cron spec of the daily digest; "" disables it. It must
	// not fire more often than hourly.
	Digest string `yaml:"digest" json:"digest"`
	// FailureThreshold is how many bad results in a row open an alert (1
	// to 100).
	FailureThreshold int `yaml:"failure_threshold" json:"failure_threshold"`
	// SuccessThreshold is how many good results in a row resolve it (1 to
	// 100).
	SuccessThreshold int `yaml:"success_threshold" json:"success_threshold"`
	// ReminderInterval is how often an open alert is repeated; 0 = never,
	// else 5 minutes to 7 days.
	ReminderInterval time.Duration `yaml:"reminder_interval" json:"reminder_interval"`
	// Retention is how long check history is kept (1 hour to 10 years).
	Retention time.Duration `yaml:"retention" json:"retention"`
	// Timeout is the per-target timeout for targets that set none (1
	// second to 2 minutes).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Canary is an http(s) URL (DNS, TCP, TLS and a 2xx answer; Cloudflare's
	// trace also names the data centre our traffic reaches) or a host:port
	// (TCP only) that tells "our network is down" from "ChatGPT is
	// unreachable" and, named by a host name, "our DNS is broken" from "our
	// DNS filters ChatGPT"; "" disables it.
	Canary string `yaml:"canary" json:"canary"`
	// Targets are the probes. Given in the file, they replace the defaults.
	// They cannot be set from the environment.
	Targets []Target `yaml:"targets" json:"targets"`
}

// Privacy configures how long what people wrote is kept.
type Privacy struct {
	// Retention is how long the messages the bot could not answer (kept
	// redacted for `gptaccess stats`) are stored; the janitor deletes older
	// ones hourly. Between 1 hour and 365 days.
	Retention time.Duration `yaml:"retention" json:"retention"`
}

// Target is one probe. After Parse or Default, Method and Timeout are set.
type Target struct {
	// Name is unique, [a-z0-9-]+.
	Name string `yaml:"name" json:"name"`
	// Kind is api, web, status or http; it selects how results are read.
	Kind string `yaml:"kind" json:"kind"`
	// URL is an absolute http or https URL.
	URL string `yaml:"url" json:"url"`
	// Method is GET, HEAD or POST; GET when not set.
	Method string `yaml:"method" json:"method"`
	// ExpectStatus lists the status codes that mean up. Empty (nil after
	// Parse) means the kind's default, which the monitor owns: api 200 or
	// 401, web and http 200-399, status 200.
	ExpectStatus []int `yaml:"expect_status" json:"expect_status"`
	// Timeout bounds one probe, 1 second to 2 minutes; monitor.timeout
	// when not set or 0.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

// Default returns the configuration used when there is no file and no
// environment.
func Default() *Config {
	c := defaults()
	c.resolve()
	return c
}

// maxFileSize bounds what Parse reads: a configuration is a few kilobytes,
// and reading without a bound would let a wrong path (a device, a log file)
// eat memory.
const maxFileSize = 1 << 20

// Parse reads a YAML configuration from r (which may be empty), applies
// environment overrides and secrets through getenv (nil means an empty
// environment), fills in defaults and validates the result. On error it
// returns no Config, and the error lists every problem found, each naming
// its YAML path (see FieldError).
func Parse(r io.Reader, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("configuration is larger than %d bytes", maxFileSize)
	}

	c := defaults()
	d := newDecoder()
	if err := d.decodeFile(data, c); err != nil {
		return nil, err
	}
	if c.Database.URL.Password() != "" {
		d.errs = append(d.errs, &FieldError{Path: "database.url", Line: d.line("database.url"), Err: errPasswordInFile})
	}
	env, envErrs := c.applyEnv(getenv)
	c.resolve()

	problems := append(d.errs, envErrs...)
	bad := make([]string, 0, len(problems))
	for _, p := range problems {
		bad = append(bad, p.Path)
	}
	for _, p := range c.problems() {
		if covered(p.Path, bad) {
			continue // already reported why this value is wrong
		}
		p.Env = lookupEnv(env, p.Path)
		if p.Env == "" {
			p.Line = d.line(p.Path)
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return nil, joinProblems(problems)
	}
	return c, nil
}

// Load reads the configuration file at path like Parse. With path "" it uses
// the defaults and the environment only; a path that does not exist is an
// error (wrapping fs.ErrNotExist) naming it.
func Load(path string, getenv func(string) string) (*Config, error) {
	if path == "" {
		return Parse(strings.NewReader(""), getenv)
	}
	data, err := textfile.Read(path, maxFileSize)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	c, err := Parse(bytes.NewReader(data), getenv)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			return nil, fmt.Errorf("%s:\n%w", path, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// SlackEnabled reports whether the Slack adapter should run (SLACK_BOT_TOKEN
// is set).
func (c *Config) SlackEnabled() bool { return c.Secrets.SlackBotToken != "" }

// SlackMode is how the Slack adapter receives events: "socket" (Socket Mode)
// or "http" (Events API). slack.mode wins; when it is "" the mode is socket
// if SLACK_APP_TOKEN is set, else http if SLACK_SIGNING_SECRET is. It is ""
// when Slack is not enabled or cannot receive events (Validate reports that).
func (c *Config) SlackMode() string {
	switch {
	case !c.SlackEnabled():
		return ""
	case c.Slack.Mode != "":
		return c.Slack.Mode
	case c.Secrets.SlackAppToken != "":
		return "socket"
	case c.Secrets.SlackSigningSecret != "":
		return "http"
	}
	return ""
}

// DiscordEnabled reports whether the Discord adapter should run
// (DISCORD_BOT_TOKEN is set).
func (c *Config) DiscordEnabled() bool { return c.Secrets.DiscordBotToken != "" }

// PlatformConfigured reports whether any chat platform is enabled; when none
// is, cmd runs the console adapter in the terminal.
func (c *Config) PlatformConfigured() bool { return c.SlackEnabled() || c.DiscordEnabled() }

// Location is the time zone for Schedule and Digest: Timezone loaded, or
// time.Local when Timezone is "" (or invalid, which Validate reports).
func (m Monitor) Location() *time.Location {
	if m.Timezone == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return time.Local
	}
	return loc
}
