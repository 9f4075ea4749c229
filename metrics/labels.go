package metrics

import (
	"slices"

	"gptaccess/bot"
	"gptaccess/cloudflare"
)

// other is the label value for anything outside a label's fixed set, so
// a bug or a new id can never blow up the number of series.
const other = "other"

// entries are the knowledge-base entry ids of docs/contracts.md, section 4.
var entries = []string{
	"what-is", "causes", "fix", "fix-vpn", "fix-browser", "fix-credentials", "fix-api", "fix-support",
	"fix-wait", "prevent", "data-risk", "permanent", "status", "help", "other-code", "none",
}

// causes are the diagnosis causes of docs/contracts.md, section 5.
var causes = []string{
	"vpn-proxy", "server", "ip-block", "network", "extensions", "browser-cache", "credentials", "policy", "unknown",
}

var platforms = []string{bot.Console, bot.Slack, bot.Discord}

// kinds are the outbox's kinds of calls (delivery.Kind*).
var kinds = []string{"reply", "handover", "notice"}

var verdicts = []cloudflare.Verdict{
	cloudflare.Up, cloudflare.Unreachable, cloudflare.Challenged, cloudflare.Blocked1020, cloudflare.RateLimited,
	cloudflare.BlockedOther, cloudflare.BlockedNetwork, cloudflare.OriginDown, cloudflare.OriginError, cloudflare.Unexpected,
}

func bounded(v string, set []string) string {
	if slices.Contains(set, v) {
		return v
	}
	return other
}

func platformLabel(p string) string { return bounded(p, platforms) }
func entryLabel(e string) string    { return bounded(e, entries) }
func causeLabel(c string) string    { return bounded(c, causes) }

func verdictLabel(v cloudflare.Verdict) string {
	if slices.Contains(verdicts, v) {
		return string(v)
	}
	return other
}
