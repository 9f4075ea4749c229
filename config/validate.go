package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"gptaccess/format"
)

// Validate reports every problem with c at once, joined with errors.Join;
// each is a *FieldError naming the setting's YAML path. Parse calls it;
// call it again after changing a Config by hand.
func (c *Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return joinProblems(ps)
	}
	return nil
}

// Limits that are policy rather than syntax.
const (
	minScheduleInterval = 30 * time.Second // probing faster hammers OpenAI and gets us rate limited
	minDigestInterval   = time.Hour        // a digest more often is a flood, not a digest
	minReminderInterval = 5 * time.Minute
)

// Sane ranges: a value outside them is a typo ("1ms" for "1m", a missing
// unit) or would hurt the host, not a choice anyone makes.
var (
	maxBodyBytesRange = intRange{1 << 10, 64 << 20}
	readTimeoutRange  = durRange{time.Second, 10 * time.Minute}
	shutdownRange     = durRange{time.Second, 10 * time.Minute}
	messageBytesRange = intRange{16, 1 << 20}
	conversationRange = durRange{time.Minute, 24 * time.Hour} // the janitor drops conversations idle for a day
	burstRange        = intRange{1, 1000}
	perMinuteRange    = intRange{0, 6000}
	privacyRetention  = durRange{time.Hour, 365 * 24 * time.Hour}
	outcomeRetention  = durRange{time.Hour, 10 * 365 * 24 * time.Hour} // outcomes identify no one
	// Check history: "1ns" would let the janitor delete all of it.
	monitorRetention = durRange{time.Hour, 10 * 365 * 24 * time.Hour}
	// Alerts: more than 100 results in a row (8 hours at the default
	// schedule) is no longer an alert; a reminder less often than weekly
	// is forgotten.
	thresholdRange = intRange{1, 100}
	reminderRange  = durRange{minReminderInterval, 7 * 24 * time.Hour}
	// A probe answers in seconds or the target counts as down; below a
	// second every probe over the internet would fail.
	probeTimeoutRange = durRange{time.Second, 2 * time.Minute}
	// An answer later than a day helps nobody; finished deliveries are
	// remembered a week (the janitor), so a fresh one is never a repeat.
	freshnessRange = durRange{10 * time.Second, 24 * time.Hour}
)

type durRange struct{ min, max time.Duration }

type intRange struct{ min, max int64 }

func (r durRange) check(ps *problems, path string, d time.Duration) {
	if d < r.min || d > r.max {
		ps.add(path, "must be between %s and %s, found %s", format.Span(r.min), format.Span(r.max), d)
	}
}

func (r intRange) check(ps *problems, path string, n int64) {
	if n < r.min || n > r.max {
		ps.add(path, "must be between %d and %d, found %d", r.min, r.max, n)
	}
}

// Identifier shapes. Read-only after initialisation.
var (
	slackChannelRE = regexp.MustCompile(`^[CDG][A-Z0-9]+$`)
	slackGroupRE   = regexp.MustCompile(`^S[A-Z0-9]+$`)
	targetNameRE   = regexp.MustCompile(`^[a-z0-9-]+$`)
)

type problems []*FieldError

func (ps *problems) add(path string, format string, args ...any) {
	*ps = append(*ps, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

func (c *Config) problems() []*FieldError {
	var ps problems
	c.validateLog(&ps)
	c.validateHTTP(&ps)
	if c.Database.Path == "" {
		ps.add("database.path", "must not be empty")
	}
	if err := checkDatabaseURL(c.Database.URL); err != nil {
		ps.add("database.url", "%s", err)
	}
	if t := c.KB.Threshold; !(t >= 0 && t <= 1) {
		ps.add("kb.threshold", "must be between 0 and 1 (0 = the knowledge base's default), found %v", t)
	}
	c.validateBot(&ps)
	c.validateSlack(&ps)
	c.validateDiscord(&ps)
	c.validateMonitor(&ps)
	privacyRetention.check(&ps, "privacy.retention", c.Privacy.Retention)
	return ps
}

func (c *Config) validateLog(ps *problems) {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "must be debug, info, warn or error, found %s", quote(c.Log.Level))
	}
	if !slices.Contains([]string{"", "text", "json"}, c.Log.Format) {
		ps.add("log.format", `must be text, json or "" (automatic), found %s`, quote(c.Log.Format))
	}
}

func (c *Config) validateHTTP(ps *problems) {
	if c.HTTP.Listen != "" {
		if err := checkListen(c.HTTP.Listen); err != nil {
			ps.add("http.listen", "%v", err)
		}
	}
	maxBodyBytesRange.check(ps, "http.max_body_bytes", c.HTTP.MaxBodyBytes)
	readTimeoutRange.check(ps, "http.read_timeout", c.HTTP.ReadTimeout)
	shutdownRange.check(ps, "http.shutdown_timeout", c.HTTP.ShutdownTimeout)
}

