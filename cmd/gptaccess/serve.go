package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"gptaccess/adapters/console"
	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/delivery"
	"gptaccess/metrics"
	"gptaccess/monitor"
	"gptaccess/web"
)

const banner = `gptaccess - help with "ChatGPT Error 1020: Access denied"
Try: "what is error 1020?", "chatgpt says access denied 1020", "I'm on a VPN and get 1020",
     "how do I prevent it?", "status", or paste the error page. "help" lists more; Ctrl-D quits.`

// component is something serve runs until ctx is done.
type component struct {
	name string
	run  func(ctx context.Context) error
	// platform components stop last: during shutdown the monitor still
	// delivers its queued alerts through them.
	platform bool
}

// serve is the `run` command: every configured adapter, the monitor and the
// HTTP server, until a signal (or, in the terminal, end of input).
//
// The parts are built inward-out: the monitor first (it needs only the
// database), then the bot, which asks the monitor for the status, then the
// adapters around the bot, which the monitor is then given to alert
// through (monitor.AddNotifier).
func serve(ctx context.Context, cfg *config.Config, nw network, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	for _, w := range cfg.Warnings() {
		log.Warn("configuration warning", "setting", w.Path, "warning", w.Err.Error())
	}
	o, err := engineOptions(ctx, cfg, log)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	// What must happen once among replicas sharing the database runs on
	// the one holding the lease; alone (SQLite) this process always does.
	lead := leaseFor(db, "leader", log)
	met := metrics.New()
	met.Leader(lead.Leading)
	mon, err := newMonitor(cfg, nw, met.WrapStore(db), db, log, lead)
	if err != nil {
		return err
	}

	// While the delivery core handles a message, what the engine writes is
	// held back and written with the reply's outbox items in one
	// transaction; the terminal writes straight through.
	o.Store, o.Subscriptions, o.Stats = delivery.Staging(db), db, db
	o.Status, o.Observer = mon, met
	engine, err := bot.New(o)
	if err != nil {
		return err
	}

	p, err := adapters(cfg, db, met.WrapHandler(engine), met, stdin, stdout, log)
	if err != nil {
		return err
	}
	if err := addNotifiers(mon, p, met); err != nil {
		return err
	}
	p.comps = append(p.comps, leaderComponent(cfg, lead, mon, db, log))
	page := web.StatusPage(web.StatusOptions{Store: db, Targets: monitorOptions(cfg, nw, log).Targets, NextCheck: mon.NextCheck,
		Version: mon.Version, Location: cfg.Monitor.Location(), Logger: log})
	handler := web.Handler(web.Options{Ready: p.ready, Mounts: p.mounts, Metrics: met.Handler(), Status: page, Leader: lead.Leading,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Logger: log})
	httpComp, err := httpComponent(cfg, handler, p.term != nil, log)
	if err != nil {
		return err
	}
	if httpComp != nil {
		p.comps = append(p.comps, *httpComp)
	}

	// Loading the guide leaves megabytes of garbage behind; hand it back
	// to the OS now rather than carry it while idle.
	debug.FreeOSMemory()
	return runParts(ctx, cfg, p, log)
}

// parts is what serve runs: its components, the readiness checks and HTTP
// mounts they bring, where they deliver the monitor's notices (the chat
// platforms through the outbox of core, the terminal by itself), and the
// terminal when no platform is configured.
type parts struct {
	comps     []component
	ready     map[string]web.Check
	mounts    map[string]http.Handler
	outboxers []monitor.Outboxer
	core      *delivery.Core
	notifiers []monitor.Notifier
	term      *console.Adapter
}

// addNotifiers gives the monitor where p delivers its notices. The chat
// platforms are Outboxers, so that each alert is committed with the
// incident that made it; the delivery core counts their posts.
func addNotifiers(mon *monitor.Monitor, p parts, met *metrics.Metrics) error {
	for _, o := range p.outboxers {
		if err := mon.AddOutboxer(o, p.core); err != nil {
			return err
		}
	}
	for _, n := range p.notifiers {
		if err := mon.AddNotifier(met.WrapNotifier(n)); err != nil {
			return err
		}
	}
	return nil
}

