package diagnosis

import "strings"

// ParseAnswer interprets text typed (or clicked) in answer to the question
// about fact and returns Yes, No or Unsure.
//
// It accepts, in this order: "1", "2" or "3" for the nth choice; a choice
// label exactly (button values); an answer word or phrase at the start,
// after fillers like "well" ("yes, NordVPN on my laptop", "nope", "not sure",
// "ja", "non", "sí"), including the fact's own answer phrases ("it works" to
// "does it load in a private window?"); the fact volunteered in the text
// ("I'm on NordVPN"); and doubt anywhere ("honestly I have no idea"). ok is
// false when it cannot tell: "what?", "purple", a new question such as "how
// do I clear cookies", or a fact that is not asked.
func (m *Model) ParseAnswer(factID, text string) (value string, ok bool) {
	fi, known := m.factIdx[factID]
	if !known || !m.facts[fi].Askable {
		return "", false
	}
	t := tokenize(dropQuoted(clip(text)))
	toks := t.toks
	for i := range toks {
		toks[i].text = squeeze(toks[i].text)
	}
	if len(toks) == 0 {
		return "", false
	}
	if v, ok := m.facts[fi].choice(toks, text); ok {
		return v, true
	}
	lx := &m.lex
	s := 0
	for s < len(toks) && lx.fillers[toks[s].text] {
		s++
	}
	if s == len(toks) {
		return "", false
	}
	if lead := lx.leadingAnswer(toks, fi, s); lead != nil {
		return valueName[lx.afterLead(t, fi, s, lead)], true
	}
	return m.withoutLead(t, fi, s, factID, text)
}

// choice reads a button value or a numbered choice, as the console lists
// them ("-1" or "1.5" are numbers, not choices).
func (f *fact) choice(toks []token, text string) (string, bool) {
	if n, ok := choiceNumber(toks); ok && n <= len(f.Choices) && plainChoice(text) {
		return choiceValues[n-1], true
	}
	for i, ct := range f.choiceToks {
		if equalWords(toks, ct) {
			return choiceValues[i], true
		}
	}
	return "", false
}

// leadingAnswer returns the answer phrase that starts toks at s, or nil.
// The longest one decides: "not sure" over "not", "i dont think so" over
// "i dont". The fact's own phrases ("it works") must be the whole first
// clause: "it works on my phone" is no answer to "does it load in a private
// window?".
func (lx *lexicon) leadingAnswer(toks []token, fi, s int) *phrase {
	var best *phrase
	if lx.contraction(toks, s) {
		// Portuguese "no celular funciona": no answer word to lead with;
		// what follows (or the answer classifier) says it.
	} else if p := lx.answers.longest(toks, s, true); p != nil {
		// "i have" is yes, but "i have no vpn" is not; and an answer of
		// several words that its clause goes on from ("I don't have
		// many, disabled both and it works now") starts a statement,
		// which the rest of the reading (or the answer classifier) reads.
		end := s + len(p.words)
		cont := end < len(toks) && toks[end].clause == toks[s].clause && !lx.breaks[toks[end].text]
		if !(p.val == vYes && cont && lx.negations[toks[end].text]) && !(len(p.words) > 1 && cont) {
			best = p
		}
	}
	if fp := lx.factAnswers[fi].longest(toks, s, true); fp != nil && (best == nil || len(fp.words) >= len(best.words)) {
		end := s + len(fp.words)
		if end == len(toks) || toks[end].clause != toks[end-1].clause || lx.breaks[toks[end].text] {
			best = fp
		}
	}
	return best
}

// afterLead returns the answer of a message that leads with the answer
// phrase lead at s: lead's own value, unless what follows overrules it.
func (lx *lexicon) afterLead(t tokenized, fi, s int, lead *phrase) uint8 {
	toks := t.toks
	// "no vpn, but the office proxy is on": what follows a contrast
	// corrects the leading answer.
	if v, ok := lx.corrected(t, fi, s); ok {
		return v
	}
	// "no vpn... oh wait, Surfshark is running. so yes": after a
	// correction ("wait", "actually"), a plain answer that ends the
	// message in a clause of its own is the writer's last word.
	// ("No VPN, I am sure." has no correction: "I am sure" insists.)
	// "yeah tried private browsing, nope": a "yes" that says the
	// writer tried, then how it went.
	if v, ok := lx.lastWord(toks, s); ok && (lx.correcting(toks, s) || lead.val == vYes && v == vNo) {
		return v
	}
	// "yep tried incognito, still broken", "it does the same on my
	// phone": a leading "yes" says the writer tried, or is the start
	// of a sentence; the question's own words later on ("still
	// broken", "same") say how it went.
	if lead.val == vYes {
		for p := s + len(lead.words); p < len(toks); p++ {
			if toks[p].clause == toks[p-1].clause && toks[p].clause != toks[s].clause {
				continue
			}
			if fp := lx.factAnswers[fi].longest(toks, p, true); fp != nil && fp.val == vNo {
				return fp.val
			}
		}
	}
	return lead.val
}

