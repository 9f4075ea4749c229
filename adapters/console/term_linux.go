package console

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminal is the input terminal's file descriptor, for the two things
// the adapter asks of it.
type terminal struct{ fd int }

// openTerminal returns in as a terminal, or false when it is not one.
func openTerminal(in *os.File) (terminal, bool) {
	fd := int(in.Fd())
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return terminal{}, false
	}
	return terminal{fd}, true
}

// waiting reports whether a whole line is already waiting to be read: a
// person types one line at a time, a paste delivers them all at once. In
// canonical mode the terminal counts only complete lines.
func (t terminal) waiting() bool {
	n, err := unix.IoctlGetInt(t.fd, unix.TIOCINQ)
	return err == nil && n > 0
}

// bracketPastes asks the terminal (through out) to mark pastes with
// ESC[200~ … ESC[201~, which most terminals do and the rest ignore, and
// stops the terminal echoing those marks as "^[[200~" (ECHOCTL): they are
// then sent on raw, and a terminal ignores a sequence it sent itself. The
// returned func undoes both.
func (t terminal) bracketPastes(out *os.File) (undo func(), err error) {
	old, err := unix.IoctlGetTermios(t.fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHOCTL
	if err := unix.IoctlSetTermios(t.fd, unix.TCSETS, &quiet); err != nil {
		return nil, err
	}
	out.WriteString(pasteModeOn)
	return func() {
		out.WriteString(pasteModeOff)
		unix.IoctlSetTermios(t.fd, unix.TCSETS, old)
	}, nil
}
