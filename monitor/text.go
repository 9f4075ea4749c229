package monitor

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gptaccess/cloudflare"
)

// Titles and advice per alert kind, worded for the team rather than for
// operators: what happened, and what to do about it.
var (
	kindTitle = map[Kind]string{
		KindDown:        "ChatGPT is down",
		KindBlocked:     "ChatGPT is blocked from our network",
		KindRateLimited: "ChatGPT is rate limiting our network",
	}
	kindResolved = map[Kind]string{
		KindDown:        "ChatGPT is back up",
		KindBlocked:     "ChatGPT is reachable from our network again",
		KindRateLimited: "ChatGPT no longer rate limits our network",
	}
	kindAdvice = map[Kind]string{
		KindDown: "ChatGPT is not answering from here, while our own network works. " +
			"There is nothing to fix on our side; I'll post here when it is back.",
		KindBlocked: "Cloudflare, in front of ChatGPT, refuses requests from our network, so everyone here is affected; this is not an outage. " +
			"Contact IT (and OpenAI support, quoting the Ray ID below); meanwhile try another network, e.g. a phone on mobile data.",
		KindRateLimited: "Cloudflare is throttling requests from our network. It usually passes within minutes; " +
			"if it lasts, something here may be sending too many requests: tell IT.",
	}
)

// notice builds one alert message. For PhaseUpdate, back lists targets
// that recovered (and targets those still failing); without back,
// targets are the ones that just joined.
func (m *Monitor) notice(in *Incident, phase Phase, results map[string]Result, back, targets []string, now time.Time) Notice {
	n := Notice{
		Incident: in.ID, Kind: in.Kind, Phase: phase, Targets: slices.Clone(in.Targets),
		Title: kindTitle[in.Kind], Started: in.Started,
	}
	var b strings.Builder
	switch phase {
	case PhaseOpened:
		fmt.Fprintf(&b, "**%s**\n%s\n", n.Title, kindAdvice[in.Kind])
		m.writeLines(&b, targets, results, now)
	case PhaseReminder:
		n.Title = "Still going on: " + kindTitle[in.Kind]
		fmt.Fprintf(&b, "**%s** (for %s, since %s)\n", n.Title, FormatDuration(now.Sub(in.Started)), m.clock(in.Started, now))
		m.writeLines(&b, targets, results, now)
		b.WriteString(kindAdvice[in.Kind] + "\n")
	case PhaseUpdate:
		n.Title = "Update: " + kindTitle[in.Kind]
		if len(back) > 0 {
			fmt.Fprintf(&b, "**%s**\nBack to normal: %s. Still failing:\n", n.Title, strings.Join(back, ", "))
		} else {
			fmt.Fprintf(&b, "**%s**\nNow also failing:\n", n.Title)
		}
		m.writeLines(&b, targets, results, now)
	case PhaseResolved:
		n.Title = kindResolved[in.Kind]
		n.Duration = now.Sub(in.Started)
		fmt.Fprintf(&b, "**%s** after %s (since %s).\n", n.Title, FormatDuration(n.Duration), m.clock(in.Started, now))
		m.writeLines(&b, back, results, now)
	}
	if o := m.latest.Official; phase != PhaseResolved && o.Indicator != "" && o.Indicator != IndicatorUnknown {
		b.WriteString("Official status: " + officialLine(o) + "\n")
	}
	n.Text = strings.TrimRight(b.String(), "\n")
	return n
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
	var ev []string
	if r.Status != 0 && !strings.Contains(s, "HTTP ") {
		ev = append(ev, fmt.Sprintf("HTTP %d", r.Status))
	}
	if r.RayID != "" && r.Verdict != cloudflare.Up { // evidence for IT; noise once it works
		ray := "Ray ID " + r.RayID
		if r.DataCenter != "" {
			ray += ", data centre " + r.DataCenter
		}
		ev = append(ev, ray)
	}
	if r.Latency > 0 {
		ev = append(ev, formatLatency(r.Latency))
	}
	if len(ev) > 0 {
		s += " (" + strings.Join(ev, ", ") + ")"
	}
	if st := m.states[r.Target]; st != nil && !st.Since.IsZero() && st.Verdict == r.Verdict {
		s += ", since " + m.clock(st.Since, now)
	}
	return s
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

// FormatDuration is d in the largest two units: "45s", "12m", "1h 5m",
// "2d 3h".
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if mins := int(d.Minutes()) % 60; mins != 0 {
			return fmt.Sprintf("%dh %dm", h, mins)
		}
		return fmt.Sprintf("%dh", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h != 0 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}
