package monitor

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"gptaccess/delivery"
)

// Kind says what an alert is about, worded for the team.
type Kind string

// Alert kinds.
const (
	KindDown        Kind = "down"         // ChatGPT is down
	KindBlocked     Kind = "blocked"      // ChatGPT is blocked from our network
	KindRateLimited Kind = "rate-limited" // we are rate limited
)

// Phase is where in an incident's life a notice is sent.
type Phase string

// Notice phases.
const (
	PhaseOpened   Phase = "opened"
	PhaseReminder Phase = "reminder"
	PhaseUpdate   Phase = "update"
	PhaseResolved Phase = "resolved"
	PhaseDigest   Phase = "digest"
)

// Notice is one alert message for one channel.
type Notice struct {
	Incident string // stable incident id ("" for a digest)
	Kind     Kind   // "" for a digest
	Phase    Phase
	Targets  []string // targets involved
	Title    string   // one line, e.g. "ChatGPT is blocked from our network"
	Text     string   // chat-ready body (Markdown-lite: **bold**, "- " bullets)
	Started  time.Time
	Duration time.Duration // for PhaseResolved: how long the incident lasted

	// Situation is what Title is worded for: what the targets showed (for
	// a recovery, all the incident showed); 0 for a digest.
	Situation Situation
	// Opening is the title of the incident's opening notice, the same on
	// all its notices, e.g. to name the thread they go in; "" for a digest.
	Opening string

	// ID names this notice among all the monitor sent (the monitor sets
	// it): a notice retried keeps it, so an outbox posts it once.
	ID string

	// Thread is the reference of this incident's opening notice in the
	// same channel (a Slack ts, a Discord message id, what a Notifier's
	// Notify returned), as far as the monitor knows it; "" for an opening
	// notice. Platforms that can thread or edit use it.
	Thread string
}

// Notifier delivers notices to a platform that has no outbox (the
// terminal): the monitor calls Notify once the alert state is saved.
// Platforms that post through an outbox are Outboxers instead.
type Notifier interface {
	// Platform names the platform (bot.Slack, bot.Discord, bot.Console);
	// channels and subscriptions are per platform.
	Platform() string
	// Notify posts n to channel and returns a reference to the posted
	// message for later threading. The monitor calls it once per notice
	// and channel, without retrying. An error wrapping ErrPermanent says
	// the channel cannot take notices as configured.
	Notify(ctx context.Context, channel string, n Notice) (ref string, err error)
}

// Outboxer renders notices for a platform that posts through an outbox
// (package delivery) kept in the monitor's own database. The monitor
// writes each notice as an outbox item in the transaction that saves the
// alert state which made it (Store.SaveAlertState), so a crash can
// neither lose the notices of an incident it saved nor make them twice;
// then it tells the Outbox, which sends each channel's items in order,
// with its retries, while a slow channel holds back no other (README.md,
// "Reliability").
type Outboxer interface {
	// Platform names the platform, as Notifier's does.
	Platform() string
	// NoticeItem is n, for channel, as an outbox item; its Key and Parent
	// are NoticeKey's.
	NoticeItem(channel string, n Notice) (delivery.Outbound, error)
}

// Outbox sends the outbox items the monitor committed; *delivery.Core is
// one.
type Outbox interface {
	// Committed tells the outbox of items another writer committed, so
	// that it sends them now rather than at its next look for work.
	Committed(items []delivery.Outbound)
}

// ErrPermanent marks a send that will never succeed as configured
// (channel not found, bot not in channel, missing permissions), for the
// log.
var ErrPermanent = errors.New("permanent notification failure")

// OutboxRef is NoticeRef's fallback for a store that keeps the outbox
// (package delivery) too: the ref of incident's opening notice in
// channel, once the outbox recorded it sent ("" before). It is saved with
// the incident (SaveNoticeRef), since the outbox forgets sent items after
// its retention and an incident may last longer.
func OutboxRef(ctx context.Context, s interface {
	Lookup(ctx context.Context, key string) (delivery.Status, string, error)
	SaveNoticeRef(ctx context.Context, incident, platform, channel, ref string) error
}, incident, platform, channel string) (string, error) {
	key, _ := NoticeKey(platform, channel, Notice{Incident: incident, Phase: PhaseOpened})
	st, ref, err := s.Lookup(ctx, key)
	if err != nil || st != delivery.Sent {
		return "", err
	}
	return ref, s.SaveNoticeRef(ctx, incident, platform, channel, ref)
}

// NoticeKey names n, posted to channel on platform, for an outbox: the same
// notice retried has the same key (so it is posted once), and an opening
// notice's key is the parent of the incident's later notices, which are
// threaded under it even when the opening notice was posted by an earlier
// run of the process. A notice without an ID is named by its content.
func NoticeKey(platform, channel string, n Notice) (key, parent string) {
	base := "notice:" + platform + ":" + channel + ":"
	if n.Incident != "" {
		opened := base + n.Incident + ":" + string(PhaseOpened)
		if n.Phase == PhaseOpened {
			return opened, ""
		}
		base += n.Incident + ":" + string(n.Phase) + ":"
		parent = opened
	} else {
		base += string(n.Phase) + ":"
	}
	if n.ID != "" {
		return base + n.ID, parent
	}
	h := fnv.New64a()
	for _, s := range []string{n.Title, n.Text, n.Started.UTC().Format(time.RFC3339Nano), n.Duration.String(), strings.Join(n.Targets, ",")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return base + strconv.FormatUint(h.Sum64(), 36), parent
}
