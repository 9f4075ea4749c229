package diagnosis

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"gptaccess/textfile"
)

//go:embed diagnosis.yaml
var defaultYAML []byte

// ErrInvalid is wrapped by every error about the model's content (as opposed
// to, say, a file that cannot be read).
var ErrInvalid = errors.New("invalid diagnosis model")

// Contract ids (docs/contracts.md, section 5): other parts of gptaccess rely on them.
var (
	designFacts = []string{
		"vpn", "others_affected", "api", "private_window", "extensions_off",
		"other_network", "same_network_others", "login", "policy_notice", MonitorDown,
	}
	designCauses = []string{
		"vpn-proxy", "server", "ip-block", "network", "extensions",
		"browser-cache", "credentials", "policy", Unknown,
	}
)

// maxFacts bounds the number of facts: evaluation state is a fixed array
// (no allocation per question) and a plan state key packs two bits per fact
// into a uint64.
const maxFacts = 32

var factIDPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Default returns the embedded model. entryExists reports whether a
// knowledge-base entry id exists; nil skips that check.
func Default(entryExists func(string) bool) (*Model, error) {
	m, err := Parse(defaultYAML, entryExists)
	if err != nil {
		return nil, err
	}
	if value, err := decodePlan(defaultYAML, planBin); err == nil {
		m.usePlan(value)
	}
	return m, nil
}

// MaxFileBytes caps an operator's diagnosis model file: the model is tens
// of kilobytes, and a wrong path (a device, a log) must not fill memory.
const MaxFileBytes = 4 << 20

// LoadFile reads and parses the model at path (an operator's copy of
// diagnosis.yaml). entryExists is as for Parse.
func LoadFile(path string, entryExists func(string) bool) (*Model, error) {
	data, err := textfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("read diagnosis model: %w", err)
	}
	m, err := Parse(data, entryExists)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Parse decodes and validates a model. Unknown keys are errors, and every
// problem found is reported at once, each naming the fact or cause and the
// field. entryExists reports whether a knowledge-base entry id exists; nil
// skips that check. Errors wrap ErrInvalid.
func Parse(data []byte, entryExists func(id string) bool) (*Model, error) {
	var f fileModel
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalid)
	}
	b := builder{entryExists: entryExists}
	m := b.build(&f)
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(b.errs...))
	}
	return m, nil
}

// The file format. Field comments live in diagnosis.yaml, where operators
// read them.
type fileModel struct {
	Facts     []fileFact    `yaml:"facts"`
	Causes    []fileCause   `yaml:"causes"`
	Language  fileLanguage  `yaml:"language"`
	ErrorPage fileErrorPage `yaml:"error_page"`
}

type fileFact struct {
	ID       string              `yaml:"id"`
	SetBy    string              `yaml:"set_by"`
	Question string              `yaml:"question"`
	Choices  []string            `yaml:"choices"`
	Cues     map[string][]string `yaml:"cues"`
	Answers  map[string][]string `yaml:"answers"`
	Subject  []string            `yaml:"subject"`
	How      string              `yaml:"how"`
}

type fileCause struct {
	ID          string          `yaml:"id"`
	Title       string          `yaml:"title"`
	Explanation string          `yaml:"explanation"`
	Weight      float64         `yaml:"weight"`
	Signature   []fileAlt       `yaml:"signature"`
	Steps       []string        `yaml:"steps"`
	StepsWhen   []fileStepsRule `yaml:"steps_when"`
}

type fileStepsRule struct {
	When        fileAlt  `yaml:"when"`
	Steps       []string `yaml:"steps"`
	Explanation string   `yaml:"explanation"`
}

type fileLanguage struct {
	Yes            []string `yaml:"yes"`
	No             []string `yaml:"no"`
	Unsure         []string `yaml:"unsure"`
	Fillers        []string `yaml:"fillers"`
	Negations      []string `yaml:"negations"`
	PostNegations  []string `yaml:"post_negations"`
	Now            []string `yaml:"now"`
	And            []string `yaml:"and"`
	Actions        []string `yaml:"actions"`
	OutcomeVerbs   []string `yaml:"outcome_verbs"`
	ClauseBreaks   []string `yaml:"clause_breaks"`
	Contrasts      []string `yaml:"contrasts"`
	QuestionStarts []string `yaml:"question_starts"`
	// Portuguese marks an answer as Portuguese, where a leading "no" or
	// "na" is "em" + the article ("no celular funciona": on the phone it
	// works), not a "no".
	Portuguese []string `yaml:"portuguese"`
}

