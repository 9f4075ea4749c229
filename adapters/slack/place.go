package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	slackapi "github.com/slack-go/slack"

	"gptaccess/delivery"
)

// What conversations.info said about a channel is remembered, per
// channel, for placeTTL: a channel made private is seen as such within
// that time. A failed lookup is remembered (as private) for a minute only,
// so that a missing scope or a rate limit does not turn every message
// into another call. At most placeCacheSize channels are remembered; past
// that the least recently asked about is forgotten.
const (
	placeTTL       = time.Hour
	placeFailTTL   = time.Minute
	placeCacheSize = 4096
	// placeTimeout bounds the lookup, which holds the reply back.
	placeTimeout = 5 * time.Second
)

type placeEntry struct {
	private bool
	until   time.Time
}

// places is the bounded cache of conversations.info answers.
type places struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, placeEntry]
}

func newPlaces(size int) *places {
	lru, _ := simplelru.NewLRU[string, placeEntry](size, nil) // fails only for a size <= 0
	return &places{lru: lru}
}

func (p *places) get(channel string, now time.Time) (private, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.lru.Get(channel)
	if !ok || !now.Before(e.until) {
		return false, false
	}
	return e.private, true
}

func (p *places) put(channel string, e placeEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lru.Add(channel, e)
}

// private says whether channel is anything but a public channel: a group
// DM, a private channel, a DM, or a place Slack would not describe. It
// asks conversations.info, at most once per channel per placeTTL. Failing
// lookups make the place private: its text is then not kept. The only
// error is ctx ending (wrapping delivery.ErrNotReady, so that the item
// waits for the next start).
func (a *Adapter) private(ctx context.Context, channel string) (bool, error) {
	now := a.now()
	if priv, ok := a.places.get(channel, now); ok {
		return priv, nil
	}
	lctx, cancel := context.WithTimeout(ctx, placeTimeout)
	defer cancel()
	ch, err := a.api.GetConversationInfoContext(lctx, &slackapi.GetConversationInfoInput{ChannelID: channel})
	if err != nil {
		if ctx.Err() != nil {
			return true, fmt.Errorf("slack: conversations.info: %w (%w)", delivery.ErrNotReady, ctx.Err())
		}
		code := slackError(err)
		if code == "missing_scope" {
			a.log.Warn("cannot tell whether a channel is public (missing scope: the app needs channels:read, groups:read, mpim:read and im:read); keeping no text from it",
				"channel", channel)
		} else {
			a.log.Warn("cannot tell whether a channel is public; keeping no text from it", "channel", channel, "error", describe(err))
		}
		a.places.put(channel, placeEntry{private: true, until: now.Add(placeFailTTL)})
		return true, nil
	}
	priv := !public(ch)
	a.places.put(channel, placeEntry{private: priv, until: now.Add(placeTTL)})
	return priv, nil
}

// public says whether conversations.info describes a public channel. A
// private channel has is_private (and, made before 2021, is_group instead
// of is_channel); a group DM has is_mpim and is_private; a DM is_im.
func public(ch *slackapi.Channel) bool {
	return ch != nil && ch.ID != "" && ch.IsChannel && !ch.IsPrivate && !ch.IsGroup && !ch.IsMpIM && !ch.IsIM
}
