package kb

import (
	"flag"
	"math"
	"os"
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
	if _, err := decodeModel(modelBin, sum); err != nil {
		t.Fatalf("model.bin was trained from other inputs (%v): run go test ./kb -run TestModelFileIsCurrent -update", err)
	}
	pairs := [][2]*linear{{loaded.entry, fresh.entry}, {loaded.report, fresh.report}, {loaded.answer, fresh.answer}}
	for i, p := range pairs {
		a, b := p[0], p[1]
		if a.classes != b.classes || len(a.keys) != len(b.keys) {
			t.Fatalf("model %d: shape differs from a fresh training: run with -update", i)
		}
		for j := range a.w {
			// Floating point may differ in the last bits across
			// architectures (fused multiply-add); the model may not.
			if math.Abs(float64(a.w[j]-b.w[j])) > 1e-3 {
				t.Fatalf("model %d weight %d: %v, fresh training gives %v: run with -update", i, j, a.w[j], b.w[j])
			}
		}
	}
}

// TestOperatorGuideIsTrained: a guide other than the embedded one gets its
// classifiers trained at load, and they know its entries.
func TestOperatorGuideIsTrained(t *testing.T) {
	data := []byte(string(guideYAML) + "\n")
	k, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	lx, _ := DefaultLexicon()
	sum, _ := k.inputsHash(data, lx)
	if _, err := decodeModel(modelBin, sum); err == nil {
		t.Fatal("a changed guide matched the embedded model's inputs")
	}
	if m := k.Match("does a vpn cause 1020?"); m.ID != "fix-vpn" {
		t.Errorf("trained at load: Match = %+v, want fix-vpn", m)
	}
}
