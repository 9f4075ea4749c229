package redact

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Handler is a slog.Handler that scrubs every record before the next
// handler sees it: the message, every attribute (nested groups, errors,
// fmt.Stringers, slog.LogValuers and other values as they would print),
// removing the configured secrets verbatim and whatever Log recognises
// (token-bearing URLs, token shapes). It is the one place that keeps
// secrets out of the log, whichever component logs them.
type Handler struct {
	next    slog.Handler
	secrets []string
}

// NewHandler wraps next. secrets are removed wherever they appear (empty
// and very short ones are ignored: they would mangle ordinary words).
func NewHandler(next slog.Handler, secrets ...string) *Handler {
	h := &Handler{next: next}
	for _, s := range secrets {
		if s = strings.TrimSpace(s); len(s) >= 6 {
			h.secrets = append(h.secrets, s)
		}
	}
	return h
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// Scrub removes h's secrets and what Log recognises from s.
func (h *Handler) Scrub(s string) string { return h.scrub(s) }

func (h *Handler) scrub(s string) string {
	for _, sec := range h.secrets {
		s = strings.ReplaceAll(s, sec, Secret)
	}
	return Log(s)
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	return slog.Attr{Key: a.Key, Value: h.value(a.Value, 0)}
}

// maxDepth bounds LogValuer chains and nested groups.
const maxDepth = 10

func (h *Handler) value(v slog.Value, depth int) slog.Value {
	if depth > maxDepth {
		return slog.StringValue("[too deep]")
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(h.scrub(v.String()))
	case slog.KindGroup:
		as := v.Group()
		clean := make([]slog.Attr, len(as))
		for i, a := range as {
			clean[i] = slog.Attr{Key: a.Key, Value: h.value(a.Value, depth+1)}
		}
		return slog.GroupValue(clean...)
	case slog.KindLogValuer:
		return h.value(v.Resolve(), depth+1)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.StringValue(h.scrub(x.Error()))
		case fmt.Stringer:
			return slog.StringValue(h.scrub(x.String()))
		case []byte:
			return slog.StringValue(h.scrub(string(x)))
		default:
			// Maps, slices, structs: keep the value unless its printed
			// form holds something to scrub.
			s := fmt.Sprintf("%+v", x)
			if c := h.scrub(s); c != s {
				return slog.StringValue(c)
			}
		}
	}
	return v
}
