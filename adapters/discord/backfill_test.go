package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/delivery"
)

// halt stops the adapter, as a process that stopped: what the fake sends
// meanwhile reaches no session, and a new one (launch) must IDENTIFY.
func (hs *harness) halt(t testing.TB) {
	t.Helper()
	hs.stop()
	select {
	case err := <-hs.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		hs.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	hs.fake.Await(t, "the fake to see the socket close", func() bool { return !hs.fake.Connected() })
}

var caughtUpLine = regexp.MustCompile(`msg="caught up on what Discord sent while no gateway session was open".*`)

// caughtUp waits for the n-th catch-up's log line and returns its counts.
func (hs *harness) caughtUp(t testing.TB, n int) map[string]int {
	t.Helper()
	var lines []string
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		hs.logs.mu.Lock()
		lines = caughtUpLine.FindAllString(hs.logs.b.String(), -1)
		changed := hs.logs.changed
		hs.logs.mu.Unlock()
		if len(lines) >= n {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no catch-up #%d logged; log:\n%s", n, hs.logs.String())
		}
	}
	out := map[string]int{}
	for _, kv := range regexp.MustCompile(`(\w+)=(\d+)\b`).FindAllStringSubmatch(lines[n-1], -1) {
		out[kv[1]], _ = strconv.Atoi(kv[2])
	}
	return out
}

// repliesTo counts the bot's replies per message id in channel (those
// that reference the message they answer).
func repliesTo(f *discordtest.Server, channel string) map[string]int {
	out := map[string]int{}
	for _, m := range f.BotMessages(channel) {
		if m.MessageReference != nil {
			out[m.MessageReference.MessageID]++
		}
	}
	return out
}

func handledTexts(r *recorder) []string {
	var out []string
	for _, m := range r.messages() {
		out = append(out, m.Text)
	}
	return out
}

// downAfter starts an adapter with s, has text answered in the fake's
// channel (so the inbox has heard from Discord) and stops it: what the
// fake sends next reaches no session.
func downAfter(t *testing.T, s setup, text string) *harness {
	t.Helper()
	h := start(t, nil, s)
	h.fake.SendMessage(discordtest.Message{Author: alice, Content: h.fake.Mention() + " " + text})
	h.replies(t, h.fake.ChannelID, 1)
	h.halt(t)
	return h
}

// TestCatchUpAfterRestart: what users wrote while the bot was down is
// answered once the new process has a gateway session: in guild
// channels, in threads the session's state knows, and in a DM the inbox
// heard from lately (a bot cannot list its DMs). What the inbox had is
// not answered again, and what the bot must not read stays unread.
func TestCatchUpAfterRestart(t *testing.T) {
	t.Parallel()
	var thread string
	h := start(t, nil, setup{before: func(f *discordtest.Server) { thread = f.NewThread(f.ChannelID) }})
	f := h.fake
	before := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " answered before"})
	f.SendMessage(discordtest.Message{DM: true, Author: bob, Content: "hello from a DM"})
	dm := f.DMChannel(bob.ID)
	h.replies(t, f.ChannelID, 1)
	h.replies(t, dm, 1)
	if n := len(f.Calls(discordtest.RouteListMessages)); n != 0 {
		t.Errorf("%d channel reads on the first session with an empty inbox; want none (nothing to catch up on)", n)
	}

	h.halt(t)
	missed := []string{
		f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sent while down"}),
		f.SendMessage(discordtest.Message{ChannelID: thread, Author: bob, Content: f.Mention() + " in a thread"}),
		f.SendMessage(discordtest.Message{DM: true, Author: bob, Content: "a DM while down"}),
	}
	// Not for the bot: no mention without the Message Content intent, a
	// webhook's, another bot's.
	f.SendMessage(discordtest.Message{Author: alice, Content: "chatting among ourselves"})
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " from a webhook", WebhookID: "1100000000000000077"})
	f.SendMessage(discordtest.Message{Author: discordtest.User{ID: "1300000000000000099", Name: "otherbot", Bot: true}, Content: f.Mention() + " beep"})

	h.launch(t, setup{})
	got := h.caughtUp(t, 1)
	if want := map[string]int{"channels": 3, "unreadable": 0, "addressed": 5, "added": 3}; !mapHas(got, want) {
		t.Errorf("catch-up counts %v; want %v (the guild channel, the thread and the DM; the bot's reply and the message answered before are already known)", got, want)
	}
	h.replies(t, f.ChannelID, 2)
	h.replies(t, thread, 1)
	h.replies(t, dm, 2)
	for ch, ids := range map[string][]string{f.ChannelID: {before, missed[0]}, thread: {missed[1]}, dm: nil} {
		rs := repliesTo(f, ch)
		for _, id := range ids {
			if rs[id] != 1 {
				t.Errorf("message %s in %s answered %d times; want once, replying to it", id, ch, rs[id])
			}
		}
	}
	texts := handledTexts(h.h) // in order per channel, channels at once
	first := slices.Sorted(slices.Values(texts[:2]))
	if diff := cmp.Diff([]string{"answered before", "hello from a DM"}, first); diff != "" {
		t.Errorf("first run handled (-want +got):\n%s", diff)
	}
	rest := slices.Sorted(slices.Values(texts[2:]))
	if diff := cmp.Diff([]string{"a DM while down", "in a thread", "sent while down"}, rest); diff != "" {
		t.Errorf("caught up on (-want +got):\n%s", diff)
	}
	// The caught-up guild messages are guild messages: a reply references
	// them (REST messages lack guild_id; the adapter adds it).
	for _, m := range h.h.messages()[2:] {
		if m.DM != (m.Channel == dm) {
			t.Errorf("message %q: DM = %v in channel %s", m.Text, m.DM, m.Channel)
		}
	}
	for _, c := range f.Calls(discordtest.RouteListMessages) {
		if c.Query.Get("limit") != "100" || c.Query.Get("after") == "" {
			t.Errorf("channel read %s?%s; want limit=100 and after", c.Path, c.Query.Encode())
		}
	}
}

