package discord

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/bot"
	"gptaccess/delivery"
	"gptaccess/delivery/deliverytest"
	"gptaccess/monitor"
)

func notice(phase monitor.Phase, ref string) monitor.Notice {
	return monitor.Notice{
		Incident: "inc-1", Kind: monitor.KindBlocked, Phase: phase, Targets: []string{"web", "api"},
		Title: "ChatGPT is blocked from our network", Text: "**Error 1020** from here.\n- contact IT",
		Started: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), Duration: 95 * time.Minute, Thread: ref,
	}
}

func TestAlertAndRecoveryInTheAlertsThread(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	ctx := context.Background()
	ch := f.ChannelID

	ref, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, notice(monitor.PhaseOpened, ""))
	if err != nil {
		t.Fatalf("Notify opened: %v", err)
	}
	alert := h.replies(t, ch, 1)[0]
	if len(alert.Embeds) != 1 || alert.Embeds[0].Title != "ChatGPT is blocked from our network" || alert.Embeds[0].Color != colorBlocked {
		t.Errorf("alert embeds = %+v", alert.Embeds)
	}
	if m, _ := f.Message(ref); m == nil {
		t.Fatalf("Notify returned %q, not a message id", ref)
	}

	got, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, notice(monitor.PhaseReminder, ref))
	if err != nil || got != ref {
		t.Fatalf("Notify reminder = %q, %v; want %q", got, err, ref)
	}
	threads := f.Calls(discordtest.RouteStartThread)
	if len(threads) != 1 || threads[0].Params["message"] != ref || threads[0].Params["channel"] != ch {
		t.Fatalf("thread calls = %v, want one on the alert", threads)
	}
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, notice(monitor.PhaseResolved, ref)); err != nil {
		t.Fatalf("Notify resolved: %v", err)
	}
	inThread := h.replies(t, ref, 2)
	if inThread[1].Embeds[0].Color != colorResolved {
		t.Errorf("recovery colour = %x", inThread[1].Embeds[0].Color)
	}
	var lasted bool
	for _, fl := range inThread[1].Embeds[0].Fields {
		lasted = lasted || fl.Name == "Lasted" && fl.Value == "1h 35m"
	}
	if !lasted {
		t.Errorf("recovery fields = %+v, want Lasted 1h 35m", inThread[1].Embeds[0].Fields)
	}
	if n := len(f.Calls(discordtest.RouteStartThread)); n != 1 {
		t.Errorf("%d thread starts, want 1", n)
	}
	if n := len(f.BotMessages(ch)); n != 1 {
		t.Errorf("%d messages in the channel, want only the alert", n)
	}

	// After a restart the thread already exists (160004): post there.
	h.restart(t, setup{})
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, notice(monitor.PhaseUpdate, ref)); err != nil {
		t.Fatalf("Notify after restart: %v", err)
	}
	h.replies(t, ref, 3)
}

func TestAlertThreadNotAllowedFallsBackToAReply(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	ctx := context.Background()
	ref, err := deliverytest.Notify(ctx, h.a.core, h.a, f.ChannelID, notice(monitor.PhaseOpened, ""))
	if err != nil {
		t.Fatal(err)
	}
	f.Inject(discordtest.Fault{Route: discordtest.RouteStartThread, Code: 50013})
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, f.ChannelID, notice(monitor.PhaseResolved, ref)); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	ms := h.replies(t, f.ChannelID, 2)
	if ms[1].Reference == nil || ms[1].Reference.MessageID != ref {
		t.Errorf("recovery = %+v, want a reply to the alert", ms[1])
	}
}