type fileErrorPage struct {
	Phrases []string `yaml:"phrases"`
	Fields  []string `yaml:"fields"`
}

// fileAlt is one signature alternative, "{fact: value, ...}", kept in file
// order. It decodes by hand to keep that order, to reject duplicate facts
// and to accept an unquoted !yes, which YAML reads as a tag.
type fileAlt []Condition

// UnmarshalYAML implements yaml.Unmarshaler.
func (a *fileAlt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of fact: value", n.Line)
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: want fact: value", k.Line)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: fact %q twice in one alternative", k.Line, k.Value)
		}
		seen[k.Value] = true
		val := v.Value
		if v.Style&yaml.TaggedStyle != 0 && val == "" && !strings.HasPrefix(v.Tag, "!!") {
			val = v.Tag // an unquoted !yes
		}
		*a = append(*a, Condition{Fact: k.Value, Value: val})
	}
	return nil
}

// builder turns a fileModel into a Model, collecting every problem.
type builder struct {
	entryExists func(string) bool
	errs        []error
}

func (b *builder) errf(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

func (b *builder) build(f *fileModel) *Model {
	m := &Model{factIdx: make(map[string]int), causeIdx: make(map[string]int), plan: new(plan)}
	b.buildFacts(m, f.Facts)
	b.buildCauses(m, f.Causes)
	b.buildLanguage(m, &f.Language, &f.ErrorPage)
	b.buildCues(m, f.Facts)
	return m
}

var valueOf = map[string]uint8{Yes: vYes, No: vNo, Unsure: vUnsure}

// buildFacts checks the facts and adds them to m, then checks that those
// the code relies on are there as it expects them.
func (b *builder) buildFacts(m *Model, ff []fileFact) {
	if len(ff) == 0 {
		b.errf("facts: none defined")
	}
	if len(ff) > maxFacts {
		b.errf("facts: %d defined, at most %d allowed", len(ff), maxFacts)
	}
	for i, f := range ff {
		name := fmt.Sprintf("fact %q", f.ID)
		switch {
		case f.ID == "":
			name = fmt.Sprintf("facts[%d]", i)
			b.errf("%s: id: missing", name)
		case !factIDPattern.MatchString(f.ID):
			b.errf("%s: id: want lower-case letters, digits and _", name)
		}
		if _, dup := m.factIdx[f.ID]; dup && f.ID != "" {
			b.errf("%s: id: defined twice", name)
			continue
		}
		fa := fact{Fact: Fact{ID: f.ID, Question: strings.TrimSpace(f.Question), How: strings.TrimSpace(f.How)}}
		switch f.SetBy {
		case "", "user":
			b.userFact(name, f, &fa)
		case "caller":
			b.callerFact(name, f, fa)
		default:
			b.errf("%s: set_by: %q, want user or caller", name, f.SetBy)
		}
		if f.ID != "" {
			m.factIdx[f.ID] = len(m.facts)
		}
		m.facts = append(m.facts, fa)
	}
	b.checkDesignFacts(m)
}

// userFact checks a fact the bot asks people about (named name in
// errors) and gives fa its choices.
func (b *builder) userFact(name string, f fileFact, fa *fact) {
	fa.Askable = true
	if fa.Question == "" {
		b.errf("%s: question: missing", name)
	}
	if len(f.Choices) != len(choiceValues) {
		b.errf("%s: choices: want %d labels (for yes, no and unsure), got %d", name, len(choiceValues), len(f.Choices))
	}
	seen := make(map[string]bool)
	for j, c := range f.Choices {
		w := strings.Join(words(c), " ")
		if w == "" {
			b.errf("%s: choices[%d]: empty", name, j)
		} else if seen[w] {
			b.errf("%s: choices[%d]: %q listed twice", name, j, c)
		}
		seen[w] = true
		fa.Choices = append(fa.Choices, strings.TrimSpace(c))
		fa.choiceToks = append(fa.choiceToks, words(c))
	}
}

// callerFact checks that a fact the caller sets (fa, named name in
// errors) has none of the fields of a question.
func (b *builder) callerFact(name string, f fileFact, fa fact) {
	if fa.Question != "" {
		b.errf("%s: question: a fact set by the caller is never asked", name)
	}
	if len(f.Choices) > 0 {
		b.errf("%s: choices: a fact set by the caller is never asked", name)
	}
	if len(f.Cues) > 0 {
		b.errf("%s: cues: a fact set by the caller is not read from text", name)
	}
	if len(f.Answers) > 0 {
		b.errf("%s: answers: a fact set by the caller is never asked", name)
	}
	if len(f.Subject) > 0 {
		b.errf("%s: subject: a fact set by the caller is never asked", name)
	}
}

// checkDesignFacts checks that m has the facts the code relies on, and
// that those the monitor sets are not asked.
func (b *builder) checkDesignFacts(m *Model) {
	for _, id := range designFacts {
		i, ok := m.factIdx[id]
		if !ok {
			b.errf("facts: %q missing (docs/contracts.md, section 5)", id)
			continue
		}
		if id == MonitorDown && m.facts[i].Askable {
			b.errf("fact %q: set_by: want caller (the monitor sets it, users are not asked)", id)
		}
	}
	// Optional, but what it means is fixed: the monitor sets it.
	if i, ok := m.factIdx[MonitorNetwork]; ok && m.facts[i].Askable {
		b.errf("fact %q: set_by: want caller (the monitor sets it, users are not asked)", MonitorNetwork)
	}
}

func (b *builder) buildCauses(m *Model, fc []fileCause) {
	m.unknown = -1
	for i, c := range fc {
		name := fmt.Sprintf("cause %q", c.ID)
		if c.ID == "" {
			name = fmt.Sprintf("causes[%d]", i)
			b.errf("%s: id: missing", name)
		} else if !slices.Contains(designCauses, c.ID) {
			b.errf("%s: id: not a design cause (want one of %s)", name, strings.Join(designCauses, ", "))
		}
		if _, dup := m.causeIdx[c.ID]; dup && c.ID != "" {
			b.errf("%s: id: defined twice", name)
			continue
		}
		cu := cause{Cause: Cause{
			ID:          c.ID,
			Title:       strings.TrimSpace(c.Title),
			Explanation: strings.TrimSpace(c.Explanation),
			Weight:      c.Weight,
		}}
		if cu.Title == "" {
			b.errf("%s: title: missing", name)
		}
		if cu.Explanation == "" {
			b.errf("%s: explanation: missing", name)
		}
		cu.Steps = b.steps(name+": steps", c.Steps)
		if c.ID == Unknown {
			m.unknown = len(m.causes)
			if c.Weight != 0 {
				b.errf("%s: weight: unknown takes none (it is concluded only when nothing else can hold)", name)
			}
			if len(c.Signature) > 0 {
				b.errf("%s: signature: unknown takes none (it holds when no other cause can)", name)
			}
			if len(c.StepsWhen) > 0 {
				b.errf("%s: steps_when: unknown takes none", name)
			}
		} else {
			if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
				b.errf("%s: weight: want a positive number, got %v", name, c.Weight)
			}
			if len(c.Signature) == 0 {
				b.errf("%s: signature: missing (the cause could never be concluded)", name)
			}
			for j, a := range c.Signature {
				ca, ok := b.alt(m, fmt.Sprintf("%s: signature[%d]", name, j), a)
				if ok {
					cu.Signature = append(cu.Signature, Alternative(slices.Clone(a)))
					cu.sig = append(cu.sig, ca)
				}
			}
			for j, r := range c.StepsWhen {
				rn := fmt.Sprintf("%s: steps_when[%d]", name, j)
				ca, ok := b.alt(m, rn+": when", r.When)
				steps := b.steps(rn+": steps", r.Steps)
				expl := strings.TrimSpace(r.Explanation)
				if ok {
					cu.StepsWhen = append(cu.StepsWhen, StepsRule{When: Alternative(slices.Clone(r.When)), Steps: steps, Explanation: expl})
					cu.rules = append(cu.rules, rule{when: ca, steps: steps, explanation: expl})
				}
			}
		}
		if c.ID != "" {
			m.causeIdx[c.ID] = len(m.causes)
		}
		m.causes = append(m.causes, cu)
	}
	for _, id := range designCauses {
		if _, ok := m.causeIdx[id]; !ok {
			b.errf("causes: %q missing (docs/contracts.md, section 5)", id)
		}
	}
}

