package kb

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// corpusLine is one labelled message of training/messages/corpus.tsv.
type corpusLine struct {
	line   int
	id     string
	report bool
	text   string
}

func readCorpus(t testing.TB) []corpusLine {
	t.Helper()
	f, err := os.Open("training/messages/corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("corpus.tsv:%d: want 3 tab-separated columns, got %d", n, len(cols))
		}
		if cols[1] != "yes" && cols[1] != "no" {
			t.Fatalf("corpus.tsv:%d: report column must be yes or no, got %q", n, cols[1])
		}
		out = append(out, corpusLine{
			line:   n,
			id:     cols[0],
			report: cols[1] == "yes",
			text:   strings.ReplaceAll(cols[2], `\n`, "\n"),
		})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusAccuracy is a regression bar, not an accuracy estimate: the
// corpus is training data (training/messages/corpus.tsv), so this measures
// how well the classifier fits what it learned from. The estimate on
// unseen messages is the blind set's figure (bot's TestBlindSet) and the
// held-out figures (bot's TestTrainingSourcesHeldOut). It fails below 95%
// for the entry id and below 90% for Report.
func TestCorpusAccuracy(t *testing.T) {
	k := mustDefault(t)
	corpus := readCorpus(t)
	var idOK, reportOK int
	confusion := map[string]map[string]int{} // want -> got -> count, misses only
	for _, c := range corpus {
		got := k.Match(c.text)
		if got.ID == c.id {
			idOK++
		} else {
			if confusion[c.id] == nil {
				confusion[c.id] = map[string]int{}
			}
			confusion[c.id][got.ID]++
			t.Logf("corpus.tsv:%d: id: want %s, got %s (%.2f) for %q", c.line, c.id, got.ID, got.Confidence, c.text)
		}
		if got.Report == c.report {
			reportOK++
		} else {
			t.Logf("corpus.tsv:%d: report: want %v, got %v for %q", c.line, c.report, got.Report, c.text)
		}
	}
	n := float64(len(corpus))
	idAcc, reportAcc := float64(idOK)/n, float64(reportOK)/n
	t.Logf("entry id accuracy %.1f%% (%d/%d), report accuracy %.1f%% (%d/%d)",
		100*idAcc, idOK, len(corpus), 100*reportAcc, reportOK, len(corpus))
	for _, want := range sortedKeys(confusion) {
		var parts []string
		for _, got := range sortedKeys(confusion[want]) {
			parts = append(parts, fmt.Sprintf("%s×%d", got, confusion[want][got]))
		}
		t.Logf("misses for %s: %s", want, strings.Join(parts, ", "))
	}
	if idAcc < 0.95 {
		t.Errorf("entry id accuracy %.1f%% is below 95%%", 100*idAcc)
	}
	if reportAcc < 0.90 {
		t.Errorf("report accuracy %.1f%% is below 90%%", 100*reportAcc)
	}
}

// TestCorpusCoverage keeps the corpus honest: every entry and none are
// measured with enough phrasings.
func TestCorpusCoverage(t *testing.T) {
	k := mustDefault(t)
	counts := map[string]int{}
	for _, c := range readCorpus(t) {
		if c.id != NoneID && !k.Has(c.id) {
			t.Errorf("corpus.tsv:%d: unknown entry %q", c.line, c.id)
		}
		counts[c.id]++
	}
	for _, e := range k.Entries() {
		if counts[e.ID] < 6 {
			t.Errorf("entry %q has %d corpus lines, want at least 6", e.ID, counts[e.ID])
		}
	}
	if counts[NoneID] < 25 {
		t.Errorf("%d off-topic corpus lines, want at least 25", counts[NoneID])
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total < 160 {
		t.Errorf("corpus has %d lines, want at least 160", total)
	}
}

// TestCorpusDistinctFromExamples fails when a corpus message is one of the
// guide's examples after normalisation: accuracy on text the index was
// built from would measure memory, not matching.
func TestCorpusDistinctFromExamples(t *testing.T) {
	k := mustDefault(t)
	examples := map[string]string{}
	for _, e := range k.Entries() {
		for _, ex := range e.Examples {
			examples[surface(ex)] = e.ID + ": " + ex
		}
	}
	for _, c := range readCorpus(t) {
		if ex, ok := examples[surface(c.text)]; ok {
			t.Errorf("corpus.tsv:%d: %q is the example %q once normalised", c.line, c.text, ex)
		}
	}
}

// surface normalises text as typed: markup and punctuation gone, lower
// case, accents folded, light stemming; synonyms stay apart, so a
// translation or a rewording is not a copy.
func surface(text string) string {
	var ls [numLangs]int
	buf, toks := tokenize(nil, nil, text, &ls)
	var words []string
	for _, t := range toks {
		words = append(words, string(stem(nil, buf[t.start:t.end])))
	}
	return strings.Join(words, " ")
}
