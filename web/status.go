package web

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"hash/fnv"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/format"
	"gptaccess/monitor"
)

// History is what the status page reads of the monitor's store
// (monitor.Store has it all): results, hourly tallies and latencies, the
// alert state and the incidents. The page never writes.
type History interface {
	LatestResults(ctx context.Context, target string, n int) ([]monitor.Result, error)
	TargetResults(ctx context.Context, target string, from, to time.Time) ([]monitor.Result, error)
	Counts(ctx context.Context, since time.Time) ([]monitor.Count, error)
	Latencies(ctx context.Context, since time.Time) ([]monitor.HourLatency, error)
	AlertState(ctx context.Context) ([]monitor.TargetState, error)
	Incidents(ctx context.Context, since time.Time) ([]monitor.Incident, error)
}

// StatusOptions configure StatusPage. Zero values mean the documented
// defaults.
type StatusOptions struct {
	// Store is the check history and alert state; required. The page
	// only reads it.
	Store History
	// Targets are the monitored targets, in the order shown. nil means
	// the targets found in the last 7 days of history, by name.
	Targets []monitor.Target
	// NextCheck says when the next scheduled check runs, e.g.
	// (*monitor.Monitor).NextCheck; a zero time means none is scheduled.
	// nil leaves the line out.
	NextCheck func() time.Time
	// Version changes whenever the history or the alert state may have
	// changed, e.g. (*monitor.Monitor).Version: the page is rendered again
	// on the next request after it changes. Either way it is rendered at
	// most once a minute otherwise (its relative times, "5m ago", move).
	// nil means the page changes only with the minute.
	Version func() uint64
	// Location is the time zone times are shown in; nil means time.Local.
	Location *time.Location
	Now      func() time.Time // nil means time.Now
	Logger   *slog.Logger     // nil means slog.Default()
}

// Windows of the status page.
const (
	dayWindow  = 24 * time.Hour
	weekWindow = 7 * 24 * time.Hour
	// storeTimeout bounds the page's reads, so a locked database gives a
	// 500 rather than a hanging request.
	storeTimeout = 5 * time.Second
)

//go:embed status.html
var statusHTML string

var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(statusHTML))

// StatusPage serves the public status page: the current verdict per
// target with the reason in words and since when, availability over the
// last 24 hours and 7 days, latency charts, open and recent incidents,
// OpenAI's official status and when the next check runs. It is plain
// HTML with inline CSS and SVG: no JavaScript, no external assets.
//
// Availability is the share of checks whose verdict was up, out of all
// checks in the window, leaving out checks taken while our own network
// was offline (the canary failed), which say nothing about ChatGPT. For
// the status target the verdict is about the status page itself.
//
// The page is built from the store's hourly rollups, once per change
// (Version) or minute, whatever the number of requests: it is served from
// memory with an ETag and Last-Modified, conditional requests get 304,
// and one render runs at a time (while it runs, other requests get the
// previous page, or wait for the first one).
func StatusPage(o StatusOptions) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Version == nil {
		o.Version = func() uint64 { return 0 }
	}
	return &statusPage{o: o, log: o.Logger.With("component", "status_page"), render: make(chan struct{}, 1)}
}

// statusPage is the page's handler and its cache.
type statusPage struct {
	o      StatusOptions
	log    *slog.Logger
	render chan struct{} // holds a token while a render runs

	mu   sync.Mutex
	page *renderedPage // nil until the first render
}

// renderedPage is one render of the page, served until its key changes.
type renderedPage struct {
	key      pageKey
	body     []byte
	etag     string
	modified time.Time
}

// pageKey says what a render depends on besides the store: the history's
// version and the minute (the page's relative times).
type pageKey struct {
	version uint64
	minute  int64
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache") // revalidate: the ETag makes that cheap
	h.Set("X-Content-Type-Options", "nosniff")
	// Everything is inline; nothing may be fetched.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

	now := p.o.Now()
	key := pageKey{p.o.Version(), now.Unix() / 60}
	page, fresh := p.cached(key)
	if !fresh {
		var err error
		page, err = p.rendered(r.Context(), key, now, page)
		if err != nil {
			if r.Context().Err() == nil {
				p.log.Error("rendering the status page", "err", err)
			}
			var buf bytes.Buffer
			statusTmpl.ExecuteTemplate(&buf, "error", nil)
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(buf.Bytes())
			return
		}
	}
	h.Set("ETag", page.etag)
	http.ServeContent(w, r, "", page.modified, bytes.NewReader(page.body))
}

