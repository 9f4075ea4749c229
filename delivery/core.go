package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gptaccess/bot"
	"gptaccess/redact"
)

// Options configure a Core. Zero values mean the documented defaults.
type Options struct {
	Store   Store       // required
	Handler bot.Handler // required: the bot (the engine, wrapped for metrics)

	// Burst and PerMinute limit replies per user (bot.RateLimit);
	// PerMinute <= 0 disables the limit.
	Burst, PerMinute int
	// Limiter, when set, keeps the per-user buckets instead of this
	// process's memory (the postgres store's, shared by the replicas).
	Limiter bot.Limiter
	// Rescan, when positive, is how often the core looks in the store for
	// lanes with pending work besides those it woke itself. A store shared
	// by replicas needs it: the backlog of a replica that died (or an item
	// another replica received and left) is picked up within Rescan plus
	// the store's hold on the lane.
	Rescan time.Duration
	// Freshness is how old a pending inbound item may be and still be
	// answered, after a restart or a backlog; older ones are logged and
	// dropped (Observer.Stale). Default 10 minutes (bot.pending_freshness).
	Freshness time.Duration
	// Support says where each platform's hand-overs go; a platform
	// without an entry logs a warning for each hand-over.
	Support map[string]Support

	// HandleTimeout bounds one call of the bot; default 30 s.
	HandleTimeout time.Duration
	// SendTimeout bounds one outbound call; default 30 s.
	SendTimeout time.Duration
	// MaxAttempts bounds the attempts of one outbound call that fails
	// transiently (network, 5xx); default 5. MaxRateLimited bounds how
	// often one call may be rate limited; default 10. The two are counted
	// apart (Outbound.Attempts, Outbound.RateLimited).
	MaxAttempts, MaxRateLimited int
	// Backoff is the wait after a first transient failure, doubling up to
	// a minute; default 1 s.
	Backoff time.Duration

	Observer Observer         // nil: nobody listens
	Logger   *slog.Logger     // nil: slog.Default()
	Now      func() time.Time // nil: time.Now
	// Sleep waits d or until ctx ends (false then); nil: a timer. Tests
	// replace it to control rate-limit waits.
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Core runs the inbox and outbox workers. Register every platform, then
// Run it; adapters call Put/Accept and Wake from their receive paths.
type Core struct {
	store   Store
	handler bot.Handler
	o       Options
	obs     Observer
	log     *slog.Logger
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) bool

	platforms map[string]Platform
	started   atomic.Bool

	mu      sync.Mutex
	waiters map[string][]chan result // Deliver calls waiting, by key
	running map[laneKey]bool         // lanes with a worker
	again   map[laneKey]bool         // lanes woken while their worker ran
	dirty   map[laneKey]bool         // lanes woken that have no worker yet
	signal  chan struct{}
}

// laneKey names an inbox lane (out false) or an outbox lane.
type laneKey struct {
	out bool
	Lane
}

// New checks o and returns a Core.
func New(o Options) (*Core, error) {
	if o.Store == nil || o.Handler == nil {
		return nil, errors.New("delivery: Store and Handler are required")
	}
	c := &Core{
		store: o.Store, handler: o.Handler, o: o, obs: o.Observer, log: o.Logger, now: o.Now, sleep: o.Sleep,
		platforms: map[string]Platform{},
		waiters:   map[string][]chan result{},
		running:   map[laneKey]bool{}, again: map[laneKey]bool{}, dirty: map[laneKey]bool{},
		signal: make(chan struct{}, 1),
	}
	switch {
	case o.Limiter != nil:
		c.handler = bot.Limit(o.Handler, o.Limiter, o.Logger)
	case o.PerMinute > 0:
		c.handler = bot.RateLimit(o.Handler, o.Burst, o.PerMinute, o.Now)
	}
	if c.o.Freshness <= 0 {
		c.o.Freshness = 10 * time.Minute
	}
	if c.o.HandleTimeout <= 0 {
		c.o.HandleTimeout = 30 * time.Second
	}
	if c.o.SendTimeout <= 0 {
		c.o.SendTimeout = 30 * time.Second
	}
	if c.o.MaxAttempts <= 0 {
		c.o.MaxAttempts = 5
	}
	if c.o.MaxRateLimited <= 0 {
		c.o.MaxRateLimited = 10
	}
	if c.o.Backoff <= 0 {
		c.o.Backoff = time.Second
	}
	if c.obs == nil {
		c.obs = nobody{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "delivery")
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = bot.Sleep
	}
	return c, nil
}

