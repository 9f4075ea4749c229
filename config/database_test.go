package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDatabaseURL: database.url selects PostgreSQL; a password comes only
// from the environment; errors never quote the URL; printing, logging
// and marshalling it hide the password.
func TestDatabaseURL(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := Parse(strings.NewReader("database: {url: \"postgres://bot@db:5432/g?sslmode=require\"}\n"), nil)
	if err != nil || !c.Database.Postgres() {
		t.Fatalf("url without a password in the file: %v, postgres = %v", err, c != nil && c.Database.Postgres())
	}

	_, err = Parse(strings.NewReader("database:\n  url: \"postgres://bot:"+pw+"@db/g\"\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "line 2: database.url: holds a password") || strings.Contains(err.Error(), pw) {
		t.Errorf("password in the file: err = %v", err)
	}

	c, err = Parse(strings.NewReader(""), env(map[string]string{"GPTACCESS_DATABASE_URL": "postgres://bot:" + pw + "@db/g"}))
	if err != nil {
		t.Fatalf("password from the environment: %v", err)
	}
	if got := c.Database.URL.Reveal(); got != "postgres://bot:"+pw+"@db/g" {
		t.Errorf("Reveal = %q", got)
	}
	if c.Database.URL.Password() != pw {
		t.Errorf("Password = %q", c.Database.URL.Password())
	}

	var out strings.Builder
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("config", "config", c, "url", c.Database.URL)
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "database", c.Database)
	fmt.Fprintf(&out, "%v %s %q %#v %+v", c.Database.URL, c.Database.URL, c.Database.URL, c.Database.URL, c.Database)
	j, _ := json.Marshal(c)
	y, _ := yaml.Marshal(c.Database)
	out.Write(j)
	out.Write(y)
	if strings.Contains(out.String(), pw) {
		t.Errorf("the password leaks:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "postgres://bot:xxxxx@db/g") {
		t.Errorf("the URL is not shown with its password hidden:\n%s", out.String())
	}

	for _, bad := range []string{"mysql://bot:" + pw + "@db/g", "postgres://bot:" + pw + "@/g", "::" + pw} {
		_, err := Parse(strings.NewReader(""), env(map[string]string{"GPTACCESS_DATABASE_URL": bad}))
		if err == nil || !strings.Contains(err.Error(), "GPTACCESS_DATABASE_URL (database.url):") || strings.Contains(err.Error(), pw) {
			t.Errorf("%s: err = %v", strings.ReplaceAll(bad, pw, "PW"), err)
		}
	}
}
