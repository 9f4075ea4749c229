package delivery

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"gptaccess/bot"
)

// Memory is an in-memory Store, for tests and for a bot without a
// database; it loses everything with the process. Conversations held in it
// are what Finish applies; Conversations makes it a bot.Store too.
type Memory struct {
	mu    sync.Mutex
	in    []*memIn
	inIDs map[string]*memIn
	out   []*memOut
	keys  map[string]*memOut
	seq   int64
	convs map[string]bot.Conversation
	// Outcomes and Unanswered record what Finish was given, for tests.
	outcomes   []bot.Outcome
	unanswered []bot.Unmatched
}

type memIn struct {
	Inbound
	status string // pending, done, dropped
}

type memOut struct {
	Outbound
	status string // pending, sent, failed
	ref    string
	reason string
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{inIDs: map[string]*memIn{}, keys: map[string]*memOut{}, convs: map[string]bot.Conversation{}}
}

var _ Store = (*Memory)(nil)
var _ bot.Store = (*Memory)(nil)

// Put implements Store.
func (s *Memory) Put(_ context.Context, in Inbound) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.inIDs[in.ID]; ok {
		return false, nil
	}
	in.Body = slices.Clone(in.Body)
	it := &memIn{Inbound: in, status: "pending"}
	s.in = append(s.in, it)
	s.inIDs[in.ID] = it
	return true, nil
}

// NextIn implements Store.
func (s *Memory) NextIn(_ context.Context, l Lane) (Inbound, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.in {
		if it.status == "pending" && it.Platform == l.Platform && it.Lane == l.Name {
			in := it.Inbound
			in.Body = slices.Clone(in.Body)
			return in, true, nil
		}
	}
	return Inbound{}, false, nil
}

// Finish implements Store.
func (s *Memory) Finish(_ context.Context, id string, w Writes, out []Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.inIDs[id]
	if !ok || it.status != "pending" {
		return ErrNotPending
	}
	if err := s.checkLocked(w); err != nil {
		return err
	}
	s.applyLocked(w)
	s.enqueueLocked(out)
	it.status = "done"
	it.Body = nil
	return nil
}

// checkLocked fails with bot.ErrConflict when a save would not match.
func (s *Memory) checkLocked(w Writes) error {
	for _, d := range w.Delete {
		if stored, ok := s.convs[d.Key]; !ok || stored.Version != d.Version {
			return bot.ErrConflict
		}
	}
	for _, c := range w.Save {
		stored, ok := s.convs[c.Key]
		if slices.ContainsFunc(w.Delete, func(d Deletion) bool { return d.Key == c.Key }) {
			ok = false
		}
		switch {
		case c.Version == 0 && ok, c.Version != 0 && (!ok || stored.Version != c.Version):
			return bot.ErrConflict
		}
	}
	return nil
}

func (s *Memory) applyLocked(w Writes) {
	for _, d := range w.Delete {
		delete(s.convs, d.Key)
	}
	for _, c := range w.Save {
		c = cloneConversation(c)
		c.Version++
		s.convs[c.Key] = c
	}
	s.outcomes = append(s.outcomes, w.Outcomes...)
	s.unanswered = append(s.unanswered, w.Unanswered...)
}

func (s *Memory) enqueueLocked(out []Outbound) {
	for _, o := range out {
		if _, ok := s.keys[o.Key]; ok {
			continue
		}
		s.seq++
		o.Seq = s.seq
		o.Body = slices.Clone(o.Body)
		o.ParentRef = ""
		it := &memOut{Outbound: o, status: "pending"}
		s.out = append(s.out, it)
		s.keys[o.Key] = it
	}
}

// Drop implements Store.
func (s *Memory) Drop(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.inIDs[id]; ok && it.status == "pending" {
		it.status = "dropped"
		it.Body = nil
	}
	return nil
}

// Enqueue implements Store.
func (s *Memory) Enqueue(_ context.Context, out []Outbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(out)
	return nil
}

// NextOut implements Store.
func (s *Memory) NextOut(_ context.Context, l Lane) (Outbound, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.out {
		if it.status == "pending" && it.Platform == l.Platform && it.Lane == l.Name {
			o := it.Outbound
			o.Body = slices.Clone(o.Body)
			return o, true, nil
		}
	}
	return Outbound{}, false, nil
}

