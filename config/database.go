package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
)

// DatabaseURL is database.url: a PostgreSQL URL, which may hold a
// password. Every way of printing or marshalling it hides the password
// (postgres://bot:xxxxx@db/gptaccess); Reveal returns the whole URL for
// the one place that connects.
type DatabaseURL string

// Reveal returns the URL, password included.
func (u DatabaseURL) Reveal() string { return string(u) }

// Password returns the URL's password ("" when it has none), so the log
// scrubber can remove it wherever it might appear.
func (u DatabaseURL) Password() string {
	p, err := url.Parse(string(u))
	if err != nil || p.User == nil {
		return ""
	}
	pw, _ := p.User.Password()
	return pw
}

// String returns the URL with its password hidden; a URL that does not
// parse is hidden whole, since where its password is cannot be told.
func (u DatabaseURL) String() string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(string(u))
	if err != nil {
		return redacted
	}
	return p.Redacted()
}

// GoString is like String, for %#v.
func (u DatabaseURL) GoString() string { return fmt.Sprintf("config.DatabaseURL(%q)", u.String()) }

// Format hides the password for every verb.
func (u DatabaseURL) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, u.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", u.String())
	default:
		io.WriteString(f, u.String())
	}
}

// LogValue hides the password in log/slog output.
func (u DatabaseURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText hides the password for text, JSON and YAML encoders.
func (u DatabaseURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// checkDatabaseURL is database.url's validation. It never quotes the
// value: it may hold a password.
func checkDatabaseURL(u DatabaseURL) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(string(u))
	if err != nil {
		return errors.New("is not a URL (want postgres://user@host:5432/database)")
	}
	if p.Scheme != "postgres" && p.Scheme != "postgresql" {
		return errors.New("must be a postgres:// URL (empty for the embedded SQLite database)")
	}
	if p.Host == "" && p.Query().Get("host") == "" {
		return errors.New("names no host (want postgres://user@host:5432/database)")
	}
	return nil
}

// errPasswordInFile refuses a password in the configuration file, as for
// every other secret.
var errPasswordInFile = errors.New("holds a password: secrets never go in the file; set the URL in GPTACCESS_DATABASE_URL, or the password in PGPASSWORD or ~/.pgpass")
