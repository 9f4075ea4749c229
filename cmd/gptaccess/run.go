package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gptaccess/adapters/console"
	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/format"
	"gptaccess/kb"
	"gptaccess/kb/diagnosis"
	"gptaccess/redact"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

const usage = `usage: gptaccess [command] [flags]

commands:
  run                start every configured adapter and the monitor (the default);
                     with no platform tokens, chat in the terminal
  ask [--json] MSG   answer one message without conversation state
  chat [--json]      a conversation on stdin/stdout (--json: one JSON reply per line)
  check [--json]     run every probe once and print the results
  stats [--json] [--since 7d]
                     diagnosis outcomes and unanswered questions
  forget --user PLATFORM:ID
                     delete what is stored about one person (e.g. slack:U0123ABCD)
  config validate    check the configuration and the files it names
  health             exit 0 when the running bot's /healthz answers (Docker HEALTHCHECK)
  version            print the version

every command takes --config FILE (else $GPTACCESS_CONFIG, else defaults)
`

// errUsage marks a command-line mistake; usage has been printed.
var errUsage = errors.New("invalid usage")

// errNotUp is `check` finding a target not up or an official major
// outage: exit status 1, so that cron jobs and CI can use it.
var errNotUp = errors.New("not every target is up")

// cannotRun marks an error that kept a command from running at all (a bad
// configuration, a usage mistake): exit status 2, told apart from what the
// command found.
type cannotRun struct{ err error }

func (e cannotRun) Error() string { return e.err.Error() }
func (e cannotRun) Unwrap() error { return e.err }

// exitCode is the process's exit status for what run returned: 0 for
// nil, 2 when the command could not run, 1 otherwise (errNotUp included).
func exitCode(err error) int {
	var cr cannotRun
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cr), errors.Is(err, errUsage):
		return 2
	}
	return 1
}

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runOn(ctx, network{}, args, getenv, stdin, stdout, stderr)
}

// runOn is run with the monitor reaching the Internet through nw: the
// machine's own (the zero network) but in tests.
func runOn(ctx context.Context, nw network, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal starts a graceful shutdown, restore the
		// default handling so a second one exits at once.
		<-ctx.Done()
		stop()
	}()

	inv, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil
	case err != nil:
		return errUsage
	}
	if inv.configPath == "" {
		inv.configPath = getenv("GPTACCESS_CONFIG")
	}

	switch inv.cmd {
	case "version":
		fmt.Fprintln(stdout, "gptaccess", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "config":
		if len(inv.pos) != 1 || inv.pos[0] != "validate" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return validateConfig(ctx, inv.configPath, getenv, stdout)
	case "run", "ask", "chat", "check", "stats", "health", "forget":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", inv.cmd, usage)
		return errUsage
	}

	cfg, err := loadConfig(inv.configPath, getenv)
	if err != nil {
		return cannotRun{err}
	}
	return runCommand(ctx, nw, inv, cfg, stdin, stdout, stderr)
}

// invocation is a parsed command line.
type invocation struct {
	cmd        string   // "run" when none is given
	pos        []string // positional arguments after the command
	configPath string   // --config
	asJSON     bool     // --json
	since      time.Duration
	user       string // forget --user
}

// parseArgs reads the command and its flags, which may come before or
// after the positional arguments. Mistakes are reported on stderr;
// flag.ErrHelp means help was asked for (and printed).
func parseArgs(args []string, stderr io.Writer) (invocation, error) {
	inv := invocation{cmd: "run"}
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		inv.cmd, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("gptaccess "+inv.cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	fs.StringVar(&inv.configPath, "config", "", "configuration file (YAML)")
	fs.BoolVar(&inv.asJSON, "json", false, "machine-readable output")
	since := period(7 * 24 * time.Hour)
	fs.Var(&since, "since", "stats: period to report (e.g. 24h, 7d, 30d)")
	fs.StringVar(&inv.user, "user", "", "forget: the person, as PLATFORM:ID")
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return invocation{}, err
	}
	inv.pos, inv.since = pos, time.Duration(since)
	return inv, nil
}

