package diagnosis

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var updatePlan = flag.Bool("update", false, "rewrite plan.bin from a fresh planning")

// TestPlanFileIsCurrent: plan.bin is the plan of the embedded
// diagnosis.yaml, and Default uses it (the same questions as a plan built
// on first use).
func TestPlanFileIsCurrent(t *testing.T) {
	m, err := Parse(defaultYAML, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Prepare()
	want := encodePlan(defaultYAML, m.plan.table)
	if *updatePlan {
		if err := os.WriteFile("plan.bin", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(planBin, want) {
		t.Fatal("plan.bin is not the plan of diagnosis.yaml: run go test ./kb/diagnosis -run TestPlanFileIsCurrent -update")
	}
	d, err := Default(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.plan.table) == 0 || !bytes.Equal(d.plan.table, m.plan.table) {
		t.Fatalf("Default's plan has %d states, not the %d planned from diagnosis.yaml", len(d.plan.table)/16, len(m.plan.table)/16)
	}
	if _, err := decodePlan([]byte("another model"), planBin); err == nil {
		t.Error("plan.bin was accepted for another diagnosis.yaml")
	}
}
