package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gptaccess/adapters/slack/slacktest"
	"gptaccess/bot/bottest"
	"gptaccess/postgres/pgtest"
)

// The replica process tests run three real `gptaccess run` processes on
// one PostgreSQL schema against the fake Slack in HTTP mode, kill one
// with SIGKILL and count what the users and the alerts channel got. The
// README's "Running several replicas" reports their figures.

// The load of TestReplicasKilled, the scale of the README's figures: a
// 2-core machine runs it in about 20 seconds, and every replica holds
// channels when one dies.
const (
	killMessages = 1000
	killUsers    = 200 // killUsers/killChannels people in each channel
	killChannels = 50
)

// replicaSet is n processes of one rig on one database, each on its own
// HTTP address, as behind a load balancer.
type replicaSet struct {
	t     *testing.T
	rig   *crashRig
	addrs []string
	env   func(i int) []string // replica i's own environment

	mu    sync.Mutex
	kills []func()          // nil while replica i is down
	logs  []*bottest.Buffer // replica i's latest process's output
}

func newReplicaSet(t *testing.T, rig *crashRig, n int, env func(i int) []string) *replicaSet {
	s := &replicaSet{t: t, rig: rig, env: env, kills: make([]func(), n), logs: make([]*bottest.Buffer, n)}
	for range n {
		s.addrs = append(s.addrs, freeAddr(t))
	}
	return s
}

// start runs replica i.
func (s *replicaSet) start(i int) {
	extra := append([]string{"GPTACCESS_HTTP_LISTEN=" + s.addrs[i]}, s.env(i)...)
	kill := s.rig.start(extra...)
	s.mu.Lock()
	s.kills[i] = kill
	s.logs[i] = s.rig.logs[len(s.rig.logs)-1]
	s.mu.Unlock()
}

// kill ends replica i with SIGKILL and returns when it is gone.
func (s *replicaSet) kill(i int) {
	s.mu.Lock()
	kill := s.kills[i]
	s.kills[i] = nil
	s.mu.Unlock()
	kill()
}

