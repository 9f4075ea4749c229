package textfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gptaccess/textfile"
)

// TestRead refuses what is not a small regular file, at once: a device
// would be read forever, a pipe would block the start-up.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	os.WriteFile(small, []byte("a: 1\n"), 0o600)
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte(strings.Repeat("x", 101)), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	if data, err := textfile.Read(small, 100); err != nil || string(data) != "a: 1\n" {
		t.Errorf("small file: %q, %v", data, err)
	}
	for _, tc := range []struct {
		path string
		want error
		says string
	}{
		{big, textfile.ErrTooLarge, "101 bytes, at most 100"},
		{"/dev/zero", textfile.ErrNotRegular, "character device"},
		{fifo, textfile.ErrNotRegular, "named pipe"},
		{dir, textfile.ErrNotRegular, "directory"},
		{filepath.Join(dir, "missing"), os.ErrNotExist, "no such file"},
	} {
		_, err := textfile.Read(tc.path, 100)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want %v saying %q", tc.path, err, tc.want, tc.says)
		}
	}
}
