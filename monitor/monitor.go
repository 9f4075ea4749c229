package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"gptaccess/cloudflare"
	"gptaccess/config"
)

// Defaults for zero Options fields.
const (
	DefaultSchedule         = "@every 5m"
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 2
)

// parser accepts 5 or 6 fields (seconds optional) and descriptors such as
// "@every 5m" and "@daily"; a spec may start with CRON_TZ=Area/City. It is
// the parser the configuration is validated with, so a spec that validates
// is a spec that runs.
var parser = cron.NewParser(config.CronOptions)

// Subscribers lists the channels of a platform that subscribed to alerts
// at run time; (*sqlite.DB).Subscribers implements it.
type Subscribers interface {
	Subscribers(ctx context.Context, platform string) ([]string, error)
}

// Options configure a Monitor. Zero values mean the documented defaults.
type Options struct {
	Targets  []Target // nil means DefaultTargets()
	Schedule string   // cron spec of the checks; "" means DefaultSchedule
	Digest   string   // cron spec of the daily summary; "" means no digest
	Timezone string   // IANA name for both specs; "" means the local zone. A spec's CRON_TZ= wins.

	FailureThreshold int           // bad checks in a row that open an incident; 0 means 3
	SuccessThreshold int           // good checks in a row that resolve it; 0 means 2
	ReminderInterval time.Duration // least time between reminders; 0 means none

	// Canary is an http(s) URL (DNS, TCP, TLS and a 2xx; Cloudflare's
	// /cdn-cgi/trace also names the data centre our traffic reaches) or a
	// host:port (TCP only) that tells "we are offline" from "OpenAI is
	// down" and, when it is named by a host name, "our DNS is broken" from
	// "our DNS filters ChatGPT"; "" disables it.
	Canary string

	Channels map[string][]string // platform → configured alert channels
	// Notifiers and Outboxers deliver the notices, one per platform: a
	// Notifier is called once the alert state is saved, an Outboxer's
	// items are saved with it and sent by Outbox, which must be set when
	// Outboxers are. Those that cannot exist before the monitor does (an
	// adapter whose bot asks the monitor for the status) are added with
	// AddNotifier or AddOutboxer instead.
	Notifiers   []Notifier
	Outboxers   []Outboxer
	Outbox      Outbox
	Subscribers Subscribers // run-time subscriptions; nil means none

	// Store keeps the history and the alert state; nil keeps them in
	// memory only (tests, one-off checks). The monitor never deletes
	// history: the store's owner enforces its retention (cmd's janitor).
	Store Store
	// Leading, when set, proves just before a scheduled check saves its
	// alert state and sends its notices (and before a digest) that this
	// replica still leads; when it says no, the check stops there and
	// leaves the alerts to the new leader. nil means this is the only
	// replica. Run only runs on the leader; see README.md ("Running
	// several replicas").
	Leading func(ctx context.Context) bool
	// Client makes the requests; nil means one with the proxy from the
	// environment. When its Transport is an *http.Transport (or nil) the
	// monitor uses a copy that dials through Resolver and Dialer, so that
	// it sees DNS filters and proxies; another RoundTripper is used as is.
	Client *http.Client
	// Resolver looks host names up; nil means net.DefaultResolver.
	Resolver Resolver
	// Dialer connects to resolved addresses; nil means a net.Dialer.
	Dialer Dialer

	Now    func() time.Time // nil means time.Now
	Logger *slog.Logger     // nil discards logs
	// Version goes into the User-Agent "gptaccess/<version>"; "" means "dev".
	Version string
}

// Monitor probes the targets on a schedule, keeps the alert state and
// tells the team. Its methods are safe for concurrent use.
type Monitor struct {
	targets    []Target
	check      cron.Schedule
	digest     cron.Schedule // nil: no digest
	loc        *time.Location
	failN, okN int
	reminder   time.Duration
	canary     string
	channels   map[string][]string
	notifiers  []Notifier
	outboxers  []outboxer
	subs       Subscribers
	store      Store
	leading    func(ctx context.Context) bool
	client     *http.Client
	resolver   Resolver
	dialer     Dialer
	now        func() time.Time
	log        *slog.Logger
	userAgent  string

	// Seams for tests of the state machine, which must not do network
	// I/O inside a synctest bubble.
	probeFn  func(context.Context, Target) (Result, string)
	canaryFn func(context.Context) Canary

	// version counts the changes to the history and alert state, for
	// readers that cache what they build from them (the status page).
	version atomic.Uint64

	mu       sync.Mutex // one round (probes and state) at a time
	loaded   bool       // state read from the store
	loadedAt time.Time  // when, for a replica that does not lead
	latest   Round
	states   map[string]*TargetState
	open     map[string]*Incident

	noticeSeq atomic.Uint64 // makes Notice.ID unique
	outMu     sync.Mutex
	queues    map[queueKey]chan Notice
	workers   sync.WaitGroup

	cronMu  sync.Mutex
	cron    *cron.Cron // while Run runs
	checkID cron.EntryID
}