func mapHas(got, want map[string]int) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestCatchUpAfterTheSessionExpired: the same process, disconnected long
// enough for Discord to forget its session: the RESUME is refused, the
// new session (IDENTIFY) gets none of what was sent meanwhile, and the
// catch-up answers it. A RESUME that works reads nothing.
func TestCatchUpAfterTheSessionExpired(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " one"})
	h.replies(t, f.ChannelID, 1)

	// A RESUME replays by itself: no catch-up.
	f.Reconnect()
	f.WaitHandshakes(t, 2)
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " two"})
	h.replies(t, f.ChannelID, 2)
	if n := len(f.Calls(discordtest.RouteListMessages)); n != 0 {
		t.Errorf("%d channel reads after a RESUME; want none", n)
	}

	f.RejectGateway(4000)
	f.CloseGateway(4000, "Unknown error.")
	f.Await(t, "the adapter to notice", func() bool { return !h.a.Connected() })
	missed := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " three"})
	f.ForgetSession()
	f.RejectGateway(0)
	h.caughtUp(t, 1)
	h.replies(t, f.ChannelID, 3)
	if n := repliesTo(f, f.ChannelID)[missed]; n != 1 {
		t.Errorf("the message sent while disconnected answered %d times; want once", n)
	}
	hs := f.Handshakes()
	last := hs[len(hs)-1]
	if last.Resume || !last.Accepted {
		t.Errorf("last handshake %+v; want an IDENTIFY after the refused RESUME", last)
	}
	if diff := cmp.Diff([]string{"one", "two", "three"}, handledTexts(h.h)); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
}

// TestCatchUpAnswersOnce: a message the dying process had written to the
// inbox, and that Discord also lists, is answered once; so is one the
// gateway of the new session delivers while the catch-up runs.
func TestCatchUpAnswersOnce(t *testing.T) {
	t.Parallel()
	h := downAfter(t, setup{}, "first")
	f := h.fake

	// Read and written by the process that died, not answered.
	pending := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " written, not answered"})
	m, _ := f.Message(pending)
	raw, _ := json.Marshal(m)
	in := inbound("msg:"+pending, f.ChannelID, eventMessage, raw)
	in.Received = time.Now()
	if _, err := h.store.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	missed := f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " never written"})

	h.launch(t, setup{})
	// The new session's gateway, and then Discord again: the same
	// message twice more.
	again, _ := f.Message(missed)
	f.Dispatch("MESSAGE_CREATE", again)
	h.caughtUp(t, 1)
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sentinel"})
	h.replies(t, f.ChannelID, 4)
	rs := repliesTo(f, f.ChannelID)
	for _, id := range []string{pending, missed} {
		if rs[id] != 1 {
			t.Errorf("message %s answered %d times; want once", id, rs[id])
		}
	}
	if diff := cmp.Diff([]string{"first", "written, not answered", "never written", "sentinel"}, handledTexts(h.h)); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if n := len(f.BotMessages(f.ChannelID)); n != 4 {
		t.Errorf("%d replies posted; want 4", n)
	}
}

