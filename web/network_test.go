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
		for _, r := range []*monitor.Result{&api, &webR} {
			r.EgressDataCenter, r.EgressCountry = "FRA", "DE"
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
	if title := open.child("class", "title"); title == nil || !strings.HasSuffix(title.text, "ChatGPT is blocked by our own network") {
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

// TestStatusPageMixedIncidentTitle: an incident opened in a round where the
// API was down and a DNS filter blocked the website is titled, while open,
// for what the targets still failing show: once the API is back, "blocked
// by our own network" beside web's card, not "ChatGPT is down"; with every
// card up again before it resolves, for what was left as the incident saw
// it (our own network, not Cloudflare); once resolved, for all it showed,
// as its recovery and the digest title it.
func TestStatusPageMixedIncidentTitle(t *testing.T) {
	webDNS := "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com"
	tests := []struct {
		name      string
		webNow    monitor.Result
		webState  monitor.TargetState
		ended     bool
		wantTitle string
		failing   string
	}{
		{"the API back, the filter left",
			monitor.Result{Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond, Detail: webDNS},
			monitor.TargetState{Target: "web", Verdict: cloudflare.BlockedNetwork, Since: checkTime(5), Failures: 6, Kind: monitor.KindBlocked, Incident: "down-1"},
			false, "Ongoing ChatGPT is blocked by our own network", "Failing: web"},
		{"every card up, not yet resolved",
			monitor.Result{Verdict: cloudflare.Up, Status: 200, Latency: 120 * time.Millisecond},
			monitor.TargetState{Target: "web", Verdict: cloudflare.Up, Since: checkTime(0), Successes: 1, Kind: monitor.KindBlocked, Incident: "down-1"},
			false, "Ongoing ChatGPT is blocked by our own network", ""},
		{"resolved",
			monitor.Result{Verdict: cloudflare.Up, Status: 200, Latency: 120 * time.Millisecond},
			monitor.TargetState{Target: "web", Verdict: cloudflare.Up, Since: checkTime(0), Successes: 2, Kind: monitor.KindBlocked},
			true, "Resolved ChatGPT was down and blocked by our own network", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			var rs []monitor.Result
			for k := range 6 {
				at := checkTime(k)
				api := monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.OriginError, Status: 503, Latency: 95 * time.Millisecond,
					CheckedAt: at, Detail: "server error (HTTP 503)"}
				webR := monitor.Result{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond, CheckedAt: at, Detail: webDNS}
				if k <= 1 { // the two newest rounds: the API is back
					api = monitor.Result{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.Up, Status: 401, Latency: 83 * time.Millisecond, CheckedAt: at}
				}
				if k == 0 {
					webR = tt.webNow
					webR.Target, webR.Kind, webR.CheckedAt = "web", monitor.TargetWeb, at
				}
				rs = append(rs, api, webR)
			}
			if err := db.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
			mixed := monitor.SituationDown | monitor.SituationOwnNetwork
			in := monitor.Incident{ID: "down-1", Kind: monitor.KindDown, Targets: []string{"api", "web"}, Started: checkTime(5), Notified: checkTime(3),
				Opened: mixed, Seen: mixed}
			if tt.ended {
				in.Ended = checkTime(0)
			}
			err := db.SaveAlertState(ctx,
				[]monitor.TargetState{
					{Target: "api", Verdict: cloudflare.Up, Since: checkTime(1), Successes: 2, Kind: monitor.KindDown},
					tt.webState,
				},
				[]monitor.Incident{in})
			if err != nil {
				t.Fatal(err)
			}
			h := web.StatusPage(web.StatusOptions{Store: db, Targets: monitor.DefaultTargets()[:2], Location: time.UTC, Now: func() time.Time { return now }})
			code, body := page(t, h)
			if code != http.StatusOK {
				t.Fatalf("status %d:\n%s", code, body)
			}
			open := parseHTML(t, body).one(t, "data-incident", "down-1")
			if title := open.child("class", "title"); title == nil || title.text != tt.wantTitle {
				t.Errorf("incident title: %+v, want %q", title, tt.wantTitle)
			}
			f := open.child("data-field", "failing")
			switch {
			case tt.failing == "" && f != nil:
				t.Errorf("lists as failing: %q", f.text)
			case tt.failing != "" && (f == nil || f.text != tt.failing):
				t.Errorf("failing: %+v, want %q", f, tt.failing)
			}
		})
	}
}

// TestStatusPageEgressFromHistory: where our traffic reaches Cloudflare comes
// from the results in the store, as the newest round's canary said, so the
// page of a replica that did not run the round, or of one just restarted,
// shows it; a newest round whose canary did not say shows nothing older.
func TestStatusPageEgressFromHistory(t *testing.T) {
	for _, tt := range []struct {
		name          string
		newest        [2]string // data centre and country of the newest round
		want, wantNot string
	}{
		{"the newest round's", [2]string{"AMS", "NL"}, "Our traffic reaches Cloudflare in AMS (NL).", ""},
		{"the newest round did not say", [2]string{"", ""}, "", "FRA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			var rs []monitor.Result
			for k := range 3 {
				for _, target := range monitor.DefaultTargets()[:2] {
					r := monitor.Result{Target: target.Name, Kind: target.Kind, Verdict: cloudflare.Up, Status: 200, Latency: 80 * time.Millisecond,
						CheckedAt: checkTime(k), EgressDataCenter: "FRA", EgressCountry: "DE"}
					if k == 0 {
						r.EgressDataCenter, r.EgressCountry = tt.newest[0], tt.newest[1]
					}
					rs = append(rs, r)
				}
			}
			if err := db.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
			h := web.StatusPage(web.StatusOptions{Store: db, Targets: monitor.DefaultTargets()[:2], Location: time.UTC, Now: func() time.Time { return now }})
			_, body := page(t, h)
			doc := parseHTML(t, body)
			e := doc.find("data-field", "egress")
			switch {
			case tt.want != "" && (len(e) != 1 || e[0].text != tt.want):
				t.Errorf("egress %+v, want %q", e, tt.want)
			case tt.want == "" && len(e) != 0:
				t.Errorf("egress %q, want none", e[0].text)
			}
			if tt.wantNot != "" && strings.Contains(body, tt.wantNot) {
				t.Errorf("the page shows an older round's %s", tt.wantNot)
			}
		})
	}
}

// TestStatusPageBannerAsInChat: the headline says what the cards show in
// the words of the chat status: an outage beside our own network's block
// is both, not the outage alone.
func TestStatusPageBannerAsInChat(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	at := checkTime(0)
	err := db.RecordResults(ctx, []monitor.Result{
		{Target: "api", Kind: monitor.TargetAPI, Verdict: cloudflare.OriginError, Status: 503, Latency: 95 * time.Millisecond, CheckedAt: at, Detail: "server error (HTTP 503)"},
		{Target: "web", Kind: monitor.TargetWeb, Verdict: cloudflare.BlockedNetwork, Latency: 3 * time.Millisecond, CheckedAt: at,
			Detail: "DNS filter: our DNS says chatgpt.com does not exist, while it resolves www.cloudflare.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := web.StatusPage(web.StatusOptions{Store: db, Targets: monitor.DefaultTargets()[:2], Location: time.UTC, Now: func() time.Time { return now }})
	_, body := page(t, h)
	want := (monitor.SituationDown | monitor.SituationOwnNetwork).FromHere()
	if o := parseHTML(t, body).one(t, "data-overall", "down"); o.text != want || want != "ChatGPT looks down from here and is blocked by our own network" {
		t.Errorf("headline %q, want %q", o.text, want)
	}
}
