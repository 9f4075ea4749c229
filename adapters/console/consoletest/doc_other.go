//go:build !linux

// Package consoletest opens pseudo-terminals on Linux, so the terminal
// adapter and the command can be tested in a real terminal's line
// discipline; elsewhere OpenPTY skips the test.
package consoletest

import (
	"os"
	"testing"
)

// OpenPTY skips the test: pseudo-terminals are only opened on Linux.
func OpenPTY(tb testing.TB) (pty, tty *os.File) {
	tb.Skip("pseudo-terminal tests run on Linux")
	return nil, nil
}