// adapters builds the chat side around the bot h: the terminal when no
// platform is configured, else the delivery core and the platforms on it.
func adapters(cfg *config.Config, db store, h bot.Handler, met *metrics.Metrics, stdin io.Reader, stdout io.Writer, log *slog.Logger) (parts, error) {
	p := parts{ready: map[string]web.Check{"database": oncePer(readyEvery, db.Ping, time.Now)}, mounts: map[string]http.Handler{}}
	if !cfg.PlatformConfigured() {
		p.term = console.New(console.Options{In: stdin, Out: stdout, Handler: h, Banner: banner, Logger: log, JoinPastes: isTerminal(stdin)})
		p.notifiers = append(p.notifiers, p.term)
	}
	core, err := newCore(cfg, db, h, limiter(db, cfg.Bot.RateLimit), rescanOf(db), met, log)
	if err != nil {
		return parts{}, err
	}
	plat, err := platforms(cfg, core, leaseFor(db, "discord-gateway", log), log)
	if err != nil {
		return parts{}, err
	}
	p.core = core
	if len(plat) > 0 {
		// The core stops with the platforms: it makes their calls.
		p.comps = append(p.comps, component{name: "delivery", run: runCore(core, db, log), platform: true})
	}
	for _, pl := range plat {
		p.comps = append(p.comps, component{name: pl.name, run: pl.run, platform: true})
		if pl.ready != nil {
			p.ready[pl.name] = pl.ready
		}
		for k, h := range pl.mounts {
			p.mounts[k] = h
		}
		if pl.outboxer != nil {
			p.outboxers = append(p.outboxers, pl.outboxer)
		}
	}
	return p, nil
}

// leaderComponent runs what only the leading replica does: the monitor's
// schedule (when enabled) and the janitor.
func leaderComponent(cfg *config.Config, lead leader, mon *monitor.Monitor, db store, log *slog.Logger) component {
	return component{name: "leader", run: func(ctx context.Context) error {
		return lead.Lead(ctx, func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			if cfg.Monitor.Enabled {
				g.Go(func() error { return mon.Run(ctx) })
			}
			g.Go(func() error { return janitor(ctx, db, retentionOf(cfg), log) })
			return g.Wait()
		})
	}}
}

// httpComponent listens on http.listen and serves h; nil when http.listen
// is empty, or when it is taken and the bot runs in the terminal, which
// works without it (e.g. a second one running).
func httpComponent(cfg *config.Config, h http.Handler, terminal bool, log *slog.Logger) (*component, error) {
	if cfg.HTTP.Listen == "" {
		return nil, nil
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.HTTP.ReadTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	switch {
	case err != nil && terminal:
		log.Warn("HTTP server not started", "listen", cfg.HTTP.Listen, "err", err)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	log.Info("HTTP server listening", "addr", ln.Addr().String())
	return &component{name: "http", run: func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("http shutdown: %w", err)
		}
		return nil
	}}, nil
}

// runParts runs p's components (and the terminal) until ctx is done or
// the terminal's input ends, then shuts them down in two stages: first
// everything but the platforms (the monitor drains its alerts, the HTTP
// server its requests), then the platform connections, which finish their
// in-flight replies.
func runParts(ctx context.Context, cfg *config.Config, p parts, log *slog.Logger) error {
	terminal := p.term != nil
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if terminal {
		g.Go(func() error {
			err := p.term.Run(gctx)
			cancel() // end of input ends the session
			return err
		})
	}
	platCtx, stopPlatforms := context.WithCancel(context.WithoutCancel(gctx))
	defer stopPlatforms()
	var first sync.WaitGroup
	for _, c := range p.comps {
		runCtx := gctx
		if c.platform {
			runCtx = platCtx
		} else {
			first.Add(1)
		}
		g.Go(func() error {
			if !c.platform {
				defer first.Done()
			}
			if err := c.run(runCtx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		})
	}
	go func() {
		<-gctx.Done()
		first.Wait()
		stopPlatforms()
	}()
	go settle(gctx, p.ready)
	if !terminal {
		log.Info("gptaccess running", "version", buildVersion(), "slack", cfg.SlackEnabled(), "discord", cfg.DiscordEnabled(), "monitor", cfg.Monitor.Enabled)
	}
	err := waitBounded(gctx, g.Wait, cfg.HTTP.ShutdownTimeout)
	if !terminal {
		log.Info("gptaccess stopped", "err", err)
	}
	return err
}

// settle hands the memory that connecting left behind (handshakes, the
// first payloads) back to the OS once every readiness check passes, so
// an idle bot does not carry its start-up garbage until the next GC. It
// gives up after a minute (a platform that does not connect).
func settle(ctx context.Context, ready map[string]web.Check) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range 600 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok := true
		for _, check := range ready {
			if check(ctx) != nil {
				ok = false
				break
			}
		}
		if ok {
			debug.FreeOSMemory()
			return
		}
	}
}