// Register adds a platform; call it before Run.
func (c *Core) Register(p Platform) {
	if c.started.Load() {
		panic("delivery: Register after Run")
	}
	c.platforms[p.Name()] = p
}

// Put writes in to the inbox; added is false for an event seen before
// (counted as a duplicate). An adapter acknowledges the event to the
// platform only after Put returned without error, then calls Wake.
func (c *Core) Put(ctx context.Context, in Inbound) (added bool, err error) {
	if in.Received.IsZero() {
		in.Received = c.now()
	}
	added, err = c.store.Put(ctx, in)
	if err != nil {
		return false, fmt.Errorf("delivery: inbox: %w", err)
	}
	if !added {
		c.obs.Duplicate(in.Platform)
		c.log.Debug("duplicate delivery", "id", in.ID)
	}
	return added, nil
}

// Heard is Store.Heard: when platform was last heard from (the newest
// Received of its inbox items whose ID begins with prefix; zero for
// none) and the lanes heard from at or after since, latest first. An
// adapter that opens a new session reads it to catch up on what was
// said while it had none.
func (c *Core) Heard(ctx context.Context, platform, prefix string, since time.Time) (newest time.Time, lanes []string, err error) {
	newest, lanes, err = c.store.Heard(ctx, platform, prefix, since)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("delivery: inbox: %w", err)
	}
	return newest, lanes, nil
}

// Freshness is how old an inbound item may be and still be answered
// (Options.Freshness): older ones are dropped, so there is no point in
// catching up further back.
func (c *Core) Freshness() time.Duration { return c.o.Freshness }

// Reconnected tells the observer that platform's connection was made
// again after it dropped.
func (c *Core) Reconnected(platform string) { c.obs.Reconnect(platform) }

// Wake tells the workers that lane l of the inbox has work.
func (c *Core) Wake(l Lane) { c.wake(laneKey{Lane: l}) }

// Accept is Put and, when the event is new, Wake.
func (c *Core) Accept(ctx context.Context, in Inbound) (added bool, err error) {
	added, err = c.Put(ctx, in)
	if added {
		c.Wake(Lane{in.Platform, in.Lane})
	}
	return added, err
}

// Enqueue writes outbound items that answer no inbound one (the
// monitor's notices) to the outbox and wakes their lanes.
func (c *Core) Enqueue(ctx context.Context, out []Outbound) error {
	now := c.now()
	for i := range out {
		if out[i].Kind == "" {
			out[i].Kind = KindNotice
		}
		if out[i].Created.IsZero() {
			out[i].Created = now
		}
	}
	if err := c.store.Enqueue(ctx, out); err != nil {
		return fmt.Errorf("delivery: outbox: %w", err)
	}
	c.Committed(out)
	return nil
}

// Committed wakes the lanes of outbox items that another writer added to
// the store (the monitor, in the transaction that saves its alert state),
// so they are sent now rather than at the next rescan or restart.
func (c *Core) Committed(out []Outbound) {
	for _, o := range out {
		c.wake(laneKey{out: true, Lane: Lane{o.Platform, o.Lane}})
	}
}

// result is how an outbound item ended, for Deliver.
type result struct {
	ref string
	err error
}

// Deliver enqueues o (as Enqueue) and waits until it is sent, returning
// its ref, or failed for good, returning an error made with Permanent.
// When ctx ends first the item stays in the outbox and is still sent; a
// later Deliver of the same Key waits for that send instead of adding a
// second one.
func (c *Core) Deliver(ctx context.Context, o Outbound) (string, error) {
	ch := make(chan result, 1)
	c.mu.Lock()
	c.waiters[o.Key] = append(c.waiters[o.Key], ch)
	c.mu.Unlock()
	defer c.unwait(o.Key, ch)
	if err := c.Enqueue(ctx, []Outbound{o}); err != nil {
		return "", err
	}
	// Finished by an earlier Deliver (or run) of the same key.
	switch st, ref, err := c.store.Lookup(ctx, o.Key); {
	case err != nil:
		return "", err
	case st == Sent:
		return ref, nil
	case st == Failed:
		return "", Permanent(fmt.Errorf("outbox item %s failed before", o.Key))
	}
	select {
	case r := <-ch:
		return r.ref, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Core) unwait(key string, ch chan result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiters[key]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.waiters, key)
	} else {
		c.waiters[key] = ws
	}
}

// done tells Deliver calls waiting for key how it ended.
func (c *Core) done(key string, r result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters[key] {
		select {
		case w <- r:
		default:
		}
	}
}

