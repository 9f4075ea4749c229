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
	k := startDiscordReplicas(t)
	k.send()
	<-k.killed
	k.killHolder()
	k.awaitTakeover()
	<-k.restart
	k.restartHolder()
	k.wg.Wait()
	k.awaitAnswers()
	time.Sleep(time.Second) // a second reply would come now

	r := k.tally()
	k.checkOrder(&r)
	k.checkCatchUp(&r)
	k.checkInteractionsAndGateway()
	k.report(r)
}

// discordKill is the run of TestDiscordReplicasKilled: the fake Discord,
// the replicas, what the users sent and what the test saw at the kill
// and the takeover.
type discordKill struct {
	t        *testing.T
	dfake    *discordtest.Server
	channels []string
	dbURL    string
	set      *replicaSet
	holder   int // the replica holding the gateway first: the one killed

	gate            sync.RWMutex // held by the test while a replica dies or starts: nothing is sent then
	sendMu          sync.Mutex
	mu              sync.Mutex
	msgs            []discordSent
	ixs             []discordtest.Interaction
	ixBy            map[int]int // interactions taken per replica
	killed, restart chan struct{}
	wg              sync.WaitGroup

	killAt           time.Time
	written          map[string]bool // the messages in the inbox at the kill
	unansweredAtKill map[string]bool
	takeover         time.Duration
	next             []int  // the replica holding the gateway after the takeover
	session2         string // its gateway session
}

// startDiscordReplicas starts three replicas on one schema against a fake
// Discord with discordChannels channels, and waits until one holds the
// gateway.
func startDiscordReplicas(t *testing.T) *discordKill {
	bin := binary(t)
	k := &discordKill{t: t, ixBy: map[int]int{}, killed: make(chan struct{}), restart: make(chan struct{})}
	k.dfake = discordtest.NewServer(t, discordtest.Options{Wait: 60 * time.Second})
	k.channels = make([]string, discordChannels)
	for c := range k.channels {
		k.channels[c] = fmt.Sprintf("14000000000000%05d", c)
		k.dfake.AddChannel(discordtest.Channel{ID: k.channels[c], GuildID: k.dfake.GuildID, Name: fmt.Sprintf("help-%d", c), Type: discordgo.ChannelTypeGuildText})
	}
	k.dbURL = pgtest.URL(t)
	rig := newCrashRig(t, bin,
		"GPTACCESS_DATABASE_URL="+k.dbURL,
		"GPTACCESS_LOG_LEVEL=info",
		"GPTACCESS_DISCORD_API_URL="+k.dfake.URL,
		"GPTACCESS_DISCORD_INTERACTIONS=true",
		"DISCORD_BOT_TOKEN="+k.dfake.Token,
		"DISCORD_PUBLIC_KEY="+k.dfake.PublicKeyHex(),
		"GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE=0",
	)
	k.set = newReplicaSet(t, rig, 3, func(int) []string { return nil })
	for i := range 3 {
		k.set.start(i)
	}
	k.set.waitReady()
	k.dfake.WaitConnected(t)
	k.dfake.Await(t, "one replica holding the gateway", func() bool {
		h := k.set.gatewayHolders()
		if len(h) == 1 {
			k.holder = h[0]
		}
		return len(h) == 1
	})
	return k
}

// send starts the users, one goroutine per channel sending its messages
// over the gateway (closing killed and restart a third and two thirds of
// the way), and the HTTP interactions.
func (k *discordKill) send() {
	perChan, perUsers := discordMessages/discordChannels, discordUsers/discordChannels
	var count atomic.Int64
	for c, channel := range k.channels {
		k.wg.Go(func() {
			for j := range perChan {
				switch count.Add(1) {
				case discordMessages / 3:
					close(k.killed)
				case 2 * discordMessages / 3:
					close(k.restart)
				}
				user := discordtest.User{ID: fmt.Sprintf("13000000000000%05d", c*perUsers+j%perUsers), Name: fmt.Sprintf("user%d", c*perUsers+j%perUsers)}
				k.gate.RLock()
				k.sendMu.Lock() // msgs in the order of the gateway's stream
				id := k.dfake.SendMessage(discordtest.Message{ChannelID: channel, Author: user,
					Content: fmt.Sprintf("%s what causes error 1020? (%d #%d)", k.dfake.Mention(), c, j)})
				k.mu.Lock()
				k.msgs = append(k.msgs, discordSent{channel: channel, id: id, at: time.Now()})
				k.mu.Unlock()
				k.sendMu.Unlock()
				k.gate.RUnlock()
				time.Sleep(discordPace)
			}
		})
	}
	k.wg.Go(k.interact)
}

