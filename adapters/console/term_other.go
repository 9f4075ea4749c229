//go:build !linux

package console

import (
	"errors"
	"os"
)

// terminal is unused outside Linux: pastes are then told from typing by
// lines already buffered, and the paste window.
type terminal struct{}

func openTerminal(*os.File) (terminal, bool) { return terminal{}, false }

func (terminal) waiting() bool { return false }

func (terminal) bracketPastes(*os.File) (func(), error) {
	return nil, errors.New("bracketed paste is only set up on Linux")
}
