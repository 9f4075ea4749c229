package bot_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestExperimentPersonasHeldOut does for the simulated users what
// TestExperimentLOSO does for messages: for each persona file that is
// training data, it trains without that file's openings and answers (and,
// for a blind set, without its messages) and plays its personas
// (LOSO=1 go test ./bot -run TestExperimentPersonasHeldOut -v).
func TestExperimentPersonasHeldOut(t *testing.T) {
	if os.Getenv("LOSO") == "" {
		t.Skip()
	}
	by, err := kb.Training()
	if err != nil {
		t.Fatal(err)
	}
	answers, err := os.ReadFile("../kb/training/answers.tsv")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../kb/training/personas/*.yaml")
	for f := range by {
		if set, ok := strings.CutPrefix(strings.TrimSuffix(f, ".tsv"), "blind-"); ok {
			files = append(files, filepath.Join("../kb/testdata/blind", set, "personas.yaml"))
		}
	}
	slices.Sort(files)
	tabs := strings.NewReplacer("\t", " ", "\r", "", "\n", `\n`)
	total := simScore{}
	for _, file := range files {
		ps := readPersonas(t, file)
		openings := map[string]bool{}
		said := map[string]int{} // the file's answers, each as often as said
		for _, p := range ps {
			openings[tabs.Replace(strings.TrimSpace(p.Opening))] = true
			for fact, a := range p.Answers {
				if v := p.Facts[fact]; v == "yes" || v == "no" || v == "unsure" {
					said[fact+"\t"+v+"\t"+tabs.Replace(strings.TrimSpace(a))]++
				}
			}
		}
		held := ""
		if strings.Contains(file, "testdata/blind") {
			held = "blind-" + filepath.Base(filepath.Dir(file)) + ".tsv"
		}
		var tr []kb.Labelled
		for f, ls := range by {
			for _, l := range ls {
				if f == held || (f == "openings.tsv" && openings[tabs.Replace(l.Text)]) {
					continue
				}
				tr = append(tr, l)
			}
		}
		var kept []string
		for _, line := range strings.Split(string(answers), "\n") {
			if said[line] > 0 {
				said[line]--
				continue
			}
			kept = append(kept, line)
		}
		k, _ := kb.Default()
		k.Retrain(tr)
		if err := k.RetrainAnswers([]byte(strings.Join(kept, "\n"))); err != nil {
			t.Fatal(err)
		}
		s := simulateWith(t, k, ps)
		total.n += s.n
		total.supported += s.supported
		total.questions += s.questions
		total.repeated += s.repeated
		fmt.Printf("held out %-40s n=%2d supported %.1f%% mean q %.2f asked twice %d (answers left out %d)\n", file, s.n,
			100*float64(s.supported)/float64(s.n), float64(s.questions)/float64(s.n), s.repeated, len(strings.Split(string(answers), "\n"))-len(kept))
		if os.Getenv("SCORE_V") != "" {
			for _, w := range s.wrong {
				fmt.Println(" ", w)
			}
		}
	}
	fmt.Printf("all n=%d supported %.1f%% mean q %.2f asked twice %d\n", total.n,
		100*float64(total.supported)/float64(total.n), float64(total.questions)/float64(total.n), total.repeated)
}
