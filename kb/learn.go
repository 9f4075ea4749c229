package kb

import (
	"embed"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"strings"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/spanish"
)

// The learned half of matching: a linear classifier over a message's
// features, trained from the guide's examples and the labelled messages in
// training/ (shipped trained in model.bin for the embedded guide). The lexicon folds
// synonyms, brands and languages into concepts, so "Zugriff verweigert" and
// "access denied" are one feature; the classifier learns from labelled
// messages which combinations of concepts, question words and cue words mean
// which entry, and whether the writer is hitting the error. Hand rules
// decided both before, and each new phrasing needed a new rule; a classifier
// trained on a few hundred varied messages generalises to phrasings nobody
// wrote a rule for (see README, "How the bot reads a message", for the
// measured figures).

// feature kinds, mixed into the hash so that a word and a concept of the
// same name stay apart.
const (
	fTerm    = 'T' // a lexicon concept
	fWord    = 'W' // a word the lexicon does not know, stemmed
	fBigram  = 'B' // two neighbouring units
	fCue     = 'C' // a cue bit (first person, question word, ...)
	fGram    = 'G' // a character trigram of an unknown word: typo tolerance
	fSignal  = 'S' // a message-level signal (question mark, page, number)
	fIntent  = 'I' // a question phrasing ("how do i")
	fStopped = 'P' // a stop word (kept: "my", "is", "what" tell questions from reports)
)

// fnv64 constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashKind(kind byte) uint64 {
	return (fnvOffset ^ uint64(kind)) * fnvPrime
}

