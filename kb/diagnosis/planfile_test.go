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
	want := encodePlan(defaultYAML, m.buildPlan())
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
	if d.plan.table.len() == 0 || !bytes.Equal(d.plan.table, m.plan.table) {
		t.Fatalf("Default's plan has %d states, not the %d planned from diagnosis.yaml", d.plan.table.len(), m.plan.table.len())
	}
	if _, err := decodePlan([]byte("another model"), planBin); err == nil {
		t.Error("plan.bin was accepted for another diagnosis.yaml")
	}
}
