package bot

import (
	"context"
	"sync"
)

// memStore keeps conversations in memory, for an Engine without a Store
// (the stateless `ask` command). Outcomes and unanswered messages are
// dropped: there is nobody to read them.
type memStore struct {
	mu    sync.Mutex
	convs map[string]Conversation
}

func newMemStore() *memStore { return &memStore{convs: map[string]Conversation{}} }

func (s *memStore) Conversation(_ context.Context, key string) (Conversation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[key]
	return c, ok, nil
}

func (s *memStore) SaveConversation(_ context.Context, c *Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.convs[c.Key].Version != c.Version {
		return ErrConflict
	}
	c.Version++
	s.convs[c.Key] = *c
	return nil
}

func (s *memStore) DeleteConversation(_ context.Context, key string, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.convs[key]; !ok || c.Version != version {
		return ErrConflict
	}
	delete(s.convs, key)
	return nil
}

func (s *memStore) RecordOutcome(context.Context, Outcome) error { return nil }

func (s *memStore) RecordUnanswered(context.Context, Unmatched) error { return nil }
