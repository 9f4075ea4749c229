package kb

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

func TestDebug(t *testing.T) {
	msgs := os.Getenv("KBDEBUG")
	if msgs == "" {
		t.Skip()
	}
	k := mustDefault(t)
	for _, m := range strings.Split(msgs, "\n") {
		if m == "" {
			continue
		}
		r := k.Match(m)
		fmt.Printf("%-50.50q -> %-15s %.2f rep=%v %s %v  [%s]\n", m, r.ID, r.Confidence, r.Report, r.Lang, k.terms(m), k.debugScores(m))
		_ = sort.Ints
	}
}

func (k *KB) debugScores(text string) string {
	sc := k.idx.pool.Get().(*scratch)
	defer k.idx.pool.Put(sc)
	k.Match(text) // fills sc? no: separate scratch; recompute below
	var ls [numLangs]int
	sc.buf, sc.toks = tokenize(sc.buf[:0], sc.toks[:0], text, &ls)
	k.idx.lex.resolve(sc, true)
	scores := make([]float64, len(k.entries))
	seen := map[int32]bool{}
	for _, q := range sc.q {
		t := q.info.term
		if t < 0 || q.info.stop && !q.info.intent || seen[t] {
			continue
		}
		seen[t] = true
		for _, p := range k.idx.post[t] {
			scores[p.doc] += float64(p.w)
		}
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var b strings.Builder
	for _, i := range idx[:3] {
		fmt.Fprintf(&b, "%s=%.2f ", k.entries[i].ID, scores[i])
	}
	return b.String()
}

func TestDebugTerms(t *testing.T) {
	terms := os.Getenv("KBTERMS")
	if terms == "" {
		t.Skip()
	}
	k := mustDefault(t)
	for _, name := range strings.Fields(terms) {
		id, ok := k.idx.lex.terms[name]
		if !ok {
			fmt.Println(name, "unknown")
			continue
		}
		var b strings.Builder
		for _, p := range k.idx.post[id] {
			fmt.Fprintf(&b, "%s=%.2f ", k.entries[p.doc].ID, p.w)
		}
		fmt.Println(name, b.String())
	}
}

func TestDebugCorpus(t *testing.T) {
	if os.Getenv("KBCORPUS") == "" {
		t.Skip()
	}
	k := mustDefault(t)
	type row struct {
		c   corpusLine
		got Match
	}
	var rows []row
	for _, c := range readCorpus(t) {
		rows = append(rows, row{c, k.Match(c.text)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].got.Confidence < rows[j].got.Confidence })
	for _, r := range rows {
		mark := " "
		if r.got.ID != r.c.id {
			mark = "X"
		}
		fmt.Printf("%s %.2f %-15s %-15s %-3s %.60q\n", mark, r.got.Confidence, r.c.id, r.got.ID, r.got.Lang, r.c.text)
	}
}
