package console

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestGatherJoinsAPaste: lines that follow each other within the paste
// window are one message; a line typed later is the next message.
func TestGatherJoinsAPaste(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lines := make(chan string)
		go func() {
			for _, l := range []string{"Error code 1020", "Ray ID: 7afa59eb3bb7abf6"} {
				time.Sleep(time.Millisecond) // a terminal hands pasted lines over one by one
				lines <- l
			}
			time.Sleep(2 * time.Second) // a person typing the next message
			lines <- "yes"
		}()
		if got, want := gather("Access denied", lines), "Access denied\nError code 1020\nRay ID: 7afa59eb3bb7abf6"; got != want {
			t.Errorf("pasted page = %q, want %q", got, want)
		}
		if got := gather(<-lines, lines); got != "yes" {
			t.Errorf("next message = %q, want yes", got)
		}
	})
}
