package kb

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestTrainingExtractsAreCurrent: training/messages/openings.tsv and
// training/answers.tsv are what the simulated users say: those of
// training/personas and those of every blind set that joined the training
// data (its messages are training/messages/blind-<set>.tsv). Each opening
// is a problem report; each answer is labelled with the persona's value
// for its fact. `go test ./kb -run TestTrainingExtractsAreCurrent -update`
// rewrites both after a persona file is added (then retrain: README of
// training/).
func TestTrainingExtractsAreCurrent(t *testing.T) {
	files, err := filepath.Glob("training/personas/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	joined, err := filepath.Glob("training/messages/blind-*.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, f := range joined {
		set := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "blind-"), ".tsv")
		sets = append(sets, set)
	}
	slices.Sort(sets)
	for _, set := range sets {
		files = append(files, filepath.Join("testdata/blind", set, "personas.yaml"))
	}
	type persona struct {
		Opening string            `yaml:"opening"`
		Facts   map[string]string `yaml:"facts"`
		Answers yaml.Node         `yaml:"answers"` // a mapping, kept in file order
	}
	clean := func(s string) string {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\t", " "), "\r", "")
		return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`)
	}
	var openings, answers []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ps []persona
		if err := yaml.Unmarshal(data, &ps); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range ps {
			openings = append(openings, "fix\tyes\t"+clean(p.Opening))
			for i := 0; i+1 < len(p.Answers.Content); i += 2 {
				fact, text := p.Answers.Content[i].Value, p.Answers.Content[i+1].Value
				switch v := p.Facts[fact]; v {
				case "yes", "no", "unsure":
					answers = append(answers, fact+"\t"+v+"\t"+clean(text))
				}
			}
		}
	}
	names := strings.Join(sets, ", ")
	want := map[string]string{
		"training/messages/openings.tsv": "# Opening messages of the simulated users in kb/training/personas and the scored blind\n" +
			"# sets " + names + ": every one is a problem report without a specific question.\n" +
			strings.Join(openings, "\n") + "\n",
		"training/answers.tsv": "# Answers of the simulated users in kb/training/personas and the scored blind sets\n" +
			"# " + names + ", one per line: fact<TAB>value (yes, no or unsure)<TAB>the answer as typed.\n" +
			strings.Join(answers, "\n") + "\n",
	}
	for path, w := range want {
		if *update {
			if err := os.WriteFile(path, []byte(w), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != w {
			t.Errorf("%s is not what the personas say: run go test ./kb -run TestTrainingExtractsAreCurrent -update, then retrain", path)
		}
	}
}