// TestCatchUpPagesInOrder: more than a page of missed messages in one
// channel is read page after page (after the last id read) and answered
// in the order they were sent.
func TestCatchUpPagesInOrder(t *testing.T) {
	t.Parallel()
	h := downAfter(t, setup{}, "before")
	f := h.fake
	const n = 2*historyPage + 30
	want := []string{"before"}
	for i := range n {
		text := fmt.Sprintf("missed %03d", i)
		want = append(want, text)
		f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " " + text})
	}
	h.launch(t, setup{})
	if got := h.caughtUp(t, 1); got["added"] != n {
		t.Errorf("caught up %v; want %d added", got, n)
	}
	h.replies(t, f.ChannelID, n+1)
	if diff := cmp.Diff(want, handledTexts(h.h)); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	calls := f.Calls(discordtest.RouteListMessages)
	if len(calls) != 3 {
		t.Fatalf("%d pages read; want 3", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		prev, _ := strconv.ParseUint(calls[i-1].Query.Get("after"), 10, 64)
		next, _ := strconv.ParseUint(calls[i].Query.Get("after"), 10, 64)
		if next <= prev {
			t.Errorf("page %d read after %d, page %d after %d; want later", i, prev, i+1, next)
		}
	}
}

// TestCatchUpSkipsUnreadableAndWaitsOutRateLimits: a channel whose
// history the bot may not read (403) is skipped and logged; a 429 is
// waited out; neither stops the rest.
func TestCatchUpSkipsUnreadableAndWaitsOutRateLimits(t *testing.T) {
	t.Parallel()
	var closed, busy string
	h := downAfter(t, setup{before: func(f *discordtest.Server) {
		closed, busy = f.NewID(), f.NewID()
		for _, id := range []string{closed, busy} {
			f.AddChannel(discordtest.Channel{ID: id, GuildID: f.GuildID, Name: "c" + id, Type: 0})
		}
	}}, "before")
	f := h.fake
	f.SendMessage(discordtest.Message{ChannelID: closed, Author: alice, Content: f.Mention() + " unreadable"})
	f.SendMessage(discordtest.Message{ChannelID: busy, Author: alice, Content: f.Mention() + " rate limited"})
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " plain"})
	f.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Params: map[string]string{"channel": closed}, Code: 50001})
	f.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Params: map[string]string{"channel": busy}, Times: 2, RetryAfter: 50 * time.Millisecond})

	h.launch(t, setup{})
	if got, want := h.caughtUp(t, 1), map[string]int{"channels": 2, "unreadable": 1, "added": 2}; !mapHas(got, want) {
		t.Errorf("catch-up counts %v; want %v", got, want)
	}
	h.replies(t, busy, 1)
	h.replies(t, f.ChannelID, 2)
	if n := len(f.BotMessages(closed)); n != 0 {
		t.Errorf("%d replies in the unreadable channel", n)
	}
	h.logs.wait(t, "cannot read a channel's recent messages; skipped")
	if n := len(h.callsFor(discordtest.RouteListMessages, map[string]string{"channel": busy})); n != 3 {
		t.Errorf("%d reads of the rate-limited channel; want 3 (two 429s, then the page)", n)
	}
}

// TestCaughtUpMessagesKeepTheirTime: a caught-up message is received at
// the time it was sent, so the freshness rule (bot.pending_freshness)
// drops one too old to answer. The core's clock runs an hour ahead here:
// what comes over the gateway is received now and answered, what is
// caught up on was sent an hour "ago" and is dropped.
func TestCaughtUpMessagesKeepTheirTime(t *testing.T) {
	t.Parallel()
	ahead := func() time.Time { return time.Now().Add(time.Hour) }
	s := setup{core: func(o *delivery.Options) { o.Now = ahead }}
	h := downAfter(t, s, "live")
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " missed"})
	h.launch(t, s)
	if got := h.caughtUp(t, 1); got["added"] != 1 {
		t.Errorf("caught up %v; want 1 added", got)
	}
	h.logs.wait(t, "inbox: too old to answer; dropped")
	if _, stale, _ := h.obs.Counts(bot.Discord); stale != 1 {
		t.Errorf("%d stale messages; want 1", stale)
	}
	if texts := handledTexts(h.h); !slices.Equal(texts, []string{"live"}) {
		t.Errorf("handled %v; want only the live message", texts)
	}
	if n := len(f.BotMessages(f.ChannelID)); n != 1 {
		t.Errorf("%d replies; want 1", n)
	}
}