func (c *Core) wake(k laneKey) {
	c.mu.Lock()
	if c.running[k] {
		c.again[k] = true
	} else {
		c.dirty[k] = true
	}
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Run finds the work left pending by an earlier run, then runs a worker
// for each lane with work until ctx ends; it waits for the workers,
// which finish the call in hand (bounded by SendTimeout) and leave the
// rest pending for the next run.
func (c *Core) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("delivery: Run called twice")
	}
	c.resume(ctx)
	var rescan <-chan time.Time
	if c.o.Rescan > 0 {
		t := time.NewTicker(c.o.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c.mu.Lock()
		for k := range c.dirty {
			delete(c.dirty, k)
			c.running[k] = true
			wg.Go(func() { c.work(ctx, k) })
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-c.signal:
		case <-rescan:
			c.rescan(ctx)
		}
	}
}

// rescan wakes the lanes the store has pending work in.
func (c *Core) rescan(ctx context.Context) {
	in, out, err := c.store.Lanes(ctx)
	if err != nil {
		c.log.Warn("cannot read pending deliveries", "err", err)
		return
	}
	for _, l := range in {
		c.wake(laneKey{Lane: l})
	}
	for _, l := range out {
		c.wake(laneKey{out: true, Lane: l})
	}
}

// resume wakes the lanes that have pending work in the store, retrying
// until the store answers or ctx ends.
func (c *Core) resume(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		in, out, err := c.store.Lanes(ctx)
		if err == nil {
			for _, l := range in {
				c.wake(laneKey{Lane: l})
			}
			for _, l := range out {
				c.wake(laneKey{out: true, Lane: l})
			}
			if len(in)+len(out) > 0 {
				c.log.Info("resuming pending deliveries", "inbox_lanes", len(in), "outbox_lanes", len(out))
			}
			return
		}
		c.log.Error("cannot read pending deliveries; retrying", "err", err)
		if !c.sleep(ctx, c.backoff(attempt)) {
			return
		}
	}
}

// backoff is the wait after the attempt-th failure in a row (from 0).
func (c *Core) backoff(attempt int) time.Duration {
	d := c.o.Backoff
	for range attempt {
		d *= 2
		if d >= time.Minute {
			return time.Minute
		}
	}
	return d
}

// work runs lane k until it has nothing pending, then retires; a wake
// that came meanwhile makes it look again.
func (c *Core) work(ctx context.Context, k laneKey) {
	for {
		if k.out {
			c.drainOut(ctx, k.Lane)
		} else {
			c.drainIn(ctx, k.Lane)
		}
		c.mu.Lock()
		if c.again[k] && ctx.Err() == nil {
			delete(c.again, k)
			c.mu.Unlock()
			continue
		}
		delete(c.again, k)
		delete(c.running, k)
		c.mu.Unlock()
		return
	}
}

// drainIn processes lane l's pending inbound items in order.
func (c *Core) drainIn(ctx context.Context, l Lane) {
	failures := 0
	for ctx.Err() == nil {
		in, ok, err := c.store.NextIn(ctx, l)
		if err == nil && !ok {
			return
		}
		if err == nil {
			err = c.process(ctx, in)
		}
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return // left pending for the next run
		}
		lvl := slog.LevelError
		if errors.Is(err, ErrNotReady) {
			lvl = slog.LevelDebug
		}
		c.log.Log(ctx, lvl, "inbox: cannot process yet; retrying", "platform", l.Platform, "lane", l.Name, "err", err)
		if !c.sleep(ctx, c.backoff(failures)) {
			return
		}
		failures++
	}
}

// process answers one inbound item: it is done (or dropped) when process
// returns nil; an error leaves it pending, to be tried again.
func (c *Core) process(ctx context.Context, in Inbound) error {
	log := c.log.With("id", in.ID)
	if age := c.now().Sub(in.Received); age > c.o.Freshness {
		log.Warn("inbox: too old to answer; dropped", "age", age.Round(time.Second).String(), "pending_freshness", c.o.Freshness.String())
		if err := c.store.Drop(ctx, in.ID); err != nil {
			return err
		}
		c.obs.Stale(in.Platform)
		return nil
	}
	p, ok := c.platforms[in.Platform]
	if !ok {
		log.Error("inbox: no adapter for this platform; dropped", "platform", in.Platform)
		return c.store.Drop(ctx, in.ID)
	}
	t, ok, err := p.Message(ctx, in)
	if errors.Is(err, ErrNotReady) {
		return err
	}
	if err != nil {
		log.Warn("inbox: unusable event; dropped", "err", err)
		return c.store.Drop(ctx, in.ID)
	}
	if !ok {
		return c.finish(ctx, in.ID, Writes{}, nil)
	}
	for attempt := 0; ; attempt++ {
		r, w := c.answer(ctx, t, attempt > 0)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		out := c.plan(p, in, t.Message, r, log)
		err := c.finish(ctx, in.ID, w, out)
		if errors.Is(err, bot.ErrConflict) && attempt == 0 {
			// Another replica moved the conversation on: answer again
			// from its state.
			continue
		}
		if errors.Is(err, bot.ErrConflict) {
			// Twice: apologise rather than loop.
			log.Error("inbox: conversation keeps changing concurrently; apologising")
			r, _ := apology(t.Message)
			return c.finish(ctx, in.ID, Writes{}, c.plan(p, in, t.Message, r, log))
		}
		if err != nil {
			return err
		}
		for _, o := range out {
			c.wake(laneKey{out: true, Lane: Lane{o.Platform, o.Lane}})
		}
		return nil
	}
}

