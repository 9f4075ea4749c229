package console

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestGatherJoinsAPaste: once a line arrived with another waiting behind
// it, lines that follow within the paste window are one message; a line
// typed later is the next message.
func TestGatherJoinsAPaste(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make(chan input)
		go func() {
			for _, l := range []string{"Error code 1020", "Ray ID: 7afa59eb3bb7abf6"} {
				time.Sleep(time.Millisecond) // a terminal hands pasted lines over one by one
				lines <- input{text: l}
			}
			time.Sleep(2 * time.Second) // a person typing the next message
			lines <- input{text: "yes"}
		}()
		if got, want := gather(input{text: "Access denied", waiting: true}, lines), "Access denied\nError code 1020\nRay ID: 7afa59eb3bb7abf6"; got != want {
			t.Errorf("pasted page = %q, want %q", got, want)
		}
		if got := gather(<-lines, lines); got != "yes" {
			t.Errorf("next message = %q, want yes", got)
		}
	})
}

// TestGatherTypedLineAtOnce: a line with nothing waiting behind it is
// answered without waiting for the paste window.
func TestGatherTypedLineAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make(chan input)
		start := time.Now()
		if got := gather(input{text: "what is error 1020?"}, lines); got != "what is error 1020?" {
			t.Errorf("message = %q", got)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a typed line waited %v", waited)
		}
	})
}

// TestGatherBracketedPaste: with bracketed paste the marks bound the
// message and are removed; a paste that ends without a newline ends at
// its mark (no window), one that ends with a newline at the window, and
// the end mark the terminal sends after that newline is removed from the
// next line.
func TestGatherBracketedPaste(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make(chan input)
		go func() {
			lines <- input{text: "Error code 1020"}
			lines <- input{text: "Ray ID: 7afa59eb3bb7abf6" + pasteEnd}
		}()
		start := time.Now()
		if got, want := gather(input{text: pasteStart + "Access denied"}, lines), "Access denied\nError code 1020\nRay ID: 7afa59eb3bb7abf6"; got != want {
			t.Errorf("pasted page = %q, want %q", got, want)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a paste with its end mark waited %v", waited)
		}

		go func() {
			lines <- input{text: "second line"}
			time.Sleep(3 * time.Second)
			lines <- input{text: pasteEnd + "yes"}
		}()
		if got, want := gather(input{text: pasteStart + "first line"}, lines), "first line\nsecond line"; got != want {
			t.Errorf("paste ending with a newline = %q, want %q", got, want)
		}
		if got := gather(<-lines, lines); got != "yes" {
			t.Errorf("the line typed after it = %q, want yes", got)
		}
		if got := gather(input{text: pasteStart + "one line" + pasteEnd}, lines); got != "one line" {
			t.Errorf("a one-line paste = %q", got)
		}
	})
}