// validateConfig is `config validate`.
func validateConfig(ctx context.Context, path string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(path, getenv)
	if err != nil {
		return cannotRun{err}
	}
	// The files the configuration names must exist and load, or the bot
	// would fail only when started.
	var problems []error
	if !cfg.Database.Postgres() {
		if err := checkDatabasePath(cfg.Database.Path); err != nil {
			problems = append(problems, err)
		}
	}
	if _, _, err := knowledge(ctx, cfg); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return cannotRun{fmt.Errorf("configuration is invalid:\n%w", errors.Join(problems...))}
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, "warning:", w)
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return nil
}

// runCommand runs a command that needs the configuration.
func runCommand(ctx context.Context, nw network, inv invocation, cfg *config.Config, stdin io.Reader, stdout, stderr io.Writer) error {
	interactive := inv.cmd == "chat" || inv.cmd == "ask" || (inv.cmd == "run" && !cfg.PlatformConfigured())
	log := newLogger(cfg, stderr, interactive)
	switch inv.cmd {
	case "ask":
		if len(inv.pos) == 0 {
			fmt.Fprint(stderr, "ask needs a message: gptaccess ask \"what is error 1020?\"\n")
			return errUsage
		}
		return ask(ctx, cfg, log, strings.Join(inv.pos, " "), inv.asJSON, stdout)
	case "chat":
		return chat(ctx, cfg, nw, log, inv.asJSON, stdin, stdout)
	case "check":
		return check(ctx, cfg, nw, log, inv.asJSON, stdout)
	case "stats":
		return stats(ctx, cfg, inv.since, inv.asJSON, stdout)
	case "health":
		return health(ctx, cfg, stdout)
	case "forget":
		return forget(ctx, cfg, inv.user, inv.asJSON, stdout)
	}
	return serve(ctx, cfg, nw, log, stdin, stdout)
}

// loadConfig loads the configuration and reports, with it, the GPTACCESS_
// variables nobody reads (a misspelt one would otherwise be ignored without
// a word). Their names come from the process environment; only those that
// getenv also sees count, so a test's getenv decides what is set.
func loadConfig(path string, getenv func(string) string) (*config.Config, error) {
	cfg, err := config.Load(path, getenv)
	var visible []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); getenv(name) != "" {
			visible = append(visible, name+"="+getenv(name))
		}
	}
	if envErr := config.CheckEnv(visible); envErr != nil {
		err = errors.Join(err, envErr)
	}
	if err != nil {
		return nil, fmt.Errorf("configuration is invalid:\n%w", err)
	}
	return cfg, nil
}

// period is a flag duration that also takes days ("7d"), which is how
// people think of reporting periods.
type period time.Duration

func (p *period) String() string { return format.Span(time.Duration(*p)) }

func (p *period) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid period %q: want e.g. 7d or 24h", s)
		}
		*p = period(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("invalid period %q: want e.g. 7d or 24h", s)
	}
	*p = period(d)
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments (`ask "msg" --json` as well as `ask --json "msg"`).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newLogger(cfg *config.Config, w io.Writer, interactive bool) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	if interactive && cfg.Log.Level == "info" {
		// Keep the terminal for the conversation; warnings still show.
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}
	format := cfg.Log.Format
	if format == "" {
		format = "text"
		if cfg.PlatformConfigured() {
			format = "json"
		}
	}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	// Every line passes the scrubber: the configured secrets verbatim, and
	// token-bearing URLs (Slack response_url, Discord interaction webhooks)
	// and token shapes whichever component logs them.
	s := cfg.Secrets
	return slog.New(redact.NewHandler(h, s.SlackBotToken.Reveal(), s.SlackAppToken.Reveal(), s.SlackSigningSecret.Reveal(),
		s.DiscordBotToken.Reveal(), strings.TrimPrefix(s.DiscordBotToken.Reveal(), "Bot "), s.DiscordPublicKey.Reveal(),
		cfg.Database.URL.Password()))
}