// steps checks a list of knowledge-base entry ids.
func (b *builder) steps(name string, ids []string) []string {
	if len(ids) == 0 {
		b.errf("%s: missing", name)
	}
	for i, id := range ids {
		switch {
		case id == "":
			b.errf("%s[%d]: empty", name, i)
		case slices.Contains(ids[:i], id):
			b.errf("%s[%d]: %q listed twice", name, i, id)
		case b.entryExists != nil && !b.entryExists(id):
			b.errf("%s[%d]: unknown knowledge-base entry %q", name, i, id)
		}
	}
	return slices.Clone(ids)
}

// alt checks and compiles one alternative. An alternative must be
// satisfiable by a conversation: every fact in it is either asked or set by
// the caller, and a caller-set fact is only ever yes.
func (b *builder) alt(m *Model, name string, a fileAlt) (alt, bool) {
	if len(a) == 0 {
		b.errf("%s: empty (it would always hold)", name)
		return nil, false
	}
	ok := true
	var out alt
	for _, c := range a {
		fi, known := m.factIdx[c.Fact]
		if !known {
			b.errf("%s: unknown fact %q", name, c.Fact)
			ok = false
			continue
		}
		var op uint8
		switch c.Value {
		case Yes:
			op = opYes
		case No:
			op = opNo
		case Unsure:
			op = opUnsure
		case NotYes:
			op = opNotYes
		default:
			b.errf("%s: fact %q: value %q, want yes, no, unsure or \"!yes\"", name, c.Fact, c.Value)
			ok = false
			continue
		}
		if !m.facts[fi].Askable && op != opYes {
			b.errf("%s: fact %q: value %q can never hold (the caller only ever sets it to yes)", name, c.Fact, c.Value)
			ok = false
			continue
		}
		out = append(out, cond{fact: fi, op: op})
	}
	return out, ok
}