func (c *Config) validateBot(ps *problems) {
	messageBytesRange.check(ps, "bot.max_message_bytes", int64(c.Bot.MaxMessageBytes))
	conversationRange.check(ps, "bot.conversation_timeout", c.Bot.ConversationTimeout)
	outcomeRetention.check(ps, "bot.outcome_retention", c.Bot.OutcomeRetention)
	freshnessRange.check(ps, "bot.pending_freshness", c.Bot.PendingFreshness)
	rl := c.Bot.RateLimit
	if rl.PerMinute < 0 {
		ps.add("bot.rate_limit.per_minute", "must not be negative (0 disables rate limiting), found %d", rl.PerMinute)
	} else {
		perMinuteRange.check(ps, "bot.rate_limit.per_minute", int64(rl.PerMinute))
	}
	if rl.Burst < 0 || (rl.PerMinute > 0 && rl.Burst < 1) {
		ps.add("bot.rate_limit.burst", "must be at least 1 when rate limiting is on, found %d", rl.Burst)
	} else if rl.PerMinute > 0 {
		burstRange.check(ps, "bot.rate_limit.burst", int64(rl.Burst))
	}
}

func (c *Config) validateSlack(ps *problems) {
	s := c.Slack
	if s.APIURL != "" {
		if err := checkAPIURL(s.APIURL); err != nil {
			ps.add("slack.api_url", "%v", err)
		}
	}
	channel := slackChannelRE
	checkIDs(ps, "slack.alert_channels", s.AlertChannels, channel, "a Slack channel id such as C0123456789")
	checkIDs(ps, "slack.listen_channels", s.ListenChannels, channel, "a Slack channel id such as C0123456789")
	if s.SupportChannel != "" && !channel.MatchString(s.SupportChannel) {
		ps.add("slack.support_channel", "must be a Slack channel id such as C0123456789 (not a #name), found %s", quote(s.SupportChannel))
	}
	if s.SupportGroup != "" && !slackGroupRE.MatchString(s.SupportGroup) {
		ps.add("slack.support_group", "must be a Slack user group id such as S0123456789, found %s", quote(s.SupportGroup))
	}
	if !slices.Contains([]string{"", "socket", "http"}, s.Mode) {
		ps.add("slack.mode", `must be socket, http or "" (automatic), found %s`, quote(s.Mode))
	}

	sec := c.Secrets
	checkSecretText(ps, "SLACK_BOT_TOKEN", sec.SlackBotToken)
	checkSecretText(ps, "SLACK_APP_TOKEN", sec.SlackAppToken)
	checkSecretText(ps, "SLACK_SIGNING_SECRET", sec.SlackSigningSecret)
	if !c.SlackEnabled() {
		// Half a Slack setup would silently leave the bot off Slack.
		for _, v := range []struct {
			name string
			s    Secret
		}{{"SLACK_APP_TOKEN", sec.SlackAppToken}, {"SLACK_SIGNING_SECRET", sec.SlackSigningSecret}} {
			if v.s != "" {
				*ps = append(*ps, &FieldError{Path: v.name,
					Err: fmt.Errorf("%w: set, but SLACK_BOT_TOKEN is not; Slack needs both", ErrMissingSecret)})
			}
		}
		return
	}
	switch s.Mode {
	case "socket":
		if sec.SlackAppToken == "" {
			ps.add("slack.mode", "%w: socket mode needs SLACK_APP_TOKEN (xapp-…)", ErrMissingSecret)
		}
	case "http":
		if sec.SlackSigningSecret == "" {
			ps.add("slack.mode", "%w: http mode needs SLACK_SIGNING_SECRET", ErrMissingSecret)
		}
	case "":
		if sec.SlackAppToken == "" && sec.SlackSigningSecret == "" {
			*ps = append(*ps, &FieldError{Path: "SLACK_BOT_TOKEN", Err: fmt.Errorf(
				"%w: set, but Slack cannot deliver events without SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)", ErrMissingSecret)})
		}
	}
	if c.SlackMode() == "http" && c.HTTP.Listen == "" {
		ps.add("http.listen", "must be set: Slack http mode receives events on the HTTP server")
	}
}

