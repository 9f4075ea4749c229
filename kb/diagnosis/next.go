package diagnosis

import (
	"math"
	"math/bits"
	"slices"
)

// Step is what the diagnosis does next: ask about Fact, or conclude Cause.
// Exactly one of the two is set.
type Step struct {
	Cause string // concluded cause id (Unknown when nothing can hold any more); "" when asking
	Fact  string // fact to ask next; "" when concluding
}

// Internal fact values; vYes..vUnsure equal opYes..opUnsure so that a plain
// condition compares directly.
const (
	vUnknown uint8 = iota
	vYes
	vNo
	vUnsure
)

// tri is a three-valued truth: a condition on a fact nobody answered yet is
// neither true nor false.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUndet
)

// state is what is known about each fact, by index.
type state struct {
	v [maxFacts]uint8
}

// load fills st from a facts map. Values other than Yes and No count as
// Unsure ("" as absent). A fact in asked without a value counts as Unsure:
// it will not be asked again, so it can no longer settle anything. A fact
// the caller sets counts as No when absent: nobody else will set it.
func (m *Model) load(st *state, facts map[string]string, asked []string) {
	for i := range m.facts {
		f := &m.facts[i]
		var v uint8
		switch val := facts[f.ID]; val {
		case "":
		case Yes:
			v = vYes
		case No:
			v = vNo
		default:
			v = vUnsure
		}
		if v == vUnknown {
			switch {
			case !f.Askable:
				v = vNo
			case slices.Contains(asked, f.ID):
				v = vUnsure
			}
		}
		st.v[i] = v
	}
}

func (st *state) cond(c cond) tri {
	v := st.v[c.fact]
	switch {
	case v == vUnknown:
		return triUndet
	case c.op == opNotYes:
		return toTri(v != vYes)
	default:
		return toTri(v == c.op)
	}
}

