package format

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second:                "45s",
		12*time.Minute + 59*time.Second: "12m",
		65 * time.Minute:                "1h 5m",
		2 * time.Hour:                   "2h",
		51 * time.Hour:                  "2d 3h",
		48 * time.Hour:                  "2d",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7 days",
		24 * time.Hour:     "24 hours",
		time.Hour:          "1 hour",
		90 * time.Minute:   "90 minutes",
		time.Minute:        "1 minute",
		90 * time.Second:   "1m30s",
	} {
		if got := Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		83 * time.Millisecond:   "83 ms",
		1200 * time.Millisecond: "1.2 s",
		2 * time.Second:         "2 s",
	} {
		if got := Latency(d); got != want {
			t.Errorf("Latency(%v) = %q, want %q", d, got, want)
		}
	}
}
