package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gptaccess/bot"
	"gptaccess/cloudflare"
	"gptaccess/format"
)

var _ bot.StatusReporter = (*Monitor)(nil)

// Status implements bot.StatusReporter from the latest results, checking
// afresh when none are newer than the last scheduled check time (or there
// are none, e.g. when Run is not running).
func (m *Monitor) Status(ctx context.Context) (bot.StatusReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.load(ctx)
	rd := m.latest
	if m.stale(rd) {
		fresh, err := m.checkLocked(ctx)
		switch {
		case err == nil:
			rd = fresh
		case len(rd.Results) == 0:
			return bot.StatusReport{}, fmt.Errorf("checking reachability: %w", err)
		}
	}
	return m.report(rd), nil
}

// stale reports whether a scheduled check has been due since rd.
func (m *Monitor) stale(rd Round) bool {
	return len(rd.Results) != len(m.targets) || !m.now().Before(m.check.Next(rd.At.In(m.loc)))
}

// report turns a round into the chat answer to "status".
func (m *Monitor) report(rd Round) bot.StatusReport {
	var rep bot.StatusReport
	allUp := true
	var present Situation
	results := map[string]Result{}
	var downs []string
	for _, r := range rd.Results {
		results[r.Target] = r
		if r.Kind == TargetStatus {
			continue // about the status page itself, not ChatGPT
		}
		down := r.Verdict.Outage() && rd.Canary.OK
		if down {
			rep.Down = true
			downs = append(downs, r.Target)
		}
		rep.Blocked = rep.Blocked || r.Verdict.Blocked()
		// Our network blocking ChatGPT concludes the diagnosis's network
		// cause; an `http` target may be any host (an intranet page), so
		// only ChatGPT's own front doors say that.
		if r.Verdict == cloudflare.BlockedNetwork && !rep.NetworkBlocked && m.fronted(r.Target) {
			rep.NetworkBlocked, rep.NetworkBlock = true, r.Detail
		}
		if c := shows(r); c != SituationDown || down {
			present |= c
		}
		allUp = allUp && r.Verdict == cloudflare.Up
	}
	rep.OfficialIncident = rd.Official.Major() || len(rd.Official.Incidents) > 0
	// A name that does not resolve may be our own DNS's doing as much as
	// OpenAI's: the alert says so, and so do the status and the diagnosis.
	unresolvedHosts, allUnresolved := m.unresolved(downs, results)
	rep.DNSUnsure = allUnresolved

	head := present.FromHere()
	if rep.DNSUnsure {
		head = strings.Replace(head, "ChatGPT looks down from here", "ChatGPT looks down from here, but only because our DNS does not resolve its names", 1)
		head = strings.Replace(head, "names and is", "names, and is", 1)
	}
	switch {
	case head != "":
	case !rd.Canary.OK:
		head = "Our own network seems offline, so I cannot tell whether ChatGPT is up"
	case allUp:
		head = "ChatGPT is reachable from here"
	default:
		head = "ChatGPT answers unexpectedly from here"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n", head)
	if len(unresolvedHosts) > 0 {
		fmt.Fprintf(&b, "Our DNS does not resolve %s: %s; ask IT to check our DNS.\n", strings.Join(unresolvedHosts, " and "), m.dnsDoubt())
	}
	now := m.now()
	for _, r := range rd.Results {
		s := verdictWords[r.Verdict]
		if r.Verdict != cloudflare.Up {
			s += " — " + r.Detail
		}
		fmt.Fprintf(&b, "- %s: %s\n", r.Target, m.withEvidence(s, r, now))
	}
	if e := rd.Canary.Egress(); e != "" {
		b.WriteString(upperFirst(e) + ".\n")
	}
	b.WriteString("Official status: " + officialLine(rd.Official) + "\n")
	for _, in := range m.openList() {
		title, still := m.openNow(in, results)
		which := strings.Join(still, ", ")
		if len(still) == 0 {
			which = "all up again; it resolves after enough good checks in a row"
		}
		fmt.Fprintf(&b, "Open alert: %s since %s (%s)\n", title, m.clock(in.Started, now), which)
	}
	if !rd.At.IsZero() {
		fmt.Fprintf(&b, "Checked at %s.", m.clock(rd.At, now))
	}
	rep.Text = strings.TrimRight(b.String(), "\n")
	return rep
}

// openNow is the title of an open incident for what results show, as its
// notices word it, and its targets still failing. A target whose result
// says up is not listed as failing, even before the alert counts it
// recovered.
func (m *Monitor) openNow(in *Incident, results map[string]Result) (title string, still []string) {
	for _, t := range m.stillFailing(in) {
		if r, ok := results[t]; !ok || r.Verdict != cloudflare.Up || shows(r) != 0 {
			still = append(still, t)
		}
	}
	return openTitle(in, still, results, m.states), still
}

// stillFailing lists the targets of an open incident that have not
// recovered yet; all of them when the state does not say (a fresh start).
func (m *Monitor) stillFailing(in *Incident) []string {
	if still := m.members(in.ID); len(still) > 0 {
		return still
	}
	return in.Targets
}

// digestWindow is what the digest sums up.
const digestWindow = 24 * time.Hour

func (m *Monitor) sendDigest(ctx context.Context) {
	if m.leading != nil && !m.leading(ctx) {
		m.log.Warn("no longer the leader; the digest is left to the new one")
		return
	}
	n, err := m.digestNotice(ctx)
	if err != nil {
		m.log.Error("building the digest", "err", err)
		return
	}
	if err := m.deliver(ctx, nil, nil, []Notice{n}); err != nil {
		m.log.Error("saving the digest for delivery", "err", err)
	}
}

// digestNotice sums up the last 24 hours: availability and latency per
// target, and the incidents.
func (m *Monitor) digestNotice(ctx context.Context) (Notice, error) {
	m.mu.Lock()
	official := m.latest.Official
	// Open incidents are titled as the chat status titles them now.
	titles := map[string]string{}
	latest := map[string]Result{}
	for _, r := range m.latest.Results {
		latest[r.Target] = r
	}
	for _, in := range m.open {
		titles[in.ID], _ = m.openNow(in, latest)
	}
	m.mu.Unlock()
	now := m.now()
	since := now.Add(-digestWindow)
	counts, err := m.store.Counts(ctx, since)
	if err != nil {
		return Notice{}, err
	}
	lats, err := m.store.Latencies(ctx, since)
	if err != nil {
		return Notice{}, err
	}
	incidents, err := m.store.Incidents(ctx, since)
	if err != nil {
		return Notice{}, err
	}
	n := Notice{Phase: PhaseDigest, Title: "ChatGPT reachability, last 24 hours", Started: since}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n", n.Title)
	for _, t := range m.targets {
		var up, counted int
		for _, c := range counts {
			if c.Target != t.Name {
				continue
			}
			// What the count knows of its results is all signalOf reads.
			r := Result{Kind: c.Kind, Verdict: c.Verdict, Offline: c.Offline}
			if c.Official != "" {
				r.Official = &Official{Indicator: c.Official}
			}
			switch sig, _, _ := m.signalOf(r, !r.Offline); sig {
			case unknown:
				continue // our own network was down
			case good:
				up += c.N
			}
			counted += c.N
		}
		var lat Sketch
		for _, l := range lats {
			if l.Target == t.Name {
				lat.Merge(l.Sketch)
			}
		}
		n.Targets = append(n.Targets, t.Name)
		if counted == 0 {
			fmt.Fprintf(&b, "- %s: no checks\n", t.Name)
			continue
		}
		fmt.Fprintf(&b, "- %s: %s available (%d of %d checks)", t.Name, percent(up, counted), up, counted)
		if lat.Count() > 0 {
			fmt.Fprintf(&b, ", latency p50 %s, p95 %s", formatLatency(lat.Quantile(0.50)), formatLatency(lat.Quantile(0.95)))
		}
		b.WriteString("\n")
	}
	if len(incidents) == 0 {
		b.WriteString("No incidents.\n")
	} else {
		b.WriteString("Incidents:\n")
		slices.Reverse(incidents) // oldest first reads like a log
		for _, in := range incidents {
			if in.Open() {
				title := titles[in.ID]
				if title == "" { // opened since this monitor read the state
					title = in.OpeningTitle()
				}
				fmt.Fprintf(&b, "- %s: since %s, still open (%s)\n", title, m.clock(in.Started, now), strings.Join(in.Targets, ", "))
				continue
			}
			fmt.Fprintf(&b, "- %s: %s – %s, %s (%s)\n", in.ResolvedTitle(), m.clock(in.Started, now), m.clock(in.Ended, now),
				format.Duration(in.Ended.Sub(in.Started)), strings.Join(in.Targets, ", "))
		}
	}
	b.WriteString("Official status now: " + officialLine(official))
	n.Text = b.String()
	return n, nil
}

func percent(part, whole int) string {
	p := 100 * float64(part) / float64(whole)
	if part != whole && p > 99.9 {
		p = 99.9 // never round a failure away
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0") + "%"
}

var _ bot.LatestReporter = (*Monitor)(nil)

// latestMaxAge is how old results may be for a diagnosis to lean on them.
const latestMaxAge = 30 * time.Minute

// Latest implements bot.LatestReporter: the latest results without a fresh
// check, because a diagnosis must not keep someone waiting on probes. ok is
// false while a check runs, or when there are no recent results.
func (m *Monitor) Latest(ctx context.Context) (bot.StatusReport, bool) {
	if !m.mu.TryLock() {
		return bot.StatusReport{}, false
	}
	defer m.mu.Unlock()
	m.load(ctx)
	rd := m.latest
	if len(rd.Results) == 0 || m.now().Sub(rd.At) > latestMaxAge {
		return bot.StatusReport{}, false
	}
	return m.report(rd), true
}
