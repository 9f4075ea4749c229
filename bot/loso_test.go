package bot_test

import (
	"fmt"
	"os"
	"testing"

	"gptaccess/bot"
	"gptaccess/kb"
	"gptaccess/kb/diagnosis"
)

// TestExperimentLOSO trains on all training sources but one and scores the
// one left out, for each: how the technique does on a writer it has not
// seen (LOSO=1 go test ./bot -run TestExperimentLOSO -v). Slow (a training
// per source), so not part of the normal run.
func TestExperimentLOSO(t *testing.T) {
	if os.Getenv("LOSO") == "" {
		t.Skip()
	}
	by, err := kb.Training()
	if err != nil {
		t.Fatal(err)
	}
	for held := range by {
		if held == "openings.tsv" {
			continue
		}
		k, _ := kb.Default()
		var tr []kb.Labelled
		for f, ls := range by {
			if f != held {
				tr = append(tr, ls...)
			}
		}
		k.Retrain(tr)
		m, _ := diagnosis.Default(k.Has)
		e, _ := bot.New(bot.Options{KB: k, Model: m})
		s := scoreWith(t, e, by[held])
		fmt.Printf("held out %-28s n=%3d entry %.1f%% confusion %.1f%%\n", held, s.n, 100*s.accuracy(), 100*s.confusionRate())
		if os.Getenv("SCORE_V") != "" {
			for _, w := range s.wrong {
				fmt.Println(" ", w)
			}
		}
	}
}
