package metrics

import (
	"context"
	"strings"
	"time"

	"gptaccess/bot"
)

// BotHandler is what adapters call to answer a message; *bot.Engine
// implements it.
type BotHandler interface {
	Handle(ctx context.Context, m bot.Message) (bot.Reply, error)
}

// WrapHandler returns h counting what goes through it: messages, replies,
// answer time per platform, replies per knowledge-base entry, concluded
// diagnoses per cause, hand-overs and the answers to "Did this fix it?".
func (m *Metrics) WrapHandler(h BotHandler) BotHandler { return &botHandler{m: m, next: h} }

type botHandler struct {
	m    *Metrics
	next BotHandler
}

func (h *botHandler) Handle(ctx context.Context, msg bot.Message) (bot.Reply, error) {
	m := h.m
	p := platformLabel(msg.Platform)
	m.received.WithLabelValues(p).Inc()
	start := time.Now()
	r, err := h.next.Handle(ctx, msg)
	m.answerTime.WithLabelValues(p).Observe(time.Since(start).Seconds())
	if err != nil {
		m.handleErrors.WithLabelValues(p).Inc()
	}
	if r.Ignore {
		return r, err
	}
	m.replies.WithLabelValues(p).Inc()
	m.answers.WithLabelValues(entryLabel(r.Entry)).Inc()
	if r.Handover != nil {
		m.handovers.Inc()
	}
	m.track(msg.Key(), r)
	return r, err
}

// fixedFact is the bot's pseudo-fact of the "Did this fix it?" question
// that ends every concluded diagnosis.
const fixedFact = "fixed"

// The decorator remembers, per conversation key, the "Did this fix it?"
// question last asked, to tell a new conclusion from the same question
// asked again and to read the answer from the next reply. Entries go when
// answered, after pendingTTL (far beyond the bot's idle timeout), or when
// maxPending is reached.
const (
	pendingTTL = 24 * time.Hour
	maxPending = 10000
)

type pendingQuestion struct {
	id string // bot.Question.ID
	at time.Time
}

// track counts diagnoses and their feedback from the replies alone, so the
// bot needs no hooks. After a "Did this fix it?" question (Q) under a key,
// the next reply under that key says how it was answered:
//   - a hand-over: no (the bot hands over on "no", or after "not sure");
//   - a question with Q's id: Q asked again (an answer it did not get);
//   - another question of the same conversation (ids are
//     "<conversation>:<turn>"): no, the bot moves on to the next cause;
//   - a question of another conversation: a new diagnosis ("start over"),
//     no feedback;
//   - entry none with confidence 1 and no question: yes ("glad that fixed
//     it"); cancelling or an expired question has confidence 0;
//   - anything else (a side question, a status): Q stays open.
func (m *Metrics) track(key string, r bot.Reply) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	prev, had := m.pending[key]
	if had && now.Sub(prev.at) > pendingTTL {
		delete(m.pending, key)
		had = false
	}
	q := r.Question
	if had {
		switch {
		case r.Handover != nil:
			m.feedback.WithLabelValues("no").Inc()
			delete(m.pending, key)
		case q != nil && q.ID == prev.id:
		case q != nil && conversationOf(q.ID) == conversationOf(prev.id):
			m.feedback.WithLabelValues("no").Inc()
			delete(m.pending, key)
		case q != nil:
			delete(m.pending, key)
		case r.Entry == "none" && r.Confidence == 1:
			m.feedback.WithLabelValues("yes").Inc()
			delete(m.pending, key)
		}
	}
	if q == nil || q.Fact != fixedFact {
		return
	}
	if r.Diagnosis != nil && (!had || q.ID != prev.id) {
		m.diagnoses.WithLabelValues(causeLabel(r.Diagnosis.Cause)).Inc()
	}
	if _, ok := m.pending[key]; !ok && len(m.pending) >= maxPending {
		m.evict(now)
	}
	m.pending[key] = pendingQuestion{id: q.ID, at: now}
}

// evict drops expired questions, or an arbitrary one when none has
// expired: a lost question only loses one feedback count.
func (m *Metrics) evict(now time.Time) {
	for k, p := range m.pending {
		if now.Sub(p.at) > pendingTTL {
			delete(m.pending, k)
		}
	}
	if len(m.pending) < maxPending {
		return
	}
	for k := range m.pending {
		delete(m.pending, k)
		return
	}
}

// conversationOf is the conversation part of a question id.
func conversationOf(questionID string) string {
	if i := strings.LastIndexByte(questionID, ':'); i >= 0 {
		return questionID[:i]
	}
	return questionID
}
