//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMWhileTheKnowledgeBaseLoads: SIGTERM reaches the real binary
// while it is busy loading an operator's kb.file (one of 30 entries, which
// takes a few seconds to train), and the process ends at once, saying it was
// interrupted while loading, rather than when the load is done (README,
// "Security and privacy": signals are honoured from the first
// instruction).
func TestSIGTERMWhileTheKnowledgeBaseLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	guide := filepath.Join(dir, "guide.yaml")
	if err := os.WriteFile(guide, copiedGuide(t, 1), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "chat")
	cmd.Env = append(os.Environ(), "GPTACCESS_DB="+filepath.Join(dir, "g.db"), "GPTACCESS_KB_FILE="+guide,
		"GPTACCESS_MONITOR_ENABLED=false", "GPTACCESS_HTTP_LISTEN=")
	stdin, err := cmd.StdinPipe() // held open: chat would otherwise end with its input
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	// Loading has begun once the process has spent a good fraction of a
	// second on the CPU: reading the configuration takes milliseconds.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for cpuTime(t, cmd.Process.Pid) < 300*time.Millisecond {
		select {
		case err := <-exited:
			t.Fatalf("exited before the signal (%v): %s", err, stderr.String())
		case <-deadline:
			t.Fatal("the process never got busy loading")
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	select {
	case err := <-exited:
		took := time.Since(sent)
		if err == nil || !strings.Contains(stderr.String(), "interrupted while loading the knowledge base") {
			t.Errorf("exit %v after %v; stderr: %s", err, took, stderr.String())
		}
		t.Logf("ended %v after SIGTERM", took.Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM; stderr: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "g.db")); err == nil {
		t.Error("the database was opened after the signal")
	}
}

// copiedGuide is the embedded guide with its entries copied n more times
// under new ids: valid (for n*15+15 entries within kb.MaxEntries), and
// unlike the embedded guide (whose classifiers ship trained) slow to
// load.
func copiedGuide(t *testing.T, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "kb", "guide.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, entries, ok := strings.Cut(string(data), "entries:\n")
	if !ok {
		t.Fatal("kb/guide.yaml has no entries")
	}
	id := regexp.MustCompile(`(?m)^  - id: (\S+)`)
	var b strings.Builder
	b.WriteString(head + "entries:\n" + entries)
	for i := 1; i <= n; i++ {
		b.WriteString(id.ReplaceAllString(entries, fmt.Sprintf("  - id: ${1}-copy%d", i)))
	}
	return []byte(b.String())
}

// cpuTime is the user and system CPU time process pid has used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0 // gone: the caller sees it exit
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime and stime are fields 14 and 15.
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		t.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTick = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return time.Duration(utime+stime) * time.Second / clockTick
}