func hashUint(h uint64, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// stemmers are the Snowball stemmers per language: German, French and
// Spanish have their own inflections, which the English rules mangle.
var stemmers = [numLangs]func(*snowballstem.Env) bool{
	langEN: english.Stem, langDE: german.Stem, langFR: french.Stem, langES: spanish.Stem,
}

// unitHash is the hash of one resolved unit of a message, used for its own
// feature and its bigrams.
func (ix *index) unitHash(sc *scratch, q qtok, l lang) (h uint64, kind byte) {
	switch {
	case q.info.term >= 0:
		return hashUint(hashKind(fTerm), uint64(q.info.term)), fTerm
	case q.info.intent:
		return hashBytes(hashKind(fIntent), sc.buf[q.start:q.end]), fIntent
	case q.info.stop || q.info.cues != 0:
		return hashBytes(hashKind(fStopped), sc.buf[q.start:q.end]), fStopped
	case q.number:
		// Numbers other than known codes: their length is what matters
		// ("order 5521", "10:20").
		return hashUint(hashKind(fWord), uint64(q.end-q.start)), fWord
	}
	w := sc.buf[q.start:q.end]
	env := snowballstem.NewEnv(string(w))
	stemmers[l](env)
	return hashBytes(hashKind(fWord), []byte(env.Current())), fWord
}

// features appends the hashed features of the message read into sc.
func (ix *index) features(sc *scratch, dst []uint64, l lang, sig signals, page int, text string) []uint64 {
	var cues cue
	prev := hashKind(fSignal) // sentence start
	for i, q := range sc.q {
		h, kind := ix.unitHash(sc, q, l)
		dst = append(dst, h)
		dst = append(dst, hashUint(hashUint(hashKind(fBigram), prev), h))
		prev = h
		cues |= q.info.cues
		if kind == fWord && !q.number {
			// Trigrams of unknown words: a typo or an inflection the
			// stemmer missed still shares most of them.
			w := sc.buf[q.start:q.end]
			if len(w) >= 5 {
				for j := 0; j+3 <= len(w); j++ {
					dst = append(dst, hashBytes(hashKind(fGram), w[j:j+3]))
				}
			}
		}
		if i == 0 {
			dst = append(dst, hashUint(hashKind(fSignal), h)) // the leading unit
		}
	}
	dst = append(dst, hashUint(hashKind(fBigram), hashUint(prev, 1))) // sentence end
	for b := range 16 {
		if cues&(1<<b) != 0 {
			dst = append(dst, hashUint(hashKind(fCue), uint64(b)))
		}
	}
	flag := func(name string, on bool) {
		if on {
			dst = append(dst, hashBytes(hashKind(fSignal), []byte(name)))
		}
	}
	flag("?", strings.IndexByte(text, '?') >= 0 || strings.ContainsRune(text, '¿'))
	flag("page", page != 0)
	flag("report-rule", sig.report)
	flag("anchor", sig.anchor)
	flag("generic", sig.onlyGeneric)
	flag("positive", sig.positive)
	flag("other-error", sig.otherError)
	flag("unknown", sig.content > sig.known)
	flag("foreign", sig.content > sig.known && !sig.ours)
	flag("short", len(sc.q) <= 3)
	flag("long", len(sc.q) > 25)
	dst = append(dst, hashKind(fSignal)) // bias
	slices.Sort(dst)
	return slices.Compact(dst)
}

// linear is a multinomial logistic regression over hashed features: one
// weight row per feature seen in training (keys, sorted), one column per
// class.
//
// A model loaded from model.bin reads its keys and weights from the file's
// bytes (raw*) instead of copies: the embedded file stays in the binary's
// read-only data, and only the pages of features actually met are read
// into memory, which keeps two megabytes off an idle bot.
type linear struct {
	keys    []uint64
	w       []float32 // len(keys) * classes
	classes int
	n       int    // rows
	rawKeys []byte // little-endian uint64 per row, when loaded
	rawW    []byte // little-endian float32 per weight, when loaded

	// The lookup table of rows, built by index once keys are final.
	slots       []int32 // row, or -1 for an empty slot
	mask, shift uint64
}

// example is one labelled message, as features.
type example struct {
	feats []uint64
	class int
}

// The classifier's training settings. Measured by training on all sources
// but one and scoring the one left out (bot's TestExperimentLOSO), they
// matter little: 15 to 60 epochs and L2 from 1e-5 to 1e-3 move the
// held-out figures by about a point; 8 epochs lose up to six. More varied
// training data moves them by ten.
const (
	// minFeatureExamples is how many training examples a feature must
	// be in to get weights.
	minFeatureExamples = 2
	trainEpochs        = 30
	trainRate          = 0.5
	trainL2            = 1e-4
)

// train fits a linear model with stochastic gradient descent. The shuffle
// uses a fixed seed so that the same data always gives the same model.
func train(exs []example, classes int) *linear {
	m := &linear{classes: classes}
	for _, ex := range exs {
		m.keys = append(m.keys, ex.feats...)
	}
	slices.Sort(m.keys)
	// A feature seen in one example only is left out: it cannot tell
	// classes apart in general, and it is most of the model (4.1 MB of
	// model.bin with them, 1.9 MB without, for the same held-out
	// figures: bot's TestExperimentLOSO and TestExperimentPersonasHeldOut).
	kept := m.keys[:0]
	for i := 0; i < len(m.keys); {
		j := i
		for j < len(m.keys) && m.keys[j] == m.keys[i] {
			j++
		}
		if j-i >= minFeatureExamples {
			kept = append(kept, m.keys[i])
		}
		i = j
	}
	m.keys = kept
	m.n = len(m.keys)
	m.index()
	m.w = make([]float32, len(m.keys)*classes)
	rowsOf := make([][]int32, len(exs))
	for i, ex := range exs {
		rowsOf[i] = m.rows(ex.feats, nil)
	}
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(1020, 1))
	p := make([]float64, classes)
	for epoch := range trainEpochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		rate := trainRate / (1 + float64(epoch)*0.2)
		for _, i := range order {
			rows := rowsOf[i]
			m.probs(rows, len(rows), p)
			scale := 1 / math.Sqrt(float64(max(len(rows), 1)))
			for c := range classes {
				g := p[c]
				if c == exs[i].class {
					g--
				}
				g *= rate * scale
				for _, r := range rows {
					k := int(r)*classes + c
					m.w[k] -= float32(g + rate*trainL2*float64(m.w[k]))
				}
			}
		}
	}
	return m
}

// rows appends the weight rows of the features the model knows to dst.
func (m *linear) rows(feats []uint64, dst []int32) []int32 {
	for _, f := range feats {
		for i := f * 0x9E3779B97F4A7C15 >> m.shift; ; i = (i + 1) & m.mask {
			r := m.slots[i]
			if r < 0 {
				break
			}
			if m.key(int(r)) == f {
				dst = append(dst, r)
				break
			}
		}
	}
	return dst
}

// key returns row r's feature.
func (m *linear) key(r int) uint64 {
	if m.rawKeys != nil {
		return binary.LittleEndian.Uint64(m.rawKeys[8*r:])
	}
	return m.keys[r]
}

// weight returns the i-th weight (row-major).
func (m *linear) weight(i int) float32 {
	if m.rawW != nil {
		return math.Float32frombits(binary.LittleEndian.Uint32(m.rawW[4*i:]))
	}
	return m.w[i]
}

// index builds the open-addressing table rows looks features up in: a
// sorted list would take a binary search per feature, which was a third
// of the time of reading a message.
func (m *linear) index() {
	bits := 1
	for 1<<bits < 2*m.n {
		bits++
	}
	m.slots = make([]int32, 1<<bits)
	for i := range m.slots {
		m.slots[i] = -1
	}
	m.mask, m.shift = 1<<bits-1, uint64(64-bits)
	for r := range m.n {
		i := m.key(r) * 0x9E3779B97F4A7C15 >> m.shift
		for m.slots[i] >= 0 {
			i = (i + 1) & m.mask
		}
		m.slots[i] = int32(r)
	}
}

