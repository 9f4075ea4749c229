// Package bot is the platform-neutral core of gptaccess: a Message comes in
// from an adapter, a Reply goes out. It answers from the knowledge base, runs
// the guided diagnosis and keeps conversation state through a Store.
//
// bot never imports an adapter, a chat SDK or a database driver; the
// interfaces it needs are declared here, where they are consumed.
package bot

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Platforms that adapters report in Message.Platform.
const (
	Console = "console"
	Slack   = "slack"
	Discord = "discord"
)

// Message is one inbound chat message (or button click) in platform-neutral
// form. Adapters strip mention markup before filling Text.
type Message struct {
	Platform string // Console, Slack or Discord
	Channel  string // channel or DM id
	Thread   string // thread id ("" when not in a thread)
	User     string // author id
	Text     string

	Mention bool // the bot was mentioned
	DM      bool // a direct message
	Command bool // came from the /gptaccess slash command

	// Private marks a place that is not public although several people may
	// talk in it: a group direct message, a private channel, or a place
	// the adapter could not learn the kind of. It is answered like a
	// channel (a mention addresses the bot) but, like a direct message,
	// none of its text is kept.
	Private bool

	// Shared marks a channel several people talk in: the conversation key
	// then includes the user, so two people never share a diagnosis.
	Shared bool

	// Listen marks a message in a help channel the bot watches without
	// being mentioned. A message that is neither a mention, a DM nor a
	// command is answered only when a conversation exists under its key (the
	// bot is already in that thread) or, with Listen, when the bot is
	// confident it is about ChatGPT access; otherwise the Reply has Ignore.
	Listen bool

	// Answer is set when the user clicked a choice button.
	Answer *Answer
}

// Answer is a click on a choice button: the question it belongs to and the
// exact choice.
type Answer struct {
	Question string // Question.ID
	Choice   string // one of Question.Choices
}

// Key is the conversation key: platform + channel + thread (+ user in shared
// channels). It is what a Store saves conversations under.
func (m Message) Key() string {
	k := m.Platform + ":" + m.Channel + ":" + m.Thread
	if m.Shared {
		k += ":" + m.User
	}
	return k
}

// Reply is what the bot answers. Its JSON form is the contract of
// docs/contracts.md, section 2; fields tagged "-" are for adapters only.
type Reply struct {
	Text       string     `json:"text"`
	Entry      string     `json:"entry"`
	Confidence float64    `json:"confidence"`
	Question   *Question  `json:"question"`
	Diagnosis  *Diagnosis `json:"diagnosis"`
	ErrorPage  *ErrorPage `json:"error_page"`

	// Handover, when set, is a summary for a human supporter; adapters post
	// it to the configured support channel (the console prints it).
	Handover *Handover `json:"-"`
	// Public says the reply is meant for the whole channel: slash-command
	// replies are ephemeral unless Public.
	Public bool `json:"-"`
	// Private says the reply concerns only the sender (e.g. a click on an
	// expired button): show it ephemerally where the platform allows.
	Private bool `json:"-"`
	// Ignore says there is nothing to send (e.g. small talk in a listen
	// channel that the bot is not confident about).
	Ignore bool `json:"-"`
}

// Question is a choice question asked during a diagnosis.
type Question struct {
	// ID names this question in this conversation; buttons carry it so a
	// click on an old or foreign question can be told apart. It is at most
	// 40 characters of [A-Za-z0-9:_-].
	ID      string   `json:"-"`
	Fact    string   `json:"fact"`
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
}

// Diagnosis is a concluded cause and the knowledge-base entries whose steps
// fix it, in order.
type Diagnosis struct {
	Cause string   `json:"cause"`
	Title string   `json:"-"` // the cause in plain words
	Steps []string `json:"steps"`
}

// ErrorPage is what was extracted from a pasted Cloudflare error page.
// The client IP is deliberately not part of it.
type ErrorPage struct {
	Code       int    `json:"code"`
	RayID      string `json:"ray_id"`
	DataCenter string `json:"data_center"`
	Country    string `json:"country"`
}

// Handover is the summary handed to a human when the steps did not help.
type Handover struct {
	Platform string
	Channel  string
	Thread   string
	User     string
	Summary  string // chat-ready text; never contains the user's IP
}

