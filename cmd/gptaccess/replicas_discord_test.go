package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/jackc/pgx/v5"

	"gptaccess/adapters/discord/discordtest"
	"gptaccess/postgres/pgtest"
)

// The load of TestDiscordReplicasKilled.
const (
	discordMessages     = 1000
	discordUsers        = 200 // discordUsers/discordChannels people in each channel
	discordChannels     = 50
	discordInteractions = 30 // /gptaccess ask over HTTP, round-robin
	// discordPace is each channel's pause between two messages: the
	// channels send in bursts of one message each, about 160 a second.
	discordPace = 300 * time.Millisecond
)

// gatewayHolders returns the running replicas whose current process
// connected to the Discord gateway.
func (s *replicaSet) gatewayHolders() []int {
	var out []int
	for i := range s.addrs {
		s.mu.Lock()
		up, logs := s.kills[i] != nil, s.logs[i]
		s.mu.Unlock()
		if up && strings.Contains(logs.String(), "connected to the gateway") {
			out = append(out, i)
		}
	}
	return out
}

// acceptedIdentifies counts the gateway sessions the fake Discord opened.
func acceptedIdentifies(f *discordtest.Server) int {
	n := 0
	for _, h := range f.Handshakes() {
		if h.Accepted && !h.Resume {
			n++
		}
	}
	return n
}

