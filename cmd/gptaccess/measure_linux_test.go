//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gptaccess/adapters/console/consoletest"
)

// BenchmarkTerminalReply is the time from pressing Enter on a typed
// question in a real (pseudo-)terminal to the bot's next prompt, with the
// whole `gptaccess` process on the other side.
func BenchmarkTerminalReply(b *testing.B) {
	bin := buildBinary(b)
	pty, tty := consoletest.OpenPTY(b)
	cmd := exec.Command(bin)
	cmd.Stdin, cmd.Stdout = tty, tty
	cmd.Env = append(os.Environ(), "GPTACCESS_DB="+filepath.Join(b.TempDir(), "g.db"), "GPTACCESS_MONITOR_ENABLED=false", "GPTACCESS_HTTP_LISTEN=", "GPTACCESS_LOG_LEVEL=warn")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	var screen bytes.Buffer
	buf := make([]byte, 64<<10)
	// until waits for the terminal to show want after what was shown.
	until := func(want string) {
		seen := screen.Len()
		deadline := time.Now().Add(10 * time.Second)
		pty.SetReadDeadline(deadline)
		for !strings.Contains(screen.String()[seen:], want) {
			n, err := pty.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				b.Fatalf("waiting for %q: %v; the terminal shows %q", want, err, screen.String())
			}
		}
	}
	until("> ")
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		pty.WriteString("what is error 1020?\n")
		until("\n> ")
		took = append(took, time.Since(start))
	}
	b.ReportMetric(quantile(took, 0.50), "p50-ms")
	b.ReportMetric(quantile(took, 0.99), "p99-ms")
}
