//go:build linux

package console_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"gptaccess/adapters/console"
	"gptaccess/adapters/console/consoletest"
	"gptaccess/bot"
)

// recorder answers every message with its number and keeps the texts.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Handle(_ context.Context, m bot.Message) (bot.Reply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m.Text)
	return bot.Reply{Text: fmt.Sprintf("reply %d", len(r.msgs))}, nil
}

// screen is what the terminal shows: everything the program wrote.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{}
}

func watch(t *testing.T, pty *os.File) *screen {
	s := &screen{more: make(chan struct{}, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := pty.Read(b)
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// waitFor waits until the screen shows want after offset, and returns
// where it ends.
func (s *screen) waitFor(t *testing.T, offset int, want string) int {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		i := strings.Index(s.buf.String()[offset:], want)
		shown := s.buf.String()
		s.mu.Unlock()
		if i >= 0 {
			return offset + i + len(want)
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("the terminal never showed %q; it shows %q", want, shown)
		}
	}
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestTerminalTypingAndPastes drives the adapter in a real pseudo-
// terminal: a typed line is one message; a multi-line paste is one
// message, whether the terminal marks it (bracketed paste) or not; the
// marks are neither echoed as "^[[200~" nor part of the message; and the
// terminal is left as it was found.
func TestTerminalTypingAndPastes(t *testing.T) {
	pty, tty := consoletest.OpenPTY(t)
	before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	h := &recorder{}
	a := console.New(console.Options{In: tty, Out: tty, Handler: h, JoinPastes: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	s := watch(t, pty)
	at := s.waitFor(t, 0, "\x1b[?2004h")
	at = s.waitFor(t, at, "> ")

	pty.WriteString("what is error 1020?\n")
	at = s.waitFor(t, at, "reply 1")
	// A paste without marks: the terminal writes all its lines at once.
	pty.WriteString("Access denied\nError code 1020\nRay ID: 7afa59eb3bb7abf6\n")
	at = s.waitFor(t, at, "reply 2")
	// A bracketed paste ending without a newline, then Enter.
	pty.WriteString("\x1b[200~Access denied\nError code 1020\x1b[201~")
	pty.WriteString("\n")
	at = s.waitFor(t, at, "reply 3")
	pty.WriteString("yes\n")
	s.waitFor(t, at, "reply 4")

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"what is error 1020?", "Access denied\nError code 1020\nRay ID: 7afa59eb3bb7abf6", "Access denied\nError code 1020", "yes"}
	h.mu.Lock()
	if diff := cmp.Diff(want, h.msgs); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	h.mu.Unlock()
	s.waitFor(t, 0, "\x1b[?2004l")
	if strings.Contains(s.String(), "^[[20") {
		t.Errorf("the paste marks were echoed visibly: %q", s.String())
	}
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal settings not restored: %+v, want %+v", *after, *before)
	}
}