func toTri(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// alt evaluates a conjunction: false as soon as one condition is false.
func (st *state) alt(a alt) tri {
	r := triTrue
	for _, c := range a {
		switch st.cond(c) {
		case triFalse:
			return triFalse
		case triUndet:
			r = triUndet
		}
	}
	return r
}

// sig evaluates a signature: true as soon as one alternative is true.
func (st *state) sig(c *cause) tri {
	r := triFalse
	for _, a := range c.sig {
		switch st.alt(a) {
		case triTrue:
			return triTrue
		case triUndet:
			r = triUndet
		}
	}
	return r
}

// Holds reports whether the signature of cause holds for facts (values Yes,
// No, Unsure; an absent fact is not known yet, and MonitorDown absent means
// no). Unknown holds when no other cause can hold any more.
func (m *Model) Holds(causeID string, facts map[string]string) bool {
	ci, ok := m.causeIdx[causeID]
	if !ok {
		return false
	}
	var st state
	m.load(&st, facts, nil)
	if ci != m.unknown {
		return st.sig(&m.causes[ci]) == triTrue
	}
	for i := range m.causes {
		if i != m.unknown && st.sig(&m.causes[i]) != triFalse {
			return false
		}
	}
	return true
}

// Candidates returns the causes, other than those tried and Unknown, that
// can still hold given facts: first those that hold (highest weight first,
// the one Next concludes), then the rest, most likely first.
func (m *Model) Candidates(facts map[string]string, tried []string) []string {
	var st state
	m.load(&st, facts, nil)
	type cand struct {
		ci    int
		holds bool
		score float64
	}
	var cs []cand
	for ci := range m.causes {
		c := &m.causes[ci]
		if ci == m.unknown || slices.Contains(tried, c.ID) {
			continue
		}
		switch st.sig(c) {
		case triTrue:
			cs = append(cs, cand{ci: ci, holds: true, score: c.Weight})
		case triUndet:
			cs = append(cs, cand{ci: ci, score: m.belief(&st, c)})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		switch {
		case a.holds != b.holds:
			if a.holds {
				return -1
			}
			return 1
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = m.causes[c.ci].ID
	}
	return out
}

// Next decides the next step of a diagnosis. facts are the answers and
// volunteered facts (plus MonitorDown: Yes when the monitor says so); asked
// are the facts already asked (never asked again, and an asked fact without
// an answer counts as Unsure); tried are the causes whose steps were already
// given (never concluded again).
//
// Next concludes as soon as a cause's signature holds (the highest weight
// when several do), concludes Unknown when none can hold any more, and
// otherwise asks the question that leaves the fewest further questions
// expected: exactly, by a plan over every possible dialog, for a first
// diagnosis; by a one-step estimate once a cause was tried. Ties go to the
// fact listed first in the model.
func (m *Model) Next(facts map[string]string, asked []string, tried []string) Step {
	var st state
	m.load(&st, facts, asked)
	var triedMask uint64
	for ci := range m.causes {
		if slices.Contains(tried, m.causes[ci].ID) {
			triedMask |= 1 << ci
		}
	}
	if ci := m.conclusion(&st, triedMask); ci >= 0 {
		return Step{Cause: m.causes[ci].ID}
	}
	var cands []int
	for ci := range m.causes {
		if ci != m.unknown && triedMask&(1<<ci) == 0 && st.sig(&m.causes[ci]) == triUndet {
			cands = append(cands, ci)
		}
	}
	if len(cands) == 0 {
		return Step{Cause: Unknown}
	}
	if triedMask == 0 {
		if fi, ok := m.plannedQuestion(&st); ok {
			return Step{Fact: m.facts[fi].ID}
		}
	}
	if fi := m.bestQuestion(&st, cands, triedMask); fi >= 0 {
		return Step{Fact: m.facts[fi].ID}
	}
	// Unreachable while every unknown fact in a live signature is askable
	// (load sees to that); concluding beats looping.
	return Step{Cause: Unknown}
}

// conclusion returns the holding, untried cause of highest weight, or -1.
func (m *Model) conclusion(st *state, triedMask uint64) int {
	best := -1
	for ci := range m.causes {
		c := &m.causes[ci]
		if ci == m.unknown || triedMask&(1<<ci) != 0 || st.sig(c) != triTrue {
			continue
		}
		if best < 0 || c.Weight > m.causes[best].Weight {
			best = ci
		}
	}
	return best
}

// The question order rests on a small probabilistic reading of the model:
// the true cause c is drawn by weight, then one of its alternatives a (each
// equally likely); the facts in a take the values a requires, every other
// fact takes a background value, mostly no. This only shapes which question
// comes first; conclusions rest on signatures alone.

// background is the answer distribution of a fact that the true
// alternative says nothing about.
var background = [4]float64{vYes: 0.1, vNo: 0.8, vUnsure: 0.1}

// answerProb returns P(fact fi = v) if alternative a is what holds.
func answerProb(a alt, fi int, v uint8) float64 {
	for _, c := range a {
		if c.fact != fi {
			continue
		}
		switch c.op {
		case opNotYes:
			if v == vYes {
				return 0
			}
			return background[v] / (background[vNo] + background[vUnsure])
		default:
			if v == c.op {
				return 1
			}
			return 0
		}
	}
	return background[v]
}

// joint returns P(cause c, its alternative ai, the known answers), up to a
// constant. It is zero exactly when the alternative is false.
func (m *Model) joint(st *state, c *cause, ai int) float64 {
	a := c.sig[ai]
	if st.alt(a) == triFalse {
		return 0 // also covers facts the caller sets, left out below
	}
	p := c.Weight / float64(len(c.sig))
	for fi := range m.facts {
		if v := st.v[fi]; v != vUnknown && m.facts[fi].Askable {
			if p *= answerProb(a, fi, v); p == 0 {
				return 0
			}
		}
	}
	return p
}

// belief is how likely cause c is given st, up to a constant.
func (m *Model) belief(st *state, c *cause) float64 {
	var sum float64
	for ai := range c.sig {
		sum += m.joint(st, c, ai)
	}
	return sum
}

// hyp is one (cause, alternative) hypothesis still possible.
type hyp struct {
	ci, ai int
	p      float64
}

// bestQuestion returns the fact whose answer leaves the fewest further
// questions expected (see remaining), or -1 when no fact can settle
// anything.
func (m *Model) bestQuestion(st *state, cands []int, triedMask uint64) int {
	var relevant [maxFacts]bool
	var hyps []hyp
	var total float64
	for _, ci := range cands {
		c := &m.causes[ci]
		for ai, a := range c.sig {
			p := m.joint(st, c, ai)
			if p == 0 {
				continue
			}
			hyps = append(hyps, hyp{ci: ci, ai: ai, p: p})
			total += p
			for _, cd := range a {
				if st.v[cd.fact] == vUnknown {
					relevant[cd.fact] = true
				}
			}
		}
	}
	if total == 0 {
		return -1
	}
	best, bestScore := -1, math.Inf(1)
	child := make([]hyp, 0, len(hyps))
	for fi := range m.facts {
		if !relevant[fi] {
			continue
		}
		var score float64
		for v := vYes; v <= vUnsure; v++ {
			child = child[:0]
			var pv float64
			for _, h := range hyps {
				if p := h.p * answerProb(m.causes[h.ci].sig[h.ai], fi, v); p > 0 {
					child = append(child, hyp{ci: h.ci, ai: h.ai, p: p})
					pv += p
				}
			}
			if pv == 0 {
				continue
			}
			st.v[fi] = v
			if m.conclusion(st, triedMask) < 0 {
				score += m.remaining(st, child) * pv / total
			}
			st.v[fi] = vUnknown
		}
		// A strictly better score wins; near-ties keep the earlier fact.
		if score < bestScore-1e-9 {
			best, bestScore = fi, score
		}
	}
	return best
}

// remaining estimates how many more questions a diagnosis in st needs (no
// cause holds yet; hyps are the live hypotheses). It imagines the
// hypotheses checked one after another, the best ratio of likelihood to
// questions needed first: confirming one costs every question asked so far
// plus the ones it still lacks, and one that turns out false costs a
// single question, which later hypotheses share when they need the same
// fact (both browser causes need private_window).
func (m *Model) remaining(st *state, hyps []hyp) float64 {
	type entry struct {
		p     float64
		need  int
		facts uint64 // its unknown facts
	}
	es := make([]entry, 0, len(hyps))
	var total float64
	for _, h := range hyps {
		var e entry
		e.p = h.p
		for _, cd := range m.causes[h.ci].sig[h.ai] {
			if st.v[cd.fact] == vUnknown {
				e.facts |= 1 << cd.fact
				e.need++
			}
		}
		es = append(es, e)
		total += h.p
	}
	if total == 0 {
		return 0
	}
	// Insertion sort by p/need, highest first: hyps are few.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].p*float64(es[j-1].need) > es[j-1].p*float64(es[j].need); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	var asked uint64
	var cost float64
	for _, e := range es {
		missing := e.facts &^ asked
		cost += e.p * float64(bits.OnesCount64(asked)+bits.OnesCount64(missing))
		if missing != 0 {
			asked |= 1 << bits.TrailingZeros64(missing)
		}
	}
	return cost / total
}
