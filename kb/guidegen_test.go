package kb

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// guideShape is the shape of a synthetic guide: how many entries, and in
// each how many examples of about how many bytes; zero body and keyword
// sizes mean those of the embedded guide (a body of about 700 bytes,
// three keywords).
type guideShape struct {
	entries, examples, exampleBytes   int
	bodyBytes, keywords, keywordBytes int
}

// operatorGuide is a guide of shape g, so that a guide of any size can be
// trained. The first entries take the required ids. The words are drawn,
// with a fixed seed, from the guide's own vocabulary and made-up product
// names, as an operator adding their own topics would write them.
func operatorGuide(g guideShape) []byte {
	entries, examples, exampleBytes := g.entries, g.examples, g.exampleBytes
	if g.bodyBytes == 0 {
		g.bodyBytes = 700
	}
	var b strings.Builder
	rng := rand.New(rand.NewPCG(uint64(entries), uint64(examples*1000+exampleBytes)))
	common := strings.Fields("how do i fix the error when my vpn proxy browser cache cookies login password account " +
		"region network firewall page chatgpt openai access denied blocked cannot open why does it keep showing " +
		"after update laptop phone office wifi school work extension incognito private window reset clear")
	made := make([]string, 4000)
	for i := range made {
		var w strings.Builder
		for range 2 + rng.IntN(3) {
			w.WriteString([]string{"ka", "lo", "mi", "zu", "ter", "van", "dro", "pex", "sil", "quo", "bra", "nix"}[rng.IntN(12)])
		}
		made[i] = w.String()
	}
	// sentence is words up to size bytes.
	sentence := func(size int) string {
		var s strings.Builder
		for {
			w := common[rng.IntN(len(common))]
			if rng.IntN(3) == 0 {
				w = made[rng.IntN(len(made))]
			}
			if s.Len()+1+len(w) > size {
				return s.String()
			}
			if s.Len() > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(w)
		}
	}
	b.WriteString("entries:\n")
	for i := range entries {
		id := fmt.Sprintf("operator-topic-%d", i)
		if i < len(requiredIDs) {
			id = requiredIDs[i]
		}
		fmt.Fprintf(&b, "  - id: %s\n    title: %s\n    body: |\n", id, sentence(60))
		for range g.bodyBytes / 140 {
			fmt.Fprintf(&b, "      %s.\n", sentence(138))
		}
		if g.keywords == 0 {
			k := rng.IntN(len(made) - 2)
			fmt.Fprintf(&b, "    keywords: {%s: 3, %s-a%d: 2, %s-b%d: 1}\n", made[k], made[k+1], i, made[k+2], i)
		} else {
			b.WriteString("    keywords:\n")
			for j := range g.keywords {
				fmt.Fprintf(&b, "      \"%d %s\": 1\n", j, sentence(g.keywordBytes-4))
			}
		}
		b.WriteString("    examples:\n")
		for range examples {
			fmt.Fprintf(&b, "      - %s?\n", sentence(exampleBytes-1))
		}
	}
	return []byte(b.String())
}
