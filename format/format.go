// Package format writes durations and latencies for people, one way
// everywhere: chat replies, alerts, the status page and the command line.
package format

import (
	"fmt"
	"strings"
	"time"
)

// Duration is d in its largest two units, as incidents and ages are shown:
// "45s", "12m", "1h 5m", "2d 3h". Parts of the smallest unit are dropped.
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if mins := int(d.Minutes()) % 60; mins != 0 {
			return fmt.Sprintf("%dh %dm", h, mins)
		}
		return fmt.Sprintf("%dh", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h != 0 {
		return fmt.Sprintf("%dd %dh", days, h)
	}
	return fmt.Sprintf("%dd", days)
}

// Span is a period in words, as settings and reporting windows are
// described: "7 days", "24 hours", "1 hour", "90 minutes"; never
// "168h0m0s". A span that is no whole number of minutes falls back to Go's
// notation.
func Span(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// Latency is a response time: "83 ms" below a second, "1.2 s" above.
func Latency(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Seconds()), ".0") + " s"
}
