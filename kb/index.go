package kb

import (
	"math"
	"slices"
	"strings"
	"sync"
)

// BM25 parameters. k1 saturates repeated terms quickly because an entry's
// many examples repeat its topic words; b is below the usual 0.75 because a
// long entry (fix-browser) is long for a reason, not because it rambles.
const (
	bm25K1 = 1.2
	bm25B  = 0.5
)

// Field weights: how much one occurrence counts in an entry's document.
// Titles and examples are written to be found; bodies are written to be read,
// so their words count for little.
const (
	weightTitle   = 3.0
	weightExample = 1.0
	weightBody    = 0.2
)

// fuzzyWeight discounts a term reached through typo correction: it is a
// guess, and a guess should not outvote a word the user typed correctly.
const fuzzyWeight = 0.8

// lexicon resolves words and phrases to terms and cues.
type lexicon struct {
	words     map[string]wordInfo
	phrases   map[string]wordInfo
	maxPhrase map[string]int // first word -> most words in a phrase starting with it
	fuzzy     fuzzyIndex
	terms     map[string]int32
	names     []string // term id -> name, for tests and debugging
}

// posting is one entry's precomputed BM25 weight for a term.
type posting struct {
	doc int32
	w   float32
}

// index is everything Match needs, built once by Parse.
type index struct {
	lex         *lexicon
	post        [][]posting // term id -> postings
	errTerm     []bool      // term id -> the term names an error (report evidence)
	anchor      []bool      // term id -> the term alone makes a message about ChatGPT access
	genericTerm []bool      // term id -> the error's own words, shared by every entry
	otherErr    []bool      // term id -> names an error other than 1020
	intentBit   []int8      // term id -> index into intents, or -1
	intents     []intentRule
	markers     pageMarkers
	phrases     phrases
	numTerm     []bool   // term id -> the term is a number (an error code)
	strong      []bool   // term id -> some entry has it in a title, keyword or example
	ids         []string // doc -> entry id
	docs        specialDocs
	terms       specialTerms
	pool        sync.Pool // *scratch
}

// specialDocs are the doc numbers of entries that matching treats specially;
// -1 when an operator's file lacks one (they are required, but the index
// does not rely on that).
type specialDocs struct {
	whatIs, causes, fix, fixVPN, otherCode int
}

// specialTerms are term ids the intent rules look for.
type specialTerms struct {
	help, meaning, whatis, cause, prevent, denied, blocked, vpn int32
	chatgpt, api, apikey                                        int32
	code1020                                                    int32
}

// scratch is per-call working memory, pooled so Match does not allocate.
type scratch struct {
	buf    []byte
	toks   []span
	q      []qtok
	key    []byte
	flat   []byte
	scores []float64
	seen   []uint32
	gen    uint32

	// What read found, for Match.
	feats     []uint64
	rows      []int32
	probs     []float64
	lang      lang
	sig       signals
	page      int
	vpnAdvice bool
}

// qtok is one resolved word or phrase of a message.
type qtok struct {
	info       wordInfo
	fuzzy      bool
	known      bool // the lexicon knows it (term, cue or stop word)
	number     bool
	start, end int32 // bytes in scratch.buf
}

// newLexicon builds the lexicon from the word tables. tableWords holds every
// word of the tables, the typo-correction targets; only buildIndex needs it.
func newLexicon(ld *Lexicon) (lx *lexicon, tableWords map[string]bool) {
	lx = &lexicon{
		words:     map[string]wordInfo{},
		phrases:   map[string]wordInfo{},
		maxPhrase: map[string]int{},
		terms:     map[string]int32{},
	}
	tableWords = map[string]bool{}
	var sc scratch
	add := func(form string, merge func(*wordInfo)) { lx.add(&sc, tableWords, form, merge) }
	for _, name := range sortedKeys(ld.Concepts) {
		id := lx.term(name)
		setTerm := func(wi *wordInfo) {
			// The first concept to claim a form keeps it; a lexicon test
			// makes sure no form is claimed twice.
			if wi.term < 0 {
				wi.term = id
			}
		}
		add(name, setTerm)
		for _, f := range ld.Concepts[name] {
			add(f, setTerm)
		}
	}
	for _, name := range sortedKeys(ld.Cues) {
		c := cueNames[name]
		for _, f := range ld.Cues[name] {
			add(f, func(wi *wordInfo) { wi.cues |= c })
		}
	}
	for _, f := range ld.QuestionPhrasings {
		add(f, func(wi *wordInfo) { wi.intent = true })
	}
	for _, f := range ld.StopWords {
		add(f, func(wi *wordInfo) { wi.stop = true })
	}
	for _, name := range sortedKeys(ld.LanguageHints) {
		l, _ := langIndex(name)
		for _, f := range ld.LanguageHints[name] {
			add(f, func(wi *wordInfo) { wi.langs |= 1 << l })
		}
	}
	for _, f := range ld.CommonWords {
		add(f, func(wi *wordInfo) { wi.common = true })
	}
	for _, f := range ld.OutcomeWords {
		add(f, func(wi *wordInfo) { wi.outcome = true })
	}
	lx.settle()
	return lx, tableWords
}

