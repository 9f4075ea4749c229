package monitor

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/delivery"
)

// Store keeps the check history and the alert state, so a restart neither
// re-alerts an open incident nor forgets it. The sqlite package implements
// it; a nil Options.Store means an in-memory one that a restart loses.
type Store interface {
	// RecordResults appends one round's results to the history.
	RecordResults(ctx context.Context, rs []Result) error
	// LatestResults returns up to n results of target, newest first.
	LatestResults(ctx context.Context, target string, n int) ([]Result, error)
	// ResultsSince returns every result checked at or after since,
	// oldest first.
	ResultsSince(ctx context.Context, since time.Time) ([]Result, error)
	// TargetResults returns target's results checked in [from, to),
	// oldest first.
	TargetResults(ctx context.Context, target string, from, to time.Time) ([]Result, error)
	// Counts tallies the results checked at or after since by target,
	// clock hour, verdict, canary state and official indicator, oldest
	// hour first. The sqlite store keeps these tallies as results are
	// recorded, so this reads a few rows per target and hour, never the
	// results themselves (but for the part of since's hour after since).
	Counts(ctx context.Context, since time.Time) ([]Count, error)
	// Latencies returns, per target and clock hour, the sketch of the
	// latencies of the results checked at or after since that got an
	// answer (see Result.Timed), oldest hour first.
	Latencies(ctx context.Context, since time.Time) ([]HourLatency, error)

	// AlertState returns the saved state of every target.
	AlertState(ctx context.Context) ([]TargetState, error)
	// SaveAlertState saves states and incidents (insert or replace by
	// target and by id) and adds notices to the outbox (as
	// delivery.Store's Enqueue does), in one transaction.
	SaveAlertState(ctx context.Context, states []TargetState, incidents []Incident, notices ...delivery.Outbound) error
	// Incidents returns open incidents and those that ended at or after
	// since, newest first.
	Incidents(ctx context.Context, since time.Time) ([]Incident, error)

	// SaveNoticeRef remembers the reference Notify returned for an
	// incident's opening notice in one channel.
	SaveNoticeRef(ctx context.Context, incident, platform, channel, ref string) error
	// NoticeRef returns what SaveNoticeRef saved; when nothing was, a
	// store that keeps the outbox returns the ref of the incident's
	// opening notice in that channel (NoticeKey) once it was sent; else
	// "".
	NoticeRef(ctx context.Context, incident, platform, channel string) (string, error)
}

// Count is how many results of one target in one clock hour had the same
// verdict, canary state and official indicator.
type Count struct {
	Target   string
	Kind     string    // the target's kind when it was checked
	Hour     time.Time // start of the clock hour (UTC)
	Verdict  cloudflare.Verdict
	Offline  bool
	Official string // the status page's indicator (OfficialIndicator)
	N        int
}

// HourLatency is the latency sketch of one target's results in one clock
// hour.
type HourLatency struct {
	Target string
	Hour   time.Time // start of the clock hour (UTC)
	Sketch Sketch
}

// HourOf is the start of the clock hour (UTC) t falls in: the hour a
// result is counted in.
func HourOf(t time.Time) time.Time { return t.Truncate(time.Hour).UTC() }

// Rollup is what one round of results adds to the hourly rollups a Store
// keeps (see Counts and Latencies), in the order first seen: a count per
// target, clock hour, verdict, canary state and official indicator, and
// the latencies per target and clock hour (of the results that are Timed).
// Both stores apply it the same way.
type Rollup struct {
	Counts    []Count
	Latencies []RollupLatencies
}

// RollupLatencies are the latencies one round adds to one target's hour.
type RollupLatencies struct {
	Target string
	Hour   time.Time // start of the clock hour (UTC)
	Values []time.Duration
}

// RollupOf groups rs into the rollup rows they add to.
func RollupOf(rs []Result) Rollup {
	type countKey struct {
		hour                      time.Time
		target, verdict, official string
		offline                   bool
	}
	type hourKey struct {
		hour   time.Time
		target string
	}
	var ro Rollup
	counts := map[countKey]int{} // index in ro.Counts
	lats := map[hourKey]int{}    // index in ro.Latencies
	for _, r := range rs {
		h := HourOf(r.CheckedAt)
		k := countKey{h, r.Target, string(r.Verdict), OfficialIndicator(r), r.Offline}
		i, ok := counts[k]
		if !ok {
			i = len(ro.Counts)
			counts[k] = i
			ro.Counts = append(ro.Counts, Count{Target: r.Target, Hour: h, Verdict: r.Verdict,
				Offline: r.Offline, Official: k.official})
		}
		ro.Counts[i].N++
		ro.Counts[i].Kind = r.Kind
		if r.Timed() {
			hk := hourKey{h, r.Target}
			j, ok := lats[hk]
			if !ok {
				j = len(ro.Latencies)
				lats[hk] = j
				ro.Latencies = append(ro.Latencies, RollupLatencies{Target: r.Target, Hour: h})
			}
			ro.Latencies[j].Values = append(ro.Latencies[j].Values, r.Latency)
		}
	}
	return ro
}

// OfficialIndicator is what Count.Official records of a result: "" when
// no status page was read, else its indicator ("unknown" when empty).
func OfficialIndicator(r Result) string {
	switch {
	case r.Official == nil:
		return ""
	case r.Official.Indicator == "":
		return IndicatorUnknown
	}
	return r.Official.Indicator
}