// probs fills p with the class probabilities of a message with n features,
// of which those in rows are known. Unknown features count for nothing but
// still dilute the rest: their share of the message is what the model does
// not know.
func (m *linear) probs(rows []int32, n int, p []float64) {
	clear(p)
	for _, r := range rows {
		for c := range m.classes {
			p[c] += float64(m.weight(int(r)*m.classes + c))
		}
	}
	scale := 1 / math.Sqrt(float64(max(n, 1)))
	top := math.Inf(-1)
	for c := range p {
		p[c] *= scale
		top = max(top, p[c])
	}
	var sum float64
	for c := range p {
		p[c] = math.Exp(p[c] - top)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
}

// predict fills p for a message's sorted features and returns the rows
// used (rows is scratch space).
func (m *linear) predict(feats []uint64, rows []int32, p []float64) []int32 {
	rows = m.rows(feats, rows[:0])
	m.probs(rows, len(feats), p)
	return rows
}

// Labelled is one labelled message: the entry that answers it (NoneID for
// off-topic) and whether its writer reports hitting the error ("yes",
// "no", or "" when the label says nothing about it, as for the guide's own
// examples).
type Labelled struct {
	Entry  string
	Report string
	Text   string
}

// ParseLabelled reads labelled messages in the training.tsv format: one per
// line, "entry<TAB>report<TAB>text", "\n" in a text for a line break, lines
// starting with # ignored.
func ParseLabelled(data []byte) ([]Labelled, error) {
	var out []Labelled
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 || f[0] == "" || f[1] != "yes" && f[1] != "no" {
			return nil, fmt.Errorf("line %d: want entry<TAB>yes|no<TAB>text", i+1)
		}
		out = append(out, Labelled{Entry: f[0], Report: f[1], Text: strings.ReplaceAll(f[2], `\n`, "\n")})
	}
	return out, nil
}

// training holds the labelled messages the classifiers learn from, one
// file per source (see training/README.md).
//
//go:embed training/messages/*.tsv
var training embed.FS

// Training returns the embedded labelled messages, by file name.
func Training() (map[string][]Labelled, error) {
	files, err := fs.Glob(training, "training/messages/*.tsv")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Labelled, len(files))
	for _, f := range files {
		data, err := training.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ls, err := ParseLabelled(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out[path.Base(f)] = ls
	}
	return out, nil
}

// allTraining is every embedded labelled message, in file order.
func allTraining() ([]Labelled, error) {
	byFile, err := Training()
	if err != nil {
		return nil, err
	}
	var out []Labelled
	for _, f := range sortedKeys(byFile) {
		out = append(out, byFile[f]...)
	}
	return out, nil
}

// learner is the trained half of a KB's matching.
type learner struct {
	entry   *linear // classes: the entries in order, then NoneID
	report  *linear // classes: no, yes
	answer  *linear // classes: answerValues
	noneCls int
}

// trainLearner trains the entry and report classifiers from the entries'
// examples and the labelled messages. Labels naming entries this knowledge
// base lacks are skipped: an operator's guide may drop optional entries.
func (k *KB) trainLearner(labelled []Labelled) {
	var sc scratch
	sc.scores = make([]float64, len(k.entries))
	sc.seen = make([]uint32, len(k.idx.lex.names))
	var entryEx, reportEx []example
	add := func(text string, class int, report string) {
		feats := k.idx.read(&sc, text, nil)
		entryEx = append(entryEx, example{feats: feats, class: class})
		switch report {
		case "yes":
			reportEx = append(reportEx, example{feats: feats, class: 1})
		case "no":
			reportEx = append(reportEx, example{feats: feats, class: 0})
		}
	}
	none := len(k.entries)
	for i, e := range k.entries {
		add(e.Title, i, "")
		for _, ex := range e.Examples {
			add(ex, i, "")
		}
	}
	for _, l := range labelled {
		class, ok := k.byID[l.Entry]
		if l.Entry == NoneID {
			class, ok = none, true
		}
		if ok {
			add(l.Text, class, l.Report)
		}
	}
	var answer *linear
	if k.learn != nil {
		answer = k.learn.answer // trained apart, from answers.tsv
	}
	k.learn = &learner{entry: train(entryEx, none+1), report: train(reportEx, 2), answer: answer, noneCls: none}
}