func (s *replicaSet) up(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kills[i] != nil
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

// leaders asks every running replica's /readyz whether it leads.
func (s *replicaSet) leaders() []int {
	var out []int
	for i, addr := range s.addrs {
		if !s.up(i) {
			continue
		}
		resp, err := probeClient.Get("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"leader":true`) {
			out = append(out, i)
		}
	}
	return out
}

// waitReady waits until every running replica answers /readyz with 200.
func (s *replicaSet) waitReady() {
	s.t.Helper()
	for i, addr := range s.addrs {
		if !s.up(i) {
			continue
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := probeClient.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("replica %d not ready; logs:\n%s", i, s.rig.allLogs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitLeader waits until exactly one running replica leads.
func (s *replicaSet) waitLeader(within time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if l := s.leaders(); len(l) == 1 {
			return l[0]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no single leader within %s (leading: %v); logs:\n%s", within, s.leaders(), s.rig.allLogs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchLeaders asks the replicas who leads every 100 ms until the test
// ends, and records every moment more than one did.
func (s *replicaSet) watchLeaders() (double func() []string) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		seen []string
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if l := s.leaders(); len(l) > 1 {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%s: replicas %v", time.Now().Format("15:04:05.000"), l))
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	s.t.Cleanup(func() { cancel(); <-done })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// postEvent delivers e to replica i's /slack/events signed as Slack signs
// (retry > 0: as Slack's retry number retry). A replica that is down is
// an error, not a failed test: the load balancer sends elsewhere.
func (s *replicaSet) postEvent(fake *slacktest.Server, i int, e slacktest.Event, retry int) error {
	body := fake.EventBody(e)
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addrs[i]+"/slack/events", bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slacktest.Sign(fake.Config().SigningSecret, ts, body))
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("replica %d answered %d", i, resp.StatusCode)
	}
	return nil
}

// deliver gets e accepted by replica first or, when that one is down or
// refuses, the next ones in turn (as a load balancer and Slack's retries
// would), and then sends Slack's retry of it to the replica after the one
// that took it. It returns the replica that took it first.
func (s *replicaSet) deliver(fake *slacktest.Server, first int, e slacktest.Event) (int, error) {
	n := len(s.addrs)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var errs []string
		for k := range n {
			i := (first + k) % n
			err := s.postEvent(fake, i, e, 0)
			if err == nil {
				// The retry may find its replica down: Slack would retry
				// again, and the event is in the inbox already.
				_ = s.postEvent(fake, (i+1)%n, e, 1)
				return i, nil
			}
			errs = append(errs, err.Error())
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("no replica took event %s: %s", e.ID, strings.Join(errs, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sent is one user message of TestReplicasKilled: where it went and when.
type sent struct {
	channel, ts string
	replica     int // the replica that took it first; -1 when the test cannot tell
	at          time.Time
}

// TestReplicasKilled: three replicas in Slack HTTP mode on one
// PostgreSQL schema; killMessages messages from killUsers users in
// killChannels channels, each delivered round-robin and retried by Slack
// to another replica. One third of the way the leader is killed with
// SIGKILL; two thirds of the way it is started again. Every message gets
// exactly one reply (but for Slack's documented double-post window: the
// killed process posted and died before it recorded the post), each
// channel's replies come in the order of its messages, and at no moment
// do two replicas lead.
func TestReplicasKilled(t *testing.T) {
	bin := binary(t)
	fake := slacktest.New(t, slacktest.Config{})
	rig := newCrashRig(t, bin,
		"GPTACCESS_DATABASE_URL="+pgtest.URL(t),
		"GPTACCESS_LOG_LEVEL=info",
		"GPTACCESS_SLACK_API_URL="+fake.APIURL(),
		"SLACK_BOT_TOKEN="+fake.Config().BotToken,
		"SLACK_SIGNING_SECRET="+fake.Config().SigningSecret,
		// Every message must be answered: the per-user limit would
		// answer a burst with a polite refusal instead.
		"GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE=0",
	)
	set := newReplicaSet(t, rig, 3, func(int) []string { return nil })
	for i := range 3 {
		set.start(i)
	}
	set.waitReady()
	leader := set.waitLeader(15 * time.Second)
	doubleLeaders := set.watchLeaders()

	u := sendSlackUsers(fake, set)
	<-u.killed
	set.kill(leader)
	killAt := time.Now()
	unansweredAtKill := u.unanswered()
	next := set.waitLeader(30 * time.Second)
	leadAfter := time.Since(killAt)
	<-u.restart
	restartAt := time.Now()
	set.start(leader)
	msgs := u.wait(t)
	sentAll := time.Now()

	fake.WaitPosts(t, killMessages, 60*time.Second)
	allAnswered := time.Since(killAt)
	time.Sleep(time.Second) // a second reply would come now

	// When did the replies to what the dead replica had taken come?
	r := checkReplies(t, fake, msgs, killAt, restartAt)
	var lanesAfter time.Duration
	for k := range unansweredAtKill {
		lanesAfter = max(lanesAfter, r.first[k].Sub(killAt))
	}
	if len(msgs) != killMessages {
		t.Errorf("%d messages sent, want %d", len(msgs), killMessages)
	}
	if d := doubleLeaders(); len(d) > 0 {
		t.Errorf("more than one replica led at once: %v", d)
	}
	if l := set.leaders(); len(l) != 1 || l[0] != next {
		t.Errorf("after the restart, leading: %v; want only replica %d", l, next)
	}
	t.Logf("%d messages, %d users, %d channels, 3 replicas; leader %d killed after %d messages and restarted after %d",
		killMessages, killUsers, killChannels, leader, killMessages/3, 2*killMessages/3)
	t.Logf("after kill -9: replica %d led %s later; the %d messages taken but not answered at the kill were all answered %s later; every message %s later (all sent %s after the kill)",
		next, leadAfter.Round(100*time.Millisecond), len(unansweredAtKill), lanesAfter.Round(100*time.Millisecond),
		allAnswered.Round(100*time.Millisecond), sentAll.Sub(killAt).Round(100*time.Millisecond))
}

// slackUsers are the users of TestReplicasKilled: one goroutine per
// channel sends its messages one after another, so their order is the
// order the replies must keep; each is delivered round-robin to the
// replicas and retried by "Slack" to the next. killed and restart close
// a third and two thirds of the way.
type slackUsers struct {
	fake            *slacktest.Server
	killed, restart chan struct{}
	wg              sync.WaitGroup
	failures        chan error

	mu   sync.Mutex
	msgs []sent
}

func sendSlackUsers(fake *slacktest.Server, set *replicaSet) *slackUsers {
	u := &slackUsers{fake: fake, killed: make(chan struct{}), restart: make(chan struct{}), failures: make(chan error, killChannels)}
	var count atomic.Int64
	perChannel := killMessages / killChannels
	for c := range killChannels {
		channel := fmt.Sprintf("C%03d", c)
		u.wg.Go(func() {
			for j := range perChannel {
				n := count.Add(1)
				switch n {
				case killMessages / 3:
					close(u.killed)
				case 2 * killMessages / 3:
					close(u.restart)
				}
				user := fmt.Sprintf("U%03d", c*(killUsers/killChannels)+j%(killUsers/killChannels))
				say := slacktest.Say{Channel: channel, User: user, Text: fmt.Sprintf("<@UBOT> what causes error 1020? (%s #%d)", channel, j)}
				evs := fake.UserMessage(say)
				took := -1
				for _, e := range evs {
					r, err := set.deliver(fake, int(n)%3, e)
					if err != nil {
						u.failures <- err
						return
					}
					if took < 0 {
						took = r
					}
				}
				u.mu.Lock()
				u.msgs = append(u.msgs, sent{channel: channel, ts: evs[0].Inner["ts"].(string), replica: took, at: time.Now()})
				u.mu.Unlock()
			}
		})
	}
	return u
}

// unanswered are the messages taken (by any replica) and not answered
// yet, by "channel ts".
func (u *slackUsers) unanswered() map[string]bool {
	answered := map[string]bool{}
	for _, p := range u.fake.Posts() {
		answered[p.Channel+" "+p.ThreadTS] = true
	}
	out := map[string]bool{}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, m := range u.msgs {
		if k := m.channel + " " + m.ts; !answered[k] {
			out[k] = true
		}
	}
	return out
}

// wait waits until every user has sent everything and returns the
// messages; a delivery that failed fails the test.
func (u *slackUsers) wait(t *testing.T) []sent {
	t.Helper()
	u.wg.Wait()
	close(u.failures)
	for err := range u.failures {
		t.Fatal(err)
	}
	return u.msgs
}

// slackReplies are the bot's replies in the fake Slack, by "channel ts"
// of the message each answers: how many, and when the first was posted.
type slackReplies struct {
	n     map[string]int
	first map[string]time.Time
}

// checkReplies checks the replies to msgs: each message answered, once
// (but for Slack's double-post window around killAt, which is logged),
// and each channel's replies in the order of its messages. A message
// answered twice is reported with when its replies were posted, after
// the kill and after restartAt (zero: no restart).
func checkReplies(t *testing.T, fake *slacktest.Server, msgs []sent, killAt, restartAt time.Time) slackReplies {
	t.Helper()
	r := slackReplies{n: map[string]int{}, first: map[string]time.Time{}}
	when := map[string][]string{}
	last := map[string]string{}
	for _, p := range fake.Posts() {
		k := p.Channel + " " + p.ThreadTS
		r.n[k]++
		at := fmt.Sprintf("kill%+v", p.At.Sub(killAt).Round(time.Millisecond))
		if !restartAt.IsZero() {
			at += fmt.Sprintf(" restart%+v", p.At.Sub(restartAt).Round(time.Millisecond))
		}
		when[k] = append(when[k], at)
		if r.n[k] > 1 {
			continue
		}
		r.first[k] = p.At
		if prev := last[p.Channel]; prev != "" && !tsBefore(prev, p.ThreadTS) {
			t.Errorf("channel %s: reply to %s came after the reply to %s", p.Channel, p.ThreadTS, prev)
		}
		last[p.Channel] = p.ThreadTS
	}
	for _, m := range msgs {
		k := m.channel + " " + m.ts
		switch n := r.n[k]; {
		case n == 0 && m.replica >= 0:
			t.Errorf("%s (taken by replica %d) never answered", k, m.replica)
		case n == 0:
			t.Errorf("%s never answered", k)
		case n > 1 && atTheKill(r.first[k], killAt):
			t.Logf("%s answered %d times: posted by the killed replica just before it died (Slack's double-post window)", k, n)
		case n > 1:
			t.Errorf("%s answered %d times, posted at %v", k, n, when[k])
		}
	}
	return r
}

// atTheKill reports whether a post at at falls in Slack's documented
// double-post window around a SIGKILL at killAt: the killed process
// posted, then died before it recorded the post, and another replica
// posted again. The fake may read a request the process wrote just
// before SIGKILL only after the process is reaped, so the window reaches
// a little past killAt.
func atTheKill(at, killAt time.Time) bool {
	return at.Before(killAt.Add(time.Second)) && killAt.Sub(at) < 2*time.Second
}

// total sums the counts in m.
func total(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// tsBefore reports whether Slack timestamp a ("1700000012.000012") is
// earlier than b. (As floats they would lose the microseconds.)
func tsBefore(a, b string) bool {
	sa, ua, _ := strings.Cut(a, ".")
	sb, ub, _ := strings.Cut(b, ".")
	na, _ := strconv.ParseInt(sa, 10, 64)
	nb, _ := strconv.ParseInt(sb, 10, 64)
	if na != nb {
		return na < nb
	}
	ma, _ := strconv.ParseInt(ua, 10, 64)
	mb, _ := strconv.ParseInt(ub, 10, 64)
	return ma < mb
}

// TestIncidentAcrossLeaderKill: three replicas with the monitor on one
// PostgreSQL schema, each reaching Slack through its own front (so the
// test counts every replica's posts). The target is down: the leader
// sends one opening alert (through the shared outbox, which any replica
// may post). The target comes back and the leader is killed with SIGKILL:
// another replica leads, carries on with the open incident from the
// database, and sends exactly one recovery, in the alert's thread; nobody
// announces the incident again.
func TestIncidentAcrossLeaderKill(t *testing.T) {
	bin := binary(t)
	fake := slacktest.New(t, slacktest.Config{})
	const alerts = "CALERTS"
	fronts, postsBy := countingFronts(t, fake, 3)
	rig := newCrashRig(t, bin,
		"GPTACCESS_DATABASE_URL="+pgtest.URL(t),
		"GPTACCESS_LOG_LEVEL=info",
		"SLACK_BOT_TOKEN="+fake.Config().BotToken,
		"SLACK_SIGNING_SECRET="+fake.Config().SigningSecret,
		"GPTACCESS_SLACK_ALERT_CHANNELS="+alerts,
		"GPTACCESS_MONITOR_ENABLED=true",
		// The leader checks as soon as it leads, then every 30 s (the
		// shortest schedule allowed): the test sees one check per leader.
		"GPTACCESS_MONITOR_SCHEDULE=@every 30s",
		"GPTACCESS_MONITOR_FAILURE_THRESHOLD=1",
		"GPTACCESS_MONITOR_SUCCESS_THRESHOLD=1",
	)
	rig.down.Store(true)
	set := newReplicaSet(t, rig, 3, func(i int) []string { return []string{"GPTACCESS_SLACK_API_URL=" + fronts[i] + "api/"} })
	for i := range 3 {
		set.start(i)
	}
	set.waitReady()
	first := set.waitLeader(15 * time.Second)
	doubleLeaders := set.watchLeaders()

	alertPosts := func() []slacktest.Call { return postsIn(fake, alerts) }
	fake.Wait(t, 20*time.Second, "the opening alert", func() bool { return len(alertPosts()) >= 1 })
	time.Sleep(time.Second) // a second opening alert would come now
	opened := alertPosts()
	if len(opened) != 1 {
		t.Fatalf("%d alerts while the target is down, want 1 opening alert: %+v", len(opened), opened)
	}
	// The leader writes the alert to the shared outbox; whichever
	// replica works the alerts channel then posts it (usually the leader,
	// but a busy machine lets another's look for pending work win).
	if by := postsBy(); total(by) != 1 {
		t.Errorf("%d chat.postMessage calls, want the opening alert once; by replica: %v", total(by), by)
	}

	// The leader's next check is 30 s away: it sees no more of the target.
	rig.down.Store(false)
	set.kill(first)
	killAt := time.Now()
	next := set.waitLeader(30 * time.Second)
	leadAfter := time.Since(killAt)

	fake.Wait(t, 30*time.Second, "the recovery", func() bool { return len(alertPosts()) >= 2 })
	recoveredAfter := time.Since(killAt)
	time.Sleep(2 * time.Second) // a second recovery would come now
	got := alertPosts()
	if len(got) != 2 {
		t.Fatalf("%d alerts, want the opening alert and one recovery:\n%+v", len(got), got)
	}
	recovery := got[1]
	if !strings.Contains(opened[0].Text, "is down") || !strings.Contains(recovery.Text, "was down") {
		t.Errorf("alert %q then %q; want an outage then a recovery", opened[0].Text, recovery.Text)
	}
	if recovery.ThreadTS != opened[0].TS {
		t.Errorf("recovery in thread %q, want the alert's thread %q", recovery.ThreadTS, opened[0].TS)
	}
	if by := postsBy(); total(by) != 2 {
		t.Errorf("%d chat.postMessage calls, want the opening alert and the recovery once each; by replica: %v", total(by), by)
	}
	if d := doubleLeaders(); len(d) > 0 {
		t.Errorf("more than one replica led at once: %v", d)
	}
	t.Logf("chat.postMessage calls by replica: %v (leaders: %d, then %d)", postsBy(), first, next)
	t.Logf("opening alert: %q", opened[0].Text)
	t.Logf("recovery: %q", recovery.Text)
	t.Logf("after kill -9 of the leader: replica %d led %s later and posted the recovery %s after the kill",
		next, leadAfter.Round(100*time.Millisecond), recoveredAfter.Round(100*time.Millisecond))
}

// countingFronts puts n fronts before the fake Slack, one per replica;
// postsBy counts the chat.postMessage calls that came through each.
func countingFronts(t *testing.T, fake *slacktest.Server, n int) (fronts []string, postsBy func() map[int]int) {
	var (
		mu sync.Mutex
		by = map[int]int{}
	)
	fronts = make([]string, n)
	for i := range fronts {
		fronts[i], _ = losingProxy(t, fake.URL(), func(r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
				mu.Lock()
				by[i]++
				mu.Unlock()
			}
			return false // lose nothing: only count
		})
	}
	return fronts, func() map[int]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(by)
	}
}

// postsIn are the bot's posts in channel.
func postsIn(fake *slacktest.Server, channel string) []slacktest.Call {
	var out []slacktest.Call
	for _, p := range fake.Posts() {
		if p.Channel == channel {
			out = append(out, p)
		}
	}
	return out
}

// The load of TestSocketModeReplicaKilled: the scale of
// TestReplicasKilled, over three Socket Mode connections.
const (
	socketReplicas = 3
	socketMessages = killMessages
	socketUsers    = killUsers
	socketChannels = killChannels
)

// TestSocketModeReplicaKilled: three replicas in Slack Socket Mode on one
// PostgreSQL schema, each with its own connection; the fake Slack spreads
// the envelopes over the connections, as Slack does, and redelivers to the
// other one what was not acknowledged. One replica is killed with SIGKILL
// a third of the way and started again two thirds of the way: every
// message is answered, once (but for Slack's double-post window), in
// order per channel.
func TestSocketModeReplicaKilled(t *testing.T) {
	bin := binary(t)
	fake := slacktest.New(t, slacktest.Config{Spread: true})
	rig := newCrashRig(t, bin,
		"GPTACCESS_DATABASE_URL="+pgtest.URL(t),
		"GPTACCESS_LOG_LEVEL=info",
		"GPTACCESS_SLACK_API_URL="+fake.APIURL(),
		"SLACK_BOT_TOKEN="+fake.Config().BotToken,
		"SLACK_APP_TOKEN="+fake.Config().AppToken,
		"GPTACCESS_BOT_RATE_LIMIT_PER_MINUTE=0",
	)
	set := newReplicaSet(t, rig, socketReplicas, func(int) []string { return nil })
	for i := range socketReplicas {
		set.start(i)
	}
	fake.WaitConnections(t, socketReplicas, 20*time.Second)
	set.waitReady()

	var msgs []sent
	var killAt, restartAt time.Time
	for n := range socketMessages {
		if n == 2*socketMessages/3 {
			set.start(0)
			restartAt = time.Now()
		}
		c := n % socketChannels
		channel := fmt.Sprintf("C%03d", c)
		user := fmt.Sprintf("U%03d", c*(socketUsers/socketChannels)+(n/socketChannels)%(socketUsers/socketChannels))
		evs := fake.UserMessage(slacktest.Say{Channel: channel, User: user, Text: fmt.Sprintf("<@UBOT> what causes error 1020? (#%d)", n)})
		var envs []string
		for _, e := range evs {
			envs = append(envs, fake.Deliver(e))
		}
		if n == socketMessages/3 {
			// Killed with this message's envelopes on their way: one
			// reached it, and is either in the inbox (its lane taken
			// over) or unacknowledged (redelivered to the other).
			set.kill(0)
			killAt = time.Now()
		}
		for _, env := range envs {
			fake.WaitAck(t, env, 15*time.Second)
		}
		msgs = append(msgs, sent{channel: channel, ts: evs[0].Inner["ts"].(string), replica: -1, at: time.Now()})
	}
	fake.WaitPosts(t, socketMessages, 60*time.Second)
	allAnswered := time.Since(killAt)
	perConn := map[int]int{}
	for _, a := range fake.Acks() {
		if a.At.Before(killAt) {
			perConn[a.Conn]++
		}
	}
	if len(perConn) != socketReplicas {
		t.Errorf("before the kill, envelopes acknowledged per connection: %v; want every replica's connection", perConn)
	}
	time.Sleep(time.Second) // a second reply would come now
	checkReplies(t, fake, msgs, killAt, restartAt)
	t.Logf("%d messages, %d users, %d channels, %d replicas in Socket Mode (acks per connection before the kill: %v); one killed after %d messages and restarted after %d; every message answered %s after the kill",
		socketMessages, socketUsers, socketChannels, socketReplicas, perConn, socketMessages/3, 2*socketMessages/3, allAnswered.Round(100*time.Millisecond))
}
