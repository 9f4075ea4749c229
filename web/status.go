package web

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
)

// StatusOptions configure StatusPage. Zero values mean the documented
// defaults.
type StatusOptions struct {
	// Store is the check history and alert state; required.
	Store monitor.Store
	// Targets are the monitored targets, in the order shown. nil means
	// the targets found in the last 7 days of history, by name.
	Targets []monitor.Target
	// NextCheck says when the next scheduled check runs, e.g.
	// (*monitor.Monitor).NextCheck; a zero time means none is scheduled.
	// nil leaves the line out.
	NextCheck func() time.Time
	// Canary says where our traffic reaches Cloudflare, e.g.
	// (*monitor.Monitor).LatestCanary; nil, or a canary that did not say,
	// leaves the line out.
	Canary func() monitor.Canary
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
	log := o.Logger.With("component", "status_page")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		defer cancel()
		var buf bytes.Buffer
		v, err := buildStatus(ctx, o)
		if err == nil {
			err = statusTmpl.ExecuteTemplate(&buf, "page", v)
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		// Everything is inline; nothing may be fetched.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		if err != nil {
			log.Error("rendering the status page", "err", err)
			buf.Reset()
			statusTmpl.ExecuteTemplate(&buf, "error", nil)
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Write(buf.Bytes())
	})
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
	Egress    string        // "Our traffic reaches Cloudflare in FRA (DE)"; "" when unknown
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

// targetAgg accumulates one target's history in one pass.
type targetAgg struct {
	view               *targetView
	last               *monitor.Result
	runStart           time.Time // first result of the newest run of equal verdicts
	first              time.Time // oldest result read
	up24, n24, up7, n7 int
	hourUp, hourN      [24]int
	hourLat            [24][]time.Duration
}

func buildStatus(ctx context.Context, o StatusOptions) (*statusView, error) {
	now := o.Now()
	dayStart, weekStart := now.Add(-dayWindow), now.Add(-weekWindow)
	results, err := o.Store.ResultsSince(ctx, weekStart)
	if err != nil {
		return nil, fmt.Errorf("reading results: %w", err)
	}
	states, err := o.Store.AlertState(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading alert state: %w", err)
	}
	incidents, err := o.Store.Incidents(ctx, weekStart)
	if err != nil {
		return nil, fmt.Errorf("reading incidents: %w", err)
	}
	f := formatter{loc: o.Location, now: now}

	targets := o.Targets
	if targets == nil {
		targets = targetsIn(results)
	}
	aggs := make(map[string]*targetAgg, len(targets))
	v := &statusView{Generated: f.moment(now)}
	for _, t := range targets {
		tv := &targetView{Name: t.Name, Kind: t.Kind, URL: t.URL}
		v.Targets = append(v.Targets, tv)
		aggs[t.Name] = &targetAgg{view: tv}
	}

	var statusResult *monitor.Result
	for i := range results {
		r := &results[i]
		if r.Kind == monitor.TargetStatus || r.Official != nil {
			statusResult = r
		}
		a := aggs[r.Target]
		if a == nil {
			continue // a target no longer configured
		}
		if a.first.IsZero() {
			a.first = r.CheckedAt
		}
		if a.last == nil || a.last.Verdict != r.Verdict {
			a.runStart = r.CheckedAt
		}
		a.last = r
		if r.Offline {
			continue // our own network was down: says nothing about ChatGPT
		}
		up := r.Verdict == cloudflare.Up
		a.n7++
		if up {
			a.up7++
		}
		if r.CheckedAt.Before(dayStart) {
			continue
		}
		a.n24++
		if up {
			a.up24++
		}
		h := min(int(r.CheckedAt.Sub(dayStart)/time.Hour), 23)
		a.hourN[h]++
		if up {
			a.hourUp[h]++
		}
		if r.Status != 0 && r.Latency > 0 {
			a.hourLat[h] = append(a.hourLat[h], r.Latency)
		}
	}

	since := map[string]monitor.TargetState{}
	for _, st := range states {
		since[st.Target] = st
	}
	anyChecked := false
	for _, t := range targets {
		a := aggs[t.Name]
		tv := a.view
		if a.last == nil {
			// Nothing this week: show the newest result there is, if any.
			old, err := o.Store.LatestResults(ctx, t.Name, 1)
			if err != nil {
				return nil, fmt.Errorf("reading results of %s: %w", t.Name, err)
			}
			if len(old) > 0 {
				a.last, a.runStart, a.first = &old[0], old[0].CheckedAt, old[0].CheckedAt
				tv.Stale = true
			}
		}
		tv.Avail = []availView{
			availability("24h", "24 hours", a.up24, a.n24),
			availability("7d", "7 days", a.up7, a.n7),
		}
		tv.Bars = hourBars(a, dayStart, f)
		tv.Chart = latencyChart(a.hourLat)
		if a.last == nil {
			tv.Class, tv.Words = "unknown", "No checks yet"
			continue
		}
		anyChecked = true
		r := a.last
		tv.Checked = true
		tv.Verdict = string(r.Verdict)
		tv.Class, tv.Words = verdictWords(*r)
		tv.Detail, tv.Evidence = r.Detail, evidence(*r)
		if o := r.Official; o != nil && o.Indicator != "" && o.Indicator != monitor.IndicatorUnknown {
			// Up is about the page itself; say what it said.
			tv.Detail = "The status page answers; it says: " + cmp.Or(o.Description, o.Indicator) + "."
		}
		tv.Last = f.moment(r.CheckedAt)
		start := a.runStart
		// The alert state knows when the verdict began even beyond the
		// history read here; the history is the fallback (e.g. for a
		// check the daemon did not run, whose state is not saved).
		if st, ok := since[t.Name]; ok && st.Verdict == r.Verdict && !st.Since.IsZero() && !st.Since.After(r.CheckedAt) {
			start = st.Since
		} else if start.Equal(a.first) && !tv.Stale {
			tv.SinceAtLeast = true // the run may have begun before the history we read
		}
		tv.Since = f.moment(start)
	}
	v.Empty = !anyChecked
	v.Overall = overall(v.Targets, v.Empty)

	for _, in := range incidents {
		iv := incidentView{
			ID: in.ID, Kind: string(in.Kind), Title: kindTitle(in.Kind, in.Open()), Targets: strings.Join(in.Targets, ", "),
			Started: f.moment(in.Started), Open: in.Open(),
		}
		end := now
		if !in.Open() {
			end = in.Ended
			iv.Ended = f.moment(in.Ended)
		} else {
			// A target whose card says Up is not listed as failing, even
			// before the alert counts it recovered.
			var still, back []string
			for _, t := range in.Targets {
				a := aggs[t]
				st, inState := since[t]
				up := a != nil && a.last != nil && a.last.Verdict == cloudflare.Up
				if up || inState && st.Incident != in.ID {
					back = append(back, t)
				} else {
					still = append(still, t)
				}
			}
			iv.Targets, iv.Back = strings.Join(still, ", "), strings.Join(back, ", ")
		}
		iv.Duration = monitor.FormatDuration(end.Sub(in.Started))
		if iv.Open {
			v.Open = append(v.Open, iv)
		} else {
			v.Recent = append(v.Recent, iv)
		}
	}

	if statusResult != nil {
		v.Official = official(*statusResult, f)
	} else if slices.ContainsFunc(targets, func(t monitor.Target) bool { return t.Kind == monitor.TargetStatus }) {
		v.Official = &officialView{Class: "unknown", Indicator: "unknown", Detail: "The status page has not been checked yet."}
	}
	if o.Canary != nil {
		if e := o.Canary().Egress(); e != "" {
			v.Egress = strings.ToUpper(e[:1]) + e[1:] + "."
		}
	}
	if o.NextCheck != nil {
		next := o.NextCheck()
		v.Next = &nextView{Scheduled: !next.IsZero()}
		if v.Next.Scheduled {
			v.Next.At = f.moment(next)
		}
	}
	return v, nil
}

