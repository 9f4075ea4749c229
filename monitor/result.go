package monitor

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"gptaccess/cloudflare"
	"gptaccess/format"
)

// Result is one probe of one target.
type Result struct {
	Target     string
	Kind       string // the target's kind (TargetAPI...)
	Verdict    cloudflare.Verdict
	Code       int // Cloudflare error code (1020, 1015, 522...), 0 when none
	Status     int // HTTP status, 0 when there was no answer
	Latency    time.Duration
	RayID      string // from cf-ray
	DataCenter string // cf-ray suffix, e.g. "FRA"
	Detail     string // short, for people
	CheckedAt  time.Time

	// Offline marks a result taken while the canary failed: our own
	// network was in trouble, so an unreachable verdict says nothing
	// about OpenAI and raises no outage alert.
	Offline bool
	// Official is what a status target's page said; nil for other
	// targets and when the page could not be read.
	Official *Official
	// EgressDataCenter and EgressCountry are where our traffic reached
	// Cloudflare in the result's round (the canary's trace, see Canary),
	// kept with each result, as Offline is, so that whoever reads the
	// history (the status page, another replica, this one after a
	// restart) can say it; empty when the trace did not say.
	EgressDataCenter string
	EgressCountry    string
}

// Egress is where our traffic reached Cloudflare in r's round, in words
// (see Canary.Egress); "" when the canary's trace did not say.
func (r Result) Egress() string {
	return Canary{DataCenter: r.EgressDataCenter, Country: r.EgressCountry}.Egress()
}

// MarshalJSON writes the result in the shape of docs/contracts.md, section 3.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Target     string             `json:"target"`
		Verdict    cloudflare.Verdict `json:"verdict"`
		Status     int                `json:"status"`
		LatencyMS  int64              `json:"latency_ms"`
		RayID      string             `json:"ray_id"`
		DataCenter string             `json:"data_center"`
		Detail     string             `json:"detail"`
		CheckedAt  string             `json:"checked_at"`
	}{r.Target, r.Verdict, r.Status, r.Latency.Milliseconds(), r.RayID, r.DataCenter, r.Detail, r.CheckedAt.UTC().Format(time.RFC3339)})
}

// Official is what OpenAI's status page says.
type Official struct {
	// Indicator is status.indicator: none, minor, major, critical (or
	// maintenance); "unknown" when the page could not be read.
	Indicator   string            `json:"indicator"`
	Description string            `json:"-"`         // e.g. "All Systems Operational"
	Components  map[string]string `json:"-"`         // component name → status; names, because ids change
	Incidents   []StatusIncident  `json:"incidents"` // unresolved
}

// MarshalJSON writes incidents as [] rather than null when there are none.
func (o Official) MarshalJSON() ([]byte, error) {
	type plain Official
	if o.Incidents == nil {
		o.Incidents = []StatusIncident{}
	}
	return json.Marshal(plain(o))
}

// Major reports an official major or critical indicator: OpenAI says it
// is down.
func (o Official) Major() bool { return o.Indicator == "major" || o.Indicator == "critical" }

// IndicatorUnknown is Official.Indicator when no status page was read.
const IndicatorUnknown = "unknown"

// StatusIncident is one unresolved incident on the status page.
type StatusIncident struct {
	Name   string `json:"name"`
	Impact string `json:"impact"` // none, minor, major, critical
	Link   string `json:"link"`   // shortlink
}

// Round is one run of every probe. Its JSON form is `gptaccess check
// --json` (docs/contracts.md, section 3).
type Round struct {
	Results  []Result  `json:"results"`
	Canary   Canary    `json:"canary"`
	Official Official  `json:"official"`
	At       time.Time `json:"-"` // when the round started
}

// MarshalJSON writes results as [] rather than null when there are none.
func (r Round) MarshalJSON() ([]byte, error) {
	type plain Round
	if r.Results == nil {
		r.Results = []Result{}
	}
	return json.Marshal(plain(r))
}

// AllUp reports whether every target is up and the official status shows
// no major or critical outage: `gptaccess check` exits 0 then, 1
// otherwise.
func (r Round) AllUp() bool {
	for _, x := range r.Results {
		if x.Verdict != cloudflare.Up {
			return false
		}
	}
	return !r.Official.Major()
}

// Table renders the round for a terminal (`gptaccess check`).
func (r Round) Table() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tVERDICT\tEVIDENCE\tDETAIL")
	for _, x := range r.Results {
		ev := "-"
		if e := x.Evidence(); len(e) > 0 {
			ev = strings.Join(e, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Target, x.Verdict, ev, x.Detail)
	}
	tw.Flush()
	switch {
	case r.Canary.Target == "":
		b.WriteString("canary: disabled\n")
	case r.Canary.OK && r.Canary.Egress() != "":
		fmt.Fprintf(&b, "canary: ok (%s): %s\n", r.Canary.Target, r.Canary.Egress())
	case r.Canary.OK:
		fmt.Fprintf(&b, "canary: ok (%s)\n", r.Canary.Target)
	default:
		fmt.Fprintf(&b, "canary: FAILED (%s: %s): our own network seems offline, so unreachable targets are not an outage\n", r.Canary.Target, r.Canary.Detail)
	}
	b.WriteString("official status: " + officialLine(r.Official) + "\n")
	return b.String()
}

// officialLine summarises the status page in one line.
func officialLine(o Official) string {
	if o.Indicator == "" || o.Indicator == IndicatorUnknown {
		return "unknown (status page not read)"
	}
	s := o.Indicator
	if o.Description != "" {
		s = o.Description + " (" + o.Indicator + ")"
	}
	if bad := degraded(o.Components); len(bad) > 0 {
		s += "; degraded: " + strings.Join(bad, ", ")
	}
	if len(o.Incidents) == 0 {
		return s + "; no unresolved incidents"
	}
	var names []string
	for _, in := range o.Incidents {
		n := fmt.Sprintf("%q (%s)", in.Name, in.Impact)
		if in.Link != "" {
			n += " " + in.Link
		}
		names = append(names, n)
	}
	return s + "; incidents: " + strings.Join(names, ", ")
}

// degraded lists components that are not operational, by name.
func degraded(components map[string]string) []string {
	var out []string
	for name, status := range components {
		if status != "" && status != "operational" {
			out = append(out, name+" "+strings.ReplaceAll(status, "_", " "))
		}
	}
	sort.Strings(out)
	return out
}

// formatLatency is a result's latency, "-" when none was measured.
func formatLatency(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return format.Latency(d)
}