func TestAlertPermanentErrors(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	ctx := context.Background()
	forbidden := "1100000000000000999"
	f.AddChannel(discordtest.Channel{ID: forbidden, GuildID: f.GuildID, Type: discordgo.ChannelTypeGuildText})
	f.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Params: map[string]string{"channel": forbidden}, Code: 50013})

	for name, ch := range map[string]string{"missing permissions": forbidden, "unknown channel": "1100000000000000998"} {
		before := len(f.Calls(discordtest.RouteCreateMessage))
		_, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, notice(monitor.PhaseOpened, ""))
		if !delivery.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent failure", name, err)
		}
		if n := len(f.Calls(discordtest.RouteCreateMessage)) - before; n != 1 {
			t.Errorf("%s: %d attempts, want 1 (no retry storm)", name, n)
		}
	}
	h.logs.wait(t, "cannot post alerts to this channel")

	// Discord's own trouble is retried by the outbox: the alert gets out
	// (once: the retry carries the same nonce).
	f.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Status: 500, Times: 1})
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, f.ChannelID, notice(monitor.PhaseOpened, "")); err != nil {
		t.Errorf("500 once: err = %v, want the retry to post it", err)
	}
	if n := len(f.BotMessages(f.ChannelID)); n != 1 {
		t.Errorf("%d alerts posted, want 1", n)
	}
}

func TestRateLimitedRepliesArriveInOrder(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("line one two three\n", 250)
	h := start(t, newRecorder(func(context.Context, bot.Message) (bot.Reply, error) {
		return bot.Reply{Text: long}, nil
	}), setup{})
	obs := h.obs
	f := h.fake
	f.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Times: 1, RetryAfter: 200 * time.Millisecond})
	began := time.Now()
	f.SendMessage(discordtest.Message{Author: alice, Content: f.Mention() + " go"})
	parts := h.replies(t, f.ChannelID, 3)
	if elapsed := time.Since(began); elapsed < 200*time.Millisecond {
		t.Errorf("delivered after %s, before retry_after", elapsed)
	}
	var joined []string
	for _, p := range parts {
		joined = append(joined, p.Content)
	}
	if strings.Join(joined, "\n") != strings.TrimSpace(long) {
		t.Error("parts out of order or incomplete")
	}
	calls := f.Calls(discordtest.RouteCreateMessage)
	if calls[0].Status != 429 || len(calls) != 4 {
		t.Errorf("calls = %v, want a 429 then 3 messages", calls)
	}
	h.logs.wait(t, "rate limited; holding the channel back")
	if waits := obs.Waits("discord"); len(waits) != 1 || waits[0] < 200*time.Millisecond {
		t.Errorf("observer saw rate-limit waits %v, want one of at least 200ms", waits)
	}
}

func TestRateLimitedChannelDoesNotStallOthers(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{core: func(o *delivery.Options) { o.MaxRateLimited = 4 }})
	f := h.fake
	slow := "1100000000000000444"
	f.AddChannel(discordtest.Channel{ID: slow, GuildID: f.GuildID, Type: discordgo.ChannelTypeGuildText})
	f.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Params: map[string]string{"channel": slow}, RetryAfter: 20 * time.Millisecond})
	f.SendMessage(discordtest.Message{ChannelID: slow, Author: alice, Content: f.Mention() + " a"})
	f.SendMessage(discordtest.Message{Author: bob, Content: f.Mention() + " b"})
	h.replies(t, f.ChannelID, 1)
	h.logs.wait(t, "still rate limited; giving up")
	if n := len(h.callsFor(discordtest.RouteCreateMessage, map[string]string{"channel": slow})); n != 4 {
		t.Errorf("%d attempts in the rate-limited channel, want 4 (MaxRateLimited)", n)
	}
	// The core counts the item undelivered just after it logs giving up.
	undelivered := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, _, undelivered = h.obs.Counts("discord"); undelivered != 0 {
			break
		}
	}
	if undelivered != 1 {
		t.Errorf("undelivered = %d, want 1", undelivered)
	}

	// An alert to a channel that stays rate limited is given up as
	// permanent, once.
	before := len(h.callsFor(discordtest.RouteCreateMessage, map[string]string{"channel": slow}))
	_, err := deliverytest.Notify(context.Background(), h.a.core, h.a, slow, notice(monitor.PhaseOpened, ""))
	if !delivery.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent failure", err)
	}
	if n := len(h.callsFor(discordtest.RouteCreateMessage, map[string]string{"channel": slow})) - before; n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
}

