package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

const exampleFile = "../gptaccess.example.yaml"

// TestExampleIsDefault keeps the example file honest: it sets every key to
// its default, so copying it changes nothing until the operator edits it.
// (It has no illustrative values; examples are in its comments.)
func TestExampleIsDefault(t *testing.T) {
	got, err := Load(exampleFile, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", exampleFile, err)
	}
	if diff := cmp.Diff(Default(), got); diff != "" {
		t.Errorf("%s differs from Default() (-want +got):\n%s", exampleFile, diff)
	}
}

// TestExampleMentionsEveryKey checks that every key of the schema, target
// fields included, appears as a key in the example file, and nothing else.
func TestExampleMentionsEveryKey(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], path)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := joinPath(path, n.Content[i].Value)
				got[p] = true
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(item, path+"[]")
			}
		}
	}
	walk(&doc, "")

	var want []string
	var schema func(t reflect.Type, path string)
	schema = func(t reflect.Type, path string) {
		for i := range t.NumField() {
			name := yamlName(t.Field(i))
			if name == "" {
				continue
			}
			p := joinPath(path, name)
			want = append(want, p)
			switch ft := t.Field(i).Type; {
			case ft.Kind() == reflect.Struct:
				schema(ft, p)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				schema(ft.Elem(), p+"[]")
			}
		}
	}
	schema(reflect.TypeFor[Config](), "")

	for _, p := range want {
		if !got[p] {
			t.Errorf("%s does not set %s", exampleFile, p)
		}
	}
	for p := range got {
		if !slices.Contains(want, p) {
			t.Errorf("%s sets %s, which is not in the schema", exampleFile, p)
		}
	}
}

// TestExampleDocumentsSecrets checks that the example file tells operators
// where every secret goes.
func TestExampleDocumentsSecrets(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var s Secrets
	for _, v := range s.vars() {
		if !strings.Contains(string(data), v.name) {
			t.Errorf("%s does not mention %s", exampleFile, v.name)
		}
	}
	for _, v := range []string{"GPTACCESS_DB", "GPTACCESS_CONFIG", "GPTACCESS_<SECTION>_<KEY>"} {
		if !strings.Contains(string(data), v) {
			t.Errorf("%s does not mention %s", exampleFile, v)
		}
	}
}

// TestEveryFieldHasATag keeps the reflection-based decoding, environment
// and example checks complete: a field without a yaml tag would be missed
// by all three.
func TestEveryFieldHasATag(t *testing.T) {
	var check func(t2 reflect.Type)
	check = func(t2 reflect.Type) {
		for i := range t2.NumField() {
			f := t2.Field(i)
			if f.Tag.Get("yaml") == "" {
				t.Errorf("%s.%s has no yaml tag", t2.Name(), f.Name)
			}
			if f.Tag.Get("json") == "" {
				t.Errorf("%s.%s has no json tag", t2.Name(), f.Name)
			}
			switch {
			case f.Tag.Get("yaml") == "-":
				// Secrets: not in the file, not overridable by GPTACCESS_*.
			case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t2.PkgPath():
				check(f.Type)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				check(f.Type.Elem())
			}
		}
	}
	check(reflect.TypeFor[Config]())
}

// TestRoundTrip checks that a Config marshalled to YAML parses back to the
// same Config (secrets aside, which never marshal).
func TestRoundTrip(t *testing.T) {
	c, err := Parse(strings.NewReader(`
monitor:
  targets:
    - {name: x, kind: http, url: "https://x/", method: POST, expect_status: [204], timeout: 90s}
slack: {alert_channels: [C1, C2], support_group: S1}
discord: {guild_id: "0123"}
kb: {threshold: 0.35}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	roundTrip(t, Default())
}

func roundTrip(t *testing.T, c *Config) {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	got, err := Parse(strings.NewReader(string(out)), nil)
	if err != nil {
		t.Fatalf("Parse(yaml.Marshal(c)): %v\n%s", err, out)
	}
	want := *c
	want.Secrets = Secrets{}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s\n%s", diff, out)
	}
}
