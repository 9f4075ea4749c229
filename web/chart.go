package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gptaccess/format"
	"gptaccess/monitor"
)

// The status page's charts are inline SVG computed here; the template
// only places what this file measured.

// bar is one hour of the last 24 in the availability strip.
type bar struct {
	X     float64
	Class string // up, partial, down, none
	Title string // tooltip
}

// Availability strip geometry in viewBox units (the template's viewBox
// is 24 bars wide); it stretches to the card's width.
const (
	barW   = 10
	barGap = 2
)

// hourBars is the availability of each of the 24 clock hours from
// start, oldest first.
func hourBars(a *targetAgg, start time.Time, f formatter) []bar {
	bars := make([]bar, 24)
	for h := range bars {
		from := start.Add(time.Duration(h) * time.Hour)
		span := f.clock(from) + "–" + f.clock(from.Add(time.Hour))
		b := &bars[h]
		b.X = float64(h * (barW + barGap))
		up, n := a.hourUp[h], a.hourN[h]
		switch {
		case n == 0:
			b.Class, b.Title = "none", span+": no checks"
			continue
		case up == n:
			b.Class = "up"
		case 2*up >= n:
			b.Class = "partial"
		default:
			b.Class = "down"
		}
		b.Title = fmt.Sprintf("%s: %s up (%d of %d checks)", span, percent(up, n), up, n)
	}
	return bars
}

// clock is t's time of day in the page's zone.
func (f formatter) clock(t time.Time) string { return t.In(f.loc).Format("15:04") }

// chart is a latency chart: the median (and 95th percentile) per hour
// over the last 24 hours.
type chart struct {
	Empty   bool
	Summary string // for screen readers and the tooltip
	P50     []string
	P95     []string
	Dots    []point // hours with no neighbour to draw a line to
	YTicks  []tick
	XTicks  []tick
	// Plot area, for the template's axes.
	Left, Right, Top, Bottom float64
}

type point struct{ X, Y float64 }

type tick struct {
	At     float64 // x or y in viewBox units
	Label  string
	Anchor string // text-anchor of an x tick: the ends stay inside the plot
}

// Chart geometry in viewBox units; the text is sized for a card about
// 320 px wide, so it reads at 11-14 px from a phone to a desktop.
const (
	chartW      = 320
	chartH      = 132
	chartLeft   = 46
	chartRight  = chartW - 6
	chartTop    = 8
	chartBottom = chartH - 22
)

func latencyChart(hours [24]monitor.Sketch) chart {
	c := chart{Left: chartLeft, Right: chartRight, Top: chartTop, Bottom: chartBottom}
	var p50, p95 [24]time.Duration
	var lo, hi, top time.Duration
	for h, s := range hours {
		if s.Count() == 0 {
			continue
		}
		p50[h], p95[h] = s.Quantile(0.50), s.Quantile(0.95)
		if lo == 0 || p50[h] < lo {
			lo = p50[h]
		}
		hi = max(hi, p50[h])
		top = max(top, p95[h])
	}
	if top == 0 {
		c.Empty, c.Summary = true, "No latency measured in the last 24 hours."
		return c
	}
	c.Summary = fmt.Sprintf("Median latency per hour over the last 24 hours: %s to %s.", format.Latency(lo), format.Latency(hi))
	scale, step := niceScale(top + top/10) // headroom: the top line stays clear of the frame
	y := func(d time.Duration) float64 {
		return round1(chartBottom - (chartBottom-chartTop)*float64(d)/float64(scale))
	}
	x := func(h int) float64 { return round1(chartLeft + (float64(h)+0.5)*(chartRight-chartLeft)/24) }
	for v := time.Duration(0); v <= scale; v += step {
		c.YTicks = append(c.YTicks, tick{At: y(v), Label: axisLabel(v)})
	}
	for h := 0; h <= 24; h += 6 {
		label := "now"
		if h < 24 {
			label = "−" + strconv.Itoa(24-h) + "h"
		}
		anchor := "middle"
		if h == 24 {
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, tick{At: round1(chartLeft + float64(h)*(chartRight-chartLeft)/24), Label: label, Anchor: anchor})
	}
	// One polyline per run of consecutive hours with data: a gap in the
	// history is a gap in the line, not a straight line across it.
	var run50, run95 []string
	var runStart int
	flush := func() {
		switch {
		case len(run50) == 1:
			c.Dots = append(c.Dots, point{x(runStart), y(p50[runStart])})
		case len(run50) > 1:
			c.P50 = append(c.P50, strings.Join(run50, " "))
			c.P95 = append(c.P95, strings.Join(run95, " "))
		}
		run50, run95 = nil, nil
	}
	for h := range 24 {
		if p50[h] == 0 {
			flush()
			continue
		}
		if len(run50) == 0 {
			runStart = h
		}
		run50 = append(run50, coord(x(h), y(p50[h])))
		run95 = append(run95, coord(x(h), y(p95[h])))
	}
	flush()
	return c
}

// niceScale returns an axis maximum at or above top split into at most
// four steps of 1, 2, 2.5 or 5 × 10ⁿ ms.
func niceScale(top time.Duration) (scale, step time.Duration) {
	ms := float64(top) / float64(time.Millisecond)
	for e := math.Floor(math.Log10(max(ms, 1))) - 1; ; e++ {
		for _, m := range []float64{1, 2, 2.5, 5} {
			s := m * math.Pow(10, e)
			if n := math.Ceil(ms / s); n <= 4 {
				return time.Duration(n * s * float64(time.Millisecond)), time.Duration(s * float64(time.Millisecond))
			}
		}
	}
}

// axisLabel is a tick value: "0", then latencies as everywhere else ("250
// ms", "1 s", "1.5 s"); the origin needs no unit.
func axisLabel(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return format.Latency(d)
}

func coord(x, y float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64) + "," + strconv.FormatFloat(y, 'f', -1, 64)
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