// New checks o and returns a Monitor. An invalid spec, time zone, target
// or canary is an error naming the option.
func New(o Options) (*Monitor, error) {
	m := &Monitor{
		failN: o.FailureThreshold, okN: o.SuccessThreshold,
		reminder: o.ReminderInterval,
		canary:   strings.TrimSpace(o.Canary), channels: o.Channels,
		notifiers: o.Notifiers, subs: o.Subscribers, store: o.Store, leading: o.Leading,
		now: o.Now, log: o.Logger,
		states: map[string]*TargetState{}, open: map[string]*Incident{},
		queues: map[queueKey]chan Notice{},
	}
	var errs []error
	if o.Schedule == "" {
		o.Schedule = DefaultSchedule
	}
	var err error
	if m.loc, err = loadLocation(o.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("monitor.timezone: %w", err))
	}
	if m.check, err = parser.Parse(o.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("monitor.schedule %q: %w", o.Schedule, err))
	}
	if o.Digest != "" {
		if m.digest, err = parser.Parse(o.Digest); err != nil {
			errs = append(errs, fmt.Errorf("monitor.digest %q: %w", o.Digest, err))
		}
	}
	if m.failN < 0 {
		errs = append(errs, fmt.Errorf("monitor.failure_threshold: %d is negative", m.failN))
	}
	if m.okN < 0 {
		errs = append(errs, fmt.Errorf("monitor.success_threshold: %d is negative", m.okN))
	}
	if m.reminder < 0 {
		errs = append(errs, errors.New("monitor.reminder_interval must not be negative"))
	}
	if m.failN == 0 {
		m.failN = DefaultFailureThreshold
	}
	if m.okN == 0 {
		m.okN = DefaultSuccessThreshold
	}
	if err := validateCanary(m.canary); err != nil {
		errs = append(errs, fmt.Errorf("monitor.canary %q: %w", m.canary, err))
	}
	targets := o.Targets
	if targets == nil {
		targets = DefaultTargets()
	}
	if len(targets) == 0 {
		errs = append(errs, errors.New("monitor.targets: none"))
	}
	seen := map[string]bool{}
	for i, t := range targets {
		t = t.withDefaults()
		errs = append(errs, t.validate(i)...)
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("monitor.targets[%d].name: %q used twice", i, t.Name))
		}
		seen[t.Name] = true
		m.targets = append(m.targets, t)
	}
	for i, n := range o.Notifiers {
		if n == nil {
			errs = append(errs, fmt.Errorf("monitor notifiers[%d]: nil", i))
		}
	}
	for i, ob := range o.Outboxers {
		if err := m.addOutboxer(ob, o.Outbox); err != nil {
			errs = append(errs, fmt.Errorf("monitor outboxers[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if m.store == nil {
		m.store = newMemStore()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m.log = m.log.With("component", "monitor")
	version := o.Version
	if version == "" {
		version = "dev"
	}
	m.userAgent = "gptaccess/" + version
	m.resolver, m.dialer = o.Resolver, o.Dialer
	if m.resolver == nil {
		m.resolver = net.DefaultResolver
	}
	if m.dialer == nil {
		m.dialer = &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second}
	}
	var c http.Client
	if o.Client != nil {
		c = *o.Client
	}
	switch tr := c.Transport.(type) {
	case nil:
		c.Transport = m.transport(http.DefaultTransport.(*http.Transport))
	case *http.Transport:
		c.Transport = m.transport(tr)
	}
	// A redirect is an answer in itself (chat.openai.com's 308, a status
	// page that moved); following it would classify some other page.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m.client = &c
	m.probeFn, m.canaryFn = m.probe, m.checkCanary
	return m, nil
}

// transport is a copy of base that resolves and dials through the
// monitor, and keeps a proxy's refusal of CONNECT.
func (m *Monitor) transport(base *http.Transport) *http.Transport {
	tr := base.Clone()
	tr.DialContext = m.dial
	tr.DialTLSContext = nil // TLS goes over our dial, so a TLS failure is ours to read
	tr.OnProxyConnectResponse = onProxyConnect
	return tr
}

func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	return time.LoadLocation(name)
}

func validateCanary(c string) error {
	if c == "" {
		return nil
	}
	if strings.Contains(c, "://") {
		u, err := url.Parse(c)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("not an http or https URL")
		}
		return nil
	}
	host, port, err := net.SplitHostPort(c)
	if err != nil || host == "" || port == "" {
		return errors.New("want host:port or a URL")
	}
	return nil
}