// waitBounded waits for wait to return, but once ctx is done (shutdown
// began) no longer than timeout: a component that does not stop must not
// keep the process alive. The database is still closed by the caller.
func waitBounded(ctx context.Context, wait func() error, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("shutdown took longer than %s; stopping anyway", timeout)
	}
}

// chat is a terminal conversation, interactive or JSON lines.
func chat(ctx context.Context, cfg *config.Config, nw network, log *slog.Logger, asJSON bool, stdin io.Reader, stdout io.Writer) error {
	o, err := engineOptions(ctx, cfg, log)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	o.Store, o.Stats = db, db
	mon, err := newMonitor(cfg, nw, db, db, log, alone{})
	if err != nil {
		return err
	}
	o.Status = mon
	engine, err := bot.New(o)
	if err != nil {
		return err
	}
	b := banner
	term := console.New(console.Options{In: stdin, Out: stdout, Handler: engine, JSON: asJSON, Banner: b, Logger: log, JoinPastes: isTerminal(stdin)})
	return term.Run(ctx)
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// retention is how long each table's rows are kept; README.md ("Data
// kept, and for how long") lists every table.
type retention struct {
	deliveries    time.Duration // platforms stop retrying within an hour
	conversations time.Duration // idle ones expired long before
	outcomes      time.Duration // bot.outcome_retention
	history       time.Duration // monitor.retention: results, rollups, ended incidents
	userText      time.Duration // privacy.retention: what people wrote (unanswered messages)
	targets       []string      // the configured targets, whose alert state is kept
}

func retentionOf(cfg *config.Config) retention {
	r := retention{deliveries: 7 * 24 * time.Hour, conversations: 24 * time.Hour,
		outcomes: cfg.Bot.OutcomeRetention, history: cfg.Monitor.Retention, userText: cfg.Privacy.Retention}
	for _, t := range cfg.Monitor.Targets {
		r.targets = append(r.targets, t.Name)
	}
	return r
}

// janitor enforces every table's retention, at start and then hourly.
func janitor(ctx context.Context, db pruner, r retention, log *slog.Logger) error {
	log = log.With("component", "janitor")
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		prune(ctx, db, r, time.Now(), log)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// prune deletes what r no longer keeps at now; a failed step is logged
// and the others still run.
func prune(ctx context.Context, db pruner, r retention, now time.Time, log *slog.Logger) {
	type step struct {
		what string
		run  func() (int64, error)
	}
	steps := []step{
		// An inbox item's id is what turns a platform's late retry away.
		{"inbox and outbox", func() (int64, error) { return db.Prune(ctx, now.Add(-r.deliveries)) }},
		{"conversations", func() (int64, error) { return db.PruneConversations(ctx, now.Add(-r.conversations)) }},
		{"outcomes", func() (int64, error) { return db.PruneOutcomes(ctx, now.Add(-r.outcomes)) }},
		{"check history", func() (int64, error) { return db.PruneResults(ctx, now.Add(-r.history)) }},
		{"alert states", func() (int64, error) { return db.PruneAlertStates(ctx, r.targets) }},
		// What people wrote is kept no longer than privacy.retention.
		{"unanswered messages", func() (int64, error) { return db.PruneUnanswered(ctx, now.Add(-r.userText)) }},
	}
	if rl, ok := db.(interface {
		PruneRateLimits(ctx context.Context, cutoff time.Time) (int64, error)
	}); ok {
		// Shared rate-limit buckets idle for a day are full again.
		steps = append(steps, step{"rate limits", func() (int64, error) { return rl.PruneRateLimits(ctx, now.Add(-24*time.Hour)) }})
	}
	for _, step := range steps {
		n, err := step.run()
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("prune "+step.what, "err", err)
		case n > 0:
			log.Debug("pruned "+step.what, "rows", n)
		}
	}
}

// readyEvery is how often /readyz really checks the database: the check
// writes a row, and /readyz answers anyone who can reach the port, so
// requests within it share one write's answer rather than each making
// one (a cheap way to load the database otherwise).
const readyEvery = time.Second

// oncePer runs check at most once per every; calls in between get its
// last answer, an error as much as nil. A call that finds the answer stale
// runs check while later callers wait for that answer (at most the
// check's own deadline, 2 s for /readyz).
func oncePer(every time.Duration, check web.Check, now func() time.Time) web.Check {
	var (
		mu   sync.Mutex
		at   time.Time
		last error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && now().Sub(at) < every {
			return last
		}
		err := check(ctx)
		if ctx.Err() != nil {
			// This caller gave up (a client that hung up): its answer
			// is not the database's.
			return err
		}
		last, at = err, now()
		return last
	}
}
