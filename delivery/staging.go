package delivery

import (
	"context"
	"sync"

	"gptaccess/bot"
)

// Staging wraps the bot's store so that what the bot writes while the core
// handles an inbound item is held back and written by Store.Finish, in one
// transaction with the reply's outbound calls: the conversation never
// moves on without its reply, and the reply is never sent for a state that
// was not saved. Reads see the held-back writes. Outside the core (the
// terminal, `ask`) writes go straight to base.
func Staging(base bot.Store) bot.Store { return staging{base: base} }

type staging struct{ base bot.Store }

// stage is the writes held back for one inbound item; the core puts it in
// the context it hands the bot.
type stage struct {
	mu      sync.Mutex
	deleted map[string]bool
	saved   map[string]int // key → index in w.Save
	w       Writes
}

type stageKey struct{}

func withStage(ctx context.Context) (context.Context, *stage) {
	s := &stage{deleted: map[string]bool{}, saved: map[string]int{}}
	return context.WithValue(ctx, stageKey{}, s), s
}

func stageOf(ctx context.Context) *stage {
	s, _ := ctx.Value(stageKey{}).(*stage)
	return s
}

// writes returns what was held back.
func (s *stage) writes() Writes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

func (s staging) Conversation(ctx context.Context, key string) (bot.Conversation, bool, error) {
	if st := stageOf(ctx); st != nil {
		st.mu.Lock()
		i, saved := st.saved[key]
		deleted := st.deleted[key]
		var c bot.Conversation
		if saved {
			c = cloneConversation(st.w.Save[i])
			c.Version++ // as the base store would report it after the save
		}
		st.mu.Unlock()
		switch {
		case saved:
			return c, true, nil
		case deleted:
			return bot.Conversation{}, false, nil
		}
	}
	return s.base.Conversation(ctx, key)
}

func (s staging) SaveConversation(ctx context.Context, c *bot.Conversation) error {
	st := stageOf(ctx)
	if st == nil {
		return s.base.SaveConversation(ctx, c)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cp := cloneConversation(*c)
	if i, ok := st.saved[c.Key]; ok {
		// A second save in one turn: the check is against what was read
		// before the first.
		cp.Version = st.w.Save[i].Version
		st.w.Save[i] = cp
	} else {
		st.saved[c.Key] = len(st.w.Save)
		st.w.Save = append(st.w.Save, cp)
	}
	c.Version++
	return nil
}

func (s staging) DeleteConversation(ctx context.Context, key string, version int64) error {
	st := stageOf(ctx)
	if st == nil {
		return s.base.DeleteConversation(ctx, key, version)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if i, ok := st.saved[key]; ok {
		// Deleting what this turn saved: forget the save, and delete what
		// it would have replaced (nothing, for a new one).
		version = st.w.Save[i].Version
		st.w.Save = append(st.w.Save[:i], st.w.Save[i+1:]...)
		delete(st.saved, key)
		for k, j := range st.saved {
			if j > i {
				st.saved[k] = j - 1
			}
		}
		if version == 0 {
			st.deleted[key] = true
			return nil
		}
	}
	if !st.deleted[key] {
		st.deleted[key] = true
		st.w.Delete = append(st.w.Delete, Deletion{Key: key, Version: version})
	}
	return nil
}

func (s staging) RecordOutcome(ctx context.Context, o bot.Outcome) error {
	st := stageOf(ctx)
	if st == nil {
		return s.base.RecordOutcome(ctx, o)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.w.Outcomes = append(st.w.Outcomes, o)
	return nil
}

func (s staging) RecordUnanswered(ctx context.Context, u bot.Unmatched) error {
	st := stageOf(ctx)
	if st == nil {
		return s.base.RecordUnanswered(ctx, u)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.w.Unanswered = append(st.w.Unanswered, u)
	return nil
}

// cloneConversation copies c deeply enough that the engine changing its
// copy afterwards does not change the held-back one.
func cloneConversation(c bot.Conversation) bot.Conversation {
	if c.Facts != nil {
		f := make(map[string]string, len(c.Facts))
		for k, v := range c.Facts {
			f[k] = v
		}
		c.Facts = f
	}
	c.Asked = append([]string(nil), c.Asked...)
	c.Tried = append([]string(nil), c.Tried...)
	c.Inferred = append([]string(nil), c.Inferred...)
	c.RuledOut = append([]string(nil), c.RuledOut...)
	if c.Page != nil {
		p := *c.Page
		c.Page = &p
	}
	return c
}