// inboxIDs are the ids of the Discord messages the shared inbox received.
func inboxIDs(t *testing.T, url string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id FROM inbox WHERE platform = 'discord' AND id LIKE 'discord:msg:%'`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[strings.TrimPrefix(id, "discord:msg:")] = true
	}
	return out
}

// snowflakeBefore reports whether Discord id a is older than b.
func snowflakeBefore(a, b string) bool {
	na, _ := strconv.ParseUint(a, 10, 64)
	nb, _ := strconv.ParseUint(b, 10, 64)
	return na < nb
}

// discordSent is one user message of TestDiscordReplicasKilled.
type discordSent struct {
	channel, id string
	at          time.Time
}

// caughtUp returns the log line (JSON) of the catch-up a replica made
// after its gateway session started (adapters/discord/backfill.go), or
// false.
func caughtUp(logs string) (map[string]any, bool) {
	for line := range strings.Lines(logs) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "caught up on what Discord sent while no gateway session was open" {
			return l, true
		}
	}
	return nil, false
}

// TestDiscordReplicasKilled: three replicas on one PostgreSQL schema
// against the fake Discord. One holds the gateway (its lease); all three
// take HTTP interactions, delivered round-robin as by a load balancer.
// discordMessages messages from discordUsers users in discordChannels
// channels come over the gateway; a third of the way the replica holding
// the gateway is killed with SIGKILL, and the messages keep coming while
// no replica holds the gateway; once another replica has its own session
// (an IDENTIFY: Discord gives a new session none of the events an old one
// missed), the killed one is started again, and must not take the gateway
// back. Every message is answered exactly once: those the dead holder had
// written to the shared inbox by the others, and those it had read but
// not written, or that were sent while no session was open, because the
// new holder catches up on them over REST. Replies come in the order of
// the messages per channel: the new session's gateway messages are held
// back while the catch-up writes the older ones.
func TestDiscordReplicasKilled(t *testing.T) {
	bin := binary(t)
	dfake := discordtest.NewServer(t, discordtest.Options{Wait: 60 * time.Second})
	channels := make([]string, discordChannels)
	for c := range channels {
		channels[c] = fmt.Sprintf("14000000000000%05d", c)
		dfake.AddChannel(discordtest.Channel{ID: channels[c], GuildID: dfake.GuildID, Name: fmt.Sprintf("help-%d", c), Type: discordgo.ChannelTypeGuildText})
	}
	dbURL := pgtest.URL(t)
	rig := newCrashRig(t, bin,
		"GPTACCESS_DATABASE_URL="+dbURL,
		"GPTACCESS_LOG_LEVEL=info",
		"GPTACCESS_DISCORD_API_URL="+dfake.URL,
		"GPTACCESS_DISCORD_INTERACTIONS=true",
		"DISCORD_BOT_TOKEN="+dfake.Token,
		"DISCORD_PUBLIC_KEY="+dfake.PublicKeyHex(),
		"GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE=0",
	)
	set := newReplicaSet(t, rig, 3, func(int) []string { return nil })
	for i := range 3 {
		set.start(i)
	}
	set.waitReady()
	dfake.WaitConnected(t)
	var holder int
	dfake.Await(t, "one replica holding the gateway", func() bool {
		h := set.gatewayHolders()
		if len(h) == 1 {
			holder = h[0]
		}
		return len(h) == 1
	})

	var (
		gate     sync.RWMutex // held by the test while a replica dies or starts: nothing is sent then
		sendMu   sync.Mutex
		mu       sync.Mutex
		msgs     []discordSent
		ixs      []discordtest.Interaction
		ixBy     = map[int]int{} // interactions taken per replica
		count    atomic.Int64
		killed   = make(chan struct{})
		restart  = make(chan struct{})
		wg       sync.WaitGroup
		perChan  = discordMessages / discordChannels
		perUsers = discordUsers / discordChannels
	)
	for c, channel := range channels {
		wg.Go(func() {
			for j := range perChan {
				switch count.Add(1) {
				case discordMessages / 3:
					close(killed)
				case 2 * discordMessages / 3:
					close(restart)
				}
				user := discordtest.User{ID: fmt.Sprintf("13000000000000%05d", c*perUsers+j%perUsers), Name: fmt.Sprintf("user%d", c*perUsers+j%perUsers)}
				gate.RLock()
				sendMu.Lock() // msgs in the order of the gateway's stream
				id := dfake.SendMessage(discordtest.Message{ChannelID: channel, Author: user,
					Content: fmt.Sprintf("%s what causes error 1020? (%d #%d)", dfake.Mention(), c, j)})
				mu.Lock()
				msgs = append(msgs, discordSent{channel: channel, id: id, at: time.Now()})
				mu.Unlock()
				sendMu.Unlock()
				gate.RUnlock()
				time.Sleep(discordPace)
			}
		})
	}
	// HTTP interactions, round-robin over the replicas that are up (a
	// load balancer's health check leaves the dead one out).
	wg.Go(func() {
		for k := range discordInteractions {
			gate.RLock()
			i := k % 3
			for !set.up(i) {
				i = (i + 1) % 3
			}
			ix := dfake.CommandInteraction(discordtest.Command{ChannelID: channels[k%discordChannels],
				User: discordtest.User{ID: fmt.Sprintf("13000000000001%05d", k), Name: "asker"},
				Sub:  "ask", Options: map[string]string{"question": fmt.Sprintf("what causes error 1020? (ask %d)", k)}})
			status, body := dfake.PostInteraction(t, "http://"+set.addrs[i]+"/discord/interactions", ix)
			gate.RUnlock()
			if status != http.StatusOK {
				t.Errorf("interaction %d to replica %d: %d %s", k, i, status, body)
			}
			mu.Lock()
			ixs = append(ixs, ix)
			ixBy[i]++
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})

	<-killed
	gate.Lock()
	set.kill(holder)
	killAt := time.Now()
	// Only the gateway holder writes messages to the inbox, and it is
	// gone: what the inbox has now is all it wrote down.
	written := inboxIDs(t, dbURL)
	unansweredAtKill := map[string]bool{}
	{
		replied := dfakeReplies(dfake, channels)
		mu.Lock()
		for _, m := range msgs {
			if replied[m.id] == 0 {
				unansweredAtKill[m.id] = true
			}
		}
		mu.Unlock()
	}
	gate.Unlock() // the users go on writing: nobody reads the gateway now
	dfake.Await(t, "a second gateway session", func() bool { return acceptedIdentifies(dfake) == 2 && dfake.Connected() })
	takeover := time.Since(killAt)
	var next []int
	dfake.Await(t, "the new gateway holder's log", func() bool {
		next = set.gatewayHolders()
		return len(next) == 1
	})
	var session2 string
	for _, h := range dfake.Handshakes() {
		if h.Accepted && !h.Resume {
			session2 = h.SessionID // the last one: the new holder's
		}
	}

	<-restart
	gate.Lock()
	set.start(holder)
	set.waitReady()
	gate.Unlock()
	wg.Wait()

	dfake.Await(t, "a reply to every message", func() bool {
		replied := dfakeReplies(dfake, channels)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			if replied[m.id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // a second reply would come now

	replied := dfakeReplies(dfake, channels)
	var lastReply time.Time
	firstReply := map[string]time.Time{}
	for _, ch := range channels {
		for _, m := range dfake.BotMessages(ch) {
			if ref := m.MessageReference; ref != nil && firstReply[ref.MessageID].IsZero() {
				firstReply[ref.MessageID] = m.Timestamp
				if m.Timestamp.After(lastReply) {
					lastReply = m.Timestamp
				}
			}
		}
	}
	// What the dead holder had written down and not answered: the others
	// answer it once its channels' hold passes.
	var takenOver int
	var takenOverBy time.Duration
	for id := range unansweredAtKill {
		if written[id] {
			takenOver++
			takenOverBy = max(takenOverBy, firstReply[id].Sub(killAt))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var (
		tail, gap     int           // never delivered to a live holder: sent before the kill, after it
		tailSince     time.Duration // the oldest of the tail: sent this long before the kill
		caughtUpBy    time.Duration // the last of them answered, after the kill
		viaNewSession = map[string]bool{}
	)
	var lastSent time.Time
	for _, m := range msgs {
		if m.at.After(lastSent) {
			lastSent = m.at
		}
		live := session2 != "" && dfake.DeliveredTo(m.id) == session2
		viaNewSession[m.id] = live
		before := m.at.Before(killAt)
		switch {
		case before && !written[m.id]:
			tail++
			tailSince = max(tailSince, killAt.Sub(m.at))
			caughtUpBy = max(caughtUpBy, firstReply[m.id].Sub(killAt))
		case !before && !live:
			gap++
			caughtUpBy = max(caughtUpBy, firstReply[m.id].Sub(killAt))
		}
		switch n := replied[m.id]; {
		case n == 0:
			t.Errorf("message %s in %s (sent %s after the kill) never answered", m.id, m.channel, m.at.Sub(killAt).Round(10*time.Millisecond))
		case n > 1:
			t.Errorf("message %s in %s answered %d times", m.id, m.channel, n)
		}
	}
	if len(msgs) != discordMessages {
		t.Errorf("%d messages sent, want %d", len(msgs), discordMessages)
	}
	if gap == 0 {
		t.Error("no message was sent while no replica held the gateway: the test proves nothing about catching up")
	}
	// Replies per channel in the order of the messages, whichever way
	// each message came (the dead holder, the catch-up, the new session);
	// count the caught-up messages answered after a later one the new
	// session delivered (none, unless the hold overflowed).
	var reordered int
	for _, ch := range channels {
		last, lastLive := "", ""
		for _, m := range dfake.BotMessages(ch) {
			if m.MessageReference == nil {
				continue
			}
			ref := m.MessageReference.MessageID
			if last != "" && !snowflakeBefore(last, ref) {
				t.Errorf("channel %s: reply to %s came after the reply to %s", ch, ref, last)
			}
			last = ref
			if viaNewSession[ref] {
				lastLive = ref
			} else if lastLive != "" && snowflakeBefore(ref, lastLive) {
				reordered++
			}
		}
	}
	backfill, ok := caughtUp(set.logs[next[0]].String())
	if !ok {
		t.Errorf("replica %d took the gateway over but logged no catch-up", next[0])
	}
	added, _ := backfill["added"].(float64)
	if int(added) < tail+gap {
		t.Errorf("the catch-up added %.0f messages to the inbox; want at least the %d the new session never delivered (%d before the kill, %d after)", added, tail+gap, tail, gap)
	}
	for k, ix := range ixs {
		orig, ok := dfake.Original(ix.ID)
		if m, found := dfake.Message(orig); !ok || !found || strings.TrimSpace(m.Content) == "" {
			t.Errorf("interaction %d (/gptaccess ask) not answered", k)
		}
	}
	if len(ixBy) != 3 {
		t.Errorf("interactions taken per replica: %v; want all three", ixBy)
	}
	if n := acceptedIdentifies(dfake); n != 2 {
		t.Errorf("%d gateway sessions identified, want 2 (the first holder's and its successor's)", n)
	}
	if h := set.gatewayHolders(); len(h) != 1 || len(next) != 1 || h[0] != next[0] || h[0] == holder {
		t.Errorf("gateway held by %v at the end, by %v after the takeover; want one replica, not the killed %d", h, next, holder)
	}
	t.Logf("%d messages, %d users, %d channels over the gateway, %d HTTP interactions (per replica: %v), 3 replicas; gateway holder %d killed after %d messages and restarted after %d",
		discordMessages, discordUsers, discordChannels, len(ixs), ixBy, holder, discordMessages/3, 2*discordMessages/3)
	t.Logf("after kill -9: replica %v identified on the gateway %s later; of the %d messages unanswered at the kill, %d were in the inbox and answered by the others within %s",
		next, takeover.Round(100*time.Millisecond), len(unansweredAtKill), takenOver, takenOverBy.Round(100*time.Millisecond))
	t.Logf("caught up over REST: %d messages the dead holder never wrote down (sent at most %s before the kill) and %d sent while no replica held the gateway, all answered within %s of the kill; the catch-up read %v channels, %v messages, added %v to the inbox in %v; %d caught-up messages answered after a later one the new session delivered; every message answered once, the last %s after the kill (the last sent %s after it)",
		tail, tailSince.Round(10*time.Millisecond), gap, caughtUpBy.Round(100*time.Millisecond),
		backfill["channels"], backfill["messages"], backfill["added"], backfill["took"], reordered,
		lastReply.Sub(killAt).Round(100*time.Millisecond), lastSent.Sub(killAt).Round(100*time.Millisecond))
}

// dfakeReplies counts the bot's replies per message id in channels.
func dfakeReplies(f *discordtest.Server, channels []string) map[string]int {
	out := map[string]int{}
	for _, ch := range channels {
		for _, m := range f.Messages(ch) {
			switch {
			case m.Author != nil && m.Author.ID == f.BotID:
				if m.MessageReference != nil {
					out[m.MessageReference.MessageID]++
				}
			default:
				if _, ok := out[m.ID]; !ok {
					out[m.ID] = 0
				}
			}
		}
	}
	return out
}