func (c *Config) validateDiscord(ps *problems) {
	d := c.Discord
	if d.APIURL != "" {
		if err := checkAPIURL(d.APIURL); err != nil {
			ps.add("discord.api_url", "%v", err)
		}
	}
	checkSnowflakes(ps, "discord.alert_channels", d.AlertChannels)
	checkSnowflakes(ps, "discord.listen_channels", d.ListenChannels)
	for _, f := range []struct{ path, v string }{
		{"discord.guild_id", d.GuildID},
		{"discord.support_channel", d.SupportChannel},
		{"discord.support_role", d.SupportRole},
	} {
		if f.v != "" && !isSnowflake(f.v) {
			ps.add(f.path, "must be a Discord id (digits only; turn on Developer Mode and use Copy ID), found %s", quote(f.v))
		}
	}

	sec := c.Secrets
	checkSecretText(ps, "DISCORD_BOT_TOKEN", sec.DiscordBotToken)
	if key := sec.DiscordPublicKey.Reveal(); key != "" {
		if b, err := hex.DecodeString(key); err != nil || len(b) != 32 {
			*ps = append(*ps, &FieldError{Path: "DISCORD_PUBLIC_KEY",
				Err: errors.New("must be the application's public key: 64 hexadecimal digits")})
		}
		if !c.DiscordEnabled() {
			*ps = append(*ps, &FieldError{Path: "DISCORD_PUBLIC_KEY",
				Err: fmt.Errorf("%w: set, but DISCORD_BOT_TOKEN is not; Discord needs both", ErrMissingSecret)})
		}
	}
	if !c.DiscordEnabled() || !d.Interactions {
		return
	}
	if sec.DiscordPublicKey == "" {
		ps.add("discord.interactions", "%w: the interactions endpoint needs DISCORD_PUBLIC_KEY to verify requests", ErrMissingSecret)
	}
	if c.HTTP.Listen == "" {
		ps.add("discord.interactions", "needs the HTTP server, but http.listen is empty")
	}
}

func (c *Config) validateMonitor(ps *problems) {
	m := c.Monitor
	if m.Schedule == "" {
		if m.Enabled {
			ps.add("monitor.schedule", "must be set while the monitor is enabled (e.g. \"@every 5m\")")
		}
	} else if err := checkSpec(m.Schedule, minScheduleInterval); err != nil {
		ps.add("monitor.schedule", "%v", err)
	}
	if m.Timezone != "" {
		if _, err := time.LoadLocation(m.Timezone); err != nil {
			ps.add("monitor.timezone", "unknown time zone %s: use an IANA name such as \"Europe/Berlin\", or \"\" for local time", quote(m.Timezone))
		}
	}
	if m.Digest != "" {
		if err := checkSpec(m.Digest, minDigestInterval); err != nil {
			ps.add("monitor.digest", "%v", err)
		}
	}
	thresholdRange.check(ps, "monitor.failure_threshold", int64(m.FailureThreshold))
	thresholdRange.check(ps, "monitor.success_threshold", int64(m.SuccessThreshold))
	if r := m.ReminderInterval; r != 0 && (r < reminderRange.min || r > reminderRange.max) {
		ps.add("monitor.reminder_interval", "must be 0 (no reminders) or between %s and %s, found %v", format.Span(reminderRange.min), format.Span(reminderRange.max), r)
	}
	monitorRetention.check(ps, "monitor.retention", m.Retention)
	probeTimeoutRange.check(ps, "monitor.timeout", m.Timeout)
	if m.Canary != "" {
		if err := checkCanary(m.Canary); err != nil {
			ps.add("monitor.canary", "%v", err)
		}
	}
	if len(m.Targets) == 0 && m.Enabled {
		ps.add("monitor.targets", "must list at least one target while the monitor is enabled (leave targets out for the defaults)")
	}

	name := targetNameRE
	first := map[string]int{}
	for i, t := range m.Targets {
		p := fmt.Sprintf("monitor.targets[%d]", i)
		switch {
		case t.Name == "":
			ps.add(p+".name", "must be set")
		case len(t.Name) > 63 || !name.MatchString(t.Name):
			ps.add(p+".name", "must be lower-case letters, digits and dashes (at most 63), found %s", quote(t.Name))
		default:
			if j, dup := first[t.Name]; dup {
				ps.add(p+".name", "duplicate name %s (also monitor.targets[%d])", quote(t.Name), j)
			} else {
				first[t.Name] = i
			}
		}
		if !slices.Contains([]string{"api", "web", "status", "http"}, t.Kind) {
			ps.add(p+".kind", "must be api, web, status or http, found %s", quote(t.Kind))
		}
		if err := checkHTTPURL(t.URL); err != nil {
			ps.add(p+".url", "%v", err)
		}
		if !slices.Contains([]string{"GET", "HEAD", "POST"}, t.Method) {
			ps.add(p+".method", "must be GET, HEAD or POST, found %s", quote(t.Method))
		}
		seen := map[int]bool{}
		for j, code := range t.ExpectStatus {
			switch {
			case code < 100 || code > 599:
				ps.add(fmt.Sprintf("%s.expect_status[%d]", p, j), "must be an HTTP status code (100-599), found %d", code)
			case seen[code]:
				ps.add(fmt.Sprintf("%s.expect_status[%d]", p, j), "duplicate status %d", code)
			}
			seen[code] = true
		}
		probeTimeoutRange.check(ps, p+".timeout", t.Timeout)
	}
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, " \t") {
		return fmt.Errorf(`must be host:port such as "127.0.0.1:8080" or ":8080", found %s`, quote(addr))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535, found %s", quote(port))
	}
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL, found %s", quote(raw))
	}
	return nil
}

