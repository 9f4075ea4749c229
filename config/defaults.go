package config

import "time"

// defaults is every default in one place: the values a key has when neither
// the file nor the environment sets it. Values derived from other settings
// (a target's timeout) are filled in by resolve, after the file and the
// environment have had their say.
func defaults() *Config {
	return &Config{
		Log: Log{Level: "info"},
		HTTP: HTTP{
			Listen:          "127.0.0.1:8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     10 * time.Second,
			ShutdownTimeout: 15 * time.Second,
		},
		Database: Database{Path: "gptaccess.db"},
		Bot: Bot{
			MaxMessageBytes:     4096,
			ConversationTimeout: 30 * time.Minute,
			OutcomeRetention:    90 * 24 * time.Hour,
			PendingFreshness:    10 * time.Minute,
			RateLimit:           RateLimit{Burst: 5, PerMinute: 10},
		},
		Monitor: Monitor{
			Enabled:          true,
			Schedule:         "@every 5m",
			Digest:           "0 9 * * 1-5",
			FailureThreshold: 3,
			SuccessThreshold: 2,
			Retention:        30 * 24 * time.Hour,
			Timeout:          10 * time.Second,
			Canary:           "https://www.cloudflare.com/cdn-cgi/trace",
			Targets: []Target{
				{Name: "api", Kind: "api", URL: "https://api.openai.com/v1/models"},
				{Name: "web", Kind: "web", URL: "https://chatgpt.com/"},
				{Name: "status", Kind: "status", URL: "https://status.openai.com/api/v2/summary.json"},
			},
		},
		Privacy: Privacy{Retention: 30 * 24 * time.Hour},
	}
}

// resolve fills in the values that default to other settings and
// normalises "empty" so that an absent list and [] compare equal.
func (c *Config) resolve() {
	for i := range c.Monitor.Targets {
		t := &c.Monitor.Targets[i]
		if t.Method == "" {
			t.Method = "GET"
		}
		if t.Timeout == 0 {
			t.Timeout = c.Monitor.Timeout
		}
		if len(t.ExpectStatus) == 0 {
			t.ExpectStatus = nil
		}
	}
	if len(c.Monitor.Targets) == 0 {
		c.Monitor.Targets = nil
	}
	for _, l := range []*[]string{
		&c.Slack.AlertChannels, &c.Slack.ListenChannels,
		&c.Discord.AlertChannels, &c.Discord.ListenChannels,
	} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}
