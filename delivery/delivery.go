// Package delivery is the one delivery core every chat platform shares: a
// durable inbox and outbox around the bot, so that nothing said to the bot
// is lost or answered twice.
//
// An adapter writes each incoming event to the inbox (Core.Put or
// Core.Accept), deduplicated by the platform's own id, before it
// acknowledges the event to the platform. Workers take pending items in
// order per lane (a channel: a conversation never spans channels, so
// replies in a conversation keep their order) and in parallel across
// lanes, ask the adapter which bot.Message an item is (Platform.Message:
// Discord walks its reply chains there), ask the bot, and write the reply's
// platform calls (Platform.Plan, hand-overs) to the outbox in the same
// transaction as the conversation's new state (Store.Finish). Other
// workers make those calls per channel in order (Platform.Send), wait out
// Retry-After for that channel only, retry transient failures a bounded
// number of times with backoff and record a permanent failure once.
//
// What the README's "Reliability" section promises rests on this package;
// the Store interface is written so that SQL stores (sqlite here, and a
// PostgreSQL one for several replicas) implement it with a status column
// and ordered sequence numbers.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gptaccess/bot"
)

// Inbound is one event from a platform, as the inbox keeps it.
type Inbound struct {
	// ID is the platform's own name for the event, prefixed with the
	// platform ("slack:msg:C1:1700000000.000100",
	// "discord:interaction:123"). The inbox keeps one item per ID.
	ID       string
	Platform string
	// Lane orders processing: items of one lane are processed one at a
	// time, oldest first. Adapters use the channel id.
	Lane string
	// Body is the adapter's own encoding of the event, opaque to the core.
	Body     []byte
	Received time.Time
}

// Outbound is one platform call that the outbox keeps until it is made.
type Outbound struct {
	// Seq is assigned by the store when the item is added: items of one
	// lane are sent in Seq order.
	Seq int64
	// Key names the item uniquely ("<inbound id>#<n>", a notice's key);
	// adding an item whose Key is already in the outbox does nothing, and
	// Discord sends a nonce derived from it so that a re-send is harmless.
	Key      string
	Platform string
	// Lane is the channel the call writes to: calls of one lane go out in
	// order, and a Retry-After holds back only that lane.
	Lane string
	// Kind says what the item is, for logs and metrics: KindReply,
	// KindHandover, KindNotice.
	Kind string
	// Body is the adapter's own encoding of the call.
	Body []byte
	// Parent is the Key of an earlier item whose message this call needs
	// (the alert a reminder threads under); "" for none. Before Send the
	// core sets ParentRef to that item's sent ref ("" when it was not
	// sent). ParentRef is not stored.
	Parent    string
	ParentRef string
	// Attempts counts the transient failures so far (network errors,
	// 5xx) and RateLimited the platform's rate-limit refusals (429): each
	// has its own bound (Options.MaxAttempts, Options.MaxRateLimited), and
	// a wait for the rate limit does not lengthen the backoff. NotBefore is
	// when the next attempt may be made (zero: at once).
	Attempts    int
	RateLimited int
	NotBefore   time.Time
	Created     time.Time
}

// Kinds of outbound items.
const (
	KindReply    = "reply"
	KindHandover = "handover"
	KindNotice   = "notice"
)

// Status is where an outbox item is in its life.
type Status string

// Outbox item statuses, as stores keep them.
const (
	Pending Status = "pending"
	Sent    Status = "sent"
	Failed  Status = "failed"
)

// Lane names one platform's lane, for Store.Lanes.
type Lane struct {
	Platform, Name string
}

// Writes are the conversation changes the bot made while answering one
// inbound item; Store.Finish applies them with the item's outbound calls.
type Writes struct {
	// Delete lists the conversations to delete, each with the version
	// that was read: a mismatch (or a conversation already gone) fails the
	// whole Finish with bot.ErrConflict. Deletes come before saves.
	Delete []Deletion
	// Save holds conversations to store with a compare-and-set on
	// Version, the version that was read (0 for a new one): a mismatch
	// fails the whole Finish with bot.ErrConflict.
	Save       []bot.Conversation
	Outcomes   []bot.Outcome
	Unanswered []bot.Unmatched
}

// WriteOps are a store's statements for Writes, inside the transaction
// of one Finish.
type WriteOps struct {
	Delete     func(d Deletion) error
	Save       func(c *bot.Conversation) error
	Outcome    func(o bot.Outcome) error
	Unanswered func(u bot.Unmatched) error
}