// finish is Store.Finish; an item another worker finished is not an
// error.
func (c *Core) finish(ctx context.Context, id string, w Writes, out []Outbound) error {
	err := c.store.Finish(ctx, id, w, out)
	if errors.Is(err, ErrNotPending) {
		c.log.Debug("inbox: item already finished elsewhere", "id", id)
		return nil
	}
	return err
}

// answer asks the bot (unless t already holds the reply) with its writes
// held back; on failure the reply is the apology and nothing is written.
func (c *Core) answer(ctx context.Context, t Turn, retry bool) (bot.Reply, Writes) {
	if t.Reply != nil {
		return *t.Reply, Writes{}
	}
	hctx, st := withStage(ctx)
	hctx, cancel := context.WithTimeout(hctx, c.o.HandleTimeout)
	defer cancel()
	r, err := c.ask(hctx, t.Message)
	if err == nil {
		return r, st.writes()
	}
	m := t.Message
	if ctx.Err() == nil {
		c.log.Error("bot failed; apologising", "platform", m.Platform, "channel", m.Channel, "err", err, "retry", retry)
	}
	r, _ = apology(m)
	return r, Writes{}
}

// ask calls the bot, turning a panic into an error: one bad message must
// not take the process down.
func (c *Core) ask(ctx context.Context, m bot.Message) (r bot.Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = bot.Reply{}, fmt.Errorf("bot panicked: %v", p)
		}
	}()
	return c.handler.Handle(ctx, m)
}

// apology is the reply when the bot could not answer m: the one apology
// text, to those who addressed the bot (in a help channel the bot keeps
// quiet), privately to a click.
func apology(m bot.Message) (bot.Reply, bool) {
	if !(m.Mention || m.DM || m.Command || m.Answer != nil) {
		return bot.Reply{Entry: "none", Ignore: true}, false
	}
	return bot.Reply{Text: bot.Sorry, Entry: "none", Private: m.Answer != nil}, true
}

// plan asks the platform for r's calls and adds the hand-over, routed by
// the core. A platform that cannot plan r gets to send the apology.
func (c *Core) plan(p Platform, in Inbound, m bot.Message, r bot.Reply, log *slog.Logger) []Outbound {
	out, err := p.Plan(in, m, r)
	if err != nil {
		log.Error("cannot lay out the reply; apologising", "err", err)
		ap, ok := apology(m)
		out = nil
		if ok {
			out, err = p.Plan(in, m, ap)
			if err != nil {
				log.Error("cannot lay out the apology either", "err", err)
				out = nil
			}
		}
	}
	if r.Handover != nil && !r.Ignore {
		if h, ok := c.handover(p, in, m, *r.Handover, log); ok {
			out = append(out, h)
		}
	}
	now := c.now()
	for i := range out {
		o := &out[i]
		if o.Key == "" {
			o.Key = in.ID + "#" + strconv.Itoa(i)
		}
		if o.Platform == "" {
			o.Platform = in.Platform
		}
		if o.Kind == "" {
			o.Kind = KindReply
		}
		o.Created = now
	}
	return out
}

// handover routes h: to the support channel when there is one, else into
// the conversation mentioning the support group (not in a DM, where
// nobody else would see it).
func (c *Core) handover(p Platform, in Inbound, m bot.Message, h bot.Handover, log *slog.Logger) (Outbound, bool) {
	if h.Channel == "" {
		h.Platform, h.Channel, h.Thread, h.User = m.Platform, m.Channel, m.Thread, m.User
	}
	s := c.o.Support[in.Platform]
	var to Route
	switch {
	case s.Channel != "":
		to = Route{Channel: s.Channel, Mention: s.Mention}
	case s.Mention != "" && !m.DM:
		to = Route{Channel: m.Channel, Thread: m.Thread, InPlace: true, Mention: s.Mention}
	default:
		log.Warn("hand-over requested but no support channel (or, outside DMs, support group or role) is configured",
			"platform", in.Platform, "channel", m.Channel, "user", m.User)
		return Outbound{}, false
	}
	o, err := p.Handover(in, m, h, to)
	if err != nil {
		log.Error("cannot lay out the hand-over", "err", err)
		return Outbound{}, false
	}
	if o.Lane == "" {
		o.Lane = to.Channel
	}
	o.Kind = KindHandover
	return o, true
}