// cached returns the latest render and whether it is for key.
func (p *statusPage) cached(key pageKey) (*renderedPage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.page, p.page != nil && p.page.key == key
}

// rendered returns a render for key, rendering it unless another request
// is doing so: then it returns stale, the previous render, if there is
// one, and else waits for that render.
func (p *statusPage) rendered(ctx context.Context, key pageKey, now time.Time, stale *renderedPage) (*renderedPage, error) {
	select {
	case p.render <- struct{}{}:
	default:
		if stale != nil {
			return stale, nil
		}
		select {
		case p.render <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer func() { <-p.render }()
	if page, fresh := p.cached(key); fresh {
		return page, nil // rendered while this request waited
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	v, err := buildStatus(ctx, p.o, now)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := statusTmpl.ExecuteTemplate(&buf, "page", v); err != nil {
		return nil, err
	}
	sum := fnv.New64a()
	sum.Write(buf.Bytes())
	page := &renderedPage{key: key, body: buf.Bytes(), etag: fmt.Sprintf(`"%016x"`, sum.Sum64()), modified: now.UTC().Truncate(time.Second)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.page; old != nil && old.etag == page.etag {
		page.modified = old.modified // the same page: not modified since
	}
	p.page = page
	return page, nil
}

// statusView is what the template shows.
type statusView struct {
	Generated moment
	Overall   banner
	Empty     bool // no check has ever run
	Targets   []*targetView
	Open      []incidentView
	Recent    []incidentView
	Official  *officialView // nil when no status target was checked
	Next      *nextView     // nil when NextCheck is nil
	Egress    string        // "Our traffic reaches Cloudflare in FRA (DE)"; "" when the newest round's canary did not say
}

type banner struct{ Class, Text string }

// moment is a time for people (Text) and machines (ISO, for <time>).
type moment struct {
	ISO, Text string
	Ago       string // "5m ago", "in 3m"
}

type targetView struct {
	Name, Kind, URL string
	Checked         bool // has at least one result
	Verdict         string
	Class           string // up, blocked, limited, down, unknown: the colour
	Words           string // the verdict in words
	Detail          string
	Evidence        string // HTTP status, Ray ID, latency
	Since           moment
	SinceAtLeast    bool // the verdict held for all the history we read
	Last            moment
	Stale           bool // the newest result is older than the week shown
	Avail           []availView
	Bars            []bar
	Chart           chart
}

type availView struct {
	Window string // "24h", "7d"
	Label  string // "24 hours"
	Text   string // "99.3%", or "no checks"
	Up     int
	Checks int
}

type incidentView struct {
	ID       string
	Kind     string
	Title    string
	Targets  string // still failing (of an open incident), or all that took part
	Back     string // of an open incident: targets up again, whose cards say Up
	Started  moment
	Ended    moment // zero while open
	Open     bool
	Duration string
}

type officialView struct {
	Known       bool
	Class       string
	Indicator   string
	Description string
	Degraded    []string
	Incidents   []monitor.StatusIncident
	Checked     moment
	Detail      string // why it is unknown
}

type nextView struct {
	Scheduled bool
	At        moment
}

// targetAgg accumulates one target's rollups.
type targetAgg struct {
	view               *targetView
	target             monitor.Target
	last               *monitor.Result
	week               []monitor.Count // oldest hour first
	up24, n24, up7, n7 int
	hourUp, hourN      [24]int
	hourLat            [24]monitor.Sketch
}

// buildStatus reads what the page shows: a few hundred rows of hourly
// rollups, the newest result of each target, the alert state and the
// week's incidents; never the week's results.
func buildStatus(ctx context.Context, o StatusOptions, now time.Time) (*statusView, error) {
	// The hourly strip and the latency chart show 24 clock hours, the
	// current one last.
	barsEnd := now.Truncate(time.Hour)
	if barsEnd.Before(now) {
		barsEnd = barsEnd.Add(time.Hour)
	}
	b := &pageBuild{o: o, now: now, weekStart: now.Add(-weekWindow), barsStart: barsEnd.Add(-dayWindow),
		f: formatter{loc: o.Location, now: now}, latest: map[string]*monitor.Result{}}
	h, err := readHistory(ctx, o.Store, now.Add(-dayWindow), b.weekStart, b.barsStart)
	if err != nil {
		return nil, err
	}
	b.since, b.states = map[string]monitor.TargetState{}, h.states
	for _, st := range h.states {
		b.since[st.Target] = st
	}
	targets := o.Targets
	if targets == nil {
		targets = targetsIn(h.week)
	}
	v := &statusView{Generated: b.f.moment(now)}
	b.aggs = make(map[string]*targetAgg, len(targets))
	for _, t := range targets {
		tv := &targetView{Name: t.Name, Kind: t.Kind, URL: t.URL}
		v.Targets = append(v.Targets, tv)
		b.aggs[t.Name] = &targetAgg{view: tv, target: t}
	}
	statusTargets := b.tally(h)
	anyChecked := false
	for _, t := range targets {
		checked, err := b.card(ctx, b.aggs[t.Name])
		if err != nil {
			return nil, err
		}
		anyChecked = anyChecked || checked
	}
	v.Empty = !anyChecked
	v.Overall = overall(v.Targets, v.Empty)
	for _, in := range h.incidents {
		if iv := b.incident(in); iv.Open {
			v.Open = append(v.Open, iv)
		} else {
			v.Recent = append(v.Recent, iv)
		}
	}
	if v.Official, err = b.officialStatus(ctx, statusTargets, targets); err != nil {
		return nil, err
	}
	// Where our traffic reaches Cloudflare: as the newest round's canary
	// said, from the history, so every replica shows it, and this one
	// after a restart.
	var newest *monitor.Result
	for _, r := range b.latest {
		if newest == nil || r.CheckedAt.After(newest.CheckedAt) {
			newest = r
		}
	}
	if newest != nil {
		if e := newest.Egress(); e != "" {
			v.Egress = strings.ToUpper(e[:1]) + e[1:] + "."
		}
	}
	if o.NextCheck != nil {
		next := o.NextCheck()
		v.Next = &nextView{Scheduled: !next.IsZero()}
		if v.Next.Scheduled {
			v.Next.At = b.f.moment(next)
		}
	}
	return v, nil
}

// pageBuild is one rendering of the page: its times, and what it learnt of
// each target so far.
type pageBuild struct {
	o                         StatusOptions
	now, weekStart, barsStart time.Time
	f                         formatter
	aggs                      map[string]*targetAgg
	since                     map[string]monitor.TargetState // alert state by target
	states                    []monitor.TargetState          // the same, as read
	latest                    map[string]*monitor.Result     // newest result by target
}

// history is what one rendering reads from the store: the rollups of the
// week and the day, the hourly latencies of the strip, the alert state and
// the week's incidents.
type history struct {
	week, day []monitor.Count
	lats      []monitor.HourLatency
	states    []monitor.TargetState
	incidents []monitor.Incident
}

func readHistory(ctx context.Context, store History, dayStart, weekStart, barsStart time.Time) (h history, err error) {
	if h.week, err = store.Counts(ctx, weekStart); err != nil {
		return h, fmt.Errorf("reading the week's counts: %w", err)
	}
	if h.day, err = store.Counts(ctx, dayStart); err != nil {
		return h, fmt.Errorf("reading the day's counts: %w", err)
	}
	if h.lats, err = store.Latencies(ctx, barsStart); err != nil {
		return h, fmt.Errorf("reading latencies: %w", err)
	}
	if h.states, err = store.AlertState(ctx); err != nil {
		return h, fmt.Errorf("reading alert state: %w", err)
	}
	if h.incidents, err = store.Incidents(ctx, weekStart); err != nil {
		return h, fmt.Errorf("reading incidents: %w", err)
	}
	return h, nil
}

// tally adds the rollups up per target: availability over the week and
// the day, and the hourly strip. It returns the targets whose newest
// result may be OpenAI's official status.
func (b *pageBuild) tally(h history) map[string]bool {
	statusTargets := map[string]bool{}
	for _, c := range h.week {
		if c.Kind == monitor.TargetStatus || c.Official != "" {
			statusTargets[c.Target] = true
		}
		a := b.aggs[c.Target]
		if a == nil {
			continue // a target no longer configured
		}
		a.week = append(a.week, c)
		if c.Offline {
			continue // our own network was down: says nothing about ChatGPT
		}
		a.n7 += c.N
		if c.Verdict == cloudflare.Up {
			a.up7 += c.N
		}
	}
	for _, c := range h.day {
		a := b.aggs[c.Target]
		if a == nil || c.Offline {
			continue
		}
		up := 0
		if c.Verdict == cloudflare.Up {
			up = c.N
		}
		a.n24 += c.N
		a.up24 += up
		if i := int(c.Hour.Sub(b.barsStart) / time.Hour); !c.Hour.Before(b.barsStart) && i < 24 {
			a.hourN[i] += c.N
			a.hourUp[i] += up
		}
	}
	for _, l := range h.lats {
		if a := b.aggs[l.Target]; a != nil {
			if i := int(l.Hour.Sub(b.barsStart) / time.Hour); !l.Hour.Before(b.barsStart) && i < 24 {
				a.hourLat[i].Merge(l.Sketch)
			}
		}
	}
	return statusTargets
}

// card fills a target's card from its newest result; checked is false
// when it has none.
func (b *pageBuild) card(ctx context.Context, a *targetAgg) (checked bool, err error) {
	t, tv, f := a.target, a.view, b.f
	rs, err := b.o.Store.LatestResults(ctx, t.Name, 1)
	if err != nil {
		return false, fmt.Errorf("reading results of %s: %w", t.Name, err)
	}
	if len(rs) > 0 {
		a.last = &rs[0]
		b.latest[t.Name] = a.last
		tv.Stale = a.last.CheckedAt.Before(b.weekStart) // nothing this week: the newest there is
	}
	tv.Avail = []availView{
		availability("24h", "24 hours", a.up24, a.n24),
		availability("7d", "7 days", a.up7, a.n7),
	}
	tv.Bars = hourBars(a, b.barsStart, f)
	tv.Chart = latencyChart(a.hourLat)
	if a.last == nil {
		tv.Class, tv.Words = "unknown", "No checks yet"
		return false, nil
	}
	r := a.last
	tv.Checked = true
	tv.Verdict = string(r.Verdict)
	tv.Class, tv.Words = verdictWords(*r)
	tv.Detail, tv.Evidence = r.Detail, strings.Join(r.Evidence(), " · ")
	if o := r.Official; o != nil && o.Indicator != "" && o.Indicator != monitor.IndicatorUnknown {
		// Up is about the page itself; say what it said.
		tv.Detail = "The status page answers; it says: " + cmp.Or(o.Description, o.Indicator) + "."
	}
	tv.Last = f.moment(r.CheckedAt)
	// The alert state knows when the verdict began even beyond the
	// history read here; the history is the fallback (e.g. for a check
	// the daemon did not run, whose state is not saved).
	switch st, ok := b.since[t.Name]; {
	case ok && st.Verdict == r.Verdict && !st.Since.IsZero() && !st.Since.After(r.CheckedAt):
		tv.Since = f.moment(st.Since)
	case tv.Stale:
		tv.Since = f.moment(r.CheckedAt)
	default:
		start, atLeast, err := runStart(ctx, b.o.Store, a, b.weekStart)
		if err != nil {
			return true, err
		}
		tv.Since, tv.SinceAtLeast = f.moment(start), atLeast
	}
	return true, nil
}

// incident is one incident of the week, open or recent.
func (b *pageBuild) incident(in monitor.Incident) incidentView {
	iv := incidentView{
		ID: in.ID, Kind: string(in.Kind), Title: in.Headline(nil, nil), Targets: strings.Join(in.Targets, ", "),
		Started: b.f.moment(in.Started), Open: in.Open(),
	}
	end := b.now
	if !in.Open() {
		end = in.Ended
		iv.Ended = b.f.moment(in.Ended)
	} else {
		// A target whose card says Up is not listed as failing, even
		// before the alert counts it recovered.
		var still, back []string
		var latest []monitor.Result
		for _, t := range in.Targets {
			a := b.aggs[t]
			st, inState := b.since[t]
			up := a != nil && a.last != nil && a.last.Verdict == cloudflare.Up
			if up || inState && st.Incident != in.ID {
				back = append(back, t)
			} else {
				still = append(still, t)
				if a != nil && a.last != nil {
					latest = append(latest, *a.last)
				}
			}
		}
		iv.Targets, iv.Back = strings.Join(still, ", "), strings.Join(back, ", ")
		// Titled for what the targets listed as failing show, as in chat:
		// an outage that ended beside a DNS filter that goes on is the
		// filter now.
		iv.Title = in.Headline(latest, b.states)
	}
	iv.Duration = format.Duration(end.Sub(in.Started))
	return iv
}

// officialStatus is OpenAI's official status: the newest result this week of a
// status target.
func (b *pageBuild) officialStatus(ctx context.Context, statusTargets map[string]bool, targets []monitor.Target) (*officialView, error) {
	var statusResult *monitor.Result
	for name := range statusTargets {
		r := b.latest[name]
		if r == nil {
			rs, err := b.o.Store.LatestResults(ctx, name, 1)
			if err != nil {
				return nil, fmt.Errorf("reading results of %s: %w", name, err)
			}
			if len(rs) == 0 {
				continue
			}
			r = &rs[0]
		}
		if !r.CheckedAt.Before(b.weekStart) && (statusResult == nil || r.CheckedAt.After(statusResult.CheckedAt)) {
			statusResult = r
		}
	}
	switch {
	case statusResult != nil:
		return official(*statusResult, b.f), nil
	case slices.ContainsFunc(targets, func(t monitor.Target) bool { return t.Kind == monitor.TargetStatus }):
		return &officialView{Class: "unknown", Indicator: "unknown", Detail: "The status page has not been checked yet."}, nil
	}
	return nil, nil
}

// runStart finds when a's newest verdict began within the week: the
// first result after the newest one with another verdict. The rollups
// name the hour to look in, so at most two hours of one target's results
// are read. atLeast is set when the verdict held for the whole week, so
// it may have begun earlier.
func runStart(ctx context.Context, store History, a *targetAgg, weekStart time.Time) (start time.Time, atLeast bool, err error) {
	verdict := a.last.Verdict
	changed := -1 // index in a.week of the newest count of another verdict
	for i, c := range a.week {
		if c.Verdict != verdict {
			changed = i
		}
	}
	if changed < 0 {
		if len(a.week) == 0 {
			return a.last.CheckedAt, true, nil
		}
		first := a.week[0].Hour
		rs, err := store.TargetResults(ctx, a.target.Name, maxTime(first, weekStart), first.Add(time.Hour))
		if err != nil {
			return time.Time{}, false, fmt.Errorf("reading results of %s: %w", a.target.Name, err)
		}
		if len(rs) == 0 {
			return a.last.CheckedAt, true, nil // pruned meanwhile
		}
		return rs[0].CheckedAt, true, nil
	}
	hour := a.week[changed].Hour
	to := hour.Add(time.Hour)
	for _, c := range a.week[changed:] {
		if c.Hour.After(hour) { // the next hour with results: the run may begin there
			to = c.Hour.Add(time.Hour)
			break
		}
	}
	rs, err := store.TargetResults(ctx, a.target.Name, maxTime(hour, weekStart), to)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading results of %s: %w", a.target.Name, err)
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Verdict != verdict {
			if i+1 < len(rs) {
				return rs[i+1].CheckedAt, false, nil
			}
			break
		}
	}
	// The history changed under us (a round recorded meanwhile): the
	// newest result is the best we know.
	return a.last.CheckedAt, false, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// targetsIn lists the targets counted, by name.
func targetsIn(counts []monitor.Count) []monitor.Target {
	seen := map[string]bool{}
	var out []monitor.Target
	for _, c := range counts {
		if !seen[c.Target] {
			seen[c.Target] = true
			out = append(out, monitor.Target{Name: c.Target, Kind: c.Kind})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func availability(window, label string, up, n int) availView {
	av := availView{Window: window, Label: label, Up: up, Checks: n, Text: "no checks"}
	if n > 0 {
		av.Text = percent(up, n)
	}
	return av
}

// percent is part/whole with one decimal at most, never rounding a
// failure away (99.96% shows as 99.9%) nor a success (0.04% as 0.1%).
func percent(part, whole int) string {
	p := 100 * float64(part) / float64(whole)
	switch {
	case part != whole && p > 99.9:
		p = 99.9
	case part != 0 && p < 0.1:
		p = 0.1
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0") + "%"
}

// verdictWords is a result in words, with the colour class it shows in.
func verdictWords(r monitor.Result) (class, words string) {
	// Offline matters only for an outage verdict: a block page or a DNS
	// filter's answer is evidence whatever the canary said.
	if r.Offline && r.Verdict.Outage() {
		return "unknown", "Unknown: our own network was offline"
	}
	code := r.Code
	if code == 0 {
		code = r.Status
	}
	switch r.Verdict {
	case cloudflare.Up:
		return "up", "Up"
	case cloudflare.Unreachable:
		return "down", "Down: unreachable"
	case cloudflare.Challenged:
		return "blocked", "Blocked from our network (Cloudflare challenge)"
	case cloudflare.Blocked1020:
		return "blocked", "Blocked from our network (Cloudflare 1020)"
	case cloudflare.BlockedOther:
		return "blocked", fmt.Sprintf("Blocked from our network (Cloudflare %d)", code)
	case cloudflare.BlockedNetwork:
		return "blocked", "Blocked by our own network"
	case cloudflare.RateLimited:
		if r.Code == 1015 {
			return "limited", "Rate limited (Cloudflare 1015)"
		}
		return "limited", fmt.Sprintf("Rate limited (HTTP %d)", r.Status)
	case cloudflare.OriginDown:
		return "down", fmt.Sprintf("Down: origin %d", code)
	case cloudflare.OriginError:
		return "down", fmt.Sprintf("Down: server error %d", r.Status)
	}
	if r.Status != 0 {
		return "unknown", fmt.Sprintf("Unexpected answer (HTTP %d)", r.Status)
	}
	return "unknown", "Unexpected answer"
}

// overall is the headline, from the targets other than the status page.
func overall(targets []*targetView, empty bool) banner {
	if empty {
		return banner{"unknown", "No checks yet"}
	}
	var offline, unexpected bool
	var s monitor.Situation // what the cards show, worded as the chat status words it
	checked := 0
	for _, t := range targets {
		if t.Kind == monitor.TargetStatus || !t.Checked {
			continue
		}
		checked++
		switch t.Class {
		case "down":
			s |= monitor.SituationDown
		case "blocked":
			if t.Verdict == string(cloudflare.BlockedNetwork) {
				s |= monitor.SituationOwnNetwork
			} else {
				s |= monitor.SituationCloudflare
			}
		case "limited":
			s |= monitor.SituationRateLimited
		case "unknown":
			if strings.HasPrefix(t.Words, "Unknown") {
				offline = true
			} else {
				unexpected = true
			}
		}
	}
	switch {
	case checked == 0:
		return banner{"unknown", "No checks of ChatGPT yet"}
	case s.Has(monitor.SituationDown):
		return banner{"down", s.FromHere()}
	case s.Blocked():
		return banner{"blocked", s.FromHere()}
	case s != 0:
		return banner{"limited", s.FromHere()}
	case offline:
		return banner{"unknown", "Our own network seemed offline at the last check"}
	case unexpected:
		return banner{"unknown", "ChatGPT answers unexpectedly from here"}
	}
	return banner{"up", "ChatGPT is reachable from here"}
}

func official(r monitor.Result, f formatter) *officialView {
	ov := &officialView{Checked: f.moment(r.CheckedAt)}
	if r.Official == nil || r.Official.Indicator == "" || r.Official.Indicator == monitor.IndicatorUnknown {
		ov.Class, ov.Indicator = "unknown", "unknown"
		ov.Detail = "OpenAI's status page could not be read at the last check"
		if r.Detail != "" {
			ov.Detail += " (" + r.Detail + ")"
		}
		ov.Detail += "."
		return ov
	}
	o := r.Official
	ov.Known, ov.Indicator, ov.Description, ov.Incidents = true, o.Indicator, o.Description, o.Incidents
	switch o.Indicator {
	case "none":
		ov.Class = "up"
	case "minor", "maintenance":
		ov.Class = "limited"
	default:
		ov.Class = "down"
	}
	if ov.Description == "" {
		ov.Description = "Indicator: " + o.Indicator
	}
	for name, status := range o.Components {
		if status != "" && status != "operational" {
			ov.Degraded = append(ov.Degraded, name+": "+strings.ReplaceAll(status, "_", " "))
		}
	}
	sort.Strings(ov.Degraded)
	return ov
}

// formatter shows times in the page's zone, relative to the page's now.
type formatter struct {
	loc *time.Location
	now time.Time
}

func (f formatter) moment(t time.Time) moment {
	if t.IsZero() {
		return moment{}
	}
	lt, ln := t.In(f.loc), f.now.In(f.loc)
	m := moment{ISO: t.UTC().Format(time.RFC3339)}
	if lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year() {
		m.Text = lt.Format("15:04 MST")
	} else {
		m.Text = lt.Format("Jan 2, 15:04 MST")
	}
	switch d := f.now.Sub(t); {
	case d > -time.Minute && d < time.Minute:
		m.Ago = "just now"
		if d < 0 {
			m.Ago = "in less than a minute"
		}
	case d > 0:
		m.Ago = format.Duration(d) + " ago"
	default:
		m.Ago = "in " + format.Duration(-d)
	}
	return m
}