// TestMixedIncidentThreadAndColours: an incident that opened on an outage
// and a DNS filter in the same round hangs its thread from the opening
// notice, named after its title, not after the kind the incident was
// filed under; each notice's colour is for what its own title says, so an
// update that only the block is left in is orange, not red.
func TestMixedIncidentThreadAndColours(t *testing.T) {
	t.Parallel()
	h := start(t, nil, setup{})
	f := h.fake
	ctx := context.Background()
	ch := f.ChannelID
	opening := "ChatGPT is down and blocked by our own network"
	mixed := monitor.Notice{
		Incident: "down-1", Kind: monitor.KindDown, Phase: monitor.PhaseOpened, Targets: []string{"api", "web"},
		Title: opening, Situation: monitor.SituationDown | monitor.SituationOwnNetwork, Opening: opening,
		Text: "- api: server error (HTTP 503)\n- web: DNS filter", Started: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
	}
	ref, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, mixed)
	if err != nil {
		t.Fatal(err)
	}
	update := mixed
	update.Phase, update.Thread = monitor.PhaseUpdate, ref
	update.Title, update.Situation = "Update: ChatGPT is blocked by our own network", monitor.SituationOwnNetwork
	if _, err := deliverytest.Notify(ctx, h.a.core, h.a, ch, update); err != nil {
		t.Fatal(err)
	}

	if alert := h.replies(t, ch, 1)[0]; alert.Embeds[0].Color != colorDown {
		t.Errorf("opening colour %x, want red (%x): it says ChatGPT is down", alert.Embeds[0].Color, colorDown)
	}
	if got := h.replies(t, ref, 1)[0]; got.Embeds[0].Color != colorBlocked {
		t.Errorf("update colour %x, want orange (%x): only the block is left", got.Embeds[0].Color, colorBlocked)
	}
	threads := f.Calls(discordtest.RouteStartThread)
	if len(threads) != 1 {
		t.Fatalf("%d thread starts, want 1", len(threads))
	}
	var body struct{ Name string }
	if err := json.Unmarshal(threads[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if want := opening + " — updates"; body.Name != want {
		t.Errorf("thread name %q, want %q", body.Name, want)
	}
}

// TestNoticeColor: the colour follows what a notice's title says.
func TestNoticeColor(t *testing.T) {
	for _, c := range []struct {
		name string
		n    monitor.Notice
		want int
	}{
		{"down", monitor.Notice{Kind: monitor.KindDown, Phase: monitor.PhaseOpened, Situation: monitor.SituationDown}, colorDown},
		{"down and blocked", monitor.Notice{Kind: monitor.KindDown, Phase: monitor.PhaseOpened, Situation: monitor.SituationDown | monitor.SituationCloudflare}, colorDown},
		{"a down incident, only the block left", monitor.Notice{Kind: monitor.KindDown, Phase: monitor.PhaseUpdate, Situation: monitor.SituationOwnNetwork}, colorBlocked},
		{"a block, only rate limiting left", monitor.Notice{Kind: monitor.KindBlocked, Phase: monitor.PhaseReminder, Situation: monitor.SituationRateLimited}, colorLimited},
		{"a kind alone", monitor.Notice{Kind: monitor.KindBlocked, Phase: monitor.PhaseOpened}, colorBlocked},
		{"recovered", monitor.Notice{Kind: monitor.KindDown, Phase: monitor.PhaseResolved, Situation: monitor.SituationDown}, colorResolved},
	} {
		if got := noticeColor(c.n); got != c.want {
			t.Errorf("%s: colour %x, want %x", c.name, got, c.want)
		}
	}
}
