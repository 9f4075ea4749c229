package diagnosis

import (
	"slices"
	"sort"
	"strings"
)

// lexicon is the compiled text-matching data of a model.
type lexicon struct {
	cues        phraseSet   // facts' cues, by fact and value
	rawCues     []rawCue    // cues matched as substrings ("/v1/")
	factAnswers []phraseSet // per fact: phrases valid only as answers to it
	subjects    []set       // per fact: words that name what it is about
	answers     phraseSet   // language yes/no/unsure
	hedges      phraseSet   // language unsure, as found inside free text

	fillers, negations, postNegations, outcomeVerbs, now, ands, actions, breaks, contrasts, questionStarts, portuguese set

	pagePhrases, pageFields phraseSet
}

type rawCue struct {
	text string // folded
	fact int
	val  uint8
}

// Extract returns the facts volunteered in free text ("I'm on NordVPN, works
// on my phone" gives vpn=yes, other_network=yes).
//
// Text quoted from an error page is ignored: fenced code blocks, "> "
// quotes and the error_page phrases of the model, such as "If you are using
// a VPN, try turning it off". A yes cue after a negation in the same clause
// reads as no ("I don't use a VPN"). Left out, because asking is better
// than guessing: a hedged cue ("maybe a proxy"), one in a question ("could
// it be my VPN?"), a negated no cue, and a fact mentioned with conflicting
// values. Only facts the bot may ask about are returned, with values Yes or
// No; only the first 16 KiB of text are read.
func (m *Model) Extract(text string) map[string]string {
	kept := m.lex.strip(tokenize(dropQuoted(clip(text))))
	out := make(map[string]string)
	for fi, v := range m.lex.extract(kept) {
		out[m.facts[fi].ID] = valueName[v]
	}
	return out
}

var valueName = [...]string{vYes: Yes, vNo: No, vUnsure: Unsure}

// clip bounds text to maxText bytes.
func clip(s string) string {
	if len(s) > maxText {
		return s[:maxText]
	}
	return s
}

// kept is the tokens of a text minus error-page quotes, with the folded text
// they point into (for substring cues).
type kept struct {
	folded string
	toks   []token
}

// strip removes error-page text. Removed text splits sentences, so a cue
// never joins words from both sides of a quote.
func (lx *lexicon) strip(t tokenized) kept {
	toks := t.toks
	removed := make([]bool, len(toks))
	for i := 0; i < len(toks); {
		if p := lx.pagePhrases.longest(toks, i, false); p != nil {
			for k := range p.words {
				removed[i+k] = true
			}
			i += len(p.words)
			continue
		}
		i++
	}
	for i := 0; i < len(toks); i++ {
		if removed[i] || lx.pageFields.longest(toks, i, false) == nil {
			continue
		}
		// A field's value ("Ray ID: 8a1b…", a user agent) runs to the end of
		// its line.
		for k := i; k < len(toks) && toks[k].line == toks[i].line; k++ {
			removed[k] = true
		}
	}
	out := kept{folded: t.folded, toks: make([]token, 0, len(toks))}
	sent, clause := -1, -1
	prevSent, prevClause, gap := -1, -1, false
	for i, tk := range toks {
		if removed[i] {
			gap = true
			continue
		}
		if gap || tk.sent != prevSent {
			sent++
		}
		if gap || tk.sent != prevSent || tk.clause != prevClause {
			clause++
		}
		prevSent, prevClause, gap = tk.sent, tk.clause, false
		tk.sent, tk.clause = sent, clause
		out.toks = append(out.toks, tk)
	}
	return out
}

// hit is a cue found in text.
type hit struct {
	fact     int
	val      uint8
	from, to int // token range
}

// maxHitsPerFact bounds the mentions of one fact that are weighed: a real
// message has a handful, and the bound keeps pasted junk linear.
const maxHitsPerFact = 32

