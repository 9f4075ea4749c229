// Package kb holds the bot's knowledge: the ChatGPT error 1020 troubleshooting
// guide as data (guide.yaml, embedded), loading with validation, and matching a
// chat message to the entry that answers it.
//
// Operators may point the bot at their own copy of the file (LoadFile); it goes
// through the same strict validation, so a broken copy fails at startup with
// every problem listed instead of misbehaving in chat.
package kb

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"gptaccess/textfile"
)

//go:embed guide.yaml
var guideYAML []byte

// RequiredIDs returns the entry ids other packages rely on (design 3.3), in
// the guide's order. A knowledge base must contain all of them; it may add
// more.
func RequiredIDs() []string {
	return slices.Clone(requiredIDs)
}

var requiredIDs = []string{
	"what-is", "causes", "fix",
	"fix-vpn", "fix-browser", "fix-credentials", "fix-api", "fix-support", "fix-wait",
	"prevent", "data-risk", "permanent", "status", "help", "other-code",
}

// NoneID is the Match.ID reported when no entry fits the message well enough.
// It is not an entry and may not be used as one.
const NoneID = "none"

// Entry is one answer in the knowledge base.
type Entry struct {
	// ID is the stable identifier other packages use (design 3.3).
	ID string `yaml:"id"`
	// Title is a one-line summary; it is also indexed for matching.
	Title string `yaml:"title"`
	// Body is the chat-ready answer in Markdown-lite (**bold**, "- " bullets,
	// "1. " numbers, nested items indented by two spaces); adapters translate it.
	Body string `yaml:"body"`
	// Keywords maps a term to how strongly it points at this entry; 1 counts
	// like one mention in an example. Terms are normalised like messages.
	Keywords map[string]float64 `yaml:"keywords"`
	// Examples are questions people ask for this entry; they are indexed.
	Examples []string `yaml:"examples"`
	// See lists related entry ids.
	See []string `yaml:"see"`
}

// KB is a validated knowledge base with its matching index, made by Parse,
// Default or LoadFile (the zero value is not usable). It is safe for
// concurrent use; set Threshold before sharing it between goroutines.
type KB struct {
	// Threshold is the confidence below which Match reports NoneID. Parse sets
	// it to DefaultThreshold.
	Threshold float64

	entries []Entry
	byID    map[string]int
	idx     *index
	learn   *learner
}

// file is the top-level layout of guide.yaml.
type file struct {
	Entries []Entry `yaml:"entries"`
}

// entryFields are the keys an entry may have; anything else is an error, so a
// misspelt key in an operator's copy is not silently ignored.
var entryFields = []string{"id", "title", "body", "keywords", "examples", "see"}

// Default returns the knowledge base built into the binary.
func Default() (*KB, error) {
	k, err := Parse(guideYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded guide: %w", err)
	}
	return k, nil
}

// MaxFileBytes caps an operator's lexicon file: the embedded one is tens
// of kilobytes, and a wrong path (a device, a log) must not fill memory.
// The guide has its own, lower cap (MaxGuideBytes).
const MaxFileBytes = 4 << 20

// LoadFile reads and parses an operator's knowledge-base file.
func LoadFile(path string) (*KB, error) { return Load(path, "") }

// Load builds a knowledge base from an operator's guide file and lexicon
// file; an empty path means the embedded one.
func Load(guidePath, lexiconPath string) (*KB, error) {
	data := guideYAML
	if guidePath != "" {
		var err error
		if data, err = textfile.Read(guidePath, MaxGuideBytes); err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
	}
	var lx *Lexicon
	if lexiconPath != "" {
		var err error
		if lx, err = LoadLexicon(lexiconPath); err != nil {
			return nil, err
		}
	}
	k, err := ParseWith(data, lx)
	if err != nil && guidePath != "" {
		return nil, fmt.Errorf("knowledge base %s: %w", guidePath, err)
	}
	return k, err
}

