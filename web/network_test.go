package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/monitor"
	"gptaccess/web"
)

// TestStatusPageOwnNetworkBlock: our own network blocking ChatGPT is shown
// as such, with where our traffic reaches Cloudflare; an ongoing incident
// "is" (not "was") and lists no target whose own card says Up.
func TestStatusPageOwnNetworkBlock(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	var rs []monitor.Result
	for k := range 6 {
		at := checkTime(k)
		api := monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.BlockedNetwork, Status: 403, Latency: 20 * time.Millisecond,
			CheckedAt: at, Detail: "web filter: the Zscaler block page (HTTP 403)"}
		// web was blocked too, and its newest check is up again: one good
		// check, not yet enough for the alert to count it recovered.
		webR := monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond,
			CheckedAt: at, Detail: "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com"}
		if k == 0 {
			webR = monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.Up, Status: 200, Latency: 120 * time.Millisecond, CheckedAt: at}
			// The canary failed in this round: the block is evidence still.
			api.Offline = true
		}
		rs = append(rs, api, webR)
	}
	if err := db.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	err := db.SaveAlertState(ctx,
		[]monitor.TargetState{
			{Target: "api", Verdict: cloudflare.BlockedNetwork, Since: checkTime(5), Failures: 6, Kind: monitor.KindBlocked, Incident: "blocked-1"},
			{Target: "web", Verdict: cloudflare.Up, Since: checkTime(0), Successes: 1, Kind: monitor.KindBlocked, Incident: "blocked-1"},
		},
		[]monitor.Incident{
			{ID: "blocked-1", Kind: monitor.KindBlocked, Targets: []string{"api", "web"}, Started: checkTime(5), Notified: checkTime(3)},
			{ID: "down-1", Kind: monitor.KindDown, Targets: []string{"api"}, Started: now.Add(-3 * 24 * time.Hour), Notified: now.Add(-3 * 24 * time.Hour),
				Ended: now.Add(-3*24*time.Hour + time.Hour)},
		})
	if err != nil {
		t.Fatal(err)
	}
	targets := monitor.DefaultTargets()[:2]
	h := web.StatusPage(web.StatusOptions{
		Store: db, Targets: targets, Location: time.UTC, Now: func() time.Time { return now },
		Canary: func() monitor.Canary {
			return monitor.Canary{OK: true, Target: "https://www.cloudflare.com/cdn-cgi/trace", DataCenter: "FRA", Country: "DE"}
		},
	})
	code, body := page(t, h)
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	doc := parseHTML(t, body)
	if o := doc.one(t, "data-overall", "blocked"); o.text != "ChatGPT is blocked by our own network" {
		t.Errorf("headline %q", o.text)
	}
	if v := doc.one(t, "data-target", "api", "data-field", "verdict"); v.text != "Blocked by our own network" {
		t.Errorf("api verdict %q (an offline round's block is still a block)", v.text)
	}
	if !strings.Contains(body, "web filter: the Zscaler block page (HTTP 403)") {
		t.Error("the card does not say what blocks it")
	}
	if e := doc.one(t, "data-field", "egress"); e.text != "Our traffic reaches Cloudflare in FRA (DE)." {
		t.Errorf("egress %q", e.text)
	}
	open := doc.one(t, "data-incident", "blocked-1")
	if title := open.child("class", "title"); title == nil || !strings.HasSuffix(title.text, "ChatGPT is blocked from our network") {
		t.Errorf("open incident title: %+v", title)
	}
	if f := open.child("data-field", "failing"); f == nil || f.text != "Failing: api" {
		t.Errorf("open incident lists as failing: %+v (web's card says Up)", f)
	}
	if b := open.child("data-field", "back"); b == nil || !strings.HasPrefix(b.text, "Up again: web") {
		t.Errorf("open incident, up again: %+v", b)
	}
	if title := doc.one(t, "data-incident", "down-1").child("class", "title"); title == nil || !strings.HasSuffix(title.text, "ChatGPT was down") {
		t.Errorf("resolved incident title: %+v", title)
	}
}
