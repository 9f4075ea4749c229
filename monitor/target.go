package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Target kinds: each decides what counts as up.
const (
	TargetAPI    = "api"    // an API front door behind Cloudflare: a JSON answer; a 401 must be invalid_request_error
	TargetWeb    = "web"    // a web app behind Cloudflare: any 2xx or 3xx
	TargetStatus = "status" // a Statuspage-compatible summary.json
	TargetHTTP   = "http"   // anything else: any 2xx or 3xx
)

// DefaultTimeout is a target's timeout when Target.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Target is one URL the monitor probes.
type Target struct {
	Name   string // unique; shown in chat
	Kind   string // TargetAPI, TargetWeb, TargetStatus or TargetHTTP
	URL    string // http or https
	Method string // "" means GET
	// ExpectStatus lists the statuses that count as up. Empty means the
	// kind's own: api 200 or 401, web and http 200-399, status 200.
	ExpectStatus []int
	Timeout      time.Duration // per request; 0 means DefaultTimeout
}

// DefaultTargets returns the default probes (README, "Monitoring"; their
// configuration keys are in docs/contracts.md, section 6): the API front door
// without a key, the ChatGPT web app and OpenAI's status page.
func DefaultTargets() []Target {
	return []Target{
		{Name: "api", Kind: TargetAPI, URL: "https://api.openai.com/v1/models"},
		{Name: "web", Kind: TargetWeb, URL: "https://chatgpt.com/"},
		{Name: "status", Kind: TargetStatus, URL: "https://status.openai.com/api/v2/summary.json"},
	}
}

// withDefaults fills the zero fields of t.
func (t Target) withDefaults() Target {
	if t.Method == "" {
		t.Method = "GET"
	}
	t.Method = strings.ToUpper(t.Method)
	if t.Timeout == 0 {
		t.Timeout = DefaultTimeout
	}
	if t.Kind == "" {
		t.Kind = TargetHTTP
	}
	return t
}

// validate reports what is wrong with t, naming the option.
func (t Target) validate(i int) []error {
	name := fmt.Sprintf("monitor.targets[%d]", i)
	var errs []error
	if t.Name == "" {
		errs = append(errs, fmt.Errorf("%s.name: empty", name))
	}
	switch t.Kind {
	case TargetAPI, TargetWeb, TargetStatus, TargetHTTP:
	default:
		errs = append(errs, fmt.Errorf("%s.kind: %q is not one of api, web, status, http", name, t.Kind))
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s.url: %q is not an http or https URL", name, t.URL))
	}
	if strings.ContainsAny(t.Method, " \t\r\n") {
		errs = append(errs, fmt.Errorf("%s.method: %q is not an HTTP method", name, t.Method))
	}
	for _, s := range t.ExpectStatus {
		if s < 100 || s > 599 {
			errs = append(errs, fmt.Errorf("%s.expect_status: %d is not an HTTP status", name, s))
		}
	}
	if t.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: negative", name))
	}
	return errs
}

// statusOK reports whether status is one t expects.
func (t Target) statusOK(status int) bool {
	if len(t.ExpectStatus) > 0 {
		return slices.Contains(t.ExpectStatus, status)
	}
	switch t.Kind {
	case TargetAPI:
		return status == 200 || status == 401
	case TargetStatus:
		return status == 200
	}
	return status >= 200 && status < 400
}

// fronted reports whether t is one of OpenAI's hosts, which always answer
// through Cloudflare: a refusal without Cloudflare's marks, or a web
// filter's block page, then comes from our own network.
func (t Target) fronted() bool { return t.Kind == TargetAPI || t.Kind == TargetWeb }

// apiUp reports whether body is the API front door's answer: JSON, and for
// a 401 the "no API key" error, which proves DNS, TLS, Cloudflare and the
// auth layer all work.
func apiUp(status int, body []byte) bool {
	var v struct {
		Error *struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(body), &v); err != nil {
		return false
	}
	if status == 401 {
		return v.Error != nil && v.Error.Type == "invalid_request_error"
	}
	return true
}

// summary is the part of a Statuspage summary.json the monitor reads.
type summary struct {
	Status struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	} `json:"status"`
	Components []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"components"`
	Incidents []struct {
		Name      string `json:"name"`
		Status    string `json:"status"`
		Impact    string `json:"impact"`
		Shortlink string `json:"shortlink"`
	} `json:"incidents"`
}

// parseSummary reads a status page; ok is false when body is not a
// Statuspage JSON document (an HTML page, a login wall), which means the
// official status is unknown, never that there is an outage.
func parseSummary(body []byte) (Official, bool) {
	var s summary
	if err := json.Unmarshal(body, &s); err != nil || s.Status.Indicator == "" {
		return Official{}, false
	}
	o := Official{Indicator: s.Status.Indicator, Description: s.Status.Description}
	if len(s.Components) > 0 {
		o.Components = make(map[string]string, len(s.Components))
		for _, c := range s.Components {
			o.Components[c.Name] = c.Status
		}
	}
	for _, in := range s.Incidents {
		if in.Status == "resolved" || in.Status == "postmortem" {
			continue
		}
		o.Incidents = append(o.Incidents, StatusIncident{Name: in.Name, Impact: in.Impact, Link: in.Shortlink})
	}
	return o, true
}
