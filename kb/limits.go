package kb

import (
	"errors"
	"fmt"
)

// An operator's guide is trained when the bot starts, and training costs
// about (the ~9,200 labelled messages + the guide's examples) × (entries +
// 1) × (features per message): each entry is a class every message is
// scored against, in each of 30 passes. Memory grows the same way (a
// weight per feature and class). A guide of 730 entries (1 MB) took a
// minute and 180 MB; these limits keep the worst case to a few seconds
// (README, "Configuration": measured with BenchmarkTrainOperatorGuide).
const (
	// MaxEntries is how many entries a guide may have.
	MaxEntries = 40
	// MaxExamples is how many examples one entry may have.
	MaxExamples = 40
	// MaxKeywords is how many keywords one entry may have.
	MaxKeywords = 40
	// MaxLineBytes caps a title, an example and a keyword: each is a line
	// someone would type.
	MaxLineBytes = 300
	// MaxBodyBytes caps a body: an answer in chat (Discord takes 2,000
	// characters a message; longer bodies are split).
	MaxBodyBytes = 8000
	// MaxGuideBytes caps kb.file, read before anything is parsed: the
	// counts above bound training, this bounds reading and decoding. A
	// guide of MaxEntries entries with MaxExamples examples of
	// MaxLineBytes takes about half of it.
	MaxGuideBytes = 1 << 20
)

// limits bound a guide; a zero field means no limit.
type limits struct {
	entries, examples, keywords, lineBytes, bodyBytes int
}

// guideLimits applies to every guide, the embedded one included.
var guideLimits = limits{
	entries: MaxEntries, examples: MaxExamples, keywords: MaxKeywords,
	lineBytes: MaxLineBytes, bodyBytes: MaxBodyBytes,
}

// check reports every way entries exceed lim, naming the limit.
func (lim limits) check(entries []Entry) error {
	var errs []error
	if lim.entries > 0 && len(entries) > lim.entries {
		errs = append(errs, fmt.Errorf("%d entries: a guide may have at most %d (each entry makes training at start-up slower for every message it learns from)",
			len(entries), lim.entries))
	}
	over := func(n, max int) bool { return max > 0 && n > max }
	for i, e := range entries {
		name := entryName(i+1, e.ID)
		if over(len(e.Title), lim.lineBytes) {
			errs = append(errs, fmt.Errorf("%s: field \"title\": %d bytes, at most %d", name, len(e.Title), lim.lineBytes))
		}
		if over(len(e.Body), lim.bodyBytes) {
			errs = append(errs, fmt.Errorf("%s: field \"body\": %d bytes, at most %d", name, len(e.Body), lim.bodyBytes))
		}
		if over(len(e.Examples), lim.examples) {
			errs = append(errs, fmt.Errorf("%s: field \"examples\": %d examples, at most %d", name, len(e.Examples), lim.examples))
		}
		for j, ex := range e.Examples {
			if over(len(ex), lim.lineBytes) {
				errs = append(errs, fmt.Errorf("%s: field \"examples\": item %d has %d bytes, at most %d", name, j+1, len(ex), lim.lineBytes))
			}
		}
		if over(len(e.Keywords), lim.keywords) {
			errs = append(errs, fmt.Errorf("%s: field \"keywords\": %d keywords, at most %d", name, len(e.Keywords), lim.keywords))
		}
		for _, term := range sortedKeys(e.Keywords) {
			if over(len(term), lim.lineBytes) {
				errs = append(errs, fmt.Errorf("%s: field \"keywords\": a term of %d bytes, at most %d", name, len(term), lim.lineBytes))
			}
		}
	}
	return errors.Join(errs...)
}
