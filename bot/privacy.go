package bot

import (
	"time"

	"gptaccess/redact"
)

// unmatched is what is kept of a message the bot could not match: the
// author (so `gptaccess forget` finds it) and the text redacted, or no
// text at all for a direct message or a private place (a group DM, a
// private channel, or one of unknown kind). The knowledge-gap report needs
// the wording of public channel questions, not of private ones.
func unmatched(m Message, text string, at time.Time) Unmatched {
	u := Unmatched{Platform: m.Platform, User: m.User, At: at}
	if !m.DM && !m.Private {
		u.Text = redact.Text(text)
	}
	return u
}

// privateStats is what chat may show of s: aggregates only. The samples of
// unanswered messages are words people wrote; they are for the operator's
// CLI, never for a chat, where anyone who can mention the bot could read
// them.
func privateStats(s Stats) Stats {
	s.Unanswered = nil
	return s
}