// Apply applies w with ops in the order Finish promises: deletes, then
// saves, then what is recorded; it stops at the first error.
func (w Writes) Apply(ops WriteOps) error {
	for _, d := range w.Delete {
		if err := ops.Delete(d); err != nil {
			return err
		}
	}
	for i := range w.Save {
		if err := ops.Save(&w.Save[i]); err != nil {
			return err
		}
	}
	for _, o := range w.Outcomes {
		if err := ops.Outcome(o); err != nil {
			return err
		}
	}
	for _, u := range w.Unanswered {
		if err := ops.Unanswered(u); err != nil {
			return err
		}
	}
	return nil
}

// Deletion is a conversation to delete, if it still has Version.
type Deletion struct {
	Key     string
	Version int64
}

// Empty reports whether w changes nothing.
func (w Writes) Empty() bool {
	return len(w.Delete) == 0 && len(w.Save) == 0 && len(w.Outcomes) == 0 && len(w.Unanswered) == 0
}

// ErrNotReady is returned by Platform.Message when the adapter cannot
// translate yet (it does not know who the bot is before it connected):
// the item stays pending and is tried again shortly.
var ErrNotReady = errors.New("platform not ready")

// ErrNotPending is returned by Store.Finish when the inbox item is not
// pending any more (another worker or replica finished or dropped it).
var ErrNotPending = errors.New("inbox item is not pending")

// Store keeps the inbox and the outbox. The sqlite package implements it;
// NewMemory is an in-memory one; storetest.Delivery is the conformance
// suite every implementation passes.
type Store interface {
	// Put adds in to the inbox as pending unless an item with its ID was
	// added before (pending, done or dropped); added says which.
	Put(ctx context.Context, in Inbound) (added bool, err error)
	// NextIn returns the oldest pending inbox item of lane; ok is false
	// when there is none.
	NextIn(ctx context.Context, l Lane) (in Inbound, ok bool, err error)
	// Finish does, in one transaction: apply w, add out to the outbox (in
	// order, assigning Seq; an item whose Key exists already is skipped),
	// and mark inbox item id done. It returns bot.ErrConflict when a
	// conversation's version check fails and ErrNotPending when the item
	// is not pending; then nothing is changed.
	Finish(ctx context.Context, id string, w Writes, out []Outbound) error
	// Drop marks pending inbox item id dropped without processing it.
	Drop(ctx context.Context, id string) error

	// Enqueue adds out to the outbox (items without an inbox item, such
	// as the monitor's notices), as Finish does.
	Enqueue(ctx context.Context, out []Outbound) error
	// NextOut returns the oldest pending outbox item of lane, whatever
	// its NotBefore.
	NextOut(ctx context.Context, l Lane) (out Outbound, ok bool, err error)
	// Sent marks outbox item seq sent; ref is what the platform calls the
	// message (Slack ts, Discord message id), kept for Lookup.
	Sent(ctx context.Context, seq int64, ref string) error
	// Failed marks outbox item seq failed for good, with the reason.
	Failed(ctx context.Context, seq int64, reason string) error
	// Retry records a failed attempt of outbox item seq: its counts of
	// transient failures (attempts) and of rate limits (rateLimited), and
	// when the next attempt may be made.
	Retry(ctx context.Context, seq int64, attempts, rateLimited int, notBefore time.Time) error
	// Lookup returns the status of the outbox item with key (Pending,
	// Sent, Failed, or "" when there is none) and, once sent, its ref.
	Lookup(ctx context.Context, key string) (st Status, ref string, err error)

	// Lanes lists the lanes that have pending inbox items and those that
	// have pending outbox items, for start-up.
	Lanes(ctx context.Context) (in, out []Lane, err error)
	// Heard tells when the inbox last heard from a platform, for an
	// adapter catching up on what it missed while disconnected: newest is
	// the latest Received of platform's items whose ID begins with prefix
	// (whatever their status; the zero time when there are none), and
	// lanes lists the lanes of those received at or after since, the
	// most recently heard first.
	Heard(ctx context.Context, platform, prefix string, since time.Time) (newest time.Time, lanes []string, err error)
	// Prune deletes inbox items received and outbox items created before
	// cutoff that are no longer pending, and returns how many.
	Prune(ctx context.Context, cutoff time.Time) (int64, error)
}

// Turn is what an inbound item asks of the bot.
type Turn struct {
	// Message is the bot's message.
	Message bot.Message
	// Reply, when set, answers the item without asking the bot: the
	// adapter could read who and where, but not what (a button it does
	// not know).
	Reply *bot.Reply
}

