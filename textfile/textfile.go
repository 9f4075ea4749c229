// Package textfile reads the small files an operator points gptaccess at
// (the configuration, the knowledge base, the diagnosis model) without
// trusting the path: only a regular file under a size cap is read, and
// never more than the cap, so a device (/dev/zero), a pipe, a directory or
// a log file given by mistake is refused at once instead of blocking the
// start-up or filling memory.
package textfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular is returned for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file over the cap.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path, refusing anything
// else and anything larger than max bytes. Symbolic links are followed.
func Read(path string, max int64) ([]byte, error) {
	// Stat before opening: opening a FIFO blocks until someone writes.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(path, st, max); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The path may have been swapped between Stat and Open.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := check(path, st, max); err != nil {
		return nil, err
	}
	// The file may grow while it is read: read at most one byte past the cap.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}

func check(path string, st os.FileInfo, max int64) error {
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (it is a %s)", path, ErrNotRegular, Kind(st.Mode()))
	}
	if st.Size() > max {
		return fmt.Errorf("%s: %w (%d bytes, at most %d)", path, ErrTooLarge, st.Size(), max)
	}
	return nil
}

// Kind names what a path that is not a regular file is ("directory",
// "named pipe", …), for an error an operator can act on.
func Kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}
