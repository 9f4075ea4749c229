package metrics

import (
	"context"
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
	if r.Concluded && r.Diagnosis != nil {
		m.diagnoses.WithLabelValues(causeLabel(r.Diagnosis.Cause)).Inc()
	}
	if r.Feedback == "yes" || r.Feedback == "no" {
		m.feedback.WithLabelValues(r.Feedback).Inc()
	}
	return r, err
}
