// Package bottest holds small fakes that several packages' tests share.
package bottest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Observer records what the delivery core and the adapters report
// (delivery.Observer), per platform.
type Observer struct {
	mu          sync.Mutex
	reconnects  map[string]int
	waits       map[string][]time.Duration
	duplicates  map[string]int
	stale       map[string]int
	undelivered map[string]int
}

func count(m *map[string]int, k string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[k]++
}

// Duplicate records a delivery seen before.
func (o *Observer) Duplicate(platform string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	count(&o.duplicates, platform)
}

// Stale records a pending delivery dropped as too old.
func (o *Observer) Stale(platform string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	count(&o.stale, platform)
}

// Undelivered records an outbound call that failed for good.
func (o *Observer) Undelivered(platform, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	count(&o.undelivered, platform)
}

// Counts returns how many duplicates, stale deliveries and undelivered
// calls platform had.
func (o *Observer) Counts(platform string) (duplicates, stale, undelivered int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.duplicates[platform], o.stale[platform], o.undelivered[platform]
}

// Reconnect records a reconnect.
func (o *Observer) Reconnect(platform string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.reconnects == nil {
		o.reconnects = map[string]int{}
	}
	o.reconnects[platform]++
}

// Attempted implements delivery.Observer; the tests read the fakes' own
// records of calls instead.
func (o *Observer) Attempted(string, string, bool) {}

// RateLimitWait records a wait.
func (o *Observer) RateLimitWait(platform string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waits == nil {
		o.waits = map[string][]time.Duration{}
	}
	o.waits[platform] = append(o.waits[platform], d)
}

// Reconnects returns how many reconnects platform reported.
func (o *Observer) Reconnects(platform string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reconnects[platform]
}

// Waits returns the rate-limit waits platform reported, in order.
func (o *Observer) Waits(platform string) []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Duration(nil), o.waits[platform]...)
}

// Buffer is a bytes.Buffer safe for one writer goroutine and a reading test,
// for capturing logs.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.b.Write(p)
}

// Wait waits until what was written contains s, failing tb after timeout.
func (b *Buffer) Wait(tb testing.TB, s string, timeout time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		ok := strings.Contains(b.b.String(), s)
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("never written: %q", s)
		}
	}
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