// clauses gives each token's clause span: clauses end at punctuation, and
// clause-break words ("but", "aber") stand alone.
type clauses struct {
	start, end []int
}

func (lx *lexicon) clauses(toks []token) clauses {
	c := clauses{start: make([]int, len(toks)), end: make([]int, len(toks))}
	s := 0
	for i := range toks {
		if i > 0 && (toks[i].clause != toks[i-1].clause || lx.breaks[toks[i-1].text] || lx.breaks[toks[i].text]) {
			for k := s; k < i; k++ {
				c.end[k] = i
			}
			s = i
		}
		c.start[i] = s
	}
	for k := s; k < len(toks); k++ {
		c.end[k] = len(toks)
	}
	return c
}

// extract returns fact index -> value for the cues in k.
func (lx *lexicon) extract(k kept) map[int]uint8 {
	hits := lx.hits(k)
	if len(hits) == 0 {
		return nil
	}
	return agreed(lx.weigh(k.toks, hits))
}

// hits returns every cue found in k: phrase cues on its tokens, and raw
// cues in its folded text that lie on kept tokens.
func (lx *lexicon) hits(k kept) []hit {
	toks := k.toks
	var hits []hit
	for i := range toks {
		lx.cues.each(toks, i, true, func(p *phrase) {
			hits = append(hits, hit{fact: p.fact, val: p.val, from: i, to: i + len(p.words)})
		})
	}
	for _, rc := range lx.rawCues {
		for off := 0; ; {
			j := strings.Index(k.folded[off:], rc.text)
			if j < 0 {
				break
			}
			start := off + j
			end := start + len(rc.text)
			off = start + 1
			// The cue must lie on kept tokens: the first and last tokens it
			// touches.
			from := sort.Search(len(toks), func(n int) bool { return toks[n].end > start })
			to := sort.Search(len(toks), func(n int) bool { return toks[n].start >= end })
			if from >= to || toks[from].start > start+1 || toks[to-1].end < end-1 {
				continue
			}
			hits = append(hits, hit{fact: rc.fact, val: rc.val, from: from, to: to})
		}
	}
	return hits
}

// weigh returns, per fact, the bit set of the values its hits say (it
// sorts hits). Where one fact's cues overlap, the longest wins: "no vpn"
// over "vpn". A hit that overlaps none accepted before it is accepted,
// even when it then says nothing (a question, a hedge), so a shorter cue
// inside it is not read either.
func (lx *lexicon) weigh(toks []token, hits []hit) map[int]uint8 {
	cl := lx.clauses(toks)
	slices.SortFunc(hits, func(a, b hit) int {
		if a.fact != b.fact {
			return a.fact - b.fact
		}
		if la, lb := a.to-a.from, b.to-b.from; la != lb {
			return lb - la
		}
		return a.from - b.from
	})
	seen := make(map[int]uint8) // fact -> bit set of values
	var accepted []hit
	for _, h := range hits {
		if len(accepted) > 0 && accepted[0].fact != h.fact {
			accepted = accepted[:0]
		}
		if len(accepted) == maxHitsPerFact || seen[h.fact]&(1<<vYes|1<<vNo) == 1<<vYes|1<<vNo {
			continue // enough said, or already conflicting
		}
		if overlapsAny(h, accepted) {
			continue
		}
		accepted = append(accepted, h)
		if v, ok := lx.says(toks, h, cl); ok {
			seen[h.fact] |= 1 << v
		}
	}
	return seen
}

func overlapsAny(h hit, accepted []hit) bool {
	for _, a := range accepted {
		if h.from < a.to && a.from < h.to {
			return true
		}
	}
	return false
}

