package diagnosis

import (
	"math"
	"sync"
)

// A first diagnosis (nothing tried yet) asks questions by an exact plan: the
// expected number of further questions from every reachable state, under
// the probabilistic reading of the model in next.go, computed once. The
// state space is small (a few tens of thousands of states for the design's
// nine questions, ~50 ms to build); a model too large to plan falls back to
// the one-step estimate of bestQuestion.

// planBudget bounds the states a plan may have; past it, planning is given
// up for the model.
const planBudget = 400_000

// missBudget bounds the extra states a single Next may plan for a state the
// plan does not hold (facts volunteered in an order no question would have
// produced).
const missBudget = 20_000

// plan is the expected number of further questions from each state of a
// first diagnosis. It is built once on first use and read-only after.
type plan struct {
	once  sync.Once
	table planTable // nil when the model is too large to plan
}

// memo is a plan lookup layered over a call's own additions.
type memo struct {
	base   planTable // read-only, shared
	local  map[uint64]float64
	budget int
}

func (mm *memo) get(k uint64) (float64, bool) {
	if v, ok := mm.base.get(k); ok {
		return v, true
	}
	v, ok := mm.local[k]
	return v, ok
}

// key packs a state, two bits per fact.
func (m *Model) key(st *state) uint64 {
	var k uint64
	for i := range m.facts {
		k |= uint64(st.v[i]) << (2 * i)
	}
	return k
}

// plannedQuestion returns the fact a first diagnosis should ask in st; ok is
// false when the model could not be planned.
func (m *Model) plannedQuestion(st *state) (int, bool) {
	p := m.plan
	p.once.Do(func() {
		var root state
		m.load(&root, nil, nil)
		mm := &memo{local: make(map[uint64]float64), budget: planBudget}
		if _, ok := m.expected(&root, mm); ok {
			p.table = tableOf(mm.local)
		}
	})
	if p.table == nil {
		return -1, false
	}
	mm := &memo{base: p.table, budget: missBudget}
	fi, _, ok := m.cheapestQuestion(st, mm)
	return fi, ok && fi >= 0
}

// expected returns the expected number of further questions of a first
// diagnosis in st, asking optimally; ok is false when the budget ran out.
func (m *Model) expected(st *state, mm *memo) (float64, bool) {
	if m.conclusion(st, 0) >= 0 {
		return 0, true
	}
	k := m.key(st)
	if v, ok := mm.get(k); ok {
		return v, true
	}
	if mm.budget <= 0 {
		return 0, false
	}
	mm.budget--
	_, v, ok := m.cheapestQuestion(st, mm)
	if !ok {
		return 0, false
	}
	if mm.local == nil {
		mm.local = make(map[uint64]float64)
	}
	mm.local[k] = v
	return v, true
}

// cheapestQuestion returns the fact to ask in st (-1 when no question can
// settle anything) and the expected number of questions from st when asking
// it first.
func (m *Model) cheapestQuestion(st *state, mm *memo) (int, float64, bool) {
	var hyps []hyp
	var relevant [maxFacts]bool
	var total float64
	for ci := range m.causes {
		if ci == m.unknown {
			continue
		}
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
		return -1, 0, true // nothing can hold: Unknown, no more questions
	}
	best, bestCost := -1, math.Inf(1)
	for fi := range m.facts {
		if !relevant[fi] {
			continue
		}
		cost := 1.0
		for v := vYes; v <= vUnsure; v++ {
			var pv float64
			for _, h := range hyps {
				pv += h.p * answerProb(m.causes[h.ci].sig[h.ai], fi, v)
			}
			if pv == 0 {
				continue
			}
			st.v[fi] = v
			e, ok := m.expected(st, mm)
			st.v[fi] = vUnknown
			if !ok {
				return -1, 0, false
			}
			cost += pv / total * e
		}
		if cost < bestCost-1e-9 {
			best, bestCost = fi, cost
		}
	}
	if best < 0 {
		return -1, 0, true
	}
	return best, bestCost, true
}

// Prepare builds the question plan now rather than on the first Next. The
// plan takes tens of milliseconds; a program calls Prepare in a goroutine at
// start-up so the first diagnosis does not wait. It is safe to call at any
// time and more than once.
func (m *Model) Prepare() {
	var st state
	m.load(&st, nil, nil)
	m.plannedQuestion(&st)
}
