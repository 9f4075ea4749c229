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