// Parse decodes and validates a knowledge base in the guide.yaml format and
// builds its matching index with the embedded lexicon. It reports every
// problem it finds at once (joined with errors.Join), each naming the entry
// and the field.
func Parse(data []byte) (*KB, error) { return ParseWith(data, nil) }

// ParseWith is Parse with the word tables of lx (nil: the embedded ones).
func ParseWith(data []byte, lx *Lexicon) (*KB, error) { return parse(data, lx, guideLimits) }

// parse is ParseWith with the limits lim (benchmarks measure guides past
// them).
func parse(data []byte, lx *Lexicon, lim limits) (*KB, error) {
	if lx == nil {
		var err error
		if lx, err = DefaultLexicon(); err != nil {
			return nil, err
		}
	}
	entries, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(validate(entries), lim.check(entries)); err != nil {
		return nil, err
	}
	k := &KB{
		Threshold: DefaultThreshold,
		entries:   entries,
		byID:      make(map[string]int, len(entries)),
	}
	for i, e := range entries {
		k.byID[e.ID] = i
	}
	k.idx = buildIndex(entries, lx)
	if bytes.Equal(data, guideYAML) && bytes.Equal(lx.raw, lexiconYAML) {
		if l, _, err := decodeModel(modelBin); err == nil {
			k.learn = l
			return k, nil
		}
	}
	if err := k.train(); err != nil {
		return nil, err
	}
	return k, nil
}

// train trains the classifiers from the embedded training data.
func (k *KB) train() error {
	labelled, err := allTraining()
	if err != nil {
		return fmt.Errorf("embedded training data: %w", err)
	}
	k.trainLearner(labelled)
	if err := k.trainAnswers(answersTSV); err != nil {
		return fmt.Errorf("embedded training data: %w", err)
	}
	return nil
}

// decode walks the YAML node tree itself instead of using
// yaml.Decoder.KnownFields, so that an unknown key is reported with the entry
// it sits in and decoding goes on to find the remaining problems.
func decode(data []byte) ([]Entry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("no entries: the file is empty")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: top level must be a mapping with an \"entries\" list", root.Line)
	}
	var errs []error
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		if key.Value != "entries" {
			errs = append(errs, fmt.Errorf("line %d: unknown top-level field %q", key.Line, key.Value))
			continue
		}
		list = val
	}
	if list == nil {
		errs = append(errs, errors.New(`field "entries" is required`))
		return nil, errors.Join(errs...)
	}
	if list.Kind != yaml.SequenceNode {
		errs = append(errs, fmt.Errorf("line %d: field \"entries\" must be a list", list.Line))
		return nil, errors.Join(errs...)
	}
	if len(list.Content) == 0 {
		errs = append(errs, errors.New("no entries: \"entries\" is empty"))
	}
	entries := make([]Entry, 0, len(list.Content))
	for i, n := range list.Content {
		e, err := decodeEntry(i+1, n)
		errs = append(errs, err)
		entries = append(entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return entries, nil
}

// decodeEntry decodes field by field so a type error names its field.
func decodeEntry(pos int, n *yaml.Node) (Entry, error) {
	var e Entry
	if n.Kind != yaml.MappingNode {
		return e, fmt.Errorf("entry %d (line %d): must be a mapping", pos, n.Line)
	}
	// Find the id first so every later message can name the entry by it.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "id" && n.Content[i+1].Kind == yaml.ScalarNode {
			e.ID = strings.TrimSpace(n.Content[i+1].Value)
		}
	}
	name := entryName(pos, e.ID)
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		field := key.Value
		if seen[field] {
			errs = append(errs, fmt.Errorf("%s: field %q given twice (line %d)", name, field, key.Line))
			continue
		}
		seen[field] = true
		var err error
		switch field {
		case "id":
			var s string
			err = val.Decode(&s)
		case "title":
			err = val.Decode(&e.Title)
		case "body":
			err = val.Decode(&e.Body)
		case "keywords":
			err = val.Decode(&e.Keywords)
		case "examples":
			err = val.Decode(&e.Examples)
		case "see":
			err = val.Decode(&e.See)
		default:
			errs = append(errs, fmt.Errorf("%s: unknown field %q (line %d); allowed: %s",
				name, field, key.Line, strings.Join(entryFields, ", ")))
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: field %q: %w", name, field, err))
		}
	}
	return e, errors.Join(errs...)
}