// add merges info into the entry for form, which may be several words (a
// phrase), and records its words in tableWords.
func (lx *lexicon) add(sc *scratch, tableWords map[string]bool, form string, merge func(*wordInfo)) {
	var ls [numLangs]int
	sc.buf, sc.toks = tokenize(sc.buf[:0], sc.toks[:0], form, &ls)
	if len(sc.toks) == 0 {
		return
	}
	for _, t := range sc.toks {
		tableWords[string(sc.buf[t.start:t.end])] = true
	}
	key := string(sc.buf[sc.toks[0].start:sc.toks[0].end])
	m := lx.words
	if len(sc.toks) > 1 {
		m = lx.phrases
		lx.maxPhrase[key] = max(lx.maxPhrase[key], len(sc.toks))
		var b strings.Builder
		for i, t := range sc.toks {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.Write(sc.buf[t.start:t.end])
		}
		key = b.String()
	}
	wi, ok := m[key]
	if !ok {
		wi = wordInfo{term: -1}
	}
	merge(&wi)
	m[key] = wi
}

// settle derives what the tables imply once they are all read.
func (lx *lexicon) settle() {
	// A phrase speaks for its speaker: "gives me" is first person too.
	for k, wi := range lx.phrases {
		for _, w := range strings.Fields(k) {
			wi.cues |= lx.words[w].cues & cueFirstPerson
		}
		lx.phrases[k] = wi
	}
	// A word with a topic is never a stop word: "why" is both a question
	// word and the strongest hint at the causes entry.
	for k, wi := range lx.words {
		if wi.term >= 0 && wi.stop {
			wi.stop = false
			lx.words[k] = wi
		}
	}
	// Stems of known words resolve like the words ("blocks" -> "block"),
	// unless the stem is itself a word with its own meaning.
	var st []byte
	for _, k := range sortedKeys(lx.words) {
		wi := lx.words[k]
		st = stem(st, []byte(k))
		if _, ok := lx.words[string(st)]; !ok && string(st) != k {
			wi.langs = 0 // language hints hold for the exact word only
			lx.words[string(st)] = wi
		}
	}
}

// term returns the id of a term, creating it.
func (lx *lexicon) term(name string) int32 {
	if id, ok := lx.terms[name]; ok {
		return id
	}
	id := int32(len(lx.names))
	lx.terms[name] = id
	lx.names = append(lx.names, name)
	return id
}

