package metrics

import (
	"context"
	"time"

	"gptaccess/bot"
)

// WrapHandler returns h counting what goes through it: messages, replies,
// answer time per platform, replies per knowledge-base entry and
// hand-overs. Concluded diagnoses and the answers to "Did this fix it?"
// are heard from the bot itself (Metrics is its bot.Observer).
func (m *Metrics) WrapHandler(h bot.Handler) bot.Handler { return &botHandler{m: m, next: h} }

type botHandler struct {
	m    *Metrics
	next bot.Handler
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
	return r, err
}

var _ bot.Observer = (*Metrics)(nil)

// Diagnosed counts a concluded diagnosis by cause (bot.Observer).
func (m *Metrics) Diagnosed(cause string) { m.diagnoses.WithLabelValues(causeLabel(cause)).Inc() }

// Feedback counts an answer to "Did this fix it?" (bot.Observer); answers
// other than yes and no are not counted.
func (m *Metrics) Feedback(answer string) {
	if answer == "yes" || answer == "no" {
		m.feedback.WithLabelValues(answer).Inc()
	}
}