// classify runs the trained classifiers on the features in sc.feats: the
// best entry (an entry index) and its probability, the probability that
// the message is off topic, and the probability that it is a report.
func (l *learner) classify(sc *scratch) (best int, p, none, report float64, second int, p2 float64) {
	if len(sc.probs) < l.entry.classes {
		sc.probs = make([]float64, max(l.entry.classes, len(answerValues)))
	}
	probs := sc.probs[:l.entry.classes]
	sc.rows = l.entry.predict(sc.feats, sc.rows, probs)
	best, second = 0, -1
	for c, v := range probs {
		if c != l.noneCls && v > probs[best] {
			best = c
		}
	}
	for c, v := range probs {
		if c != l.noneCls && c != best && (second < 0 || v > probs[second]) {
			second = c
		}
	}
	p, none, p2 = probs[best], probs[l.noneCls], probs[second]
	rp := sc.probs[:2]
	sc.rows = l.report.predict(sc.feats, sc.rows, rp)
	return best, p, none, rp[1], second, p2
}

// Retrain replaces the classifiers with ones trained on labelled alone
// (with the entries' examples). It is for measuring: training on all but
// one source and scoring that source tells how the technique does on
// messages it has not seen. Not safe while k is in use.
func (k *KB) Retrain(labelled []Labelled) { k.trainLearner(labelled) }

// RetrainAnswers trains the answer classifier again from answers in the
// format of training/answers.tsv, for the same kind of experiment with
// the simulated users' answers. Not safe while k is in use.
func (k *KB) RetrainAnswers(tsv []byte) error { return k.trainAnswers(tsv) }

//go:embed training/answers.tsv
var answersTSV []byte

// answerValues are the classes of the answer classifier.
var answerValues = [...]string{"yes", "no", "unsure"}

// trainAnswers trains the answer classifier from tsv (the format of
// training/answers.tsv): how people typed their answers to each diagnosis
// question. Each feature
// is taken twice, plain and joined with the question's fact, so that
// "still the same" can mean no for every question while "it works in
// incognito" speaks to one.
func (k *KB) trainAnswers(tsv []byte) error {
	var sc scratch
	sc.scores = make([]float64, len(k.entries))
	sc.seen = make([]uint32, len(k.idx.lex.names))
	var exs []example
	for i, line := range strings.Split(string(tsv), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		class := -1
		if len(f) == 3 {
			class = slices.Index(answerValues[:], f[1])
		}
		if class < 0 {
			return fmt.Errorf("answers.tsv line %d: want fact<TAB>yes|no|unsure<TAB>text", i+1)
		}
		exs = append(exs, example{feats: k.idx.answerFeatures(&sc, f[0], f[2], nil), class: class})
	}
	k.learn.answer = train(exs, len(answerValues))
	return nil
}

// answerFeatures are the features of an answer to the question about fact.
func (ix *index) answerFeatures(sc *scratch, fact, text string, dst []uint64) []uint64 {
	dst = ix.read(sc, text, dst)
	// "it opens on my phone" answers like "works on my phone": the verbs
	// that say something loads share one feature, alone and after the
	// word before them ("doesn't", "it"), so an answer worded with a verb
	// the training answers rarely use still reads right.
	outcome := hashBytes(hashKind(fSignal), []byte("outcome"))
	prev := hashKind(fSignal)
	for _, q := range sc.q {
		h, _ := ix.unitHash(sc, q, sc.lang)
		if q.info.outcome {
			dst = append(dst, outcome, hashUint(hashUint(hashKind(fBigram), prev), outcome))
		}
		prev = h
	}
	n := len(dst)
	fh := hashBytes(hashKind('F'), []byte(fact))
	for _, f := range dst[:n] {
		dst = append(dst, hashUint(fh, f))
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// ReadAnswer is the answer classifier's reading of text typed in answer
// to the question about fact: yes, no or unsure, and how sure it is (a
// probability). Callers use it where the answer phrases do not decide.
func (k *KB) ReadAnswer(fact, text string) (value string, p float64) {
	if k.learn == nil || k.learn.answer == nil {
		return "", 0
	}
	ix := k.idx
	sc := ix.pool.Get().(*scratch)
	defer ix.pool.Put(sc)
	sc.feats = ix.answerFeatures(sc, fact, text, sc.feats[:0])
	if !slices.ContainsFunc(sc.q, func(q qtok) bool { return q.known && !isDigits(sc.buf[q.start:q.end]) }) {
		// "purple", "banana split", "-1": no word the bot knows is no
		// answer, whatever the closest class would be.
		return "", 0
	}
	if len(sc.probs) < len(answerValues) {
		sc.probs = make([]float64, max(len(answerValues), len(k.entries)+1))
	}
	probs := sc.probs[:len(answerValues)]
	sc.rows = k.learn.answer.predict(sc.feats, sc.rows, probs)
	best := 0
	for c, v := range probs {
		if v > probs[best] {
			best = c
		}
	}
	return answerValues[best], probs[best]
}