// resolve turns the tokens in sc.toks into sc.q: phrases first (longest
// match), then exact words, then stems, then (when fuzzy) typo correction.
func (lx *lexicon) resolve(sc *scratch, fuzzy bool) {
	sc.q = sc.q[:0]
	toks := sc.toks
	for i := 0; i < len(toks); {
		t := toks[i]
		w := sc.buf[t.start:t.end]
		if n := min(lx.maxPhrase[string(w)], len(toks)-i); n > 1 {
			matched := false
			for ; n > 1; n-- {
				sc.key = append(sc.key[:0], w...)
				for _, u := range toks[i+1 : i+n] {
					sc.key = append(sc.key, ' ')
					sc.key = append(sc.key, sc.buf[u.start:u.end]...)
				}
				if wi, ok := lx.phrases[string(sc.key)]; ok {
					sc.q = append(sc.q, qtok{info: wi, known: true, start: t.start, end: toks[i+n-1].end})
					i += n
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		q := qtok{info: wordInfo{term: -1}, start: t.start, end: t.end}
		if isDigits(w) && partOfID(sc, toks, i) {
			// "B1020", "LH1020", "1020k": a room, a flight, an amount;
			// the code stands alone or after "error".
			q.number = true
			sc.q = append(sc.q, q)
			i++
			continue
		}
		if wi, ok := lx.words[string(w)]; ok {
			q.info, q.known = wi, true
		} else if isDigits(w) {
			q.number = true
		} else {
			sc.key = stem(sc.key, w)
			if wi, ok := lx.words[string(sc.key)]; ok {
				q.info, q.known = wi, true
			} else if fuzzy {
				if wi, ok := lx.fuzzy.lookup(w); ok {
					q.info, q.known, q.fuzzy = wi, true, true
					q.info.langs = 0
				}
			}
		}
		if q.info.common && q.info.term < 0 && q.info.cues == 0 && !q.info.stop {
			// Known as English, unknown to the knowledge base.
			q.known = false
		}
		sc.q = append(sc.q, q)
		i++
	}
}

// codePrefixes may be glued to an error code: "error1020", "err1020",
// "fehler1020", "code1020".
var codePrefixes = map[string]bool{"error": true, "err": true, "errors": true, "fehler": true, "erreur": true, "code": true, "codigo": true, "cf": true}

// partOfID reports whether digit token i is glued to letters that make it
// part of an identifier rather than an error code.
func partOfID(sc *scratch, toks []span, i int) bool {
	if toks[i].glued && i > 0 && !isDigits(sc.buf[toks[i-1].start:toks[i-1].end]) &&
		!codePrefixes[string(sc.buf[toks[i-1].start:toks[i-1].end])] {
		return true
	}
	// "1020k", but not "1020s" (several of them).
	return i+1 < len(toks) && toks[i+1].glued && string(sc.buf[toks[i+1].start:toks[i+1].end]) != "s"
}

// buildIndex indexes the entries. It is called once by Parse.
func buildIndex(entries []Entry, ld *Lexicon) *index {
	lx, tableWords := newLexicon(ld)
	ix := &index{lex: lx, ids: make([]string, len(entries))}
	for d, e := range entries {
		ix.ids[d] = e.ID
	}
	tf, strong, fuzzyWords := indexTexts(lx, entries)
	addTypoTargets(lx, tableWords, fuzzyWords)
	ix.bm25(tf, strong)
	ix.flagTerms(ld, entries)
	doc := func(id string) int {
		return slices.IndexFunc(entries, func(e Entry) bool { return e.ID == id })
	}
	ix.docs = specialDocs{
		whatIs: doc("what-is"), causes: doc("causes"), fix: doc("fix"), fixVPN: doc("fix-vpn"),
		otherCode: doc("other-code"),
	}
	term := func(name string) int32 {
		if id, ok := lx.terms[name]; ok {
			return id
		}
		return -1
	}
	ix.terms = specialTerms{
		help: term("help"), meaning: term("meaning"), whatis: term("whatis"), cause: term("cause"),
		prevent: term("prevent"), denied: term("denied"), blocked: term("blocked"), vpn: term("vpn"),
		chatgpt: term("chatgpt"), api: term("api"), apikey: term("apikey"), code1020: term("1020"),
	}
	ix.markers = newPageMarkers()
	ix.phrases = compilePhrases(ld)
	nterms := len(lx.names)
	ix.pool.New = func() any {
		return &scratch{
			scores: make([]float64, len(entries)),
			seen:   make([]uint32, nterms),
		}
	}
	return ix
}

// indexTexts reads every entry's title, keywords, examples and body into
// term frequencies (tf, per entry). strong marks the terms an entry has in
// its title, keywords or examples: document frequency counts only those,
// since a summary body (fix, causes) mentions every topic in passing, and
// counting that would make every topic word look common. A word of the
// guide the lexicon does not know becomes a term of its own; those of
// titles and keywords are returned as typo-correction targets.
func indexTexts(lx *lexicon, entries []Entry) (tf []map[int32]float64, strong []map[int32]bool, fuzzyWords []string) {
	tf = make([]map[int32]float64, len(entries))
	strong = make([]map[int32]bool, len(entries))
	var sc scratch
	addText := func(doc int, text string, weight float64, strongField, fuzzyTarget bool) {
		var ls [numLangs]int
		sc.buf, sc.toks = tokenize(sc.buf[:0], sc.toks[:0], text, &ls)
		lx.resolve(&sc, false)
		for _, q := range sc.q {
			if q.info.stop && q.info.term < 0 {
				continue
			}
			id := q.info.term
			if id < 0 {
				if q.info.cues != 0 && !isDigits(sc.buf[q.start:q.end]) {
					continue // a cue word ("stuck", "unable") is not a topic; an error code is
				}
				raw := string(sc.buf[q.start:q.end])
				id = lx.guideWord(&sc, raw)
				if fuzzyTarget {
					fuzzyWords = append(fuzzyWords, raw)
				}
			}
			tf[doc][id] += weight
			if strongField {
				strong[doc][id] = true
			}
		}
	}
	for d, e := range entries {
		tf[d] = map[int32]float64{}
		strong[d] = map[int32]bool{}
		addText(d, e.Title, weightTitle, true, true)
		for _, term := range sortedKeys(e.Keywords) {
			addText(d, term, e.Keywords[term], true, true)
		}
		for _, ex := range e.Examples {
			addText(d, ex, weightExample, true, false)
		}
		addText(d, e.Body, weightBody, false, false)
	}
	return tf, strong, fuzzyWords
}

// guideWord makes raw, a word of the guide the lexicon does not know, a
// term of its own, reachable by its stem too.
func (lx *lexicon) guideWord(sc *scratch, raw string) int32 {
	sc.key = stem(sc.key, []byte(raw))
	name := string(sc.key)
	id := lx.term(name)
	wi, ok := lx.words[raw]
	if !ok {
		wi = wordInfo{term: -1}
	}
	wi.term, wi.common = id, false
	lx.words[raw] = wi
	if _, ok := lx.words[name]; !ok {
		lx.words[name] = wordInfo{term: id}
	}
	return id
}

// addTypoTargets registers the words typos are corrected to: the lexicon's
// own single words and the entries' titles and keywords. Words that occur
// only in examples and bodies stay out: they are everyday words, and
// "correcting" chatter into them is how off-topic messages get answered.
func addTypoTargets(lx *lexicon, tableWords map[string]bool, fuzzyWords []string) {
	for _, w := range sortedKeys(lx.words) {
		wi := lx.words[w]
		if wi.common && wi.term < 0 {
			continue
		}
		if tableWords[w] {
			lx.fuzzy.add(w, wi)
		}
	}
	for _, w := range fuzzyWords {
		lx.fuzzy.add(w, lx.words[w])
	}
}

// bm25 builds the postings: each term's BM25 weight in each entry.
func (ix *index) bm25(tf []map[int32]float64, strong []map[int32]bool) {
	nterms := len(ix.lex.names)
	n := float64(len(tf))
	var total float64
	dl := make([]float64, len(tf))
	for d := range tf {
		for _, v := range tf[d] {
			dl[d] += v
		}
		total += dl[d]
	}
	avgdl := total / n
	df := make([]int, nterms)
	for d := range strong {
		for t := range strong[d] {
			df[t]++
		}
	}
	ix.strong = make([]bool, nterms)
	for t := range df {
		ix.strong[t] = df[t] > 0
	}
	ix.post = make([][]posting, nterms)
	for d := range tf {
		norm := bm25K1 * (1 - bm25B + bm25B*dl[d]/avgdl)
		for _, t := range sortedKeys(tf[d]) {
			f := tf[d][t]
			idf := math.Log(1 + (n-float64(df[t])+0.5)/(float64(df[t])+0.5))
			w := idf * f * (bm25K1 + 1) / (f + norm)
			ix.post[t] = append(ix.post[t], posting{doc: int32(d), w: float32(w)})
		}
	}
}

// flagTerms marks the terms the lexicon gives a role: error codes, anchors,
// generic words, other errors' codes, the error's own words, and intent
// cues (each resolved to its entry's rule).
func (ix *index) flagTerms(ld *Lexicon, entries []Entry) {
	lx := ix.lex
	nterms := len(lx.names)
	flags := func(names []string) []bool {
		f := make([]bool, nterms)
		for _, name := range names {
			if id, ok := lx.terms[name]; ok {
				f[id] = true
			}
		}
		return f
	}
	ix.numTerm = make([]bool, nterms)
	for t, name := range lx.names {
		ix.numTerm[t] = isDigits([]byte(name))
	}
	ix.anchor = flags(ld.AnchorTerms)
	ix.genericTerm = flags(ld.GenericTerms)
	ix.otherErr = flags(ld.OtherErrorTerms)
	ix.errTerm = flags(ld.ErrorTerms)
	ix.intentBit = make([]int8, nterms)
	for i := range ix.intentBit {
		ix.intentBit[i] = -1
	}
	for _, c := range ld.IntentTerms {
		t, ok := lx.terms[c.Term]
		d := slices.IndexFunc(entries, func(e Entry) bool { return e.ID == c.Entry })
		if !ok || d < 0 {
			continue
		}
		// Terms sharing an entry share its rule, so "safe" and "data" in
		// one message nudge data-risk once.
		bit := int8(slices.IndexFunc(ix.intents, func(r intentRule) bool { return r.doc == d }))
		if bit < 0 {
			if len(ix.intents) == 32 { // bits of signals.intents
				continue
			}
			bit = int8(len(ix.intents))
			ix.intents = append(ix.intents, intentRule{bit: bit, doc: d})
		}
		ix.intentBit[t] = bit
	}
}

// intentRule is an intent cue resolved against this knowledge base.
type intentRule struct {
	bit int8
	doc int
}

func sortedKeys[K ~string | ~int32, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