func checkAPIURL(raw string) error {
	if err := checkHTTPURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(u.Path, "/") {
		return fmt.Errorf(`must be a base URL ending in "/" with no query, such as "http://127.0.0.1:9000/api/", found %s`, quote(raw))
	}
	return nil
}

// Warnings lists settings that are valid but likely not what the operator
// wants, each naming its YAML path. They never refuse a start: `config
// validate` prints them and `run` logs them.
func (c *Config) Warnings() []*FieldError {
	var ws problems
	m := c.Monitor
	if host, _, err := net.SplitHostPort(m.Canary); err == nil && !strings.Contains(m.Canary, "://") && net.ParseIP(host) != nil {
		// An IP address resolves no name, so nothing tells our DNS
		// failing (or filtering ChatGPT) from OpenAI's names failing:
		// DNS failures become outages (README, "Monitoring").
		ws.add("monitor.canary", "%s is an IP address, so the canary does not test DNS: a DNS filter blocking ChatGPT "+
			"cannot be told from broken DNS, and names that do not resolve count as an outage; "+
			"the default %s tests DNS, TCP, TLS and HTTP", quote(m.Canary), quote(defaults().Monitor.Canary))
	}
	return ws
}

func checkCanary(s string) error {
	if strings.Contains(s, "://") {
		return checkHTTPURL(s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf(`must be host:port (TCP, such as "1.1.1.1:53") or an http(s) URL, found %s`, quote(s))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port must be a number from 1 to 65535, found %s", quote(port))
	}
	return nil
}

// checkSpec parses a cron spec the way the scheduler will and checks that it
// fires, and not more often than min.
func checkSpec(spec string, min time.Duration) error {
	sched, err := parseSpec(spec)
	if err != nil {
		return fmt.Errorf("invalid cron spec %s: %v", quote(spec), err)
	}
	// A fixed start keeps the check deterministic. Checking the first few
	// runs catches what matters ("* * * * * *", "@every 1s").
	t := time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)
	next := sched.Next(t)
	if next.IsZero() {
		return fmt.Errorf("cron spec %s never fires", quote(spec))
	}
	for range 16 {
		after := sched.Next(next)
		if after.IsZero() {
			break
		}
		if gap := after.Sub(next); gap < min {
			return fmt.Errorf("cron spec %s fires every %v; the minimum is %v", quote(spec), gap, min)
		}
		next = after
	}
	return nil
}

// parseSpec is cron's parser made safe: robfig/cron v3.0.1 panics on a
// "CRON_TZ=" prefix with nothing after it.
func parseSpec(spec string) (sched cron.Schedule, err error) {
	if (strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")) && !strings.Contains(spec, " ") {
		return nil, errors.New("a time zone prefix must be followed by a space and a schedule")
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cannot parse: %v", r)
		}
	}()
	return cron.NewParser(CronOptions).Parse(spec)
}

func checkIDs(ps *problems, path string, ids []string, re *regexp.Regexp, what string) {
	seen := map[string]int{}
	for i, id := range ids {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !re.MatchString(id) {
			ps.add(p, "must be %s (not a #name), found %s", what, quote(id))
			continue
		}
		if j, dup := seen[id]; dup {
			ps.add(p, "duplicate of %s[%d]", path, j)
			continue
		}
		seen[id] = i
	}
}

func checkSnowflakes(ps *problems, path string, ids []string) {
	seen := map[string]int{}
	for i, id := range ids {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !isSnowflake(id) {
			ps.add(p, "must be a Discord channel id (digits only), found %s", quote(id))
			continue
		}
		if j, dup := seen[id]; dup {
			ps.add(p, "duplicate of %s[%d]", path, j)
			continue
		}
		seen[id] = i
	}
}

// isSnowflake reports whether s is a Discord id: a decimal uint64.
func isSnowflake(s string) bool {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return err == nil && n > 0
}

// checkSecretText catches a pasted secret with white space inside, without
// echoing it.
func checkSecretText(ps *problems, name string, s Secret) {
	if strings.ContainsAny(s.Reveal(), " \t\r\n") {
		*ps = append(*ps, &FieldError{Path: name, Err: errors.New("contains white space; paste the value alone")})
	}
}