// drainOut makes lane l's pending outbound calls in order.
func (c *Core) drainOut(ctx context.Context, l Lane) {
	failures := 0
	for ctx.Err() == nil {
		o, ok, err := c.store.NextOut(ctx, l)
		if err == nil && !ok {
			return
		}
		if err == nil {
			if wait := o.NotBefore.Sub(c.now()); wait > 0 {
				if !c.sleep(ctx, wait) {
					return
				}
			}
			err = c.send(ctx, o)
		}
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		c.log.Error("outbox: store failed; retrying", "platform", l.Platform, "lane", l.Name, "err", err)
		if !c.sleep(ctx, c.backoff(failures)) {
			return
		}
		failures++
	}
}

// send makes one attempt of o and records how it went; an error is the
// store's (the attempt is then made again).
func (c *Core) send(ctx context.Context, o Outbound) error {
	p, ok := c.platforms[o.Platform]
	if !ok {
		return c.store.Failed(ctx, o.Seq, "no adapter for platform "+o.Platform)
	}
	if o.Parent != "" {
		_, ref, err := c.store.Lookup(ctx, o.Parent)
		if err != nil {
			return err
		}
		o.ParentRef = ref
	}
	// A call in flight finishes even when shutdown begins: cut off
	// halfway, it may have been made without being recorded, and would
	// be made again by the next run.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.SendTimeout)
	ref, err := p.Send(sctx, o)
	cancel()
	c.obs.Attempted(o.Platform, o.Kind, err == nil)
	rctx := context.WithoutCancel(ctx)
	log := c.log.With("platform", o.Platform, "lane", o.Lane, "key", o.Key, "kind", o.Kind)
	if err == nil {
		if err := c.store.Sent(rctx, o.Seq, ref); err != nil {
			return err
		}
		c.done(o.Key, result{ref: ref})
		return nil
	}
	if IsPermanent(err) {
		log.Error("outbox: cannot deliver; not retrying", "err", err)
		return c.failed(rctx, o, err)
	}
	if isNotYet(err) {
		wait := c.o.Backoff
		log.Info("outbox: the platform cannot take the call yet; trying again", "retry_in", wait.String(), "err", err)
		return c.store.Retry(rctx, o.Seq, o.Attempts, o.RateLimited, c.now().Add(wait))
	}
	if wait, limited := retryAfter(err); limited {
		o.RateLimited++
		if o.RateLimited >= c.o.MaxRateLimited {
			log.Error("outbox: still rate limited; giving up", "rate_limited", o.RateLimited, "err", err)
			return c.failed(rctx, o, err)
		}
		wait = max(wait, 100*time.Millisecond)
		log.Warn("outbox: rate limited; holding the channel back", "retry_after", wait.String(), "rate_limited", o.RateLimited)
		c.obs.RateLimitWait(o.Platform, wait)
		return c.store.Retry(rctx, o.Seq, o.Attempts, o.RateLimited, c.now().Add(wait))
	}
	o.Attempts++
	if o.Attempts >= c.o.MaxAttempts {
		log.Error("outbox: giving up after repeated failures", "attempts", o.Attempts, "err", err)
		return c.failed(rctx, o, err)
	}
	wait := c.backoff(o.Attempts - 1)
	log.Warn("outbox: call failed; will retry", "attempt", o.Attempts, "retry_in", wait.String(), "err", err)
	return c.store.Retry(rctx, o.Seq, o.Attempts, o.RateLimited, c.now().Add(wait))
}

// failed records o's failure for good, once.
func (c *Core) failed(ctx context.Context, o Outbound, err error) error {
	// The reason stays in the outbox row for a week, and an error from a
	// platform's client may quote the URL it called: a Slack
	// response_url, a Discord interaction webhook, credentials for the
	// conversation. It is scrubbed like a log line.
	if serr := c.store.Failed(ctx, o.Seq, redact.Log(err.Error())); serr != nil {
		return serr
	}
	c.obs.Undelivered(o.Platform, o.Kind)
	if !IsPermanent(err) {
		err = Permanent(err)
	}
	c.done(o.Key, result{err: err})
	return nil
}
