package monitor

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/format"
)

// severity orders kinds: a mixed round opens its incident under the most
// serious one (and words it for each).
var severity = map[Kind]int{KindRateLimited: 1, KindBlocked: 2, KindDown: 3}

// blockedHere reports whether any result shows ChatGPT blocked from here,
// by Cloudflare or by our own network: then nothing may say "nothing to
// fix on our side".
func blockedHere(results map[string]Result) bool {
	for _, r := range results {
		if shows(r).Blocked() {
			return true
		}
	}
	return false
}

// probedDown reports whether one of targets was found down by our own
// probes, not only by OpenAI's status page.
func probedDown(targets []string, results map[string]Result) bool {
	for _, t := range targets {
		if r, ok := results[t]; ok && r.Verdict.Outage() {
			return true
		}
	}
	return false
}

// unresolved lists the hosts of targets whose result failed at DNS (see
// failedDNS), and reports whether every target found down by our probes
// did.
func (m *Monitor) unresolved(targets []string, results map[string]Result) (hosts []string, all bool) {
	all = true
	for _, t := range targets {
		r, ok := results[t]
		if !ok || !r.Verdict.Outage() {
			continue
		}
		if !failedDNS(r) {
			all = false
			continue
		}
		if h := m.host(t); h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, all && len(hosts) > 0
}

// failedDNS reports whether r is unreachable because its host name did not
// resolve (no such host, only sinkhole addresses, a failed or timed-out
// lookup): the probe's detail then starts with "DNS".
func failedDNS(r Result) bool {
	return r.Verdict == cloudflare.Unreachable && strings.HasPrefix(r.Detail, "DNS")
}

// canaryTestsDNS reports whether the canary resolves a name, and so tells
// our DNS failing from a name being filtered; an IP address canary (or
// none) cannot.
func (m *Monitor) canaryTestsDNS() bool {
	h := canaryHost(m.canary)
	return h != "" && net.ParseIP(h) == nil
}

// dnsDoubt says why a name that does not resolve is not proof of an
// outage: it may be our own DNS's doing (a filter, a broken resolver) as
// much as OpenAI's, and a canary given as an IP address cannot tell which.
func (m *Monitor) dnsDoubt() string {
	s := "that may be our own DNS rather than OpenAI"
	if m.canary != "" && !m.canaryTestsDNS() {
		s += " (our canary is an IP address, so it cannot tell)"
	}
	return s
}

// advice is what the team should do, one paragraph per class present, the
// one they can act on first.
func (m *Monitor) advice(present Situation, targets []string, results map[string]Result) []string {
	var out []string
	if present.Has(SituationOwnNetwork) {
		var blocked, what, hosts []string
		openAI := false
		for _, t := range targets {
			r, ok := results[t]
			if !ok || r.Verdict != cloudflare.BlockedNetwork {
				continue
			}
			// OpenAI's hosts are ChatGPT; an http target may be any host,
			// so it is named as configured.
			name := t
			if m.fronted(t) {
				name, openAI = "ChatGPT", true
			}
			if !slices.Contains(blocked, name) {
				blocked = append(blocked, name)
			}
			if w := blockedBy(r); !slices.Contains(what, w) {
				what = append(what, w)
			}
			if h := m.host(t); h != "" && !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
		s := "Something on our own network blocks " + strings.Join(blocked, " and ") + " (" + strings.Join(what, "; ") + "), so everyone here is affected"
		if openAI && !present.Has(SituationDown) && !m.outageInRound(results) {
			s += "; OpenAI is not down"
		}
		s += ". IT can lift it"
		if openAI {
			s += ", OpenAI cannot"
		}
		if len(hosts) > 0 {
			s += ": ask them to allow " + strings.Join(hosts, " and ")
		}
		out = append(out, s+". Meanwhile another network, e.g. a phone on mobile data, works around it.")
	}
	if present.Has(SituationCloudflare) {
		out = append(out, "Cloudflare, in front of ChatGPT, refuses requests from our network, so everyone here is affected; this is not an outage. "+
			"Contact IT (and OpenAI support, quoting the Ray ID below); meanwhile try another network, e.g. a phone on mobile data.")
	}
	if present.Has(SituationDown) {
		s := "ChatGPT is not answering from here, while our own network works. "
		unresolvedHosts, allUnresolved := m.unresolved(targets, results)
		switch {
		case !probedDown(targets, results):
			s = "OpenAI's status page reports a major outage. "
		case allUnresolved:
			s = "Our DNS does not resolve " + strings.Join(unresolvedHosts, " and ") + ", while our own network answers. "
		case len(unresolvedHosts) > 0:
			s += "Our DNS does not resolve " + strings.Join(unresolvedHosts, " and ") + " either. "
		}
		switch {
		case len(unresolvedHosts) > 0:
			s += upperFirst(m.dnsDoubt())
			it := "it"
			if len(unresolvedHosts) > 1 {
				it = "them"
			}
			s += ": ask IT to check that our DNS resolves " + it + ". I'll post here when it is back."
		case blockedHere(results) || slices.ContainsFunc(slices.Collect(maps.Values(results)), failedDNS):
			s += "I'll post here when it is back."
		default:
			s += "There is nothing to fix on our side; I'll post here when it is back."
		}
		out = append(out, s)
	}
	if present.Has(SituationRateLimited) {
		out = append(out, "Cloudflare is throttling requests from our network. It usually passes within minutes; "+
			"if it lasts, something here may be sending too many requests: tell IT.")
	}
	return out
}

// outageInRound reports whether anything in the round says ChatGPT may be
// down (an outage verdict, OpenAI's own major or critical indicator), even
// for targets outside the notice at hand: then no notice may say "OpenAI
// is not down".
func (m *Monitor) outageInRound(results map[string]Result) bool {
	if m.latest.Official.Major() {
		return true
	}
	for _, r := range results {
		if shows(r).Has(SituationDown) {
			return true
		}
	}
	return false
}

// blockedBy names what on our network blocks a blocked-network result,
// from its detail: "a DNS filter", "TLS interception", "the Zscaler web
// filter", "a web filter", "our web proxy".
func blockedBy(r Result) string {
	d := r.Detail
	switch {
	case strings.HasPrefix(d, "DNS filter:"):
		return "a DNS filter"
	case strings.HasPrefix(d, "TLS interception:"):
		return "TLS interception"
	case strings.HasPrefix(d, "web filter: the "):
		if name, _, ok := strings.Cut(strings.TrimPrefix(d, "web filter: the "), " block page"); ok {
			return "the " + name + " web filter"
		}
	case strings.HasPrefix(d, "web proxy:"):
		return "our web proxy"
	}
	return "a web filter"
}

// fronted reports whether target is one of OpenAI's hosts (kinds api and
// web), which is ChatGPT to the team.
func (m *Monitor) fronted(target string) bool {
	for _, t := range m.targets {
		if t.Name == target {
			return t.fronted()
		}
	}
	return false
}

// host is the host name a target checks.
func (m *Monitor) host(target string) string {
	for _, t := range m.targets {
		if t.Name == target {
			if u, err := url.Parse(t.URL); err == nil {
				return u.Hostname()
			}
		}
	}
	return ""
}

// notice builds one alert message. For PhaseUpdate, back lists targets
// that recovered (and targets those still failing); without back,
// targets are the ones that just joined. Titles and advice follow what the
// targets showed, so a round with mixed verdicts is worded for each.
func (m *Monitor) notice(in *Incident, phase Phase, results map[string]Result, back, targets []string, now time.Time) Notice {
	n := Notice{
		Incident: in.ID, Kind: in.Kind, Phase: phase, Targets: slices.Clone(in.Targets),
		Opening: in.OpeningTitle(), Started: in.Started,
	}
	present := situationOf(targets, results)
	var b strings.Builder
	switch phase {
	case PhaseOpened:
		n.Title, n.Situation = in.OpeningTitle(), in.Opened
		fmt.Fprintf(&b, "**%s**\n", n.Title)
		for _, a := range m.advice(present, targets, results) {
			b.WriteString(a + "\n")
		}
		m.writeLines(&b, targets, results, now)
	case PhaseReminder:
		n.Situation = in.showing(targets, results, m.states)
		n.Title = "Still going on: " + openTitle(in, targets, results, m.states)
		fmt.Fprintf(&b, "**%s** (for %s, since %s)\n", n.Title, format.Duration(now.Sub(in.Started)), m.clock(in.Started, now))
		m.writeLines(&b, targets, results, now)
		for _, a := range m.advice(present, targets, results) {
			b.WriteString(a + "\n")
		}
	case PhaseUpdate:
		// Worded for what the targets still failing show, not for what
		// the incident opened with: once the outage of a round that also
		// met a DNS filter is over, the filter is what is left.
		still := m.members(in.ID)
		n.Situation = in.showing(still, results, m.states)
		n.Title = "Update: " + openTitle(in, still, results, m.states)
		if len(back) > 0 {
			fmt.Fprintf(&b, "**%s**\nBack to normal: %s. Still failing:\n", n.Title, strings.Join(back, ", "))
			m.writeLines(&b, targets, results, now)
		} else {
			fmt.Fprintf(&b, "**%s**\nNow also failing:\n", n.Title)
			m.writeLines(&b, targets, results, now)
			for _, a := range m.advice(present, targets, results) {
				b.WriteString(a + "\n")
			}
		}
	case PhaseResolved:
		// For all it showed, as the status page and the digest title it.
		n.Title, n.Situation = in.ResolvedTitle(), in.Seen
		n.Duration = now.Sub(in.Started)
		fmt.Fprintf(&b, "**%s** for %s (since %s).\n", n.Title, format.Duration(n.Duration), m.clock(in.Started, now))
		m.writeLines(&b, back, results, now)
	}
	if e := m.latest.Canary.Egress(); phase != PhaseResolved && e != "" {
		b.WriteString(upperFirst(e) + ".\n")
	}
	if o := m.latest.Official; phase != PhaseResolved && o.Indicator != "" && o.Indicator != IndicatorUnknown {
		b.WriteString("Official status: " + officialLine(o) + "\n")
	}
	n.Text = strings.TrimRight(b.String(), "\n")
	return n
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeLines writes one "- target: what we see" line per target.
func (m *Monitor) writeLines(b *strings.Builder, targets []string, results map[string]Result, now time.Time) {
	for _, t := range targets {
		r, ok := results[t]
		if !ok {
			continue
		}
		fmt.Fprintf(b, "- %s: %s\n", t, m.describe(r, now))
	}
}

// describe is one result in words: what it was, and the Cloudflare
// evidence someone may need to quote to IT or support.
func (m *Monitor) describe(r Result, now time.Time) string {
	s := r.Detail
	switch {
	case r.Official != nil && r.Official.Major():
		s = "OpenAI reports " + officialLine(*r.Official)
	case r.Verdict == cloudflare.Up:
		s = "up"
	}
	return m.withEvidence(s, r, now)
}

// withEvidence appends to s, what r is in words, r's Evidence and since
// when its verdict holds: alerts and the status in chat end lines this way.
func (m *Monitor) withEvidence(s string, r Result, now time.Time) string {
	ev := r.Evidence()
	if strings.Contains(s, "HTTP ") { // the detail says it already
		ev = slices.DeleteFunc(ev, func(e string) bool { return strings.HasPrefix(e, "HTTP ") })
	}
	if len(ev) > 0 {
		s += " (" + strings.Join(ev, ", ") + ")"
	}
	if st := m.states[r.Target]; st != nil && !st.Since.IsZero() && st.Verdict == r.Verdict {
		s += ", since " + m.clock(st.Since, now)
	}
	return s
}

// Evidence is what someone may need to quote to IT or support about r:
// its HTTP status, the Ray ID and data centre of an answer that is not up
// (noise once it works), and the latency. Chat, the command line and the
// status page all show it this way.
func (r Result) Evidence() []string {
	var ev []string
	if r.Status != 0 {
		ev = append(ev, fmt.Sprintf("HTTP %d", r.Status))
	}
	if r.RayID != "" && r.Verdict != cloudflare.Up {
		ray := "Ray ID " + r.RayID
		if r.DataCenter != "" {
			ray += ", data centre " + r.DataCenter
		}
		ev = append(ev, ray)
	}
	if r.Latency > 0 {
		ev = append(ev, format.Latency(r.Latency))
	}
	return ev
}

// clock formats t for chat in the monitor's time zone, with the date when
// it is not today.
func (m *Monitor) clock(t, now time.Time) string {
	t, now = t.In(m.loc), now.In(m.loc)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04 MST")
	}
	return t.Format("Jan 2 15:04 MST")
}
