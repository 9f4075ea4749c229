package discord

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"golang.org/x/sync/errgroup"

	"gptaccess/bot"
	"gptaccess/delivery"
)

// Catching up after a new gateway session (README.md, "Running several
// replicas"). Discord gives a new session (IDENTIFY, then READY) none of
// the events an earlier session missed or never handled: the messages
// sent while no session was open (a restart, a replica taking over the
// gateway from one that died) and those the previous holder read but did
// not write to the inbox before it died. A RESUME replays them by itself
// and ends with RESUMED, not READY, so it needs none of this. On READY
// the adapter reads over REST the messages Discord stored since the inbox
// last heard from it and puts each into the inbox as if it had come over
// the gateway: same decoding, same filters, same inbox id, so one the
// inbox has already is a harmless duplicate.

// Bounds of one catch-up.
const (
	backfillChannels = 500 // channels read
	backfillPages    = 10  // pages of historyPage messages per channel
	backfillWorkers  = 4   // channels read at once: about 40 requests a second at 100 ms each, under Discord's 50 a second
	historyPage      = 100 // Discord's largest page
	historyRetries   = 5   // 429s waited out per page
)

// msgPrefix begins the inbox ids of messages (not interactions, which
// replicas without the gateway receive over HTTP too).
const msgPrefix = bot.Discord + ":msg:"

// discordEpoch is the first millisecond of 2015 (Unix ms), where Discord's
// snowflakes count from.
const discordEpoch = 1420070400000

// snowflakeAt is the smallest snowflake Discord could give something made
// at t. GET /channels/{id}/messages takes any snowflake as after, so the
// messages after a time are those after snowflakeAt(t).
func snowflakeAt(t time.Time) string {
	ms := max(t.UnixMilli()-discordEpoch, 0)
	return strconv.FormatUint(uint64(ms)<<22, 10)
}

// channelRef is a channel whose history the catch-up reads, with its
// guild ("" for a DM) when known.
type channelRef struct {
	id, guild string
	known     bool // guild is known (from the gateway state)
}

// readableType reports whether the catch-up reads channels of type t:
// those people write in (forum posts are threads).
func readableType(t discordgo.ChannelType) bool {
	switch t {
	case discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews,
		discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread:
		return true
	}
	return false
}

// onReady runs in the gateway's read loop when a new session starts. It
// reads when the inbox last heard from Discord here, before the new
// session's own events are written to the inbox (they would make the
// inbox look up to date), and leaves the reading of the channels to the
// background so that the gateway's events are not held up.
func (a *Adapter) onReady(ctx context.Context) {
	now := a.o.Now()
	fresh := a.core.Freshness()
	hctx, cancel := context.WithTimeout(ctx, a.callTimeout)
	newest, lanes, err := a.core.Heard(hctx, bot.Discord, msgPrefix, now.Add(-fresh))
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("new gateway session: cannot catch up on what Discord sent meanwhile; the inbox does not answer", "err", err)
		}
		return
	}
	if newest.IsZero() {
		a.log.Debug("new gateway session: nothing to catch up on (no Discord message in the inbox yet)")
		return
	}
	// The holder that died wrote what it had read one message at a time,
	// so the newest it wrote may be some way behind what it had read: go
	// back a margin (duplicates cost a lookup each). Older messages than
	// the freshness would be dropped unanswered anyway.
	since := newest.Add(-a.backfillMargin)
	if floor := now.Add(-fresh); since.Before(floor) {
		since = floor
	}
	if ceil := now.Add(-a.backfillMargin); since.After(ceil) {
		since = ceil // the newest was stamped by a clock ahead of this one
	}
	a.bfMu.Lock()
	defer a.bfMu.Unlock()
	if a.bfStopped {
		return
	}
	a.holdMu.Lock()
	a.catching++
	a.holdMu.Unlock()
	a.backfills.Add(1)
	go func() {
		defer a.backfills.Done()
		// The held messages wait for the catch-up, but not for long: a
		// slow Discord (429s, timeouts) must not leave people unanswered.
		var once sync.Once
		release := func() { once.Do(func() { a.endCatchUp(context.WithoutCancel(ctx)) }) }
		t := time.AfterFunc(a.holdMax, func() {
			a.log.Warn("catch-up still running: writing the new session's messages now; a channel's replies may come out of order",
				"held_for", a.holdMax.String())
			release()
		})
		a.backfill(ctx, since, lanes)
		t.Stop()
		release()
	}()
}

// maxHeld bounds the gateway messages kept back during a catch-up; past
// it they are written at once, and a channel's order may break.
const maxHeld = 10_000