// buildLanguage compiles the language lists and error-page phrases.
func (b *builder) buildLanguage(m *Model, l *fileLanguage, ep *fileErrorPage) {
	lx := &m.lex
	owner := make(map[string]string) // answer phrase -> list it is in
	for _, list := range []struct {
		name    string
		phrases []string
		val     uint8
	}{{"yes", l.Yes, vYes}, {"no", l.No, vNo}, {"unsure", l.Unsure, vUnsure}} {
		name := "language: " + list.name
		if len(list.phrases) == 0 {
			b.errf("%s: missing", name)
		}
		for i, p := range list.phrases {
			w := words(p)
			key := strings.Join(w, " ")
			if key == "" {
				b.errf("%s[%d]: no words in %q", name, i, p)
				continue
			}
			if prev, dup := owner[key]; dup && prev != list.name {
				b.errf("%s[%d]: %q is also in language: %s", name, i, p, prev)
				continue
			}
			owner[key] = list.name
			lx.answers.add(phrase{words: w, fact: -1, val: list.val})
			if list.val == vUnsure {
				lx.hedges.add(phrase{words: w, fact: -1, val: vUnsure})
			}
		}
	}
	lx.fillers = b.wordSet("language: fillers", l.Fillers, false)
	lx.negations = b.wordSet("language: negations", l.Negations, true)
	lx.postNegations = b.wordSet("language: post_negations", l.PostNegations, false)
	lx.now = b.wordSet("language: now", l.Now, false)
	lx.ands = b.wordSet("language: and", l.And, false)
	lx.actions = b.wordSet("language: actions", l.Actions, false)
	lx.outcomeVerbs = b.wordSet("language: outcome_verbs", l.OutcomeVerbs, false)
	lx.breaks = b.wordSet("language: clause_breaks", l.ClauseBreaks, false)
	lx.contrasts = b.wordSet("language: contrasts", l.Contrasts, false)
	lx.questionStarts = b.wordSet("language: question_starts", l.QuestionStarts, true)
	lx.portuguese = b.wordSet("language: portuguese", l.Portuguese, false)

	if len(ep.Phrases) == 0 {
		b.errf("error_page: phrases: missing")
	}
	for i, p := range ep.Phrases {
		if w := words(p); len(w) > 0 {
			lx.pagePhrases.add(phrase{words: w, fact: -1})
		} else {
			b.errf("error_page: phrases[%d]: no words in %q", i, p)
		}
	}
	for i, p := range ep.Fields {
		if w := words(p); len(w) > 0 {
			lx.pageFields.add(phrase{words: w, fact: -1})
		} else {
			b.errf("error_page: fields[%d]: no words in %q", i, p)
		}
	}
}