// targetsIn lists the targets found in results, by name.
func targetsIn(results []monitor.Result) []monitor.Target {
	seen := map[string]bool{}
	var out []monitor.Target
	for _, r := range results {
		if !seen[r.Target] {
			seen[r.Target] = true
			out = append(out, monitor.Target{Name: r.Target, Kind: r.Kind})
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

// evidence is what someone may need to quote to IT or support.
func evidence(r monitor.Result) string {
	var ev []string
	if r.Status != 0 {
		ev = append(ev, fmt.Sprintf("HTTP %d", r.Status))
	}
	if r.RayID != "" && r.Verdict != cloudflare.Up {
		ray := "Ray ID " + r.RayID
		if r.DataCenter != "" {
			ray += "-" + r.DataCenter
		}
		ev = append(ev, ray)
	}
	if r.Latency > 0 {
		ev = append(ev, formatMS(r.Latency))
	}
	return strings.Join(ev, " · ")
}

// overall is the headline, from the targets other than the status page.
func overall(targets []*targetView, empty bool) banner {
	if empty {
		return banner{"unknown", "No checks yet"}
	}
	var down, blocked, cloudflareBlock, limited, offline, unexpected bool
	checked := 0
	for _, t := range targets {
		if t.Kind == monitor.TargetStatus || !t.Checked {
			continue
		}
		checked++
		switch t.Class {
		case "down":
			down = true
		case "blocked":
			blocked = true
			cloudflareBlock = cloudflareBlock || t.Verdict != string(cloudflare.BlockedNetwork)
		case "limited":
			limited = true
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
	case down:
		return banner{"down", "ChatGPT looks down from here"}
	case blocked && !cloudflareBlock:
		return banner{"blocked", "ChatGPT is blocked by our own network"}
	case blocked:
		return banner{"blocked", "ChatGPT is blocked from our network"}
	case limited:
		return banner{"limited", "ChatGPT is rate limiting our network"}
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

// kindTitle is an incident in words: "ChatGPT is down" while it lasts,
// "ChatGPT was down" once resolved.
func kindTitle(k monitor.Kind, open bool) string {
	is := "was"
	if open {
		is = "is"
	}
	switch k {
	case monitor.KindDown:
		return "ChatGPT " + is + " down"
	case monitor.KindBlocked:
		return "ChatGPT " + is + " blocked from our network"
	case monitor.KindRateLimited:
		return "ChatGPT " + is + " rate limiting our network"
	}
	return string(k)
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
		m.Ago = monitor.FormatDuration(d) + " ago"
	default:
		m.Ago = "in " + monitor.FormatDuration(-d)
	}
	return m
}
