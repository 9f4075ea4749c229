package bot_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestTmpAllPersonas(t *testing.T) {
	if os.Getenv("ALLP") == "" {
		t.Skip()
	}
	var ps []persona
	fs, _ := filepath.Glob("../kb/training/personas/*.yaml")
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		fs = append(fs, "../kb/testdata/blind/2026-12-04-"+s+"/personas.yaml")
	}
	for _, f := range fs {
		ps = append(ps, readPersonas(t, f)...)
	}
	ss := simulate(t, ps)
	fmt.Printf("personas %d supported %.1f%% q %.2f repeated %d\n", ss.n, 100*float64(ss.supported)/float64(ss.n), float64(ss.questions)/float64(ss.n), ss.repeated)
	if os.Getenv("SCORE_V") != "" {
		for _, w := range ss.wrong {
			fmt.Println(w)
		}
	}
}
