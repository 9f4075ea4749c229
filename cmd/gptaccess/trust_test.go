package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/bot/bottest"
	"gptaccess/sqlite"
)

// TestConfigValidateChecksNamedFiles: a configuration naming a knowledge
// file that is missing, not a file, or broken is not "valid".
func TestConfigValidateChecksNamedFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "guide.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("entries: [\n"), 0o600)
	for _, tc := range []struct{ env, path, want string }{
		{"GPTACCESS_KB_FILE", filepath.Join(dir, "missing.yaml"), "no such file"},
		{"GPTACCESS_KB_DIAGNOSIS_FILE", filepath.Join(dir, "missing.yaml"), "no such file"},
		{"GPTACCESS_KB_FILE", fifo, "not a regular file (it is a named pipe)"},
		{"GPTACCESS_KB_FILE", "/dev/zero", "not a regular file (it is a character device)"},
		{"GPTACCESS_KB_FILE", broken, "knowledge base"},
	} {
		out, _, err := runCmd(t, env(t, tc.env, tc.path), "", "config", "validate")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: validate said %q, err %v; want an error saying %q", tc.env, tc.path, out, err, tc.want)
		}
	}
}

// TestUnknownEnvironmentVariable: a misspelt GPTACCESS_ variable stops the
// start with a did-you-mean, as a misspelt YAML key does.
func TestUnknownEnvironmentVariable(t *testing.T) {
	t.Setenv("GPTACCESS_HTTPLISTEN", "127.0.0.1:9999")
	getenv := env(t, "GPTACCESS_HTTPLISTEN", "127.0.0.1:9999")
	for _, args := range [][]string{{"config", "validate"}, {"run"}} {
		_, _, err := runCmd(t, getenv, "", args...)
		if err == nil || !strings.Contains(err.Error(), "GPTACCESS_HTTPLISTEN: unknown key: unknown environment variable (did you mean GPTACCESS_HTTP_LISTEN?)") {
			t.Errorf("%v: err = %v", args, err)
		}
	}
}

// TestSignalDuringStartUp: a signal that arrives before the knowledge base
// has loaded ends the program at once; nothing is opened or answered.
func TestSignalDuringStartUp(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM as the program starts
	var out, errb strings.Builder
	err := run(ctx, []string{"gptaccess", "chat"}, env(t, "GPTACCESS_DB", db), strings.NewReader("what is error 1020?\n"), &out, &errb)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("err = %v, want an interruption", err)
	}
	if out.Len() != 0 {
		t.Errorf("answered after the signal: %q", out.String())
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("database created after the signal: %v", err)
	}
}

// TestForgetCommand deletes one person's conversation and messages.
func TestForgetCommand(t *testing.T) {
	getenv := env(t)
	if _, _, err := runCmd(t, getenv, "where is the cafeteria\nchatgpt says access denied 1020\n", "chat", "--json"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, getenv, "", "forget", "--user", "console:you")
	if err != nil || !strings.Contains(out, "forgot console:you: 1 conversation(s), 1 unanswered message(s)") {
		t.Errorf("forget: %q, %v", out, err)
	}
	out, _, err = runCmd(t, getenv, "", "forget", "--user", "console:you")
	if err != nil || !strings.Contains(out, "0 conversation(s), 0 unanswered") {
		t.Errorf("forget again: %q, %v", out, err)
	}
	if _, _, err := runCmd(t, getenv, "", "forget", "--user", "U123"); !errors.Is(err, errUsage) {
		t.Errorf("forget without a platform: %v", err)
	}
}

// TestJanitorEnforcesPrivacyRetention: messages older than
// privacy.retention go; younger ones stay.
func TestJanitorEnforcesPrivacyRetention(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	for _, age := range []time.Duration{48 * time.Hour, time.Hour} {
		db.RecordUnanswered(ctx, bot.Unmatched{Platform: bot.Slack, User: "U1", Text: "x", At: now.Add(-age)})
	}
	prune(ctx, db, retention{userText: 24 * time.Hour}, now, slog.New(slog.NewTextHandler(&bottest.Buffer{}, nil)))
	s, err := db.Stats(ctx, now.Add(-365*24*time.Hour))
	if err != nil || s.UnansweredCount != 1 {
		t.Errorf("after pruning: %d kept (%v), want 1", s.UnansweredCount, err)
	}
}

// TestReadOnlyDatabaseStopsTheStart: a database file the bot cannot write
// is refused at start-up with a clear error, instead of a bot that answers
// every message with an apology.
func TestReadOnlyDatabaseStopsTheStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	getenv := env(t, "GPTACCESS_DB", db)
	if _, _, err := runCmd(t, getenv, "hi\n", "chat"); err != nil {
		t.Fatal(err)
	}
	// Root ignores file modes; the immutable attribute binds it too.
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", db).CombinedOutput(); err != nil {
			t.Skipf("cannot make the file read-only for root: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", db).Run() })
	} else if err := os.Chmod(db, 0o444); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, getenv, "hi\n", "chat")
	if err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("read-only database: err = %v, want one that says it cannot write", err)
	}
}

// TestConfigValidateChecksTheDatabasePath: database.path must name a
// regular file, or none yet, in a directory the bot can write (SQLite
// keeps its -wal and -shm files beside the database); validate creates
// nothing.
func TestConfigValidateChecksTheDatabasePath(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "g.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o600)
	for _, tc := range []struct{ path, want string }{
		{dir, "database.path: " + dir + " is a directory, not a database file"},
		{fifo, "is a named pipe, not a database file"},
		{filepath.Join(dir, "missing", "g.db"), "database.path: the directory " + filepath.Join(dir, "missing") + " does not exist"},
		{filepath.Join(notDir, "g.db"), "database.path"},
		{"/proc/gptaccess.db", "database.path: cannot create files in /proc"}, // not writable, even for root
	} {
		out, _, err := runCmd(t, env(t, "GPTACCESS_DB", tc.path), "", "config", "validate")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("GPTACCESS_DB=%s: validate said %q, err %v; want an error saying %q", tc.path, out, err, tc.want)
		}
	}

	fresh := filepath.Join(dir, "new.db")
	if out, _, err := runCmd(t, env(t, "GPTACCESS_DB", fresh), "", "config", "validate"); err != nil || !strings.Contains(out, "configuration is valid") {
		t.Errorf("a new file in a writable directory: %q, %v", out, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // the FIFO and the file
		t.Errorf("validate left files behind: %v", entries)
	}
	if _, _, err := runCmd(t, env(t, "GPTACCESS_DB", fresh), "", "stats"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd(t, env(t, "GPTACCESS_DB", fresh), "", "config", "validate"); err != nil || !strings.Contains(out, "configuration is valid") {
		t.Errorf("an existing database: %q, %v", out, err)
	}
}
