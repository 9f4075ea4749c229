// Package pgtest gives tests a fresh schema on a real PostgreSQL server.
//
// The server is the one GPTACCESS_TEST_POSTGRES names (a postgres:// URL),
// else the local one (postgres://postgres@127.0.0.1:5432/test). A test
// that cannot reach it fails rather than skips, so CI cannot pass without
// running the PostgreSQL tests; GPTACCESS_TEST_POSTGRES=off skips them
// explicitly, for a machine without PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable that points the tests at a server, or turns
// them off.
const Env = "GPTACCESS_TEST_POSTGRES"

// DefaultURL is the server used when Env is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// schemaPrefix starts the name of every schema made here; the rest is
// the creation time and a random suffix.
const schemaPrefix = "gptaccess_test_"

// URL returns the URL of a new empty schema for tb (search_path set to
// it), dropped with everything in it when tb ends. Close what was opened
// on it first (t.Cleanup runs in reverse order, so open after calling
// URL). Schemas that a killed test run left behind are dropped after a
// day.
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(Env)
	switch base {
	case "off":
		tb.Skipf("PostgreSQL tests are off (%s=off)", Env)
	case "":
		base = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("PostgreSQL is not reachable (%v); start it, point %s at a server, or set %s=off to skip these tests", err, Env, Env)
	}
	defer conn.Close(ctx)
	dropStale(ctx, conn)

	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := fmt.Sprintf("%s%d_%s", schemaPrefix, time.Now().Unix(), hex.EncodeToString(b[:]))
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: not a URL: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// dropStale drops test schemas older than a day: those of test runs that
// were killed before their cleanup.
func dropStale(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, schemaPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		created, _, _ := strings.Cut(strings.TrimPrefix(name, schemaPrefix), "_")
		sec, err := strconv.ParseInt(created, 10, 64)
		if err == nil && time.Since(time.Unix(sec, 0)) > 24*time.Hour {
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
		}
	}
}
