package kb

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"

	"gptaccess/textfile"

	"go.yaml.in/yaml/v3"
)

// The word tables matching relies on are data: lexicon.yaml, embedded, or
// an operator's copy (kb.lexicon_file). Its comments say what each table
// is for.

//go:embed lexicon.yaml
var lexiconYAML []byte

// Lexicon is a parsed word-table file in the lexicon.yaml format.
type Lexicon struct {
	Concepts          map[string][]string `yaml:"concepts"`
	Cues              map[string][]string `yaml:"cues"`
	StopWords         []string            `yaml:"stop_words"`
	LanguageHints     map[string][]string `yaml:"language_hints"`
	CommonWords       []string            `yaml:"common_words"`
	OutcomeWords      []string            `yaml:"outcome_words"`
	QuestionPhrasings []string            `yaml:"question_phrasings"`
	IntentTerms       []IntentTerm        `yaml:"intent_terms"`
	GenericTerms      []string            `yaml:"generic_terms"`
	OtherErrorTerms   []string            `yaml:"other_error_terms"`
	ErrorTerms        []string            `yaml:"error_terms"`
	AnchorTerms       []string            `yaml:"anchor_terms"`
	Commands          map[string][]string `yaml:"commands"`
	CommandPrefixes   map[string][]string `yaml:"command_prefixes"`
	SmallTalk         map[string][]string `yaml:"small_talk"`
	Addressees        []string            `yaml:"addressees"`
	ErrorMentions     []string            `yaml:"error_mentions"`

	raw []byte // as read: it is part of what the classifiers were trained from
}

// IntentTerm is a term that names what is asked, and the entry answering it.
type IntentTerm struct {
	Term  string `yaml:"term"`
	Entry string `yaml:"entry"`
}

// cueNames are the cue kinds a lexicon may list, by name.
var cueNames = map[string]cue{
	"first_person": cueFirstPerson, "show": cueShow, "experience": cueExperience,
	"experience_with_i": cueExpBase, "present": cuePresent, "others": cueGeneric, "error": cueError,
	"question": cueQuestion, "hypothetical": cueHypothetical, "help": cueHelpWord, "positive": cuePositive,
	"modal": cueModal, "future": cueFuture, "past": cuePast,
}

// langIndex maps a language hint key to its lang.
func langIndex(name string) (lang, bool) {
	i := slices.Index(langNames[:], name)
	return lang(i), i >= 0
}

// DefaultLexicon returns the embedded word tables.
func DefaultLexicon() (*Lexicon, error) {
	lx, err := ParseLexicon(lexiconYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded lexicon: %w", err)
	}
	return lx, nil
}

// ParseLexicon decodes and checks a lexicon file strictly: an unknown key,
// cue kind or language, or a concept the classifier's special terms need
// that is missing, is an error.
func ParseLexicon(data []byte) (*Lexicon, error) {
	var lx Lexicon
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&lx); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the lexicon file is empty")
		}
		return nil, fmt.Errorf("invalid lexicon: %w", err)
	}
	var errs []error
	if len(lx.Concepts) == 0 {
		errs = append(errs, errors.New("concepts: missing"))
	}
	for name := range lx.Cues {
		if _, ok := cueNames[name]; !ok {
			errs = append(errs, fmt.Errorf("cues: unknown cue kind %q", name))
		}
	}
	for name := range lx.LanguageHints {
		if _, ok := langIndex(name); !ok {
			errs = append(errs, fmt.Errorf("language_hints: unknown language %q (want one of %v)", name, langNames))
		}
	}
	for i, it := range lx.IntentTerms {
		if it.Term == "" || it.Entry == "" {
			errs = append(errs, fmt.Errorf("intent_terms[%d]: term and entry are required", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	lx.raw = data
	return &lx, nil
}

// LoadLexicon reads an operator's lexicon file.
func LoadLexicon(path string) (*Lexicon, error) {
	data, err := textfile.Read(path, MaxFileBytes)
	if err != nil {
		return nil, fmt.Errorf("lexicon: %w", err)
	}
	lx, err := ParseLexicon(data)
	if err != nil {
		return nil, fmt.Errorf("lexicon %s: %w", path, err)
	}
	return lx, nil
}