// Timed reports whether r's latency counts in the latency figures: the
// target answered (an HTTP status), the time was measured, and our own
// network was up (the canary answered), so the time is about the target.
func (r Result) Timed() bool { return r.Status != 0 && r.Latency > 0 && !r.Offline }

// TargetState is the alert state machine of one target.
type TargetState struct {
	Target  string
	Verdict cloudflare.Verdict // latest verdict
	Since   time.Time          // when the verdict last changed

	// Counters of scheduled checks in a row; a bad result resets
	// Successes, a good one Failures, an unexpected one both.
	Failures     int
	Successes    int
	Kind         Kind      // what the current bad streak is about
	FailingSince time.Time // first bad result of the streak
	Incident     string    // open incident the target is part of, "" when none
}

// Incident is one alert's life: opened after FailureThreshold bad results,
// resolved when all its targets had SuccessThreshold good ones.
type Incident struct {
	ID       string
	Kind     Kind
	Targets  []string  // every target that took part, in the order they joined
	Started  time.Time // first bad result
	Notified time.Time // opening notice or last reminder: reminders count from it
	Ended    time.Time // zero while open

	// Opened is what its targets showed when it opened, which its opening
	// notice is titled for; Seen is all they showed while in it, which it
	// is titled for once over (Situation.Title). Both are zero for an
	// incident saved before they were kept: its Kind words it then.
	Opened Situation
	Seen   Situation
}

// Open reports whether the incident is still going on.
func (in Incident) Open() bool { return in.Ended.IsZero() }

// memStore is the Store used when none is given: the same behaviour, in
// memory.
type memStore struct {
	mu        sync.Mutex
	results   []Result
	states    map[string]TargetState
	incidents map[string]Incident
	refs      map[[3]string]string
	outbox    []delivery.Outbound // what SaveAlertState was given, for tests
}

func newMemStore() *memStore {
	return &memStore{states: map[string]TargetState{}, incidents: map[string]Incident{}, refs: map[[3]string]string{}}
}

func (s *memStore) RecordResults(_ context.Context, rs []Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, rs...)
	return nil
}

func (s *memStore) LatestResults(_ context.Context, target string, n int) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for i := len(s.results) - 1; i >= 0 && len(out) < n; i-- {
		if s.results[i].Target == target {
			out = append(out, s.results[i])
		}
	}
	return out, nil
}

func (s *memStore) ResultsSince(_ context.Context, since time.Time) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for _, r := range s.results {
		if !r.CheckedAt.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memStore) TargetResults(_ context.Context, target string, from, to time.Time) ([]Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Result
	for _, r := range s.results {
		if r.Target == target && !r.CheckedAt.Before(from) && r.CheckedAt.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Counts tallies the results kept in memory; only the sqlite store keeps
// rollups, since only it keeps weeks of history.
func (s *memStore) Counts(_ context.Context, since time.Time) ([]Count, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct {
		target   string
		hour     time.Time
		verdict  cloudflare.Verdict
		offline  bool
		official string
	}
	index := map[key]int{}
	var out []Count
	for _, r := range s.results {
		if r.CheckedAt.Before(since) {
			continue
		}
		k := key{r.Target, HourOf(r.CheckedAt), r.Verdict, r.Offline, OfficialIndicator(r)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Count{Target: k.target, Hour: k.hour, Verdict: k.verdict, Offline: k.offline, Official: k.official})
		}
		out[i].N++
		out[i].Kind = r.Kind
	}
	slices.SortStableFunc(out, func(a, b Count) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Target, b.Target))
	})
	return out, nil
}

func (s *memStore) Latencies(_ context.Context, since time.Time) ([]HourLatency, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct {
		target string
		hour   time.Time
	}
	index := map[key]int{}
	var out []HourLatency
	for _, r := range s.results {
		if r.CheckedAt.Before(since) || !r.Timed() {
			continue
		}
		k := key{r.Target, HourOf(r.CheckedAt)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, HourLatency{Target: k.target, Hour: k.hour})
		}
		out[i].Sketch.Add(r.Latency)
	}
	slices.SortStableFunc(out, func(a, b HourLatency) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Target, b.Target))
	})
	return out, nil
}

func (s *memStore) AlertState(context.Context) ([]TargetState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TargetState
	for _, st := range s.states {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}

func (s *memStore) SaveAlertState(_ context.Context, states []TargetState, incidents []Incident, notices ...delivery.Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox = append(s.outbox, notices...)
	for _, st := range states {
		s.states[st.Target] = st
	}
	for _, in := range incidents {
		in.Targets = slices.Clone(in.Targets)
		s.incidents[in.ID] = in
	}
	return nil
}

func (s *memStore) Incidents(_ context.Context, since time.Time) ([]Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, in := range s.incidents {
		if in.Open() || !in.Ended.Before(since) {
			in.Targets = slices.Clone(in.Targets)
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func (s *memStore) SaveNoticeRef(_ context.Context, incident, platform, channel, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs[[3]string{incident, platform, channel}] = ref
	return nil
}

func (s *memStore) NoticeRef(_ context.Context, incident, platform, channel string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refs[[3]string{incident, platform, channel}], nil
}
