package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"gptaccess/adapters/discord"
	"gptaccess/adapters/slack"
	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/delivery"
	"gptaccess/monitor"
	"gptaccess/web"
)

// platform is one configured chat adapter as serve runs it.
type platform struct {
	name     string
	run      func(ctx context.Context) error
	ready    web.Check
	mounts   map[string]http.Handler
	outboxer monitor.Outboxer // renders the monitor's notices for the outbox
}

// newCore builds the delivery core between the platforms and the bot h:
// the inbox and outbox in store, the per-user limit (in lim when it is
// not nil), where hand-overs go, and how often to look for the work other
// replicas left (rescan; 0 when the store is this process's alone).
func newCore(cfg *config.Config, store delivery.Store, h bot.Handler, lim bot.Limiter, rescan time.Duration, obs delivery.Observer, log *slog.Logger) (*delivery.Core, error) {
	return delivery.New(delivery.Options{
		Store: store, Handler: h,
		Burst: cfg.Bot.RateLimit.Burst, PerMinute: cfg.Bot.RateLimit.PerMinute, Limiter: lim, Rescan: rescan,
		Freshness: cfg.Bot.PendingFreshness,
		Support: map[string]delivery.Support{
			bot.Slack:   {Channel: cfg.Slack.SupportChannel, Mention: cfg.Slack.SupportGroup},
			bot.Discord: {Channel: cfg.Discord.SupportChannel, Mention: cfg.Discord.SupportRole},
		},
		Observer: obs, Logger: log,
	})
}

// platforms builds the configured chat adapters around the delivery core.
// The Discord gateway runs under gateway: among several replicas one holds
// it (a bot has one gateway session per shard, and every replica on one
// would get every event); Slack Socket Mode opens a connection on every
// replica, since Slack spreads an app's events over its connections, and
// the shared inbox keeps a redelivery from being answered twice.
func platforms(cfg *config.Config, core *delivery.Core, gateway leader, log *slog.Logger) ([]platform, error) {
	var out []platform
	if cfg.SlackEnabled() {
		s := cfg.Secrets
		a, err := slack.New(slack.Options{
			BotToken: s.SlackBotToken.Reveal(), AppToken: s.SlackAppToken.Reveal(), SigningSecret: s.SlackSigningSecret.Reveal(),
			APIURL: cfg.Slack.APIURL, Mode: cfg.SlackMode(), ListenChannels: cfg.Slack.ListenChannels,
			Core: core, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		p := platform{name: "slack", run: a.Run, ready: connected(a.Connected, "slack"), outboxer: a}
		if cfg.SlackMode() == slack.ModeHTTP {
			p.mounts = map[string]http.Handler{"/slack/": a.Handler()}
		}
		out = append(out, p)
	}
	if cfg.DiscordEnabled() {
		a, err := discord.New(discord.Options{
			Token: cfg.Secrets.DiscordBotToken.Reveal(), PublicKey: cfg.Secrets.DiscordPublicKey.Reveal(),
			APIURL: cfg.Discord.APIURL, GuildID: cfg.Discord.GuildID, MessageContent: cfg.Discord.MessageContent,
			Interactions: cfg.Discord.Interactions, ListenChannels: cfg.Discord.ListenChannels,
			Core: core, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("discord: %w", err)
		}
		run := func(ctx context.Context) error {
			err := gateway.Lead(ctx, a.Run)
			a.Wait() // interactions still being acknowledged
			return err
		}
		ready := connected(a.Connected, "discord")
		p := platform{name: "discord", run: run, outboxer: a, ready: func(ctx context.Context) error {
			if !gateway.Leading() {
				return nil // another replica holds the gateway; HTTP interactions still work here
			}
			return ready(ctx)
		}}
		if cfg.Discord.Interactions {
			p.mounts = map[string]http.Handler{"/discord/": a.Handler()}
		}
		out = append(out, p)
	}
	return out, nil
}

// connected turns an adapter's connection state into a readiness check.
func connected(ok func() bool, name string) web.Check {
	return func(context.Context) error {
		if !ok() {
			return fmt.Errorf("%s not connected", name)
		}
		return nil
	}
}

// network is how the monitor reaches the Internet. The zero network is
// the machine's own: its resolver, and a client with the proxy from the
// environment. Tests give their own, to play what a company network's DNS
// filter answers whatever this machine's resolver would say.
type network struct {
	resolver monitor.Resolver // nil: the machine's
	client   *http.Client     // nil: with the proxy from the environment
}

// monitorOptions maps the configuration onto the monitor.
func monitorOptions(cfg *config.Config, nw network, log *slog.Logger) monitor.Options {
	mc := cfg.Monitor
	targets := make([]monitor.Target, len(mc.Targets))
	for i, t := range mc.Targets {
		targets[i] = monitor.Target{Name: t.Name, Kind: t.Kind, URL: t.URL, Method: t.Method, ExpectStatus: t.ExpectStatus, Timeout: t.Timeout}
	}
	return monitor.Options{
		Targets: targets, Schedule: mc.Schedule, Digest: mc.Digest, Timezone: mc.Timezone,
		FailureThreshold: mc.FailureThreshold, SuccessThreshold: mc.SuccessThreshold,
		ReminderInterval: mc.ReminderInterval, Canary: mc.Canary,
		Channels: map[string][]string{bot.Slack: cfg.Slack.AlertChannels, bot.Discord: cfg.Discord.AlertChannels, bot.Console: {"terminal"}},
		Logger:   log, Version: buildVersion(),
		Resolver: nw.resolver, Client: nw.client,
	}
}

// newMonitor builds the monitor over the database; the adapters that
// deliver its alerts (the terminal, Slack, Discord) are added later with
// AddNotifier and AddOutboxer, since the bot they serve asks this monitor
// for the status.
// Its schedule runs where lead leads, and it checks the lease before each
// alert.
func newMonitor(cfg *config.Config, nw network, store monitor.Store, subs monitor.Subscribers, log *slog.Logger, lead leader) (*monitor.Monitor, error) {
	o := monitorOptions(cfg, nw, log)
	o.Store, o.Subscribers = store, subs
	if _, ok := lead.(alone); !ok {
		o.Leading = lead.Held
	}
	m, err := monitor.New(o)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	return m, nil
}

// check runs every probe once and prints the results. It returns errNotUp
// when a target is not up or OpenAI reports a major outage (exit status
// 1), and cannotRun when it could not check at all (exit status 2).
func check(ctx context.Context, cfg *config.Config, nw network, log *slog.Logger, asJSON bool, stdout io.Writer) error {
	// No database: a one-off check must not disturb a running bot's state.
	m, err := monitor.New(monitorOptions(cfg, nw, log))
	if err != nil {
		return cannotRun{fmt.Errorf("monitor: %w", err)}
	}
	rd, err := m.CheckOnce(ctx)
	if err != nil {
		return cannotRun{err}
	}
	if asJSON {
		err = json.NewEncoder(stdout).Encode(rd)
	} else {
		_, err = fmt.Fprint(stdout, rd.Table())
	}
	if err != nil {
		return cannotRun{err}
	}
	if !rd.AllUp() {
		return errNotUp
	}
	return nil
}
