package monitor

import (
	"slices"
	"sort"
	"strconv"
	"time"

	"gptaccess/cloudflare"
)

// signal is what one result means for a target's alert state.
type signal int

const (
	unknown signal = iota // tells nothing: counters stay as they are
	good                  // counts towards recovery
	bad                   // counts towards an incident
	neutral               // neither: breaks both streaks (an unexpected answer)
)

// signalOf classifies r for the state machine. For a status target the
// verdict is about the page itself; what counts is the official
// indicator, and an official major or critical needs no confirmation
// (threshold 1). Outage verdicts while the canary fails are unknown: our
// own network, not OpenAI, may be what failed.
func (m *Monitor) signalOf(r Result, canaryOK bool) (s signal, k Kind, threshold int) {
	if r.Kind == TargetStatus {
		switch {
		case r.Official == nil:
			return unknown, "", 0
		case r.Official.Major():
			return bad, KindDown, 1
		}
		return good, "", 0
	}
	switch {
	case r.Verdict == cloudflare.Up:
		return good, "", 0
	case r.Verdict.Outage():
		if !canaryOK {
			return unknown, "", 0
		}
		return bad, KindDown, m.failN
	case r.Verdict.Blocked() || r.Verdict == cloudflare.BlockedNetwork:
		return bad, KindBlocked, m.failN
	case r.Verdict == cloudflare.RateLimited:
		return bad, KindRateLimited, m.failN
	}
	return neutral, "", 0
}

// evaluate moves every target's state machine by one scheduled round and
// returns the notices to send and the incidents that changed. Targets
// that reach the failure threshold in the same round share one incident
// and one notice; a target whose kind already has an open incident joins
// it (an update in its thread) instead of opening another.
func (m *Monitor) evaluate(rd Round) (notices []Notice, changed []Incident) {
	now := rd.At
	results := map[string]Result{}
	var triggered []string
	recovered := map[string][]string{} // incident id → targets back to normal
	for _, r := range rd.Results {
		results[r.Target] = r
		st := m.state(r.Target)
		sig, kind, threshold := m.signalOf(r, rd.Canary.OK)
		switch sig {
		case good:
			st.Successes++
			st.Failures, st.FailingSince = 0, time.Time{}
		case bad:
			if st.Failures == 0 {
				st.FailingSince = r.CheckedAt
			}
			st.Failures++
			st.Successes, st.Kind = 0, kind
		case neutral:
			st.Failures, st.Successes, st.FailingSince = 0, 0, time.Time{}
		}
		switch {
		case st.Incident == "" && sig == bad && st.Failures >= threshold:
			triggered = append(triggered, r.Target)
		case st.Incident != "" && sig == good && st.Successes >= m.okN:
			recovered[st.Incident] = append(recovered[st.Incident], r.Target)
			st.Incident = ""
		}
	}
	// What the targets still in an incident show now is part of what it
	// showed, which its recovery and every list of incidents title it for.
	// Only what counts against a target: an unreachable verdict while our
	// own network is offline says nothing.
	grown := map[string]bool{}
	see := func(in *Incident, t string) {
		r, ok := results[t]
		if !ok {
			return
		}
		if sig, _, _ := m.signalOf(r, rd.Canary.OK); sig != bad {
			return
		}
		if s := in.Seen | shows(r); s != in.Seen {
			in.Seen, grown[in.ID] = s, true
		}
	}
	for _, in := range m.openList() {
		for _, t := range m.members(in.ID) {
			see(in, t)
		}
	}
	touched := map[string]bool{}

	for _, id := range sortedKeys(recovered) {
		in := m.open[id]
		if in == nil {
			continue // the incident was pruned or lost; nothing to tell
		}
		touched[id] = true
		if still := m.members(id); len(still) > 0 {
			notices = append(notices, m.notice(in, PhaseUpdate, results, recovered[id], still, now))
			continue
		}
		in.Ended = now
		delete(m.open, id)
		changed = append(changed, *in)
		notices = append(notices, m.notice(in, PhaseResolved, results, recovered[id], nil, now))
	}

	var fresh []string
	joined := map[string][]string{}
	for _, t := range triggered {
		st := m.states[t]
		if in := m.openOfKind(st.Kind); in != nil {
			st.Incident = in.ID
			if !slices.Contains(in.Targets, t) {
				in.Targets = append(in.Targets, t)
			}
			joined[in.ID] = append(joined[in.ID], t)
			see(in, t)
			continue
		}
		fresh = append(fresh, t)
	}
	for _, id := range sortedKeys(joined) {
		in := m.open[id]
		touched[id] = true
		changed = append(changed, *in)
		notices = append(notices, m.notice(in, PhaseUpdate, results, nil, joined[id], now))
	}
	if len(fresh) > 0 {
		in := &Incident{Targets: fresh, Notified: now}
		for _, t := range fresh {
			st := m.states[t]
			if severity[st.Kind] > severity[in.Kind] {
				in.Kind = st.Kind
			}
			if in.Started.IsZero() || st.FailingSince.Before(in.Started) {
				in.Started = st.FailingSince
			}
		}
		in.ID = m.incidentID(in.Kind, now)
		for _, t := range fresh {
			m.states[t].Incident = in.ID
			see(in, t)
		}
		in.Opened = in.Seen
		m.open[in.ID] = in
		touched[in.ID] = true
		changed = append(changed, *in)
		notices = append(notices, m.notice(in, PhaseOpened, results, nil, fresh, now))
	}

	reminded := map[string]bool{}
	if m.reminder > 0 {
		for _, in := range m.openList() {
			if touched[in.ID] || now.Sub(in.Notified) < m.reminder {
				continue
			}
			in.Notified = now
			reminded[in.ID] = true
			changed = append(changed, *in)
			notices = append(notices, m.notice(in, PhaseReminder, results, nil, m.members(in.ID), now))
		}
	}
	for _, id := range sortedKeys(grown) {
		if in := m.open[id]; in != nil && !touched[id] && !reminded[id] {
			changed = append(changed, *in) // to save what it showed
		}
	}
	return notices, changed
}

// members lists the targets still failing in incident id, in target order.
func (m *Monitor) members(id string) []string {
	var out []string
	for _, t := range m.targets {
		if st := m.states[t.Name]; st != nil && st.Incident == id {
			out = append(out, t.Name)
		}
	}
	return out
}

// openOfKind returns the oldest open incident of kind k, or nil.
func (m *Monitor) openOfKind(k Kind) *Incident {
	for _, in := range m.openList() {
		if in.Kind == k {
			return in
		}
	}
	return nil
}

// openList is the open incidents, oldest first.
func (m *Monitor) openList() []*Incident {
	out := make([]*Incident, 0, len(m.open))
	for _, in := range m.open {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// incidentID names an incident by kind and opening time, readable in logs
// and unique because a kind has at most one new incident per round.
func (m *Monitor) incidentID(k Kind, now time.Time) string {
	base := string(k) + "-" + now.UTC().Format("20060102T150405Z")
	id := base
	for i := 2; m.open[id] != nil; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	return id
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