// wordSet compiles a list of single words.
func (b *builder) wordSet(name string, list []string, required bool) set {
	if required && len(list) == 0 {
		b.errf("%s: missing", name)
	}
	s := make(set, len(list))
	for i, p := range list {
		w := words(p)
		if len(w) != 1 {
			b.errf("%s[%d]: want a single word, got %q", name, i, p)
			continue
		}
		s[w[0]] = true
	}
	return s
}

// buildCues compiles each fact's cues, answers and subject words.
func (b *builder) buildCues(m *Model, ff []fileFact) {
	m.lex.factAnswers = make([]phraseSet, len(m.facts))
	m.lex.subjects = make([]set, len(m.facts))
	for _, f := range ff {
		fi, ok := m.factIdx[f.ID]
		if !ok || m.facts[fi].ID != f.ID || !m.facts[fi].Askable {
			continue // reported already
		}
		name := fmt.Sprintf("fact %q", f.ID)
		b.phraseMap(name+": cues", f.Cues, false, func(p string, w []string, v uint8) {
			if isRawCue(p) {
				m.lex.rawCues = append(m.lex.rawCues, rawCue{text: fold(strings.TrimSpace(p)), fact: fi, val: v})
				return
			}
			m.lex.cues.add(phrase{words: w, fact: fi, val: v})
		})
		b.phraseMap(name+": answers", f.Answers, true, func(_ string, w []string, v uint8) {
			m.lex.factAnswers[fi].add(phrase{words: w, fact: fi, val: v})
		})
		m.lex.subjects[fi] = set{}
		for _, w := range f.Subject {
			ws := words(w)
			if len(ws) != 1 {
				b.errf("%s: subject: %q, want one word", name, w)
				continue
			}
			m.lex.subjects[fi][ws[0]] = true
		}
	}
}

// phraseMap checks a value -> phrases map: values are yes or no (or unsure,
// with withUnsure), and a phrase means one value only. Free text never
// volunteers "unsure" (a hedge leaves the fact to be asked), so cues take
// yes and no only.
func (b *builder) phraseMap(name string, pm map[string][]string, withUnsure bool, add func(p string, w []string, v uint8)) {
	keys := make([]string, 0, len(pm))
	for k := range pm {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors in a stable order
	owner := make(map[string]string)
	for _, k := range keys {
		v, ok := valueOf[k]
		switch {
		case withUnsure && !ok:
			b.errf("%s: %q: want yes, no or unsure", name, k)
			continue
		case !withUnsure && (!ok || v == vUnsure):
			b.errf("%s: %q: want yes or no", name, k)
			continue
		}
		for i, p := range pm[k] {
			w := words(p)
			key := strings.Join(w, " ")
			if key != "" && isRawCue(p) {
				key = fold(strings.TrimSpace(p))
			}
			if key == "" {
				b.errf("%s: %s[%d]: no words in %q", name, k, i, p)
				continue
			}
			if prev, dup := owner[key]; dup {
				if prev == k {
					b.errf("%s: %s[%d]: %q listed twice", name, k, i, p)
				} else {
					b.errf("%s: %s[%d]: %q is also listed under %s", name, k, i, p, prev)
				}
				continue
			}
			owner[key] = k
			add(p, w, v)
		}
	}
}

// isRawCue reports whether a cue matches as a plain substring: one that
// starts or ends with punctuation, like "/v1/".
func isRawCue(p string) bool {
	p = strings.TrimSpace(p)
	if p == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(p)
	last, _ := utf8.DecodeLastRuneInString(p)
	return !isWordRune(first) || !isWordRune(last)
}

// CheckEntries reports every step that names an entry exists rejects,
// worded as Parse words it. Parsing with a nil entryExists and checking
// here afterwards lets a caller load the model (and start Prepare) before
// the knowledge base has loaded.
func (m *Model) CheckEntries(exists func(id string) bool) error {
	var errs []error
	check := func(name string, ids []string) {
		for i, id := range ids {
			if !exists(id) {
				errs = append(errs, fmt.Errorf("%s[%d]: unknown knowledge-base entry %q", name, i, id))
			}
		}
	}
	for _, c := range m.causes {
		name := fmt.Sprintf("cause %q", c.ID)
		check(name+": steps", c.Steps)
		for j, r := range c.StepsWhen {
			check(fmt.Sprintf("%s: steps_when[%d]: steps", name, j), r.Steps)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}