// durationText writes durations as "1m30s" rather than the nanoseconds
// that the JSON handler would write: logs are read by people too.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// knowledge loads the guide and the diagnosis model, embedded or the
// operator's own. The model's question plan takes longer to build than the
// guide takes to load, so the model is read first, its plan started, and its
// step ids checked against the guide once that has loaded.
func knowledge(ctx context.Context, cfg *config.Config) (*kb.KB, *diagnosis.Model, error) {
	// Loading takes a moment; a signal meanwhile ends the program at once
	// (the loading goroutine dies with it) instead of being held until the
	// load is done.
	type loaded struct {
		k   *kb.KB
		m   *diagnosis.Model
		err error
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("interrupted before loading the knowledge base: %w", err)
	}
	done := make(chan loaded, 1)
	go func() {
		k, m, err := loadKnowledge(cfg)
		done <- loaded{k, m, err}
	}()
	select {
	case l := <-done:
		return l.k, l.m, l.err
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("interrupted while loading the knowledge base: %w", ctx.Err())
	}
}

func loadKnowledge(cfg *config.Config) (*kb.KB, *diagnosis.Model, error) {
	var (
		m   *diagnosis.Model
		err error
	)
	if cfg.KB.DiagnosisFile != "" {
		m, err = diagnosis.LoadFile(cfg.KB.DiagnosisFile, nil)
	} else {
		m, err = diagnosis.Default(nil)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("diagnosis model: %w", err)
	}
	go m.Prepare()

	k, err := kb.Load(cfg.KB.File, cfg.KB.LexiconFile)
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge base: %w", err)
	}
	if cfg.KB.Threshold > 0 {
		k.Threshold = cfg.KB.Threshold
	}
	if err := m.CheckEntries(k.Has); err != nil {
		return nil, nil, fmt.Errorf("diagnosis model: %w", err)
	}
	return k, m, nil
}

func engineOptions(ctx context.Context, cfg *config.Config, log *slog.Logger) (bot.Options, error) {
	k, m, err := knowledge(ctx, cfg)
	if err != nil {
		return bot.Options{}, err
	}
	return bot.Options{KB: k, Model: m, Timeout: cfg.Bot.ConversationTimeout, MaxMessageBytes: cfg.Bot.MaxMessageBytes, Logger: log}, nil
}

// ask answers one message with no stored state.
func ask(ctx context.Context, cfg *config.Config, log *slog.Logger, msg string, asJSON bool, stdout io.Writer) error {
	o, err := engineOptions(ctx, cfg, log)
	if err != nil {
		return err
	}
	e, err := bot.New(o)
	if err != nil {
		return err
	}
	r, err := e.Handle(ctx, bot.Message{Platform: bot.Console, Channel: "ask", User: "you", Text: msg, DM: true})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	_, err = fmt.Fprintln(stdout, console.Render(r))
	return err
}

// stats prints recorded outcomes.
func stats(ctx context.Context, cfg *config.Config, since time.Duration, asJSON bool, stdout io.Writer) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := db.Stats(ctx, time.Now().Add(-since))
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(s)
	}
	_, err = fmt.Fprintln(stdout, console.Render(bot.Reply{Text: bot.FormatStats(s, "the last "+format.Span(since))}))
	return err
}

// forget deletes what is stored about one person.
func forget(ctx context.Context, cfg *config.Config, who string, asJSON bool, stdout io.Writer) error {
	platform, id, ok := strings.Cut(who, ":")
	if !ok || id == "" || (platform != bot.Slack && platform != bot.Discord && platform != bot.Console) {
		return fmt.Errorf("%w: forget needs --user PLATFORM:ID, e.g. --user slack:U0123ABCD or --user discord:123456789012345678", errUsage)
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := db.Forget(ctx, who)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(f)
	}
	_, err = fmt.Fprintf(stdout, "forgot %s: %d conversation(s), %d unanswered message(s), %d rate-limit bucket(s)\n", who, f.Conversations, f.Unanswered, f.RateLimits)
	return err
}

// health asks the running bot's /healthz; it is the Docker HEALTHCHECK,
// since the image has no shell or curl.
func health(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	if cfg.HTTP.Listen == "" {
		return errors.New("http.listen is empty: no health endpoint")
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