// hold keeps in back while a catch-up runs: the caught-up messages are
// older, and the inbox answers a channel's messages in the order it got
// them. It reports whether in was kept. (A process that dies holding
// messages leaves them to the next session's catch-up: they are newer
// than anything it wrote.)
func (a *Adapter) hold(in delivery.Inbound) bool {
	a.holdMu.Lock()
	defer a.holdMu.Unlock()
	if a.catching == 0 && !a.flushing {
		return false
	}
	if len(a.held) >= maxHeld {
		if !a.overflow {
			a.overflow = true
			a.log.Warn("catch-up still running: writing the gateway's messages at once; a channel's replies may come out of order", "held", maxHeld)
		}
		return false
	}
	a.held = append(a.held, in)
	return true
}

// endCatchUp ends one catch-up; the last one to end writes the messages
// held meanwhile, in the order the gateway delivered them, before new
// ones are written directly.
func (a *Adapter) endCatchUp(ctx context.Context) {
	a.holdMu.Lock()
	a.catching--
	if a.catching > 0 || a.flushing {
		a.holdMu.Unlock()
		return
	}
	a.flushing = true
	for len(a.held) > 0 && a.catching == 0 {
		batch := a.held
		a.held = nil
		a.holdMu.Unlock()
		for _, in := range batch {
			a.acceptGateway(ctx, in)
		}
		a.holdMu.Lock()
	}
	a.flushing, a.overflow = false, false
	a.holdMu.Unlock()
}

// stopBackfills ends the catch-ups in progress and waits for them.
func (a *Adapter) stopBackfills(cancel context.CancelFunc) {
	a.bfMu.Lock()
	a.bfStopped = true
	a.bfMu.Unlock()
	cancel()
	a.backfills.Wait()
}

// tally counts one catch-up, for its log line.
type tally struct {
	read, unreadable, messages, addressed, added atomic.Int64
}