// entryName names an entry in error messages: by id when it has one, else by
// its 1-based position in the file.
func entryName(pos int, id string) string {
	if id == "" {
		return fmt.Sprintf("entry %d", pos)
	}
	return fmt.Sprintf("entry %q", id)
}

// validate checks the decoded entries against the rules in the package doc
// and returns every violation.
func validate(entries []Entry) error {
	var errs []error
	first := map[string]int{}
	for i, e := range entries {
		pos := i + 1
		name := entryName(pos, e.ID)
		switch {
		case e.ID == "":
			errs = append(errs, fmt.Errorf("%s: field \"id\" is required", name))
		case e.ID == NoneID:
			errs = append(errs, fmt.Errorf("%s: field \"id\": %q is reserved for no match", name, NoneID))
		case !validID(e.ID):
			errs = append(errs, fmt.Errorf("%s: field \"id\": use lower-case letters, digits and dashes", name))
		}
		if e.ID != "" {
			if _, dup := first[e.ID]; dup {
				errs = append(errs, fmt.Errorf("entry %d (%q): duplicate id", pos, e.ID))
			} else {
				first[e.ID] = pos
			}
		}
		if strings.TrimSpace(e.Title) == "" {
			errs = append(errs, fmt.Errorf("%s: field \"title\" is required", name))
		}
		if strings.TrimSpace(e.Body) == "" {
			errs = append(errs, fmt.Errorf("%s: field \"body\" is required", name))
		}
		if len(e.Examples) == 0 && len(e.Keywords) == 0 {
			errs = append(errs, fmt.Errorf("%s: field \"examples\": give at least one example or keyword", name))
		}
		for j, ex := range e.Examples {
			if strings.TrimSpace(ex) == "" {
				errs = append(errs, fmt.Errorf("%s: field \"examples\": item %d is empty", name, j+1))
			}
		}
		for term, w := range e.Keywords {
			if strings.TrimSpace(term) == "" {
				errs = append(errs, fmt.Errorf("%s: field \"keywords\": empty term", name))
			}
			// Weights act as term counts in the index; zero or negative ones
			// would silently un-index a term, and huge ones swamp everything.
			if !(w > 0 && w <= 10) {
				errs = append(errs, fmt.Errorf("%s: field \"keywords\": weight of %q must be in (0, 10], got %v", name, term, w))
			}
		}
	}
	ids := map[string]bool{}
	for _, e := range entries {
		ids[e.ID] = true
	}
	for i, e := range entries {
		name := entryName(i+1, e.ID)
		for _, s := range e.See {
			switch {
			case s == e.ID:
				errs = append(errs, fmt.Errorf("%s: see: refers to itself", name))
			case !ids[s]:
				errs = append(errs, fmt.Errorf("%s: see: unknown entry %q", name, s))
			}
		}
	}
	for _, id := range requiredIDs {
		if !ids[id] {
			errs = append(errs, fmt.Errorf("entry %q: missing; it is required", id))
		}
	}
	return errors.Join(errs...)
}

func validID(id string) bool {
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Entry returns the entry with the given id.
func (k *KB) Entry(id string) (Entry, bool) {
	i, ok := k.byID[id]
	if !ok {
		return Entry{}, false
	}
	return k.entries[i], true
}

// Has reports whether the knowledge base has an entry with the given id.
func (k *KB) Has(id string) bool {
	_, ok := k.byID[id]
	return ok
}

// Entries returns all entries in file order. The slice is a copy; the
// entries' maps and slices are shared and must not be modified.
func (k *KB) Entries() []Entry {
	return append([]Entry(nil), k.entries...)
}