func (s *Memory) outLocked(seq int64) *memOut {
	for _, it := range s.out {
		if it.Seq == seq {
			return it
		}
	}
	return nil
}

// Sent implements Store.
func (s *Memory) Sent(_ context.Context, seq int64, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.outLocked(seq); it != nil && it.status == "pending" {
		it.status, it.ref, it.Body = "sent", ref, nil
	}
	return nil
}

// Failed implements Store.
func (s *Memory) Failed(_ context.Context, seq int64, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.outLocked(seq); it != nil && it.status == "pending" {
		it.status, it.reason, it.Body = "failed", reason, nil
	}
	return nil
}

// Retry implements Store.
func (s *Memory) Retry(_ context.Context, seq int64, attempts, rateLimited int, notBefore time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.outLocked(seq); it != nil && it.status == "pending" {
		it.Attempts, it.RateLimited, it.NotBefore = attempts, rateLimited, notBefore
	}
	return nil
}

// Lookup implements Store.
func (s *Memory) Lookup(_ context.Context, key string) (Status, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.keys[key]
	if !ok {
		return "", "", nil
	}
	return Status(it.status), it.ref, nil
}

// Lanes implements Store.
func (s *Memory) Lanes(context.Context) (in, out []Lane, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.in {
		l := Lane{it.Platform, it.Lane}
		if it.status == "pending" && !slices.Contains(in, l) {
			in = append(in, l)
		}
	}
	for _, it := range s.out {
		l := Lane{it.Platform, it.Lane}
		if it.status == "pending" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return in, out, nil
}

// Heard implements Store.
func (s *Memory) Heard(_ context.Context, platform, prefix string, since time.Time) (time.Time, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var newest time.Time
	last := map[string]time.Time{} // lane → its latest item at or after since
	for _, it := range s.in {
		if it.Platform != platform || !strings.HasPrefix(it.ID, prefix) {
			continue
		}
		if it.Received.After(newest) {
			newest = it.Received
		}
		if t, ok := last[it.Lane]; !it.Received.Before(since) && (!ok || it.Received.After(t)) {
			last[it.Lane] = it.Received
		}
	}
	lanes := slices.Collect(maps.Keys(last))
	slices.SortFunc(lanes, func(a, b string) int {
		if c := last[b].Compare(last[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return newest, lanes, nil
}

// Prune implements Store.
func (s *Memory) Prune(_ context.Context, cutoff time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	s.in = slices.DeleteFunc(s.in, func(it *memIn) bool {
		gone := it.status != "pending" && it.Received.Before(cutoff)
		if gone {
			delete(s.inIDs, it.ID)
			n++
		}
		return gone
	})
	s.out = slices.DeleteFunc(s.out, func(it *memOut) bool {
		gone := it.status != "pending" && it.Created.Before(cutoff)
		if gone {
			delete(s.keys, it.Key)
			n++
		}
		return gone
	})
	return n, nil
}

// Conversation implements bot.Store over the conversations Finish wrote.
func (s *Memory) Conversation(_ context.Context, key string) (bot.Conversation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[key]
	return cloneConversation(c), ok, nil
}

// SaveConversation implements bot.Store (outside the core).
func (s *Memory) SaveConversation(_ context.Context, c *bot.Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(Writes{Save: []bot.Conversation{*c}}); err != nil {
		return err
	}
	s.applyLocked(Writes{Save: []bot.Conversation{*c}})
	c.Version++
	return nil
}

// DeleteConversation implements bot.Store with a compare-and-delete on
// version.
func (s *Memory) DeleteConversation(_ context.Context, key string, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.convs[key]; !ok || c.Version != version {
		return bot.ErrConflict
	}
	delete(s.convs, key)
	return nil
}

// RecordOutcome implements bot.Store.
func (s *Memory) RecordOutcome(_ context.Context, o bot.Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes = append(s.outcomes, o)
	return nil
}

// RecordUnanswered implements bot.Store.
func (s *Memory) RecordUnanswered(_ context.Context, u bot.Unmatched) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unanswered = append(s.unanswered, u)
	return nil
}