// withoutLead reads a message that does not lead with an answer phrase
// (from s, after the fillers): the fact volunteered, doubt anywhere, or the
// question's subject with its answer at the end.
func (m *Model) withoutLead(t tokenized, fi, s int, factID, text string) (string, bool) {
	lx := &m.lex
	toks := t.toks
	// A new question ("how do I clear cookies") is not an answer.
	if lx.questionStarts[toks[s].text] {
		return "", false
	}
	if v, ok := lx.extract(lx.strip(t))[fi]; ok {
		return valueName[v], true
	}
	for p := s; p < len(toks); p++ {
		if lx.hedges.longest(toks, p, true) != nil {
			return Unsure, true
		}
	}
	// "with extensions disabled it's fine": the question's subject, and
	// the answer in the question's own words at the end.
	if v, ok := lx.endAnswer(toks, fi, s); ok && m.Mentions(factID, text) {
		return valueName[v], true
	}
	return "", false
}

// choiceNumber reads "2", "2.", "(2)", "#2" or "option 2".
func choiceNumber(toks []token) (int, bool) {
	if len(toks) == 2 && (toks[0].text == "option" || toks[0].text == "choice" || toks[0].text == "number") {
		toks = toks[1:]
	}
	if len(toks) != 1 || len(toks[0].text) != 1 {
		return 0, false
	}
	c := toks[0].text[0]
	if c < '1' || c > '9' {
		return 0, false
	}
	return int(c - '0'), true
}

func equalWords(toks []token, w []string) bool {
	if len(toks) != len(w) {
		return false
	}
	for i := range w {
		if toks[i].text != w[i] {
			return false
		}
	}
	return true
}

// squeeze shortens runs of three or more equal letters to one, so that
// "yesss", "nooo" and "yeahhh" read as their words.
func squeeze(s string) string {
	run := 0
	for i := 2; i < len(s); i++ {
		if s[i] == s[i-1] && s[i] == s[i-2] {
			run++
			break
		}
	}
	if run == 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		n := 1
		for i+n < len(s) && s[i+n] == s[i] {
			n++
		}
		if n >= 3 {
			b = append(b, s[i])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n - 1
	}
	return string(b)
}

// plainChoice reports whether text is a bare choice number as typed: "2",
// "2.", "(2)", "#2" or "option 2", and not "-1" or "2.5".
func plainChoice(text string) bool {
	t := strings.TrimSpace(text)
	return !strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "+") &&
		!strings.ContainsAny(strings.TrimRight(t, ".)"), ".,")
}

// contraction reports whether toks[s] is Portuguese "no" or "na" ("em" and
// the article) or "já" (already, not German "ja") leading a clause in a
// Portuguese answer.
func (lx *lexicon) contraction(toks []token, s int) bool {
	if w := toks[s].text; w != "no" && w != "na" && w != "ja" || s+1 == len(toks) || toks[s+1].clause != toks[s].clause {
		return false
	}
	for _, t := range toks {
		if lx.portuguese[t.text] {
			return true
		}
	}
	return false
}

// endAnswer returns the value of the longest answer phrase of fact fi
// that ends toks, unless a negation comes just before it.
func (lx *lexicon) endAnswer(toks []token, fi, s int) (uint8, bool) {
	for p := s + 1; p < len(toks); p++ {
		fp := lx.factAnswers[fi].longest(toks, p, true)
		if fp == nil || p+len(fp.words) != len(toks) || fp.val == vUnsure {
			continue
		}
		if lx.negations[toks[p-1].text] {
			return 0, false
		}
		return fp.val, true
	}
	return 0, false
}

// correcting reports whether a contrast word ("wait", "actually", "but")
// follows position s.
func (lx *lexicon) correcting(toks []token, s int) bool {
	for _, t := range toks[s+1:] {
		if lx.contrasts[t.text] {
			return true
		}
	}
	return false
}

// lastWord returns the value of a plain answer ("so yes", "nope") that
// makes up the last clause of toks, when that clause is not the first
// one (from s).
func (lx *lexicon) lastWord(toks []token, s int) (uint8, bool) {
	n := len(toks)
	p := n - 1
	for p > s && toks[p-1].clause == toks[n-1].clause {
		p--
	}
	if p <= s || toks[p].clause == toks[s].clause {
		return 0, false
	}
	for p < n && lx.fillers[toks[p].text] {
		p++
	}
	if p == n {
		return 0, false
	}
	if a := lx.answers.longest(toks, p, true); a != nil && p+len(a.words) == n {
		return a.val, true
	}
	return 0, false
}

// corrected returns the value of fact fi volunteered after the first
// contrast word following position s.
func (lx *lexicon) corrected(t tokenized, fi, s int) (uint8, bool) {
	for i := s + 1; i < len(t.toks); i++ {
		if !lx.contrasts[t.toks[i].text] {
			continue
		}
		rest := tokenized{folded: t.folded, toks: t.toks[i+1:]}
		v, ok := lx.extract(lx.strip(rest))[fi]
		return v, ok
	}
	return 0, false
}

// Mentions reports whether text names what the question about fact is
// about (its subject words: "extensions" for extensions_off), so that an
// answer which also volunteers other facts can still be read as this
// question's answer; "works on my phone" does not mention a private window.
func (m *Model) Mentions(factID, text string) bool {
	fi, ok := m.factIdx[factID]
	if !ok || fi >= len(m.lex.subjects) {
		return false
	}
	for _, t := range tokenize(clip(text)).toks {
		if m.lex.subjects[fi][t.text] {
			return true
		}
	}
	return false
}