// interact sends the HTTP interactions, round-robin over the replicas
// that are up (a load balancer's health check leaves the dead one out).
func (k *discordKill) interact() {
	for n := range discordInteractions {
		k.gate.RLock()
		i := n % 3
		for !k.set.up(i) {
			i = (i + 1) % 3
		}
		ix := k.dfake.CommandInteraction(discordtest.Command{ChannelID: k.channels[n%discordChannels],
			User: discordtest.User{ID: fmt.Sprintf("13000000000001%05d", n), Name: "asker"},
			Sub:  "ask", Options: map[string]string{"question": fmt.Sprintf("what causes error 1020? (ask %d)", n)}})
		status, body := k.dfake.PostInteraction(k.t, "http://"+k.set.addrs[i]+"/discord/interactions", ix)
		k.gate.RUnlock()
		if status != http.StatusOK {
			k.t.Errorf("interaction %d to replica %d: %d %s", n, i, status, body)
		}
		k.mu.Lock()
		k.ixs = append(k.ixs, ix)
		k.ixBy[i]++
		k.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

// killHolder kills the gateway holder with SIGKILL and notes what the
// inbox held and what was unanswered at that moment.
func (k *discordKill) killHolder() {
	k.gate.Lock()
	defer k.gate.Unlock() // the users go on writing: nobody reads the gateway now
	k.set.kill(k.holder)
	k.killAt = time.Now()
	// Only the gateway holder writes messages to the inbox, and it is
	// gone: what the inbox has now is all it wrote down.
	k.written = inboxIDs(k.t, k.dbURL)
	k.unansweredAtKill = map[string]bool{}
	replied := dfakeReplies(k.dfake, k.channels)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.msgs {
		if replied[m.id] == 0 {
			k.unansweredAtKill[m.id] = true
		}
	}
}

// awaitTakeover waits until another replica has its own gateway session.
func (k *discordKill) awaitTakeover() {
	k.dfake.Await(k.t, "a second gateway session", func() bool { return acceptedIdentifies(k.dfake) == 2 && k.dfake.Connected() })
	k.takeover = time.Since(k.killAt)
	k.dfake.Await(k.t, "the new gateway holder's log", func() bool {
		k.next = k.set.gatewayHolders()
		return len(k.next) == 1
	})
	for _, h := range k.dfake.Handshakes() {
		if h.Accepted && !h.Resume {
			k.session2 = h.SessionID // the last one: the new holder's
		}
	}
}

// restartHolder starts the killed replica again.
func (k *discordKill) restartHolder() {
	k.gate.Lock()
	defer k.gate.Unlock()
	k.set.start(k.holder)
	k.set.waitReady()
}

// awaitAnswers waits until every message has a reply.
func (k *discordKill) awaitAnswers() {
	k.dfake.Await(k.t, "a reply to every message", func() bool {
		replied := dfakeReplies(k.dfake, k.channels)
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, m := range k.msgs {
			if replied[m.id] == 0 {
				return false
			}
		}
		return true
	})
}

// discordTally is what TestDiscordReplicasKilled counted once every
// message was answered.
type discordTally struct {
	replied    map[string]int
	firstReply map[string]time.Time
	lastReply  time.Time
	// What the dead holder had written down and not answered: the others
	// answer it once its channels' hold passes.
	takenOver   int
	takenOverBy time.Duration

	tail, gap     int           // never delivered to a live holder: sent before the kill, after it
	tailSince     time.Duration // the oldest of the tail: sent this long before the kill
	caughtUpBy    time.Duration // the last of them answered, after the kill
	viaNewSession map[string]bool
	lastSent      time.Time

	reordered int            // caught-up messages answered after a later one the new session delivered
	backfill  map[string]any // the new holder's catch-up log line
}

// tally counts the replies to every message, reporting those answered
// never or more than once, and sorts the messages by the way they came.
func (k *discordKill) tally() discordTally {
	t := k.t
	r := discordTally{replied: dfakeReplies(k.dfake, k.channels), firstReply: map[string]time.Time{}, viaNewSession: map[string]bool{}}
	for _, ch := range k.channels {
		for _, m := range k.dfake.BotMessages(ch) {
			if ref := m.MessageReference; ref != nil && r.firstReply[ref.MessageID].IsZero() {
				r.firstReply[ref.MessageID] = m.Timestamp
				if m.Timestamp.After(r.lastReply) {
					r.lastReply = m.Timestamp
				}
			}
		}
	}
	for id := range k.unansweredAtKill {
		if k.written[id] {
			r.takenOver++
			r.takenOverBy = max(r.takenOverBy, r.firstReply[id].Sub(k.killAt))
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.msgs {
		if m.at.After(r.lastSent) {
			r.lastSent = m.at
		}
		live := k.session2 != "" && k.dfake.DeliveredTo(m.id) == k.session2
		r.viaNewSession[m.id] = live
		before := m.at.Before(k.killAt)
		switch {
		case before && !k.written[m.id]:
			r.tail++
			r.tailSince = max(r.tailSince, k.killAt.Sub(m.at))
			r.caughtUpBy = max(r.caughtUpBy, r.firstReply[m.id].Sub(k.killAt))
		case !before && !live:
			r.gap++
			r.caughtUpBy = max(r.caughtUpBy, r.firstReply[m.id].Sub(k.killAt))
		}
		switch n := r.replied[m.id]; {
		case n == 0:
			t.Errorf("message %s in %s (sent %s after the kill) never answered", m.id, m.channel, m.at.Sub(k.killAt).Round(10*time.Millisecond))
		case n > 1:
			t.Errorf("message %s in %s answered %d times", m.id, m.channel, n)
		}
	}
	if len(k.msgs) != discordMessages {
		t.Errorf("%d messages sent, want %d", len(k.msgs), discordMessages)
	}
	if r.gap == 0 {
		t.Error("no message was sent while no replica held the gateway: the test proves nothing about catching up")
	}
	return r
}

// checkOrder: replies per channel come in the order of the messages,
// whichever way each message came (the dead holder, the catch-up, the
// new session); it counts the caught-up messages answered after a later
// one the new session delivered (none, unless the hold overflowed).
func (k *discordKill) checkOrder(r *discordTally) {
	for _, ch := range k.channels {
		last, lastLive := "", ""
		for _, m := range k.dfake.BotMessages(ch) {
			if m.MessageReference == nil {
				continue
			}
			ref := m.MessageReference.MessageID
			if last != "" && !snowflakeBefore(last, ref) {
				k.t.Errorf("channel %s: reply to %s came after the reply to %s", ch, ref, last)
			}
			last = ref
			if r.viaNewSession[ref] {
				lastLive = ref
			} else if lastLive != "" && snowflakeBefore(ref, lastLive) {
				r.reordered++
			}
		}
	}
}

// checkCatchUp: the new holder caught up over REST on at least every
// message its session never delivered.
func (k *discordKill) checkCatchUp(r *discordTally) {
	backfill, ok := caughtUp(k.set.logs[k.next[0]].String())
	if !ok {
		k.t.Errorf("replica %d took the gateway over but logged no catch-up", k.next[0])
	}
	r.backfill = backfill
	added, _ := backfill["added"].(float64)
	if int(added) < r.tail+r.gap {
		k.t.Errorf("the catch-up added %.0f messages to the inbox; want at least the %d the new session never delivered (%d before the kill, %d after)", added, r.tail+r.gap, r.tail, r.gap)
	}
}

// checkInteractionsAndGateway: every interaction was answered, each
// replica took some, and the gateway ended with the one replica that
// took it over, not with the restarted one.
func (k *discordKill) checkInteractionsAndGateway() {
	t := k.t
	for n, ix := range k.ixs {
		orig, ok := k.dfake.Original(ix.ID)
		if m, found := k.dfake.Message(orig); !ok || !found || strings.TrimSpace(m.Content) == "" {
			t.Errorf("interaction %d (/gptaccess ask) not answered", n)
		}
	}
	if len(k.ixBy) != 3 {
		t.Errorf("interactions taken per replica: %v; want all three", k.ixBy)
	}
	if n := acceptedIdentifies(k.dfake); n != 2 {
		t.Errorf("%d gateway sessions identified, want 2 (the first holder's and its successor's)", n)
	}
	if h := k.set.gatewayHolders(); len(h) != 1 || len(k.next) != 1 || h[0] != k.next[0] || h[0] == k.holder {
		t.Errorf("gateway held by %v at the end, by %v after the takeover; want one replica, not the killed %d", h, k.next, k.holder)
	}
}

// report logs the figures the README quotes.
func (k *discordKill) report(r discordTally) {
	t := k.t
	t.Logf("%d messages, %d users, %d channels over the gateway, %d HTTP interactions (per replica: %v), 3 replicas; gateway holder %d killed after %d messages and restarted after %d",
		discordMessages, discordUsers, discordChannels, len(k.ixs), k.ixBy, k.holder, discordMessages/3, 2*discordMessages/3)
	t.Logf("after kill -9: replica %v identified on the gateway %s later; of the %d messages unanswered at the kill, %d were in the inbox and answered by the others within %s",
		k.next, k.takeover.Round(100*time.Millisecond), len(k.unansweredAtKill), r.takenOver, r.takenOverBy.Round(100*time.Millisecond))
	t.Logf("caught up over REST: %d messages the dead holder never wrote down (sent at most %s before the kill) and %d sent while no replica held the gateway, all answered within %s of the kill; the catch-up read %v channels, %v messages, added %v to the inbox in %v; %d caught-up messages answered after a later one the new session delivered; every message answered once, the last %s after the kill (the last sent %s after it)",
		r.tail, r.tailSince.Round(10*time.Millisecond), r.gap, r.caughtUpBy.Round(100*time.Millisecond),
		r.backfill["channels"], r.backfill["messages"], r.backfill["added"], r.backfill["took"], r.reordered,
		r.lastReply.Sub(k.killAt).Round(100*time.Millisecond), r.lastSent.Sub(k.killAt).Round(100*time.Millisecond))
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
