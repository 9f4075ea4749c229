// Package web is the bot's HTTP server: /healthz, /readyz, /metrics, the
// status page at /, and the Slack and Discord endpoints that adapters
// contribute. All routes are in routes().
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Check is one readiness condition: nil when ready, else the reason.
type Check func(ctx context.Context) error

// Options configure the server's handler.
type Options struct {
	// Ready are the readiness checks by name ("database", "slack", …).
	Ready map[string]Check
	// Mounts are extra handlers by path prefix ("/slack/", "/discord/").
	Mounts map[string]http.Handler
	// Metrics serves /metrics when set.
	Metrics http.Handler
	// Status serves the status page at / (exactly; StatusPage makes
	// one) when set.
	Status http.Handler
	// Leader, when set, says whether this replica leads (runs the
	// scheduled checks and the janitor); /readyz reports it as "leader".
	// A replica that does not lead is still ready.
	Leader func() bool
	// MaxBodyBytes caps request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Handler returns the server's routes.
func Handler(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	routes(mux, o)
	return limitBody(o.MaxBodyBytes, mux)
}

func routes(mux *http.ServeMux, o Options) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(o.Ready, o.Leader))
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	if o.Status != nil {
		mux.Handle("GET /{$}", o.Status)
	}
	for prefix, h := range o.Mounts {
		mux.Handle(prefix, h)
	}
}

// handleHealthz says the process is up; it checks nothing else, so an
// orchestrator does not restart the bot for a platform outage.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// handleReadyz runs every readiness check; 503 lists what is not ready.
// The body also says whether this replica leads, when leader is set.
func handleReadyz(checks map[string]Check, leader func() bool) http.Handler {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status := map[string]string{}
		var failed []string
		for _, n := range names {
			if err := checks[n](ctx); err != nil {
				status[n] = err.Error()
				failed = append(failed, n+": "+err.Error())
			} else {
				status[n] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		code := http.StatusOK
		if len(failed) > 0 {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		body := map[string]any{"ready": len(failed) == 0, "checks": status, "reason": strings.Join(failed, "; ")}
		if leader != nil {
			body["leader"] = leader()
		}
		json.NewEncoder(w).Encode(body)
	})
}

// limitBody caps every request body so no endpoint can be made to buffer an
// unbounded upload.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}