// says returns the value hit h tells in its clause, or false when it tells
// nothing: a question, a hedged yes, a negated no.
func (lx *lexicon) says(toks []token, h hit, cl clauses) (uint8, bool) {
	start := cl.start[h.from]
	if toks[start].question && lx.questionStarts[toks[start].text] {
		return 0, false // asked, not told: "could it be my VPN?"
	}
	v := h.val
	switch {
	case v == vYes && lx.hedged(toks, h, start, cl.end[h.to-1]):
		return 0, false
	case v == vNo && lx.nowWorks(toks, h):
		// "turned off all extensions and (now) it loads": the step
		// was taken, and it helped.
		v = vYes
	case lx.negated(toks, h, start):
		if v != vYes {
			// "not just me" is no evidence either way about
			// colleagues, even though "just me" says no.
			return 0, false
		}
		v = vNo
	}
	return v, true
}

// agreed keeps the facts whose hits all say the same value, yes or no.
func agreed(seen map[int]uint8) map[int]uint8 {
	out := make(map[int]uint8, len(seen))
	for fi, bits := range seen {
		switch bits {
		case 1 << vYes:
			out[fi] = vYes
		case 1 << vNo:
			out[fi] = vNo
		}
	}
	return out
}

// hedged reports whether the clause [start, end) around h expresses doubt
// ("maybe", "not sure if").
func (lx *lexicon) hedged(toks []token, h hit, start, end int) bool {
	for p := start; p < end; p++ {
		if p >= h.from && p < h.to {
			continue
		}
		if ph := lx.hedges.longest(toks, p, true); ph != nil && p+len(ph.words) <= end &&
			(p+len(ph.words) <= h.from || p >= h.to) {
			return true
		}
	}
	return false
}

// nowWorks reports whether, later in h's sentence, "now" comes shortly
// before an outcome verb that no negation touches ("and now it loads",
// "e adesso funziona", "und jetzt geht es"), or "and" does after a step
// taken ("turned off all extensions and it loads"; not after a state:
// "no extensions, and it works in incognito").
func (lx *lexicon) nowWorks(toks []token, h hit) bool {
	sent := toks[h.to-1].sent
	acted := false
	for _, t := range toks[h.from:h.to] {
		acted = acted || lx.actions[t.text]
	}
	for p := h.to; p < len(toks) && toks[p].sent == sent; p++ {
		if !lx.now[toks[p].text] && !(acted && lx.ands[toks[p].text]) {
			continue
		}
		for q := p + 1; q < len(toks) && q <= p+3 && toks[q].sent == sent; q++ {
			if lx.negations[toks[q].text] || lx.postNegations[toks[q].text] {
				return false
			}
			if lx.outcomeVerbs[toks[q].text] {
				for r := q + 1; r < len(toks) && r <= q+2 && toks[r].sent == sent; r++ {
					if lx.negations[toks[r].text] || lx.postNegations[toks[r].text] {
						return false
					}
				}
				return true
			}
		}
	}
	return false
}

// negationWindow is how many words before a cue a negation reaches: enough
// for "I'm not currently using a VPN".
const negationWindow = 4

// postNegationWindow is how many words after a cue a negation that follows
// its verb reaches: "geht es auch nicht".
const postNegationWindow = 3

// negated reports whether a negation shortly before h, in its clause
// (which begins at start), applies to it. A negation followed by an outcome
// verb negates the outcome instead: "doesn't work on NordVPN" is still about
// a VPN.
func (lx *lexicon) negated(toks []token, h hit, start int) bool {
	// German and French put the negation after the verb: "mit mobilen
	// Daten geht es auch nicht", "ça marche pas en 4G".
	for p := h.to; p < len(toks) && p < h.to+postNegationWindow && toks[p].clause == toks[h.to-1].clause; p++ {
		if lx.postNegations[toks[p].text] {
			return true
		}
	}
	for p := h.from - 1; p >= start && p >= h.from-negationWindow; p-- {
		if !lx.negations[toks[p].text] {
			continue
		}
		for q := p + 1; q < h.from; q++ {
			if lx.outcomeVerbs[toks[q].text] {
				return false
			}
		}
		return true
	}
	return false
}