// Run starts the schedule, runs a first check at once, and returns when
// ctx is done, after stopping the schedule and waiting for running checks
// and pending deliveries' current attempt. Call it once at a time.
func (m *Monitor) Run(ctx context.Context) error {
	logger := cronLogger{m.log}
	c := cron.New(cron.WithParser(parser), cron.WithLocation(m.loc), cron.WithLogger(logger),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	checkID := c.Schedule(m.check, cron.FuncJob(func() { m.tick(ctx) }))
	if m.digest != nil {
		c.Schedule(m.digest, cron.FuncJob(func() { m.sendDigest(ctx) }))
	}

	m.cronMu.Lock()
	if m.cron != nil {
		m.cronMu.Unlock()
		return errors.New("monitor: Run is already running")
	}
	m.cron, m.checkID = c, checkID
	m.cronMu.Unlock()
	// Read the state afresh: while this replica did not lead, another
	// may have moved it (and opened or resolved incidents).
	m.mu.Lock()
	m.loaded = false
	m.mu.Unlock()

	c.Start()
	// The first check goes through the same wrapped job, so the schedule
	// skips its first tick rather than overlap a slow first check.
	var first sync.WaitGroup
	first.Go(c.Entry(checkID).WrappedJob.Run)
	m.log.Info("monitor started", "targets", len(m.targets), "next_check", c.Entry(checkID).Next)

	<-ctx.Done()
	<-c.Stop().Done()
	first.Wait()
	m.workers.Wait()

	m.cronMu.Lock()
	m.cron = nil
	m.cronMu.Unlock()
	m.outMu.Lock()
	clear(m.queues)
	m.outMu.Unlock()
	m.log.Info("monitor stopped")
	return nil
}

// AddNotifier adds a platform to deliver notices to, from the next notice
// on. It is the step that lets the monitor be built before the chat
// adapters: the bot they serve asks the monitor for the status, and the
// monitor alerts through them.
func (m *Monitor) AddNotifier(n Notifier) error {
	if n == nil {
		return errors.New("monitor: nil notifier")
	}
	m.outMu.Lock()
	defer m.outMu.Unlock()
	m.notifiers = append(m.notifiers, n)
	return nil
}

// AddOutboxer adds a platform that posts through an outbox, from the next
// notice on: its notices are saved with the alert state, then box is told
// of them. It is AddNotifier for the platforms that have an outbox.
func (m *Monitor) AddOutboxer(o Outboxer, box Outbox) error {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	if err := m.addOutboxer(o, box); err != nil {
		return fmt.Errorf("monitor: outboxer: %w", err)
	}
	return nil
}

// outboxer is an Outboxer and the Outbox that sends its items.
type outboxer struct {
	Outboxer
	box Outbox
}

func (m *Monitor) addOutboxer(o Outboxer, box Outbox) error {
	switch {
	case o == nil:
		return errors.New("nil")
	case box == nil:
		return fmt.Errorf("%s: no outbox to send its notices", o.Platform())
	}
	m.outboxers = append(m.outboxers, outboxer{o, box})
	return nil
}

// Version changes whenever the monitor has recorded results or saved its
// alert state, so whatever is built from them (the status page) can be
// cached until it changes.
func (m *Monitor) Version() uint64 { return m.version.Load() }

// NextCheck is when the next scheduled check runs; zero when Run is not
// running.
func (m *Monitor) NextCheck() time.Time {
	m.cronMu.Lock()
	defer m.cronMu.Unlock()
	if m.cron == nil {
		return time.Time{}
	}
	return m.cron.Entry(m.checkID).Next
}

// CheckOnce runs every probe once and records the results; it does not
// touch the alert counters, which only scheduled checks move, so that
// asking for the status never hurries an alert. It fails only when ctx
// ends before the round does.
func (m *Monitor) CheckOnce(ctx context.Context) (Round, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkLocked(ctx)
}

func (m *Monitor) checkLocked(ctx context.Context) (Round, error) {
	m.load(ctx)
	rd := m.round(ctx)
	if err := ctx.Err(); err != nil {
		return rd, err
	}
	// The state is not saved here: `gptaccess check` may run beside the
	// daemon on the same database, and must not overwrite its counters.
	// The next scheduled check saves what changed.
	m.record(ctx, rd)
	return rd, nil
}

// tick is the scheduled check: probe, record, move the state machine,
// then save it with its notices (deliver).
func (m *Monitor) tick(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	loaded := m.load(ctx)
	rd := m.round(ctx)
	if ctx.Err() != nil {
		return // shutting down: a round cut short says nothing
	}
	m.record(ctx, rd)
	if !loaded {
		// Without the saved state we could alert an incident twice.
		m.log.Warn("alert state unavailable; this check raises no alerts")
		return
	}
	notices, changed := m.evaluate(rd)
	if m.leading != nil && !m.leading(ctx) {
		m.log.Warn("no longer the leader; this check's alerts are left to the new one")
		m.loaded = false // what evaluate changed was not saved
		return
	}
	if err := m.deliver(ctx, m.stateList(), changed, notices); err != nil {
		// Neither the state nor its notices were saved: read the state
		// again at the next check, which decides again.
		m.log.Error("saving alert state", "err", err)
		m.loaded = false
		return
	}
	m.version.Add(1)
}

// round probes every target and the canary concurrently.
func (m *Monitor) round(ctx context.Context) Round {
	rd := Round{At: m.now(), Results: make([]Result, len(m.targets))}
	var wg sync.WaitGroup
	wg.Go(func() { rd.Canary = m.canaryFn(ctx) })
	filtered := make([]string, len(m.targets))
	for i, t := range m.targets {
		wg.Go(func() {
			// cron.Recover guards the job's goroutine, not this one.
			defer func() {
				if p := recover(); p != nil {
					m.log.Error("probe panicked", "target", t.Name, "panic", p)
					rd.Results[i] = Result{Target: t.Name, Kind: t.Kind, Verdict: cloudflare.Unexpected, Detail: "internal error in the probe", CheckedAt: m.now()}
				}
			}()
			rd.Results[i], filtered[i] = m.probeFn(ctx, t)
		})
	}
	wg.Wait()
	rd.Official = Official{Indicator: IndicatorUnknown}
	for i := range rd.Results {
		r := &rd.Results[i]
		r.EgressDataCenter, r.EgressCountry = rd.Canary.DataCenter, rd.Canary.Country
		explained := false
		if filtered[i] != "" {
			explained = dnsVerdict(r, filtered[i], rd.Canary)
		}
		if !rd.Canary.OK {
			r.Offline = true
			if r.Verdict.Outage() && !explained {
				r.Detail += " (our own network seems offline: canary failed)"
			}
		}
		if r.Official != nil && rd.Official.Indicator == IndicatorUnknown {
			rd.Official = *r.Official
		}
	}
	return rd
}

// dnsVerdict decides a result whose name DNS said does not exist or
// answered with a sinkhole: our DNS filters it when the canary's own name
// resolves; otherwise nothing tells a filter from broken DNS, and the
// result stays unreachable. It reports whether the detail now says that
// our own DNS seems broken.
func dnsVerdict(r *Result, filtered string, c Canary) (brokenDNS bool) {
	switch {
	case c.NameResolved:
		r.Verdict = cloudflare.BlockedNetwork
		r.Detail = "DNS filter: " + filtered + ", while it resolves " + canaryHost(c.Target)
	case c.Target != "" && canaryHost(c.Target) != "" && net.ParseIP(canaryHost(c.Target)) == nil:
		r.Detail += " (the canary's name does not resolve either: our DNS itself seems broken)"
		return true
	}
	return false
}

// load reads the saved state, so a monitor carries on with the open
// incidents and counters the store holds. It reports whether the state is
// there. While Run runs this monitor is the only one moving the state,
// and reads it once; otherwise (another replica leads, or none runs) it
// reads it again once its copy is followerRefresh old, so a "status"
// answered here shows the leader's incidents.
func (m *Monitor) load(ctx context.Context) bool {
	if m.loaded && (m.running() || m.now().Sub(m.loadedAt) < followerRefresh) {
		return true
	}
	states, err := m.store.AlertState(ctx)
	if err != nil {
		if ctx.Err() == nil { // shutting down (e.g. the terminal's input ended) is no error
			m.log.Error("reading alert state", "err", err)
		}
		return m.loaded
	}
	incidents, err := m.store.Incidents(ctx, m.now())
	if err != nil {
		if ctx.Err() == nil {
			m.log.Error("reading incidents", "err", err)
		}
		return m.loaded
	}
	clear(m.states)
	clear(m.open)
	for _, st := range states {
		m.states[st.Target] = &st
	}
	for _, in := range incidents {
		if in.Open() {
			m.open[in.ID] = &in
		}
	}
	if rd := m.savedRound(ctx); !m.loaded || rd.At.After(m.latest.At) {
		m.latest = rd
	}
	m.loaded, m.loadedAt = true, m.now()
	return true
}

// followerRefresh is how old the state read by a monitor that does not
// run the schedule may get.
const followerRefresh = 15 * time.Second

// running reports whether Run runs.
func (m *Monitor) running() bool {
	m.cronMu.Lock()
	defer m.cronMu.Unlock()
	return m.cron != nil
}

// savedRound rebuilds the latest round from the history, for a status
// asked right after a restart.
func (m *Monitor) savedRound(ctx context.Context) Round {
	rd := Round{Canary: Canary{OK: true, Target: m.canary}, Official: Official{Indicator: IndicatorUnknown}}
	var newest time.Time
	for _, t := range m.targets {
		rs, err := m.store.LatestResults(ctx, t.Name, 1)
		if err != nil || len(rs) == 0 {
			return Round{}
		}
		r := rs[0]
		if rd.At.IsZero() || r.CheckedAt.Before(rd.At) {
			rd.At = r.CheckedAt
		}
		if r.CheckedAt.After(newest) {
			newest = r.CheckedAt
			rd.Canary.DataCenter, rd.Canary.Country = r.EgressDataCenter, r.EgressCountry
		}
		if r.Offline {
			rd.Canary.OK = false
		}
		if r.Official != nil && rd.Official.Indicator == IndicatorUnknown {
			rd.Official = *r.Official
		}
		rd.Results = append(rd.Results, r)
	}
	return rd
}

// record stores the round and notes when each target's verdict changed.
func (m *Monitor) record(ctx context.Context, rd Round) {
	if err := m.store.RecordResults(ctx, rd.Results); err != nil {
		m.log.Error("recording results", "err", err)
	}
	m.version.Add(1)
	for _, r := range rd.Results {
		st := m.state(r.Target)
		if st.Verdict != r.Verdict || st.Since.IsZero() {
			st.Verdict, st.Since = r.Verdict, r.CheckedAt
		}
	}
	m.latest = rd
}

func (m *Monitor) state(target string) *TargetState {
	st, ok := m.states[target]
	if !ok {
		st = &TargetState{Target: target}
		m.states[target] = st
	}
	return st
}

// stateList is the state of the configured targets, in their order.
func (m *Monitor) stateList() []TargetState {
	out := make([]TargetState, 0, len(m.targets))
	for _, t := range m.targets {
		out = append(out, *m.state(t.Name))
	}
	return out
}

// cronLogger sends cron's messages (including recovered panics) to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// verdictWords are the verdicts in words for chat.
var verdictWords = map[cloudflare.Verdict]string{
	cloudflare.Up:             "up",
	cloudflare.Unreachable:    "unreachable",
	cloudflare.Challenged:     "blocked (Cloudflare challenge)",
	cloudflare.Blocked1020:    "blocked (Cloudflare error 1020)",
	cloudflare.RateLimited:    "rate limited",
	cloudflare.BlockedOther:   "blocked by Cloudflare",
	cloudflare.BlockedNetwork: "blocked by our own network",
	cloudflare.OriginDown:     "down (Cloudflare cannot reach OpenAI)",
	cloudflare.OriginError:    "down (server errors)",
	cloudflare.Unexpected:     "answering unexpectedly",
}
