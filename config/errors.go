package config

import (
	"errors"
	"strconv"
	"strings"
)

// Errors that problems wrap, for errors.Is.
var (
	// ErrUnknownKey: the file has a key the schema does not know.
	ErrUnknownKey = errors.New("unknown key")
	// ErrSecretInFile: the file holds a secret, which belongs in the
	// environment.
	ErrSecretInFile = errors.New("secrets are read only from the environment")
	// ErrMissingSecret: a setting needs a secret that is not set.
	ErrMissingSecret = errors.New("missing secret")
)

// FieldError is one problem with one setting. Parse and Validate return
// every problem at once, joined with errors.Join; use errors.As on each
// joined error (or the Unwrap() []error method) to get them one by one.
type FieldError struct {
	// Path is the setting's YAML path ("monitor.targets[1].url"), or, for a
	// secret, its environment variable ("SLACK_APP_TOKEN"); "" for the
	// document as a whole.
	Path string
	// Line is the line in the YAML file the value came from; 0 when unknown
	// or when the value did not come from the file.
	Line int
	// Env is the environment variable that set the value, "" if none.
	Env string
	// Err is what is wrong.
	Err error
}

// Error formats the problem as "line 12: monitor.targets[1].url: …",
// "GPTACCESS_HTTP_LISTEN (http.listen): …" or "http.listen: …".
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "" && e.Env != e.Path:
		b.WriteString(e.Env)
		if e.Path != "" {
			b.WriteString(" (" + e.Path + ")")
		}
		b.WriteString(": ")
	default:
		if e.Line > 0 {
			b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
		}
		if e.Path != "" {
			b.WriteString(e.Path + ": ")
		}
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// maxProblems is how many problems an error lists; past that, more detail
// does not help anyone fix the file.
const maxProblems = 50

func joinProblems(ps []*FieldError) error {
	errs := make([]error, 0, min(len(ps), maxProblems+1))
	for _, p := range ps {
		if len(errs) == maxProblems {
			errs = append(errs, errors.New("… and more problems; fix these first"))
			break
		}
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}

// covered reports whether path is, or is inside, one of the paths already
// reported, so that a value the decoder rejected is not reported again by
// validation.
func covered(path string, reported []string) bool {
	for _, r := range reported {
		if r == "" {
			continue
		}
		if path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// lookupEnv returns the variable that set path, or the list that path is an
// item of.
func lookupEnv(env map[string]string, path string) string {
	if v, ok := env[path]; ok {
		return v
	}
	if i := strings.LastIndexByte(path, '['); i > 0 && strings.HasSuffix(path, "]") {
		return env[path[:i]]
	}
	return ""
}
