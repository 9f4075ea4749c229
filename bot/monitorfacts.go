package bot

import (
	"slices"

	"gptaccess/kb/diagnosis"
)

// fromMonitor applies the monitor's latest results to a new diagnosis: the
// facts they prove, the causes they rule out, and a preface telling the
// user so. The bot shares the team's network, so what blocks it blocks
// everyone here.
//
//   - Our own network blocks ChatGPT (a DNS filter, TLS interception, a
//     web proxy): everyone here gets the error and other networks do not,
//     which is the network cause, concluded without asking, with IT's
//     steps only (diagnosis.MonitorNetwork).
//   - Cloudflare blocks our network (1020, a challenge): everyone here is
//     affected.
//   - While anything is blocked from here, a problem on ChatGPT's side is
//     not what everyone sees: server is never concluded.
//   - ChatGPT down, or an official incident: the server cause, unless the
//     user pasted a 1020 page, which is Cloudflare answering them in
//     particular and outranks it, or asked to start over after the outage
//     was given as the cause (they doubt it: look at their side too).
//   - ChatGPT down only because its names do not resolve here, with no
//     official incident: that may be our own DNS as much as OpenAI, so
//     nothing is concluded and the questions go on as without the monitor.
func fromMonitor(rep StatusReport, page *ErrorPage, c *Conversation, restart bool) (preface string) {
	if rep.Blocked || rep.NetworkBlocked {
		c.RuledOut = append(c.RuledOut, "server")
	}
	down := rep.Down && !rep.DNSUnsure
	switch {
	case rep.NetworkBlocked:
		infer(c, "same_network_others", diagnosis.Yes)
		infer(c, "other_network", diagnosis.Yes)
		// Which the network cause's steps follow: IT's alone, since
		// OpenAI cannot lift what our own network blocks.
		infer(c, diagnosis.MonitorNetwork, diagnosis.Yes)
		p := "Heads-up: my own checks show **our own network blocks ChatGPT**"
		if rep.NetworkBlock != "" {
			p += " (" + rep.NetworkBlock + ")"
		}
		return p + ", so everyone here gets this; IT can lift it, OpenAI cannot."
	case rep.Blocked:
		infer(c, "same_network_others", diagnosis.Yes)
		return "Heads-up: my own checks from this network are **blocked by Cloudflare (1020)** too, so the whole network is likely blocked, not just you."
	case (down || rep.OfficialIncident) && page != nil && page.Code == 1020:
		return "My own checks show ChatGPT having trouble right now too, but the page you pasted is a 1020 firewall block, which Cloudflare shows to your connection in particular, so let's find its cause."
	case (down || rep.OfficialIncident) && restart:
		return "My own checks still show **ChatGPT having problems right now**, but let's check your side as well."
	case down || rep.OfficialIncident:
		c.Facts[monitorFact] = diagnosis.Yes
		return "Heads-up: my own checks show **ChatGPT is having problems right now** (down from here or an official incident), so this is likely not on your side."
	case rep.DNSUnsure:
		return "Heads-up: my own checks cannot look up ChatGPT's address from here (DNS). That may be our own network's DNS rather than OpenAI, so let's check what you see."
	}
	return ""
}

// infer sets fact from the monitor's evidence unless the user already said.
func infer(c *Conversation, fact, value string) {
	if _, known := c.Facts[fact]; known {
		return
	}
	c.Facts[fact] = value
	if !slices.Contains(c.Inferred, fact) {
		c.Inferred = append(c.Inferred, fact)
	}
}
