package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary files and environments to Parse. It must never
// panic; what it accepts must validate, and must survive a YAML round trip
// unchanged. The seed corpus is in testdata/fuzz/FuzzParse.
//
// environ is "NAME=value" lines.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, environ string) {
		vars := map[string]string{}
		for line := range strings.SplitSeq(environ, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vars[k] = v
			}
		}
		c, err := Parse(bytes.NewReader(data), env(vars))
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a Config and an error: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			var fe *FieldError
			if errors.As(err, &fe) && fe.Err == nil {
				t.Fatal("FieldError without Err")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a Config that Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("yaml.Marshal: %v", err)
		}
		again, err := Parse(bytes.NewReader(out), nil)
		if err != nil {
			// Secrets are not marshalled, and validation may depend on
			// them (slack.mode: http needs SLACK_SIGNING_SECRET only
			// when Slack is on), so reparse with the same secrets.
			again, err = Parse(bytes.NewReader(out), secretsOnly(vars))
			if err != nil {
				t.Fatalf("Parse(yaml.Marshal(c)): %v\n%s", err, out)
			}
		}
		want := *c
		want.Secrets = again.Secrets
		if diff := cmp.Diff(&want, again); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s\n%s", diff, out)
		}
	})
}

func secretsOnly(vars map[string]string) func(string) string {
	return func(k string) string {
		if strings.HasPrefix(k, "GPTACCESS_") {
			return ""
		}
		return vars[k]
	}
}
