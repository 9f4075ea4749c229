package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/monitor"
	"gptaccess/sqlite"
	"gptaccess/web"
)

// platform is one configured chat adapter as serve runs it.
type platform struct {
	name     string
	run      func(ctx context.Context) error
	ready    web.Check
	mounts   map[string]http.Handler
	notifier monitor.Notifier
}

func platforms(cfg *config.Config, engine *bot.Engine, db *sqlite.DB, log *slog.Logger) ([]platform, error) {
	return nil, nil
}

type monitorT interface {
	bot.StatusReporter
	Run(ctx context.Context) error
}

func newMonitor(cfg *config.Config, db *sqlite.DB, log *slog.Logger, n []monitor.Notifier) (monitorT, error) {
	return nil, nil
}

func check(ctx context.Context, cfg *config.Config, log *slog.Logger, asJSON bool, stdout io.Writer) error {
	return nil
}