// Conversation is the persisted state of one conversation.
type Conversation struct {
	Key     string
	Version int64 // optimistic concurrency: Save fails with ErrConflict on mismatch

	ID      string            // short random id, used in Question.ID
	Facts   map[string]string // fact -> "yes" | "no" | "unsure"
	Asked   []string          // facts asked, in order
	Pending string            // fact of the open question ("" when none)
	Turn    int               // increments with every question asked
	Retries int               // unintelligible answers to the pending question
	Cause   string            // cause whose steps were given, awaiting "did this fix it?"
	Tried   []string          // causes whose steps were given
	Page    *ErrorPage        // pasted error page, if any
	// Inferred lists facts set from the monitor's latest results rather
	// than answered (our own network blocking ChatGPT means everyone here
	// gets the error and other networks do not); the hand-over summary
	// tells them apart.
	Inferred []string
	// RuledOut lists causes the monitor's results rule out, never
	// concluded: server while ChatGPT is blocked from here.
	RuledOut []string
	Paused   bool   // a side question interrupted the diagnosis
	Topic    string // entry of the last answer, for follow-ups like "why does it happen?"
	Offer    string // Question.ID of an open "Find my cause" offer ("" when none)
	// User is who the conversation is with (the author of its latest
	// message), so that `gptaccess forget` can delete it.
	User     string
	Started  time.Time
	Updated  time.Time
	Finished bool
}

// ErrConflict is returned by Store.SaveConversation and
// Store.DeleteConversation when the stored version differs from the one
// read: another replica or goroutine got there first. The engine then
// reads the conversation again and retries; users never see it.
var ErrConflict = errors.New("conversation changed concurrently")

// Store keeps conversations and outcomes. The sqlite package implements it.
type Store interface {
	// Conversation returns the conversation under key; ok is false when
	// there is none.
	Conversation(ctx context.Context, key string) (c Conversation, ok bool, err error)
	// SaveConversation stores c if c.Version matches the stored version (0
	// for a new one) and increments c.Version; otherwise it returns
	// ErrConflict. A conversation that replaces another under the same key
	// is saved with the replaced one's version, so a replacement is
	// version-checked like any update.
	SaveConversation(ctx context.Context, c *Conversation) error
	// DeleteConversation removes the conversation under key if its stored
	// version is version; otherwise (changed or already gone) it returns
	// ErrConflict.
	DeleteConversation(ctx context.Context, key string, version int64) error
	// RecordOutcome stores how a diagnosis ended; a later outcome with the
	// same Key replaces the earlier one.
	RecordOutcome(ctx context.Context, o Outcome) error
	// RecordUnanswered stores a message the bot could not match (entry
	// none). The engine has already redacted it (see Unmatched).
	RecordUnanswered(ctx context.Context, u Unmatched) error
}

// Unmatched is a message the bot could not match, as it is stored for the
// operator's knowledge-gap report (`gptaccess stats`).
type Unmatched struct {
	Platform string
	// User is the author's id on Platform, kept so that `gptaccess forget`
	// can delete what they wrote.
	User string
	// Text is redacted (no IP or e-mail addresses, phone numbers, tokens,
	// keys or passwords) and "" for a direct message: what people write
	// to the bot privately is never kept, only counted.
	Text string
	At   time.Time
}

// Outcome is how one diagnosis ended, for `gptaccess stats`.
type Outcome struct {
	Key        string // the conversation's ID: one outcome per diagnosis
	Platform   string
	Cause      string // last cause concluded ("unknown" included)
	Questions  int    // questions asked
	Resolved   string // "yes" | "no" | "unknown"
	HandedOver bool
	At         time.Time
}

// Observer hears how diagnoses go, for metrics (the metrics package
// implements it). The engine calls it once a turn's conversation state is
// stored, so a turn redone after a conflict is heard once; its methods
// must not block.
type Observer interface {
	// Diagnosed: a diagnosis concluded cause (a re-asked "Did this fix
	// it?" is no new conclusion).
	Diagnosed(cause string)
	// Feedback: the user answered "Did this fix it?" with "yes" or "no"
	// ("not sure" counts as no).
	Feedback(answer string)
}

// nobody is the Observer when none is given.
type nobody struct{}

func (nobody) Diagnosed(string) {}
func (nobody) Feedback(string)  {}

