package discord

import (
	"sync"
)

// lru is a small bounded map with first-in-first-out eviction: the adapter
// remembers recent message ids (which conversation they belong to, which
// alerts have a thread) without growing forever. What it forgets it can
// find out again from Discord.
type lru struct {
	mu    sync.Mutex
	max   int
	m     map[string]string
	order []string // keys in insertion order, a ring once max are held
	next  int
}

// newLRU holds at most max entries. It allocates as entries arrive: an idle
// bot does not carry room for tens of thousands of them.
func newLRU(max int) *lru {
	return &lru{max: max, m: map[string]string{}}
}

func (l *lru) get(k string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[k]
	return v, ok
}

func (l *lru) put(k, v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.putLocked(k, v)
}

func (l *lru) putLocked(k, v string) {
	if _, ok := l.m[k]; ok {
		l.m[k] = v
		return
	}
	if len(l.order) < l.max {
		l.order = append(l.order, k)
	} else {
		delete(l.m, l.order[l.next])
		l.order[l.next] = k
		l.next = (l.next + 1) % l.max
	}
	l.m[k] = v
}