func TestSnowflakeAt(t *testing.T) {
	t.Parallel()
	// Discord's documented example: 175928847299117063 was made at
	// 2016-04-30 11:18:25.796 UTC.
	at := time.Date(2016, 4, 30, 11, 18, 25, 796_000_000, time.UTC)
	got, _ := strconv.ParseUint(snowflakeAt(at), 10, 64)
	if got>>22 != 175928847299117063>>22 || got&(1<<22-1) != 0 {
		t.Errorf("snowflakeAt(%v) = %d; want the timestamp bits of 175928847299117063 and nothing below", at, got)
	}
	if snowflakeAt(time.Unix(0, 0)) != "0" {
		t.Errorf("before Discord's epoch: %s; want 0", snowflakeAt(time.Unix(0, 0)))
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	state := []channelRef{{id: "C1", guild: "G", known: true}, {id: "C2", guild: "G", known: true}, {id: "T1", guild: "G", known: true}}
	got, dropped := plan([]string{"D1", "C2", "D1"}, state, 10)
	want := []channelRef{{id: "D1"}, {id: "C2", guild: "G", known: true}, {id: "C1", guild: "G", known: true}, {id: "T1", guild: "G", known: true}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(channelRef{})); diff != "" || dropped != 0 {
		t.Errorf("plan (-want +got):\n%s\ndropped %d", diff, dropped)
	}
	got, dropped = plan([]string{"D1", "C2"}, state, 3)
	if len(got) != 3 || dropped != 1 || got[2].id != "C1" {
		t.Errorf("plan with a limit of 3 = %v, dropped %d; want the lanes first and T1 left out", got, dropped)
	}
}

// TestGatewayMessagesWaitForTheCatchUp: a message the new session
// delivers while the catch-up is still reading is written to the inbox
// after the older messages the catch-up finds, so its channel's messages
// are answered in the order they were sent.
func TestGatewayMessagesWaitForTheCatchUp(t *testing.T) {
	t.Parallel()
	h := downAfter(t, setup{}, "before")
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sent while down"})
	// The catch-up waits out a rate limit on its first read.
	f.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Times: 1, RetryAfter: 700 * time.Millisecond})

	h.launch(t, setup{})
	f.Await(t, "the catch-up to read a channel", func() bool { return len(f.Calls(discordtest.RouteListMessages)) > 0 })
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sent once the session was open"})
	h.caughtUp(t, 1)
	h.replies(t, f.ChannelID, 3)
	if diff := cmp.Diff([]string{"before", "sent while down", "sent once the session was open"}, handledTexts(h.h)); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
}

// TestSlowCatchUpHoldsMessagesBackOnlySoLong: a catch-up that takes long
// (Discord rate limits it) holds the new session's messages back for
// holdMax only; then they are answered, and the catch-up finishes later.
func TestSlowCatchUpHoldsMessagesBackOnlySoLong(t *testing.T) {
	t.Parallel()
	h := downAfter(t, setup{tune: func(a *Adapter) { a.holdMax = 300 * time.Millisecond }}, "before")
	f := h.fake
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sent while down"})
	f.Inject(discordtest.Fault{Route: discordtest.RouteListMessages, Times: 1, RetryAfter: 3 * time.Second})

	h.launch(t, setup{tune: func(a *Adapter) { a.holdMax = 300 * time.Millisecond }})
	f.Await(t, "the catch-up to read a channel", func() bool { return len(f.Calls(discordtest.RouteListMessages)) > 0 })
	began := time.Now()
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " sent once the session was open"})
	// Handled, that is taken from the inbox and answered by the bot, while
	// the catch-up still waits out its rate limit (its reply shares that
	// channel's rate-limit bucket, so it is posted later).
	for !slices.Contains(handledTexts(h.h), "sent once the session was open") {
		if time.Since(began) > 2*time.Second {
			t.Fatalf("the new session's message not handled %s after it was sent; want it released after holdMax (300ms), not after the catch-up (3s)", time.Since(began).Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.logs.wait(t, "catch-up still running: writing the new session's messages now")
	h.caughtUp(t, 1)
	h.replies(t, f.ChannelID, 3)
}
