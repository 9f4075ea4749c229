package kb

import (
	"flag"
	"math"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite model.bin from a fresh training")

// TestModelFileIsCurrent: the embedded model is what training on the
// embedded inputs gives, and Default loads it rather than training.
func TestModelFileIsCurrent(t *testing.T) {
	k := mustDefault(t)
	loaded := k.learn
	lx, err := DefaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := k.inputsHash(guideYAML, lx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.train(); err != nil {
		t.Fatal(err)
	}
	fresh := k.learn
	if *update {
		if err := os.WriteFile("model.bin", encodeModel(sum, fresh), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, shipped, err := decodeModel(modelBin); err != nil || shipped != sum {
		t.Fatalf("model.bin was trained from other inputs (%v): run go test ./kb -run TestModelFileIsCurrent -update", err)
	}
	pairs := [][2]*linear{{loaded.entry, fresh.entry}, {loaded.report, fresh.report}, {loaded.answer, fresh.answer}}
	for i, p := range pairs {
		a, b := p[0], p[1]
		if a.classes != b.classes || a.n != b.n {
			t.Fatalf("model %d: shape differs from a fresh training: run with -update", i)
		}
		for j := range a.n * a.classes {
			// Floating point may differ in the last bits across
			// architectures (fused multiply-add); the model may not.
			if math.Abs(float64(a.weight(j)-b.weight(j))) > 1e-3 {
				t.Fatalf("model %d weight %d: %v, fresh training gives %v: run with -update", i, j, a.weight(j), b.weight(j))
			}
		}
	}
}

// TestOperatorGuideIsTrained: a guide other than the embedded one gets its
// classifiers trained at load from it: a phrasing only its examples hold
// is learnt.
func TestOperatorGuideIsTrained(t *testing.T) {
	const example = "      - my quokkaclient zibberfrot keeps chatgpt away\n" +
		"      - explain the quokkaclient zibberfrot\n      - quokkaclient zibberfrot again?\n"
	data := strings.Replace(string(guideYAML), "    examples:\n", "    examples:\n"+example, 1)
	if !strings.Contains(data, "id: what-is") || data == string(guideYAML) {
		t.Fatal("the guide's layout changed: fix this test's edit")
	}
	k, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if m := k.Match("quokkaclient zibberfrot"); m.ID != "what-is" {
		t.Errorf("trained at load: Match(quokkaclient zibberfrot) = %+v, want what-is (the operator's example)", m)
	}
	if m := mustDefault(t).Match("quokkaclient zibberfrot"); m.ID == "what-is" {
		t.Errorf("the shipped model knows the operator's example: the test proves nothing")
	}
}
