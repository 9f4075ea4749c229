package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gptaccess/bot"
	"gptaccess/config"
	"gptaccess/delivery"
	"gptaccess/metrics"
	"gptaccess/monitor"
)

// TestPlatformsAlertThroughTheOutbox: serve gives the monitor the chat
// platforms as Outboxers, with the delivery core, so that an alert is
// an outbox item committed with the incident that made it; the terminal
// alone is a Notifier that the monitor calls (and that metrics wrap).
func TestPlatformsAlertThroughTheOutbox(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer target.Close()
	yaml := fmt.Sprintf("monitor:\n  canary: \"\"\n  failure_threshold: 1\n  targets:\n    - {name: web, kind: http, url: %q}\n", target.URL+"/")
	vars := map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-2-abc",
		"DISCORD_BOT_TOKEN":                "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB",
		"GPTACCESS_SLACK_ALERT_CHANNELS":   "CALERT",
		"GPTACCESS_DISCORD_ALERT_CHANNELS": "1100000000000000001",
		"GPTACCESS_DB":                     filepath.Join(t.TempDir(), "w.db"),
	}
	cfg, err := config.Parse(strings.NewReader(yaml), func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	met := metrics.New()
	saved := &savedNotices{Store: db, got: make(chan []delivery.Outbound, 1)}
	mon, err := newMonitor(cfg, network{}, saved, db, log, alone{})
	if err != nil {
		t.Fatal(err)
	}
	answer := handlerFunc(func(context.Context, bot.Message) (bot.Reply, error) { return bot.Reply{}, nil })
	p, err := adapters(cfg, db, answer, met, strings.NewReader(""), io.Discard, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.notifiers) != 0 {
		t.Errorf("%d notifiers the monitor would call, want none: the platforms alert through the outbox", len(p.notifiers))
	}
	if err := addNotifiers(mon, p, met); err != nil {
		t.Fatal(err)
	}

	// The first check runs at once and opens the incident (the core is
	// not running: the items stay in the outbox).
	ran := make(chan error, 1)
	go func() { ran <- mon.Run(ctx) }()
	var items []delivery.Outbound
	select {
	case items = <-saved.got:
	case <-ctx.Done():
	}
	cancel()
	<-ran
	if items == nil {
		t.Fatal("no alert saved with the incident")
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Platform+":"+it.Lane)
	}
	slices.Sort(got)
	if want := []string{"discord:1100000000000000001", "slack:CALERT"}; !slices.Equal(got, want) {
		t.Errorf("outbox items saved with the incident: %v, want %v", got, want)
	}
}

// savedNotices passes on the first SaveAlertState that carries outbox
// items.
type savedNotices struct {
	monitor.Store
	got chan []delivery.Outbound
}

func (s *savedNotices) SaveAlertState(ctx context.Context, states []monitor.TargetState, incidents []monitor.Incident, items ...delivery.Outbound) error {
	if err := s.Store.SaveAlertState(ctx, states, incidents, items...); err != nil {
		return err
	}
	if len(items) > 0 && len(incidents) > 0 {
		select {
		case s.got <- items:
		default:
		}
	}
	return nil
}

type handlerFunc func(context.Context, bot.Message) (bot.Reply, error)

func (f handlerFunc) Handle(ctx context.Context, m bot.Message) (bot.Reply, error) { return f(ctx, m) }