// Platform is what the core needs of an adapter: translation both ways
// and the calls themselves. Queues, deduplication, retries, the apology,
// hand-over routing and the per-user limit are the core's.
type Platform interface {
	// Name is the platform (bot.Slack, bot.Discord): the prefix of its
	// items' IDs and their Platform.
	Name() string
	// Message translates an inbound item into a Turn; ok is false when the
	// item asks nothing of the bot (an event it does not answer). This is
	// where an adapter answers which conversation the item belongs to.
	// ErrNotReady leaves the item pending; another error is logged and the
	// item dropped.
	Message(ctx context.Context, in Inbound) (t Turn, ok bool, err error)
	// Plan lays out, in order, the calls that deliver r, the bot's reply
	// to m (from in). The core assigns Key, Platform and Kind when empty.
	Plan(in Inbound, m bot.Message, r bot.Reply) ([]Outbound, error)
	// Handover lays out the call that posts h where the core routed it.
	Handover(in Inbound, m bot.Message, h bot.Handover, to Route) (Outbound, error)
	// Send makes the call of out (see Outbound.ParentRef). Errors made with
	// RetryAfter, NotYet or Permanent say how the core should go on;
	// others are transient.
	Send(ctx context.Context, out Outbound) (ref string, err error)
}

// Route is where the core sends a hand-over: the support channel, or the
// conversation itself with the support group mentioned.
type Route struct {
	Channel string
	Thread  string // "" for the channel itself
	// InPlace says the hand-over goes into the conversation rather than
	// the support channel (no support channel is configured).
	InPlace bool
	// Mention is the support group or role to mention ("" for none).
	Mention string
}

// Support configures where one platform's hand-overs go.
type Support struct {
	Channel string // support channel id; "" for none
	Mention string // user group (Slack "S…") or role (Discord) to mention
}

// rateLimited is a send the platform refused for now.
type rateLimited struct {
	after time.Duration
	err   error
}

func (e *rateLimited) Error() string {
	return fmt.Sprintf("rate limited (retry after %s): %v", e.after, e.err)
}
func (e *rateLimited) Unwrap() error { return e.err }

// RetryAfter marks err as the platform's rate limit: the lane waits d
// before the next attempt.
func RetryAfter(err error, d time.Duration) error { return &rateLimited{after: d, err: err} }

// notYet is a send the platform cannot take yet.
type notYet struct{ err error }

func (e *notYet) Error() string { return "not yet: " + e.err.Error() }
func (e *notYet) Unwrap() error { return e.err }

// NotYet marks err as a call the platform cannot take yet but soon will
// (Discord does not know the deferred response an edit replaces until the
// acknowledgement lands). The call is made again after Options.Backoff,
// counted neither as a failure nor as a rate limit, so the adapter bounds
// how long it answers NotYet.
func NotYet(err error) error { return &notYet{err: err} }

func isNotYet(err error) bool {
	var n *notYet
	return errors.As(err, &n)
}

// permanent is a send that no retry can fix.
type permanent struct{ err error }

func (e *permanent) Error() string { return "permanent: " + e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// Permanent marks err as a failure no retry can fix (the channel is gone,
// the bot may not post there, the interaction expired): the item is
// recorded failed once and not tried again.
func Permanent(err error) error { return &permanent{err: err} }

// IsPermanent reports whether err was made with Permanent.
func IsPermanent(err error) bool {
	var p *permanent
	return errors.As(err, &p)
}

// retryAfter returns the wait of an error made with RetryAfter.
func retryAfter(err error) (time.Duration, bool) {
	var rl *rateLimited
	if errors.As(err, &rl) {
		return rl.after, true
	}
	return 0, false
}

// Observer hears what the core does, for metrics. Methods must not block.
type Observer interface {
	// Duplicate: an event already in the inbox came again.
	Duplicate(platform string)
	// Stale: a pending event was too old to answer after a restart or a
	// backlog, and was dropped.
	Stale(platform string)
	// RateLimitWait: a lane waits d for the platform's rate limit.
	RateLimitWait(platform string, d time.Duration)
	// Undelivered: an outbound call failed for good (permanent error, or
	// retries used up).
	Undelivered(platform, kind string)
	// Attempted: an outbound call was made; ok says whether it succeeded.
	Attempted(platform, kind string, ok bool)
	// Reconnect: an adapter's connection (Socket Mode, gateway) was made
	// again after it dropped; adapters report it through Core.Reconnected.
	Reconnect(platform string)
}

type nobody struct{}

func (nobody) Duplicate(string)                    {}
func (nobody) Stale(string)                        {}
func (nobody) RateLimitWait(string, time.Duration) {}
func (nobody) Undelivered(string, string)          {}
func (nobody) Attempted(string, string, bool)      {}
func (nobody) Reconnect(string)                    {}
