package monitor

import (
	"strings"

	"gptaccess/cloudflare"
)

// Situation is what targets show, grouped by what the team can do about
// it. Every title of an incident (its alerts, the chat status, the status
// page, the digest) is Situation.Title, so one situation reads the same
// everywhere. Incidents are stored with theirs: never renumber these.
type Situation uint8

// Situations; a Situation may hold several.
const (
	SituationDown        Situation = 1 << iota // origin errors, unreachable, OpenAI's major or critical indicator: wait
	SituationCloudflare                        // a challenge, 1020, other 10xx: Cloudflare refuses our network
	SituationOwnNetwork                        // blocked-network: our own network refuses it; IT can lift it
	SituationRateLimited                       // 429, Cloudflare 1015
)

// Has reports whether s holds all of t (and t is not empty).
func (s Situation) Has(t Situation) bool { return t != 0 && s&t == t }

// Blocked reports whether s holds a block from here, by Cloudflare or by
// our own network.
func (s Situation) Blocked() bool { return s&(SituationCloudflare|SituationOwnNetwork) != 0 }

// Title words s in one line, in the present while it lasts ("ChatGPT is
// down and blocked by our own network") and in the past once it is over
// ("ChatGPT was down and blocked by our own network"); "" when s is empty.
func (s Situation) Title(open bool) string {
	var parts []string
	if s.Has(SituationDown) {
		parts = append(parts, "down")
	}
	switch {
	case s.Has(SituationCloudflare | SituationOwnNetwork):
		parts = append(parts, "blocked from our network, by Cloudflare and by our own network")
	case s.Has(SituationOwnNetwork):
		parts = append(parts, "blocked by our own network")
	case s.Has(SituationCloudflare):
		parts = append(parts, "blocked from our network")
	}
	if s.Has(SituationRateLimited) {
		parts = append(parts, "rate limiting our network")
	}
	if len(parts) == 0 {
		return ""
	}
	verb := "is"
	if !open {
		verb = "was"
	}
	return "ChatGPT " + verb + " " + strings.Join(parts, " and ")
}

// FromHere is the headline of what one round shows: its Title, with an
// outage worded as what we see from here rather than as a verdict on
// OpenAI ("ChatGPT looks down from here and is blocked by our own
// network"); "" when s is empty. The chat status and the status page
// lead with it.
func (s Situation) FromHere() string {
	if !s.Has(SituationDown) {
		return s.Title(true)
	}
	rest := (s &^ SituationDown).Title(true)
	if rest == "" {
		return "ChatGPT looks down from here"
	}
	return "ChatGPT looks down from here and " + strings.TrimPrefix(rest, "ChatGPT ")
}

// kindSituation is what an incident of a kind is about when nothing else
// says: the title of an incident saved before incidents kept their
// situation. A block is worded as Cloudflare's, the wider words.
var kindSituation = map[Kind]Situation{
	KindDown:        SituationDown,
	KindBlocked:     SituationCloudflare,
	KindRateLimited: SituationRateLimited,
}

// kindCovers is every situation that makes a target's bad streak of a kind.
var kindCovers = map[Kind]Situation{
	KindDown:        SituationDown,
	KindBlocked:     SituationCloudflare | SituationOwnNetwork,
	KindRateLimited: SituationRateLimited,
}

// Title is an incident of kind k in words when nothing more is known of
// it: "ChatGPT is down" while it lasts, "ChatGPT was down" once resolved.
func (k Kind) Title(open bool) string {
	if t := kindSituation[k].Title(open); t != "" {
		return t
	}
	return "ChatGPT reachability"
}

// shows is the situation of one result.
func shows(r Result) Situation {
	switch {
	case r.Official != nil && r.Official.Major():
		return SituationDown
	case r.Verdict == cloudflare.BlockedNetwork:
		return SituationOwnNetwork
	case r.Verdict.Blocked():
		return SituationCloudflare
	case r.Verdict.Outage():
		return SituationDown
	case r.Verdict == cloudflare.RateLimited:
		return SituationRateLimited
	}
	return 0
}

// situationOf is the situation of targets' results.
func situationOf(targets []string, results map[string]Result) Situation {
	var s Situation
	for _, t := range targets {
		if r, ok := results[t]; ok {
			s |= shows(r)
		}
	}
	return s
}

// OpeningTitle is the title of the incident's opening notice, which also
// names the thread its later notices go in.
func (in Incident) OpeningTitle() string {
	if t := in.Opened.Title(true); t != "" {
		return t
	}
	return in.Kind.Title(true)
}

// ResolvedTitle is the title of the incident once it is over, for
// everything its targets showed while in it: "ChatGPT was down and
// blocked by our own network" after an outage beside a DNS filter, however
// they recovered.
func (in Incident) ResolvedTitle() string {
	if t := in.Seen.Title(false); t != "" {
		return t
	}
	return in.Kind.Title(false)
}

// showing is the situation an open incident is titled for: what the targets
// still failing in it show now (their results); when they show nothing
// (every one up again, before the incident resolves), what its members'
// bad streaks were about, as far as the incident saw it.
func (in *Incident) showing(still []string, results map[string]Result, states map[string]*TargetState) Situation {
	if s := situationOf(still, results); s != 0 {
		return s
	}
	var covers, kinds Situation
	for _, st := range states {
		if st.Incident == in.ID {
			covers |= kindCovers[st.Kind]
			kinds |= kindSituation[st.Kind]
		}
	}
	if s := in.Seen & covers; s != 0 {
		return s
	}
	if kinds != 0 {
		return kinds
	}
	return kindSituation[in.Kind]
}

// openTitle words an open incident as its notices and every list of
// incidents do: see showing.
func openTitle(in *Incident, still []string, results map[string]Result, states map[string]*TargetState) string {
	if t := in.showing(still, results, states).Title(true); t != "" {
		return t
	}
	return in.Kind.Title(true)
}

// Headline words an incident wherever incidents are listed (the status
// page), as its alerts and the chat status do: once resolved, for all it
// showed, in the past (ResolvedTitle); while open, for what the targets
// still failing in it show now, so that an incident opened by an outage
// and a DNS filter in the same round reads "ChatGPT is blocked by our own
// network" once only the filter is left. latest holds the newest result of
// each target still failing (leave out those up again); states is the
// alert state.
func (in Incident) Headline(latest []Result, states []TargetState) string {
	if !in.Open() {
		return in.ResolvedTitle()
	}
	results := make(map[string]Result, len(latest))
	still := make([]string, 0, len(latest))
	for _, r := range latest {
		results[r.Target] = r
		still = append(still, r.Target)
	}
	sm := make(map[string]*TargetState, len(states))
	for i := range states {
		sm[states[i].Target] = &states[i]
	}
	return openTitle(&in, still, results, sm)
}
