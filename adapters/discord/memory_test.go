package discord

import "testing"

// TestLRUEvictsOldestFirst: past max entries the oldest goes, a key put
// again keeps its place, and nothing is allocated for room not used.
func TestLRUEvictsOldestFirst(t *testing.T) {
	l := newLRU(3)
	if cap(l.order) != 0 {
		t.Errorf("an empty memory holds room for %d keys", cap(l.order))
	}
	for _, k := range []string{"a", "b", "c"} {
		l.put(k, k+"1")
	}
	l.put("a", "a2") // an update, not a new entry
	l.put("d", "d1") // evicts a, the oldest
	l.put("e", "e1") // evicts b
	for k, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true} {
		if _, ok := l.get(k); ok != want {
			t.Errorf("%s kept: %v, want %v", k, ok, want)
		}
	}
	if len(l.m) != 3 || len(l.order) != 3 {
		t.Errorf("%d entries, %d in order; want 3", len(l.m), len(l.order))
	}
}