// StatusReporter answers "status" from the monitor's latest results.
// The monitor package implements it.
type StatusReporter interface {
	Status(ctx context.Context) (StatusReport, error)
}

// StatusReport is the monitor's view, as far as the bot needs it.
type StatusReport struct {
	Text             string // chat-ready status summary
	Down             bool   // ChatGPT is down from here (origin errors, unreachable with a healthy canary)
	Blocked          bool   // the bot's own network is blocked by Cloudflare (1020, challenge)
	OfficialIncident bool   // an unresolved official incident or major/critical indicator
	// NetworkBlocked says our own network blocks ChatGPT (a DNS filter,
	// TLS interception, a web proxy or filter), and NetworkBlock what does,
	// in words.
	NetworkBlocked bool
	NetworkBlock   string
	// DNSUnsure says that ChatGPT is Down from here only because its host
	// names do not resolve, which may be our own DNS's doing as much as
	// OpenAI's, and nothing tells which (a canary given as an IP address
	// resolves no name): the diagnosis then does not conclude that
	// ChatGPT's side is at fault, and the Text says why.
	DNSUnsure bool
}

// Subscriptions keeps the channels that asked for alerts at run time.
type Subscriptions interface {
	Subscribe(ctx context.Context, platform, channel string) error
	Unsubscribe(ctx context.Context, platform, channel string) error
}

// Stats summarises recorded outcomes over a period, for `gptaccess stats`.
type Stats struct {
	Since           time.Time      `json:"since"`
	Diagnoses       int            `json:"diagnoses"`
	ByCause         map[string]int `json:"by_cause"`
	Resolved        int            `json:"resolved"`        // "did this fix it?" → yes
	Unresolved      int            `json:"unresolved"`      // → no
	NoFeedback      int            `json:"no_feedback"`     // never answered
	ResolutionRate  float64        `json:"resolution_rate"` // resolved / (resolved + unresolved); 0 when none
	HandedOver      int            `json:"handed_over"`
	MedianQuestions float64        `json:"median_questions"`
	// UnansweredCount is how many messages the bot could not match,
	// direct messages included.
	UnansweredCount int `json:"unanswered_count"`
	// Unanswered are samples of those messages, most common first:
	// redacted, never from direct messages, and only for the operator's
	// CLI; chat shows the count alone.
	Unanswered []Unanswered `json:"unanswered"`
}

// Tally adds outcomes (Cause, Questions, Resolved and HandedOver read)
// into s: the diagnoses, their causes, the feedback, the hand-overs, the
// resolution rate and the median of questions asked. The stores read the
// rows; this counts them, the same way for each.
func (s *Stats) Tally(outcomes []Outcome) {
	if s.ByCause == nil {
		s.ByCause = map[string]int{}
	}
	questions := make([]int, 0, len(outcomes))
	for _, o := range outcomes {
		s.Diagnoses++
		s.ByCause[o.Cause]++
		questions = append(questions, o.Questions)
		switch o.Resolved {
		case "yes":
			s.Resolved++
		case "no":
			s.Unresolved++
		default:
			s.NoFeedback++
		}
		if o.HandedOver {
			s.HandedOver++
		}
	}
	if n := s.Resolved + s.Unresolved; n > 0 {
		s.ResolutionRate = float64(s.Resolved) / float64(n)
	}
	s.MedianQuestions = 0
	if n := len(questions); n > 0 {
		slices.Sort(questions)
		if n%2 == 1 {
			s.MedianQuestions = float64(questions[n/2])
		} else {
			s.MedianQuestions = float64(questions[n/2-1]+questions[n/2]) / 2
		}
	}
}

// Unanswered is a message the bot could not match, with how often it came.
type Unanswered struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// Forgotten counts what forgetting one person deleted (`gptaccess forget`).
type Forgotten struct {
	Conversations int64 `json:"conversations"`
	Unanswered    int64 `json:"unanswered"`
	// RateLimits counts rate-limit buckets, which only a store that keeps
	// them (PostgreSQL, for replicas) has; RateLimit's are in memory.
	RateLimits int64 `json:"rate_limits"`
}

// StatsReader reads Stats; the sqlite package implements it.
type StatsReader interface {
	Stats(ctx context.Context, since time.Time) (Stats, error)
}