// backfill puts into the inbox the messages sent since since in the
// channels the session's state knows and in the inbox lanes heard from
// lately (DMs and threads, which the state does not list).
func (a *Adapter) backfill(ctx context.Context, since time.Time, lanes []string) {
	began := time.Now()
	targets, dropped := plan(lanes, a.stateChannels(ctx), backfillChannels)
	if dropped > 0 {
		a.log.Warn("catching up on the most recently active channels only", "channels", len(targets), "left_out", dropped)
	}
	var n tally
	var g errgroup.Group
	g.SetLimit(backfillWorkers)
	for _, c := range targets {
		g.Go(func() error {
			a.backfillChannel(ctx, c, since, &n)
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return
	}
	a.log.Info("caught up on what Discord sent while no gateway session was open",
		"since", since.UTC().Format(time.RFC3339Nano), "channels", n.read.Load(), "unreadable", n.unreadable.Load(),
		"messages", n.messages.Load(), "addressed", n.addressed.Load(), "added", n.added.Load(),
		"took", time.Since(began).Round(time.Millisecond).String())
}

// plan lists the channels to read: the inbox lanes heard from lately
// first (the most recent first), then the state's channels, at most limit
// in all.
func plan(lanes []string, state []channelRef, limit int) (out []channelRef, dropped int) {
	known := make(map[string]channelRef, len(state))
	for _, c := range state {
		known[c.id] = c
	}
	seen := map[string]bool{}
	for _, l := range lanes {
		if seen[l] {
			continue
		}
		seen[l] = true
		if c, ok := known[l]; ok {
			out = append(out, c)
		} else {
			out = append(out, channelRef{id: l})
		}
	}
	for _, c := range state {
		if !seen[c.id] {
			seen[c.id] = true
			out = append(out, c)
		}
	}
	if len(out) > limit {
		return out[:limit], len(out) - limit
	}
	return out, 0
}

// stateChannels waits until every guild of the session's READY has
// arrived (GUILD_CREATE follows READY) and returns the channels the
// state then knows; after guildWait it makes do with those that came.
func (a *Adapter) stateChannels(ctx context.Context) []channelRef {
	deadline := time.NewTimer(a.guildWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		chans, complete := a.s.readable()
		if complete {
			return chans
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			a.log.Warn("catching up without the channels of guilds that did not arrive", "waited", a.guildWait.String())
			return chans
		case <-tick.C:
		}
	}
}

// backfillChannel reads channel c's messages since since, oldest first,
// and puts those for the bot into the inbox.
func (a *Adapter) backfillChannel(ctx context.Context, c channelRef, since time.Time, n *tally) {
	if !c.known {
		guild, err := a.guildOf(ctx, c.id)
		if err != nil {
			a.unreadable(ctx, c.id, err, n)
			return
		}
		c.guild = guild
	}
	oldest := a.o.Now().Add(-a.core.Freshness())
	after := snowflakeAt(since)
	for page := range backfillPages {
		msgs, full, err := a.history(ctx, c.id, after)
		if err != nil {
			a.unreadable(ctx, c.id, err, n)
			return
		}
		if page == 0 {
			n.read.Add(1)
		}
		for _, f := range msgs {
			after = f.m.ID
			n.messages.Add(1)
			if f.m.Timestamp.Before(oldest) {
				continue // would be dropped unanswered
			}
			added, ok := a.catchUp(ctx, f, c.guild)
			if ok {
				n.addressed.Add(1)
			}
			if added {
				n.added.Add(1)
			}
		}
		if !full {
			return
		}
	}
	a.log.Warn("a channel had more messages than the catch-up reads; the rest is not answered",
		"channel", c.id, "read", backfillPages*historyPage)
}

// unreadable logs a channel the catch-up could not read: expected, at
// Debug, where the bot may not read the history (403) or the channel is
// gone (404).
func (a *Adapter) unreadable(ctx context.Context, channel string, err error, n *tally) {
	if ctx.Err() != nil {
		return
	}
	n.unreadable.Add(1)
	lvl := slog.LevelWarn
	if st := httpStatus(err); st == http.StatusForbidden || st == http.StatusNotFound {
		lvl = slog.LevelDebug
	}
	a.log.Log(ctx, lvl, "cannot read a channel's recent messages; skipped", "channel", channel, "err", a.errText(err))
}

// guildOf asks Discord which guild channel id is in ("" for a DM).
func (a *Adapter) guildOf(ctx context.Context, id string) (string, error) {
	var c *discordgo.Channel
	err := a.call(ctx, "get channel", func(o ...discordgo.RequestOption) error {
		var err error
		c, err = a.s.Channel(id, o...)
		return err
	})
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", errors.New("get channel: no channel")
	}
	return c.GuildID, nil
}

// fetched is one message as GET /channels/{id}/messages returned it.
type fetched struct {
	m   *discordgo.Message
	raw json.RawMessage
}

// history reads the page of channel's messages right after message (or
// snowflake) after, oldest first; full says the page was full, so more
// may follow. It calls the endpoint discordgo's
// ChannelMessages calls, in the same rate-limit bucket, but keeps each
// message's JSON as Discord sent it for the inbox. A 429 is waited out
// here (the Session does not retry them; see Adapter.call).
func (a *Adapter) history(ctx context.Context, channel, after string) (msgs []fetched, full bool, err error) {
	ep := discordgo.EndpointChannelMessages(channel)
	uri := ep + "?" + url.Values{"after": {after}, "limit": {strconv.Itoa(historyPage)}}.Encode()
	var body []byte
	for attempt := 0; ; attempt++ {
		err = a.call(ctx, "read channel messages", func(o ...discordgo.RequestOption) error {
			var err error
			body, err = a.s.RequestWithBucketID(http.MethodGet, uri, nil, ep, o...)
			return err
		})
		var rl *discordgo.RateLimitError
		if errors.As(err, &rl) && attempt < historyRetries {
			if !bot.Sleep(ctx, max(rl.RetryAfter, 100*time.Millisecond)) {
				return nil, false, ctx.Err()
			}
			continue
		}
		if err != nil {
			return nil, false, err
		}
		break
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, false, fmt.Errorf("read channel messages: %w", err)
	}
	out := make([]fetched, 0, len(raws))
	for _, raw := range raws {
		m, err := decodeMessage(raw)
		if err != nil {
			a.log.Warn("ignoring a malformed message from the channel's history", "channel", channel, "err", err)
			continue
		}
		out = append(out, fetched{m: m, raw: raw})
	}
	// Discord lists the newest first.
	slices.SortFunc(out, func(x, y fetched) int { return cmp.Compare(snowflake(x.m.ID), snowflake(y.m.ID)) })
	return out, len(raws) >= historyPage, nil
}

func snowflake(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}

// catchUp puts message f, from channel history in guild, into the inbox
// as the gateway would have: REST messages lack the guild_id the
// gateway's MESSAGE_CREATE carries, which the rest of the adapter reads,
// so it is added. Received is the message's own time, so that the core's
// freshness rule applies to when it was sent. addressed says whether the
// message is one the bot reads.
func (a *Adapter) catchUp(ctx context.Context, f fetched, guild string) (added, addressed bool) {
	m, raw := f.m, f.raw
	if guild != "" && m.GuildID == "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return false, false
		}
		obj["guild_id"], _ = json.Marshal(guild)
		b, err := json.Marshal(obj)
		if err != nil {
			return false, false
		}
		raw = b
		m.GuildID = guild
	}
	if !a.wanted(m) {
		return false, false
	}
	in := inbound("msg:"+m.ID, m.ChannelID, eventMessage, raw)
	in.Received = m.Timestamp
	added, err := a.core.Accept(ctx, in)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("message missed while no session was open not caught up: cannot write it to the inbox",
				"channel", m.ChannelID, "message_id", m.ID, "err", err)
		}
		return false, true
	}
	return added, true
}
