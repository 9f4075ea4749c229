package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// setting is one key that the environment can override.
type setting struct {
	path  string // YAML path, "http.listen"
	env   string // GPTACCESS_HTTP_LISTEN
	index []int  // field index in Config
}

// settings lists every environment-overridable key, derived from Config's
// YAML tags so that a new key is overridable without more code. Lists of
// records (monitor.targets) and secrets are left out.
func settings() []setting {
	var out []setting
	var walk func(t reflect.Type, path string, index []int)
	walk = func(t reflect.Type, path string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			p := joinPath(path, name)
			idx := append(append([]int(nil), index...), i)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, p, idx)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				// monitor.targets: records do not fit one variable.
			default:
				env := "GPTACCESS_" + strings.ToUpper(strings.ReplaceAll(p, ".", "_"))
				out = append(out, setting{path: p, env: env, index: idx})
			}
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
}

// applyEnv applies the environment over c: every setting, GPTACCESS_DB, and
// the secrets. It returns which variable set which path.
func (c *Config) applyEnv(getenv func(string) string) (map[string]string, []*FieldError) {
	set := map[string]string{}
	var errs []*FieldError
	v := reflect.ValueOf(c).Elem()
	for _, s := range settings() {
		raw := getenv(s.env)
		if raw == "" {
			continue
		}
		if err := setFromEnv(v.FieldByIndex(s.index), raw); err != nil {
			errs = append(errs, &FieldError{Path: s.path, Env: s.env, Err: err})
			continue
		}
		set[s.path] = s.env
	}
	if db := getenv("GPTACCESS_DB"); db != "" {
		if long := getenv("GPTACCESS_DATABASE_PATH"); long != "" && long != db {
			errs = append(errs, &FieldError{Path: "database.path", Env: "GPTACCESS_DB",
				Err: errors.New("GPTACCESS_DATABASE_PATH is set to a different path; set only one")})
		}
		c.Database.Path = db
		set["database.path"] = "GPTACCESS_DB"
	}
	c.Secrets.read(getenv)
	return set, errs
}

// setFromEnv parses one environment value into v.
func setFromEnv(v reflect.Value, raw string) error {
	s := strings.TrimSpace(raw)
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %s: use a number with a unit, such as \"30s\" or \"5m\"", quote(raw))
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("invalid whole number %s: %w", quote(raw), numErr(err))
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %s: %w", quote(raw), numErr(err))
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %s: use true or false: %w", quote(raw), numErr(err))
		}
		v.SetBool(b)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		var items []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		// A new field type needs a case here; TestEnvOverridesEverySetting
		// catches one that is missing.
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// numErr unwraps a strconv.NumError to its cause (strconv.ErrSyntax or
// ErrRange), whose text is all that is useful after the quoted value.
func numErr(err error) error {
	if ne, ok := errors.AsType[*strconv.NumError](err); ok {
		return ne.Err
	}
	return err
}

// aliases are the GPTACCESS_ variables that are not settings: the
// configuration file and the short name of database.path.
var aliases = []string{"GPTACCESS_CONFIG", "GPTACCESS_DB"}

// CheckEnv reports the GPTACCESS_ variables in environ ("NAME=value"
// entries, as os.Environ returns) that gptaccess does not know, each with
// the known name it most likely means, so that a misspelt variable is not
// silently ignored. Empty variables count as unset and are not reported.
func CheckEnv(environ []string) error {
	known := map[string]bool{}
	var names []string
	for _, s := range settings() {
		known[s.env] = true
		names = append(names, strings.TrimPrefix(s.env, "GPTACCESS_"))
	}
	for _, a := range aliases {
		known[a] = true
		names = append(names, strings.TrimPrefix(a, "GPTACCESS_"))
	}
	var ps []*FieldError
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "GPTACCESS_") || known[name] || value == "" {
			continue
		}
		hint := " (see README.md for the variables)"
		if s := suggest(strings.TrimPrefix(name, "GPTACCESS_"), names); s != "" {
			hint = fmt.Sprintf(" (did you mean GPTACCESS_%s?)", s)
		}
		ps = append(ps, &FieldError{Env: name, Err: fmt.Errorf("%w: unknown environment variable%s", ErrUnknownKey, hint)})
	}
	if len(ps) == 0 {
		return nil
	}
	return joinProblems(ps)
}
