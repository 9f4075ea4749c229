// Package diagnosis is the guided-diagnosis model of gptaccess (docs/contracts.md,
// section 5): the facts the bot may ask about, the causes of error 1020 with their
// signatures and fix steps, and the logic that picks the next question,
// reads typed answers and spots facts volunteered in free text.
//
// The model itself is data (diagnosis.yaml, embedded) so that an operator can
// reword questions or add phrases without Go code. The package is pure logic:
// no I/O beyond loading, no clock. A *Model does not change after loading
// (apart from the question plan it computes once, on first use) and is safe
// for concurrent use.
package diagnosis

import "slices"

// Fact values. A fact absent from a facts map is not known yet.
const (
	Yes    = "yes"
	No     = "no"
	Unsure = "unsure"
)

// NotYes is the signature condition "known and not yes" (no or unsure).
const NotYes = "!yes"

// MonitorDown is the fact the caller sets to Yes when the monitor's latest
// results show ChatGPT down from here or an official incident. It is never
// asked; absent means no.
const MonitorDown = "monitor_down"

// MonitorNetwork is the fact the caller sets to Yes when the monitor's
// latest results show our own network blocking ChatGPT (a DNS filter, TLS
// interception, a web proxy or filter). It is never asked; absent means
// no. A model may leave it out (docs/contracts.md, section 5): its causes
// then cannot tell that case apart.
const MonitorNetwork = "monitor_network"

// Unknown is the cause concluded when no other cause can hold any more.
const Unknown = "unknown"

// Fact is something the bot may ask about (or, when Askable is false, that
// the caller sets).
type Fact struct {
	ID       string
	Question string   // empty when not Askable
	Choices  []string // button labels meaning Yes, No and Unsure, in that order
	Askable  bool     // false for facts set by the caller, such as MonitorDown
	// How tells someone who asks "how do I do that?" or "what's that?"
	// how to find the answer; empty when the model gives none.
	How string
}

// Label returns the choice label for value (Yes, No or Unsure), or value
// itself when the fact has no such choice.
func (f Fact) Label(value string) string {
	for i, v := range choiceValues {
		if v == value && i < len(f.Choices) {
			return f.Choices[i]
		}
	}
	return value
}

// choiceValues are the values of a fact's choices, by position.
var choiceValues = [...]string{Yes, No, Unsure}

// Condition is one "fact: value" term of a signature; Value is Yes, No,
// Unsure or NotYes.
type Condition struct {
	Fact  string
	Value string
}

// Alternative is a conjunction of conditions: it holds when all of them do.
type Alternative []Condition

// StepsRule replaces a cause's steps when all its conditions hold, and its
// explanation too when the rule gives one.
type StepsRule struct {
	When        Alternative
	Steps       []string
	Explanation string // "" keeps the cause's
}

// Cause is a possible reason for error 1020 and the knowledge-base entries
// that fix it.
type Cause struct {
	ID          string
	Title       string // the cause in plain words
	Explanation string // one line on why it gives error 1020
	Weight      float64
	// Signature lists the alternatives of which any one lets the cause be
	// concluded; nil for Unknown.
	Signature []Alternative
	Steps     []string // knowledge-base entry ids, in order
	StepsWhen []StepsRule
}

// Model is a loaded, validated diagnosis model. Load it with Parse, Default
// or LoadFile.
type Model struct {
	facts   []fact
	factIdx map[string]int
	causes  []cause
	// causeIdx maps every cause id, Unknown included, to its index.
	causeIdx map[string]int
	unknown  int // index of Unknown in causes
	lex      lexicon
	plan     *plan // question plan for first diagnoses, built on first use
}

// fact is a Fact with its text-matching data.
type fact struct {
	Fact
	choiceToks [][]string // tokenized Choices
}

// cause is a Cause with its signature compiled to fact indexes.
type cause struct {
	Cause
	sig   []alt
	rules []rule
}

type rule struct {
	when        alt
	steps       []string
	explanation string
}

// alt is a compiled Alternative.
type alt []cond

type cond struct {
	fact int
	op   uint8 // opYes, opNo, opUnsure or opNotYes
}

const (
	opYes uint8 = iota + 1
	opNo
	opUnsure
	opNotYes
)

// Fact returns the fact with the given id.
func (m *Model) Fact(id string) (Fact, bool) {
	i, ok := m.factIdx[id]
	if !ok {
		return Fact{}, false
	}
	return cloneFact(m.facts[i].Fact), true
}

// Facts returns every fact, in the model's order (the order questions are
// preferred in when all else is equal).
func (m *Model) Facts() []Fact {
	out := make([]Fact, len(m.facts))
	for i, f := range m.facts {
		out[i] = cloneFact(f.Fact)
	}
	return out
}

// Cause returns the cause with the given id (Unknown included).
func (m *Model) Cause(id string) (Cause, bool) {
	i, ok := m.causeIdx[id]
	if !ok {
		return Cause{}, false
	}
	return cloneCause(m.causes[i].Cause), true
}

// Causes returns every cause, Unknown last, in the model's order.
func (m *Model) Causes() []Cause {
	out := make([]Cause, 0, len(m.causes))
	for _, c := range m.causes {
		out = append(out, cloneCause(c.Cause))
	}
	return out
}

// StepsFor returns the steps for cause given what is known: the steps of the
// first StepsWhen rule whose conditions all hold, else the cause's Steps. It
// returns nil for an unknown cause id.
func (m *Model) StepsFor(causeID string, facts map[string]string) []string {
	c, r := m.ruleFor(causeID, facts)
	switch {
	case c == nil:
		return nil
	case r != nil:
		return slices.Clone(r.steps)
	}
	return slices.Clone(c.Steps)
}

// ExplanationFor returns the explanation of cause given what is known: that
// of the StepsWhen rule StepsFor picks, when it has one, else the cause's.
// It returns "" for an unknown cause id.
func (m *Model) ExplanationFor(causeID string, facts map[string]string) string {
	c, r := m.ruleFor(causeID, facts)
	switch {
	case c == nil:
		return ""
	case r != nil && r.explanation != "":
		return r.explanation
	}
	return c.Explanation
}

// ruleFor returns cause and the first of its StepsWhen rules whose
// conditions all hold (nil when none does); a nil cause for an unknown id.
func (m *Model) ruleFor(causeID string, facts map[string]string) (*cause, *rule) {
	i, ok := m.causeIdx[causeID]
	if !ok {
		return nil, nil
	}
	c := &m.causes[i]
	if len(c.rules) > 0 {
		var st state
		m.load(&st, facts, nil)
		for j := range c.rules {
			if st.alt(c.rules[j].when) == triTrue {
				return c, &c.rules[j]
			}
		}
	}
	return c, nil
}

// Callers may keep what accessors return; copies keep the model immutable.
func cloneFact(f Fact) Fact {
	f.Choices = slices.Clone(f.Choices)
	return f
}

func cloneCause(c Cause) Cause {
	c.Steps = slices.Clone(c.Steps)
	if c.Signature != nil {
		sig := make([]Alternative, len(c.Signature))
		for i, a := range c.Signature {
			sig[i] = slices.Clone(a)
		}
		c.Signature = sig
	}
	if c.StepsWhen != nil {
		sw := make([]StepsRule, len(c.StepsWhen))
		for i, r := range c.StepsWhen {
			sw[i] = StepsRule{When: slices.Clone(r.When), Steps: slices.Clone(r.Steps), Explanation: r.Explanation}
		}
		c.StepsWhen = sw
	}
	return c
}
